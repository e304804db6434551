#include "control/server.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <filesystem>

#include "control/views.hpp"

namespace ivs::control {

using nlohmann::json;

namespace {
// True when something accepts connections on the socket (another ivswitchd).
bool socket_in_use(const std::string& path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path.c_str());
  const bool used = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return used;
}
}  // namespace

ControlServer::ControlServer(pipeline::Datapath& dp) : dp_(dp) {
  add_method("show.ports", [this](const json&) { return view_ports(dp_); });
  add_method("show.fdb", [this](const json&) { return view_fdb(dp_); });
  add_method("show.routes", [this](const json&) { return view_routes(dp_); });
  add_method("show.pmd", [this](const json&) { return view_pmd(dp_); });
  add_method("show.stats", [this](const json&) { return view_stats(dp_); });
  add_method("show.flows", [this](const json& p) { return view_flows(dp_, p.value("limit", size_t{1000})); });
  add_method("show.policy", [this](const json&) { return view_policy(dp_); });
  add_method("show.chains", [this](const json&) { return view_chains(dp_); });
  add_method("show.qos", [this](const json& p) { return view_qos(dp_, p.value("limit", size_t{20})); });
  add_method("show.mirrors", [this](const json&) { return view_mirrors(dp_); });
  add_method("show.channels", [this](const json&) { return view_channels(dp_); });
  add_method("show.port_security", [this](const json&) { return view_port_security(dp_); });
  add_method("mirror.add", [this](const json& p) { return mirror_add(dp_, p); });
  add_method("mirror.del", [this](const json& p) { return mirror_del(dp_, p); });
  add_method("policy.reload", [this](const json&) { return reload_policy(dp_); });
  add_method("trace", [this](const json& p) { return trace_packet(dp_, p.value("description", std::string())); });
  add_method("list.methods", [this](const json&) {
    json names = json::array();
    for (const auto& [name, _] : methods_) names.push_back(name);
    return json{{"methods", names}};
  });
}

ControlServer::~ControlServer() { stop(); }

json ControlServer::dispatch(const std::string& body) {
  json req;
  try {
    req = json::parse(body);
  } catch (const json::exception& e) {
    return {{"error", fmt::format("request is not JSON: {}", e.what())}};
  }
  if (!req.is_object() || !req.contains("method") || !req["method"].is_string())
    return {{"error", "request needs a string 'method'"}};
  const std::string method = req["method"];
  auto it = methods_.find(method);
  if (it == methods_.end()) return {{"error", fmt::format("unknown method '{}'", method)}};
  try {
    return {{"result", it->second(req.value("params", json::object()))}};
  } catch (const std::exception& e) {
    return {{"error", e.what()}};
  }
}

std::expected<void, std::string> ControlServer::start(const std::string& socket_path, const std::string& metrics_address) {
  socket_path_ = socket_path;
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(socket_path).parent_path(), ec);
  if (socket_in_use(socket_path))
    return std::unexpected(fmt::format("control socket {} is in use: is another ivswitchd running with this instance name?", socket_path));
  ::unlink(socket_path.c_str());  // stale socket of a process that died
  rpc_.set_address_family(AF_UNIX);
  rpc_.Post("/rpc", [this](const httplib::Request& req, httplib::Response& res) {
    res.set_content(dispatch(req.body).dump(), "application/json");
  });
  rpc_.set_write_timeout(60, 0);  // a live capture's reader may pause (a pager, a stopped tshark)
  rpc_.Get("/capture", [this](const httplib::Request& req, httplib::Response& res) { capture(req, res); });
  if (!rpc_.bind_to_port(socket_path.c_str(), 80))
    return std::unexpected(fmt::format("cannot listen on control socket {}", socket_path));
  ::chmod(socket_path.c_str(), 0660);
  rpc_thread_ = std::thread([this] { rpc_.listen_after_bind(); });

  if (!metrics_address.empty()) {
    const auto colon = metrics_address.rfind(':');
    const std::string host = metrics_address.substr(0, colon);
    const int port = std::stoi(metrics_address.substr(colon + 1));
    metrics_.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(metrics_text(dp_), "text/plain; version=0.0.4");
    });
    if (!metrics_.bind_to_port(host.c_str(), port))
      return std::unexpected(fmt::format("cannot listen for /metrics on {} (address in use?)", metrics_address));
    metrics_thread_ = std::thread([this] { metrics_.listen_after_bind(); });
  }
  spdlog::info("control socket {}; metrics {}", socket_path, metrics_address.empty() ? "off" : "http://" + metrics_address + "/metrics");
  return {};
}

// GET /capture?port=P&direction=rx|tx|both&filter=EXPR&snaplen=N: a live capture, streamed
// in frames (u32 length + bytes: the pcap header, then a record each; empty = keep-alive)
// until the client goes away, the capture is deleted, or the daemon stops. It holds one of
// the server's connection threads, hence the bound on concurrent captures.
void ControlServer::capture(const httplib::Request& req, httplib::Response& res) {
  uint32_t snaplen = 0;
  try {
    if (req.has_param("snaplen")) snaplen = static_cast<uint32_t>(std::stoul(req.get_param_value("snaplen")));
  } catch (const std::exception&) {
    snaplen = UINT32_MAX;
  }
  std::expected<pipeline::Datapath::Capture, std::string> cap = std::unexpected(std::string("snaplen: 14..65535, or 0 for whole frames"));
  if (snaplen <= 65535 && (snaplen == 0 || snaplen >= 14))
    cap = dp_.capture_start(req.get_param_value("port"), req.has_param("direction") ? req.get_param_value("direction") : "both",
                            req.get_param_value("filter"), snaplen);
  if (!cap) {
    res.status = 400;
    res.set_content(json{{"error", cap.error()}}.dump(), "application/json");
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
      [this, name = cap->name](bool) { dp_.capture_stop(name); });
}

void ControlServer::stop() {
  stopping_ = true;
  rpc_.stop();
  metrics_.stop();
  if (rpc_thread_.joinable()) rpc_thread_.join();
  if (metrics_thread_.joinable()) metrics_thread_.join();
  if (!socket_path_.empty()) {
    ::unlink(socket_path_.c_str());
    socket_path_.clear();
  }
}

}  // namespace ivs::control
