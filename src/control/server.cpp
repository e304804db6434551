#include "control/server.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <charconv>
#include <filesystem>

#include "config/paths.hpp"
#include "common/params.hpp"
#include "control/views.hpp"
#include "mirror/module.hpp"

namespace ivs::control {

using nlohmann::json;

ControlServer::ControlServer(pipeline::Datapath& dp) : dp_(dp) {
  // Views read snapshots and cannot fail; methods that can answer a Reply (control/rpc.hpp).
  add_method("show.ports", [this](const json&) -> Reply { return view_ports(dp_); });
  add_method("show.fdb", [this](const json&) -> Reply { return view_fdb(dp_); });
  add_method("show.routes", [this](const json&) -> Reply { return view_routes(dp_); });
  add_method("show.pmd", [this](const json&) -> Reply { return view_pmd(dp_); });
  add_method("show.stats", [this](const json&) -> Reply { return view_stats(dp_); });
  add_method("show.flows", [this](const json& p) -> Reply {
    const auto limit = Params(p).integer("limit", 1000, 1, kMaxFlowLimit);
    if (!limit) return std::unexpected(limit.error());
    return view_flows(dp_, *limit);
  });
  add_method("show.policy", [this](const json&) -> Reply { return view_policy(dp_); });
  add_method("show.chains", [this](const json&) -> Reply { return view_chains(dp_); });
  add_method("policy.reload", [this](const json&) { return reload_policy(dp_); });
  add_method("trace", [this](const json& p) -> Reply {
    const auto description = Params(p).string("description", "", 4096, true);
    if (!description) return std::unexpected(description.error());
    return trace_packet(dp_, *description);
  });
  add_method("trace.live", [this](const json& p) { return trace_live(dp_, p); });
  // The jobs' methods (pipeline/module.hpp); they answer a Result as the ones above.
  for (const auto& m : dp_.modules())
    m->add_control_methods([this](const std::string& name, pipeline::ControlMethod fn) { add_method(name, std::move(fn)); });
  add_method("list.methods", [this](const json&) -> Reply { return json{{"methods", methods_.names()}}; });
}

ControlServer::~ControlServer() { stop(); }

json ControlServer::dispatch(const std::string& body) { return MethodTable::answer(methods_.call(body)); }

namespace {
HttpLimits limits_of(const config::HttpLimitsConfig& c) {
  HttpLimits l;
  l.connections = c.connections;
  l.request_timeout = std::chrono::milliseconds(c.request_timeout_ms);
  l.max_body = c.max_body_bytes;
  return l;
}
}  // namespace

std::expected<void, std::string> ControlServer::start(const config::SwitchConfig& sw) {
  const std::string& socket_path = sw.control_socket;
  const std::string& metrics_address = sw.metrics_address;
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(socket_path).parent_path(), ec);
  if (config::unix_socket_in_use(socket_path, SOCK_STREAM))
    return std::unexpected(fmt::format("control socket {} is in use: is another ivswitchd running with this instance name?", socket_path));
  // Only a socket left by a process that died is replaced: never a file, a directory or
  // a link someone put there (the config check said so too; this is the last word).
  struct stat st{};
  if (::lstat(socket_path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode))
      return std::unexpected(fmt::format("control socket {}: the path exists and is not a socket; not replacing it", socket_path));
    ::unlink(socket_path.c_str());
  }
  HttpLimits control = limits_of(sw.control_limits);
  control.write_timeout = std::chrono::seconds(60);  // a live capture's reader may pause (a pager, a stopped tshark)
  rpc_ = std::make_unique<BoundedServer>(control, true);
  rpc_->set_address_family(AF_UNIX);
  rpc_->Post("/rpc", [this](const httplib::Request& req, httplib::Response& res) {
    // replace: a request's invalid UTF-8 echoed in a message must not make the answer fail.
    res.set_content(dispatch(req.body).dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
  });
  rpc_->Get("/capture", [this](const httplib::Request& req, httplib::Response& res) { capture(req, res); });
  rpc_->set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    std::string why = "internal error";
    try {
      if (ep) std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      why = e.what();
    } catch (...) {
    }
    res.status = 500;
    res.set_content(json{{"error", why}, {"code", std::string(error_code_name(ErrorCode::kInternal))}}.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
  });
  if (!rpc_->bind_and_listen(socket_path.c_str(), 80))
    return std::unexpected(fmt::format("cannot listen on control socket {}", socket_path));
  socket_path_ = socket_path;  // ours now: removed by stop()
  ::chmod(socket_path.c_str(), 0660);
  rpc_thread_ = std::thread([this] { rpc_->listen_after_bind(); });

  if (!metrics_address.empty()) {
    const auto colon = metrics_address.rfind(':');
    const std::string host = metrics_address.substr(0, colon);
    const int port = std::stoi(metrics_address.substr(colon + 1));
    metrics_ = std::make_unique<BoundedServer>(limits_of(sw.metrics_limits), false);
    metrics_->Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(metrics_text(dp_) + server_metrics(), "text/plain; version=0.0.4; charset=utf-8");
    });
    if (!metrics_->bind_and_listen(host.c_str(), port))
      return std::unexpected(fmt::format("cannot listen for /metrics on {} (address in use?)", metrics_address));
    metrics_thread_ = std::thread([this] { metrics_->listen_after_bind(); });
  }
  spdlog::info("control socket {} ({} connections, {} ms per request, bodies up to {} bytes); metrics {}", socket_path,
               sw.control_limits.connections, sw.control_limits.request_timeout_ms, sw.control_limits.max_body_bytes,
               metrics_address.empty() ? "off" : "http://" + metrics_address + "/metrics");
  return {};
}

// The servers' own bounds at work (docs/security.md).
std::string ControlServer::server_metrics() const {
  std::string out =
      "# HELP ivswitch_control_refused_total Connections and requests the control socket and /metrics refused, by reason.\n"
      "# TYPE ivswitch_control_refused_total counter\n";
  auto add = [&](const char* server, const BoundedServer* s) {
    if (!s) return;
    out += fmt::format("ivswitch_control_refused_total{{server=\"{}\",reason=\"busy\"}} {}\n", server, s->refused_busy());
    out += fmt::format("ivswitch_control_refused_total{{server=\"{}\",reason=\"too_large\"}} {}\n", server, s->too_large());
    out += fmt::format("ivswitch_control_refused_total{{server=\"{}\",reason=\"incomplete\"}} {}\n", server, s->failed());
  };
  add("control", rpc_.get());
  add("metrics", metrics_.get());
  return out;
}

// GET /capture?port=P&direction=rx|tx|both&filter=EXPR&snaplen=N: a live capture, streamed
// in frames (u32 length + bytes: the pcap header, then a record each; empty = keep-alive)
// until the client goes away, the capture is deleted, or the daemon stops. It holds one of
// the server's connection threads, hence the bound on concurrent captures.
void ControlServer::capture(const httplib::Request& req, httplib::Response& res) {
  uint32_t snaplen = 0;
  if (req.has_param("snaplen")) {  // parsed whole: "4294967310" is not 14
    const std::string v = req.get_param_value("snaplen");
    uint64_t n = 0;
    const auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    snaplen = ec == std::errc{} && p == v.data() + v.size() && !v.empty() && n <= 65535 ? static_cast<uint32_t>(n) : UINT32_MAX;
  }
  auto* mirrors = dynamic_cast<mirror::MirrorModule*>(dp_.module(mirror::MirrorModule::kName));
  Result<mirror::MirrorModule::Capture> cap = fail(ErrorCode::kOutOfRange, "snaplen: 14..65535, or 0 for whole frames", "snaplen");
  if (!mirrors) {
    cap = fail(ErrorCode::kRefused, "no mirror module");
  } else if (snaplen <= 65535 && (snaplen == 0 || snaplen >= 14)) {
    auto started = mirrors->capture_start(req.get_param_value("port"), req.has_param("direction") ? req.get_param_value("direction") : "both",
                                     req.get_param_value("filter"), snaplen);
    if (started) cap = std::move(*started);
    else cap = fail(ErrorCode::kRefused, started.error());
  }
  if (!cap) {
    res.status = 400;
    res.set_content(MethodTable::answer(std::unexpected(cap.error())).dump(), "application/json");
    return;
  }
  res.set_chunked_content_provider(
      "application/vnd.ivswitch.capture-frames",
      [this, stream = cap->stream](size_t, httplib::DataSink& sink) {
        std::string out;
        stream->take(out, std::chrono::milliseconds(1000));
        if (out.empty() && !stream->closed()) out.assign(4, '\0');  // keep-alive: notices a client that left
        if (!out.empty() && !sink.write(out.data(), out.size())) return false;
        if (stopping_.load() || stream->closed()) sink.done();
        return true;
      },
      [mirrors, name = cap->name](bool) { mirrors->capture_stop(name); });
}

void ControlServer::stop() {
  stopping_ = true;
  if (rpc_) rpc_->stop();
  if (metrics_) metrics_->stop();
  if (rpc_thread_.joinable()) rpc_thread_.join();
  if (metrics_thread_.joinable()) metrics_thread_.join();
  if (!socket_path_.empty()) {
    ::unlink(socket_path_.c_str());
    socket_path_.clear();
  }
}

}  // namespace ivs::control
