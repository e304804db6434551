#pragma once
// ivctl's connection to ivswitchd: one JSON-RPC call over the control socket.
#include <expected>
#include <nlohmann/json.hpp>
#include <string>

namespace ivs::cli {

// `read_timeout_s`: how long the answer may take (a live trace waits for its packets).
std::expected<nlohmann::json, std::string> call(const std::string& socket, const std::string& method,
                                                const nlohmann::json& params = nlohmann::json::object(), int read_timeout_s = 10);

}  // namespace ivs::cli
