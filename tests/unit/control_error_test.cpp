// The control plane's one error type (common/error.hpp) through the control API: every
// refusal answers a code, the message ivctl prints, and the path of the parameter or
// config key when there is one; an exception thrown inside a method becomes an Error at
// the method, never reaching the dispatcher.
#include <gtest/gtest.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <new>

#include "cli/client.hpp"
#include "common/error.hpp"
#include "config/loader.hpp"
#include "common/params.hpp"
#include "control/rpc.hpp"
#include "control/views.hpp"
#include "mirror/module.hpp"

using namespace ivs;
using nlohmann::json;

namespace {

// A table with methods that read their parameters as the server's do (server.cpp).
control::MethodTable table() {
  control::MethodTable t;
  t.add("show.flows", [](const json& p) -> control::Reply {
    const auto limit = control::Params(p).integer("limit", 1000, 1, control::kMaxFlowLimit);
    if (!limit) return std::unexpected(limit.error());
    return json{{"limit", *limit}};
  });
  t.add("mirror.del", [](const json& p) -> control::Reply {
    const auto name = control::Params(p).string("name", "", 64, true);
    if (!name) return std::unexpected(name.error());
    return json{{"removed", *name}};
  });
  // Methods that call libraries which throw, without catching: the table's guard must.
  t.add("throws.json", [](const json& p) -> control::Reply { return json{{"n", p.at("missing").get<int>()}}; });
  t.add("throws.yaml", [](const json&) -> control::Reply { return json{{"n", YAML::Load("{a: [").size()}}; });
  t.add("throws.alloc", [](const json&) -> control::Reply { throw std::bad_alloc(); });
  return t;
}

Error error_of(const control::Reply& r) {
  EXPECT_FALSE(r.has_value()) << (r ? r->dump() : "");
  return r ? Error() : r.error();
}

const char* kConfig = R"(switch:
  instance: errtest
ports:
  - {name: a, type: discard, network: web}
  - {name: b, type: discard, network: web}
networks:
  - {name: web, vlan: 10, subnet: 10.0.1.0/24, gateway: 10.0.1.1}
vms:
  - {name: vm1, port: a, mac: "02:00:00:00:01:01", ip: 10.0.1.11}
policy:
  default: allow
)";

}  // namespace

TEST(ControlError, UnknownMethodAndBadEnvelopes) {
  const auto t = table();
  Error e = error_of(t.call(R"({"method": "show.nothing"})"));
  EXPECT_EQ(e.code, ErrorCode::kUnknownMethod);
  EXPECT_EQ(e.message, R"(unknown method "show.nothing" (list.methods lists them))");
  EXPECT_EQ(e.path, "");
  EXPECT_EQ(error_of(t.call("{not json")).code, ErrorCode::kParseError);
  EXPECT_EQ(error_of(t.call(R"({"params": {}})")).code, ErrorCode::kInvalidRequest);
  e = error_of(t.call(R"({"method": "show.flows", "params": [1]})"));
  EXPECT_EQ(e.code, ErrorCode::kInvalidParams);
  EXPECT_EQ(e.path, "params");
  EXPECT_EQ(e.message, "params: expected an object, got [1]");
  // The answer keeps "error" as it was, and adds code (and path when there is one).
  EXPECT_EQ(control::MethodTable::answer(t.call(R"({"method": "nope"})")),
            (json{{"error", R"(unknown method "nope" (list.methods lists them))"}, {"code", "unknown_method"}}));
  EXPECT_EQ(control::MethodTable::answer(t.call(R"({"method": "show.flows", "params": {"limit": 5}})")),
            (json{{"result", {{"limit", 5}}}}));
}

TEST(ControlError, BadParameterTypeAndRange) {
  const auto t = table();
  Error e = error_of(t.call(R"({"method": "show.flows", "params": {"limit": "ten"}})"));
  EXPECT_EQ(e.code, ErrorCode::kInvalidParams);
  EXPECT_EQ(e.path, "params.limit");
  EXPECT_EQ(e.message, R"(params.limit: expected an integer in 1..100000, got "ten")");
  EXPECT_EQ(error_of(t.call(R"({"method": "show.flows", "params": {"limit": 1.5}})")).code, ErrorCode::kInvalidParams);
  e = error_of(t.call(R"({"method": "show.flows", "params": {"limit": -3}})"));
  EXPECT_EQ(e.code, ErrorCode::kOutOfRange);
  EXPECT_EQ(e.path, "params.limit");
  EXPECT_EQ(e.message, "params.limit: expected an integer in 1..100000, got -3");
  EXPECT_EQ(error_of(t.call(R"({"method": "show.flows", "params": {"limit": 100001}})")).code, ErrorCode::kOutOfRange);
  e = error_of(t.call(R"({"method": "mirror.del", "params": {}})"));
  EXPECT_EQ(e.code, ErrorCode::kInvalidParams);
  EXPECT_EQ(e.path, "params.name");
  EXPECT_EQ(control::MethodTable::answer(t.call(R"({"method": "mirror.del", "params": {"name": 7}})")),
            (json{{"error", "params.name: expected a string, got 7"}, {"code", "invalid_params"}, {"path", "params.name"}}));
}

TEST(ControlError, LibraryExceptionsBecomeErrorsAtTheMethod) {
  const auto t = table();
  Error e = error_of(t.call(R"({"method": "throws.json", "params": {}})"));
  EXPECT_EQ(e.code, ErrorCode::kInternal);
  EXPECT_EQ(e.message.rfind("throws.json: bad parameters: [json.exception.out_of_range.403]", 0), 0u) << e.message;
  e = error_of(t.call(R"({"method": "throws.yaml"})"));
  EXPECT_EQ(e.code, ErrorCode::kInternal);
  EXPECT_EQ(e.message.rfind("throws.yaml: ", 0), 0u) << e.message;
  e = error_of(t.call(R"({"method": "throws.alloc"})"));
  EXPECT_EQ(e.code, ErrorCode::kInternal);
  EXPECT_EQ(e.message, "throws.alloc: std::bad_alloc");
}

TEST(ControlError, BadMirrorSpecNamesTheConfigPath) {
  auto cfg = config::load_string(kConfig, "m.yaml");
  ASSERT_TRUE(cfg) << cfg.error().front();
  const auto add = [&](const json& p) { return mirror::read_mirror_request(*cfg, p); };
  auto r = add({{"name", "bad/name"}, {"taps", {{{"port", "a"}}}}, {"tools", {{{"port", "b"}}}}});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidConfig);
  EXPECT_EQ(r.error().path, "mirrors[0].name");
  EXPECT_NE(r.error().message.find("mirrors[0].name: 'bad/name' is not a valid name"), std::string::npos) << r.error().message;
  r = add({{"name", "m"}, {"taps", {{{"port", "a"}}}}, {"tools", {{{"pcapng", "rel.pcapng"}}}}});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidConfig);
  EXPECT_EQ(r.error().path, "mirrors[0].tools[0].pcapng");
  r = add({{"name", "m"}, {"taps", {{{"port", "a"}}}}, {"tools", {{{"port", "b"}}}}, {"snaplen", 5}});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().path, "mirrors[0].snaplen");
  r = add({{"name", "m"}, {"taps", {{{"port", "a"}}}}, {"tools", {{{"port", "b"}}}}});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->name, "m");
  // Invalid UTF-8 (it could name a file) is refused, not replaced.
  r = add({{"name", "m"}, {"taps", {{{"port", "a"}}}}, {"tools", {{{"pcapng", "/tmp/\xff.pcapng"}}}}});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidParams);
}

TEST(ControlError, ReloadOfABadConfigNamesFileLineAndPath) {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / ("ivs_err_" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const std::string file = (dir / "s.yaml").string();
  std::string text = kConfig;
  text.replace(text.find("vms:\n"), 5, "vms:\n  - ~\n  - 3\n");
  std::ofstream(file) << text;
  auto r = control::read_config_for_reload(file);
  std::filesystem::remove_all(dir);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidConfig);
  EXPECT_EQ(r.error().path, "vms[0]");
  EXPECT_NE(r.error().message.find(file + ":9: vms[0]: expected a mapping"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("nothing changed"), std::string::npos) << r.error().message;
  // A file that cannot be read names no key.
  r = control::read_config_for_reload("/nonexistent/s.yaml");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidConfig);
  EXPECT_EQ(r.error().path, "");
}

TEST(ControlError, ConfigPathOfReaderMessages) {
  EXPECT_EQ(config_path_of("s.yaml:8: vms[0]: expected a mapping"), "vms[0]");
  EXPECT_EQ(config_path_of("/a:b/s.yaml:12: mirrors[0].tools[1].pcapng: not an absolute path"), "mirrors[0].tools[1].pcapng");
  EXPECT_EQ(config_path_of("s.yaml:3: switch.control_socket: /x exists and is not a socket"), "switch.control_socket");
  EXPECT_EQ(config_path_of("s.yaml:0: cannot open the file"), "");
  EXPECT_EQ(config_path_of("s.yaml:4: expected a mapping of keys to values"), "");
  EXPECT_EQ(config_path_of("mirror add:1: mirror 'x': something"), "");
  EXPECT_EQ(config_path_of("no location at all"), "");
}

TEST(ControlError, IvctlPrintsThePathWhenTheMessageDoesNotNameIt) {
  EXPECT_EQ(cli::error_text({{"error", "params.limit: expected an integer"}, {"code", "out_of_range"}, {"path", "params.limit"}}),
            "params.limit: expected an integer");
  EXPECT_EQ(cli::error_text({{"error", "no mirror 'x'"}, {"code", "not_found"}, {"path", "params.name"}}), "params.name: no mirror 'x'");
  EXPECT_EQ(cli::error_text({{"error", "unknown method \"x\""}, {"code", "unknown_method"}}), "unknown method \"x\"");
  EXPECT_EQ(cli::error_text({{"error", "an older daemon's answer"}}), "an older daemon's answer");
}
