#include "cli/client.hpp"

#include <fmt/format.h>
#include <httplib.h>
#include <sys/socket.h>

namespace ivs::cli {

std::expected<nlohmann::json, std::string> call(const std::string& socket, const std::string& method,
                                                const nlohmann::json& params, int read_timeout_s) {
  httplib::Client c(socket);
  c.set_address_family(AF_UNIX);
  c.set_read_timeout(read_timeout_s, 0);
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
  if (reply.contains("error")) return std::unexpected(reply["error"].get<std::string>());
  return reply["result"];
}

}  // namespace ivs::cli
