// Fuzz target: control requests, the body of POST /rpc on the control socket (JSON-RPC:
// {"method": .., "params": {..}}), through ControlServer::dispatch, the function the HTTP
// handler calls with the body, on a real Datapath built from a small config (discard
// ports, two networks, VMs, a policy, QoS, a mirror) that is never started: no datapath
// thread, no broker, no files. `trace` runs through the real forwarder; `mirror.add` and
// `mirror.del` change the mirror set (the fuzzer's mirrors are removed after each input,
// so inputs do not pile up); `policy.reload` reads a file that does not exist (a reload
// that succeeds waits for the policy thread, which is not running).
//
// Checked besides memory safety: a request never escapes dispatch as an exception, and
// the reply is {"result"} or {"error", "code"} with an optional "path" (control/rpc.hpp). The HTTP handler then
// serialises it (dump); cpp-httplib answers an exception there with HTTP 500 and an empty
// body (issue 14 item 12: a reply quoting invalid UTF-8): counted and reported at exit,
// not a crash of the switch.
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

#include "config/core_specs.hpp"
#include "config/loader.hpp"
#include "control/server.hpp"
#include "mirror/module.hpp"
#include "support/fuzz_eal.hpp"

using nlohmann::json;
using namespace ivs;

namespace ivs::control {
// The HTTP handler's work without the HTTP: server.cpp's Post("/rpc") handler.
struct ControlServerFuzz {
  static json dispatch(ControlServer& s, const std::string& body) { return s.dispatch(body); }
};
}  // namespace ivs::control

namespace {
constexpr size_t kMaxBody = 2048;  // mirror.add compiles its filter: as config_fuzz.cpp's bound

const char* kConfig = R"(
switch:
  instance: fuzz
  control_socket: /nonexistent/ivs-fuzz.sock
  metrics_address: ""
ports:
  - {name: vm1, type: discard, network: web}
  - {name: vm2, type: discard, network: web}
  - {name: vm3, type: discard, network: db}
  - {name: up, type: discard, trunk: [web, db], native: web}
  - {name: ids, type: discard, network: db}
networks:
  - {name: web, vlan: 10, subnet: 10.0.1.0/24, gateway: 10.0.1.1}
  - {name: db, vlan: 20, subnet: 10.0.2.0/24, gateway: 10.0.2.1}
vms:
  - {name: vm1, port: vm1, mac: "02:00:00:00:01:01", ip: 10.0.1.11, labels: [web]}
  - {name: vm2, port: vm2, mac: "02:00:00:00:01:02", ip: 10.0.1.12, labels: [web]}
  - {name: vm3, port: vm3, mac: "02:00:00:00:02:03", ip: 10.0.2.13, labels: [db]}
policy:
  default: drop
  rules:
    - {name: pg, from: vm1, to: vm3, protocol: tcp, ports: [5432], action: allow}
    - {name: ssh, to: vm3, protocol: tcp, ports: [22], action: reject}
    - {name: dns, protocol: udp, ports: [53], action: allow}
    - {name: ping, protocol: icmp, action: allow}
qos:
  assign:
    - {name: voice, from: vm1, dscp: EF}
    - {name: vm2-audit, from: vm2, dscp: AF21, mode: audit}
mirrors:
  - name: web-in
    taps: [{port: vm1, direction: rx}]
    filter: "tcp port 5432"
    tools: [{port: ids}]
)";

pipeline::Datapath* g_dp = nullptr;
control::ControlServer* g_server = nullptr;
size_t g_http_500 = 0;

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "control_fuzz: %s\n", what.c_str());
  std::abort();
}

void report() {
  if (g_http_500) std::fprintf(stderr, "control_fuzz: %zu replies could not be serialised (HTTP 500, issue 14 item 12)\n", g_http_500);
}
}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::eal_up("0-1");  // the Datapath's one datapath thread needs a worker lcore (never launched)
  auto cfg = config::load_string(kConfig, "/nonexistent/ivs-fuzz.yaml");
  if (!cfg) fail(cfg.error().front());
  auto dp = pipeline::Datapath::create(config::datapath_spec(*cfg), std::make_shared<const config::Config>(*cfg), 1, {0});
  if (!dp) fail(dp.error());
  g_dp = dp->release();
  g_server = new control::ControlServer(*g_dp);
  std::atexit(report);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > kMaxBody) return -1;
  const std::string body(reinterpret_cast<const char*>(data), size);
  json reply;
  try {
    reply = control::ControlServerFuzz::dispatch(*g_server, body);
  } catch (const std::exception& e) {
    fail(std::string("dispatch threw: ") + e.what());
  }
  // {result}, or {error, code} with an optional path (control/rpc.hpp), all strings.
  const bool result = reply.is_object() && reply.size() == 1 && reply.contains("result");
  const bool error = reply.is_object() && reply.contains("error") && reply["error"].is_string() && reply.contains("code") &&
                     reply["code"].is_string() && reply.size() == (reply.contains("path") ? 3u : 2u) &&
                     (!reply.contains("path") || reply["path"].is_string());
  if (!result && !error)
    fail("reply is not {result} or {error, code, path?}: " + reply.dump(-1, ' ', false, json::error_handler_t::replace));
  try {
    (void)reply.dump();
  } catch (const json::exception&) {
    ++g_http_500;
  }
  // Back to the configured mirror set: what one input added must not change the next.
  auto* mirrors = dynamic_cast<ivs::mirror::MirrorModule*>(g_dp->module(ivs::mirror::MirrorModule::kName));
  for (const auto& m : mirrors->mirrors())
    if (m.cfg.name != "web-in" && !m.capture) (void)mirrors->del(m.cfg.name);
  return 0;
}
