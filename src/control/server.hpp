#pragma once
// The control plane's two listeners:
//  - the control socket: JSON-RPC over HTTP on a Unix socket (POST /rpc with
//    {"method": "...", "params": {...}}; reply {"result": ...} or {"error": "...",
//    "code": "...", "path": "..."}, see control/rpc.hpp);
//    ivctl is a thin client of it; GET /capture streams a live capture (see
//    mirror/capture_stream.hpp for the framing);
//  - /metrics: Prometheus text over HTTP on switch.metrics_address.
// Both run on cpp-httplib's threads and only read the datapath (snapshots); each is a
// BoundedServer (connections, deadline, sizes: switch.control_limits / metrics_limits).
#include <httplib.h>

#include <atomic>
#include <expected>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "control/bounded_http.hpp"
#include "config/model.hpp"
#include "control/rpc.hpp"
#include "pipeline/datapath.hpp"

namespace ivs::control {

class ControlServer {
 public:
  explicit ControlServer(pipeline::Datapath& dp);
  ~ControlServer();

  void add_method(const std::string& name, Method m) { methods_.add(name, std::move(m)); }
  std::expected<void, std::string> start(const config::SwitchConfig& sw);
  void stop();

 private:
  friend struct ControlServerFuzz;  // tests/fuzz/control_fuzz.cpp: dispatch without the HTTP
  nlohmann::json dispatch(const std::string& body);
  std::string server_metrics() const;
  void capture(const httplib::Request& req, httplib::Response& res);

  pipeline::Datapath& dp_;
  MethodTable methods_;
  std::unique_ptr<BoundedServer> rpc_, metrics_;
  std::thread rpc_thread_, metrics_thread_;
  std::string socket_path_;
  std::atomic<bool> stopping_{false};  // live captures end
};

}  // namespace ivs::control
