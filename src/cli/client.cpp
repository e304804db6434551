#include "cli/client.hpp"

#include <fmt/format.h>
#include <httplib.h>
#include <sys/socket.h>

namespace ivs::cli {

std::string error_text(const nlohmann::json& reply) {
  std::string msg = reply["error"].is_string() ? reply["error"].get<std::string>() : reply["error"].dump();
  // The request or config path the error is about (control/rpc.hpp), when the message
  // does not already name it: shown first, as the config's own messages do.
  const std::string path = reply.contains("path") && reply["path"].is_string() ? reply["path"].get<std::string>() : "";
  if (!path.empty() && msg.find(path) == std::string::npos) msg = path + ": " + msg;
  return msg;
}

std::expected<nlohmann::json, std::string> call(const std::string& socket, const std::string& method,
                                                const nlohmann::json& params, int timeout_s) {
  httplib::Client c(socket);
  c.set_address_family(AF_UNIX);
  c.set_read_timeout(timeout_s, 0);
  const nlohmann::json req{{"method", method}, {"params", params}};
  auto res = c.Post("/rpc", req.dump(), "application/json");
  if (!res)
    return std::unexpected(fmt::format("cannot reach ivswitchd at {} ({}); is it running? (--socket or IVSWITCH_SOCKET)", socket,
                                       httplib::to_string(res.error())));
  nlohmann::json reply;
  try {
    reply = nlohmann::json::parse(res->body);
  } catch (const nlohmann::json::exception& e) {
    return std::unexpected(fmt::format("bad reply from ivswitchd: {}", e.what()));
  }
  if (reply.contains("error")) return std::unexpected(error_text(reply));
  return reply["result"];
}

}  // namespace ivs::cli
