#pragma once
// ivctl's connection to ivswitchd: one JSON-RPC call over the control socket.
#include <expected>
#include <nlohmann/json.hpp>
#include <string>

namespace ivs::cli {

std::expected<nlohmann::json, std::string> call(const std::string& socket, const std::string& method,
                                                const nlohmann::json& params = nlohmann::json::object());

}  // namespace ivs::cli
