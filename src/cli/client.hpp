#pragma once
// ivctl's connection to ivswitchd: one JSON-RPC call over the control socket.
#include <expected>
#include <nlohmann/json.hpp>
#include <string>

namespace ivs::cli {

// timeout_s bounds the wait for the answer: ivctl top uses a short one (a daemon that
// stopped answering must not freeze the screen for long), a live trace a long one (it
// waits for its packets).
// An error answer ({"error", "code", "path"?}) as ivctl prints it: the message, with the
// path in front when the message does not name it already.
std::string error_text(const nlohmann::json& reply);

std::expected<nlohmann::json, std::string> call(const std::string& socket, const std::string& method,
                                                const nlohmann::json& params = nlohmann::json::object(), int timeout_s = 10);

}  // namespace ivs::cli
