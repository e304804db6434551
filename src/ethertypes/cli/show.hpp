#pragma once
// `ivctl show ethertypes` (docs/ethertypes.md): the job's table, built into ivctl from its
// folder (CMakeLists.txt takes every src/*/cli/*.cpp into ivctl), listed in cli/main.cpp.
#include <nlohmann/json.hpp>
#include <string>

namespace ivs::cli {

std::string render_ethertypes(const nlohmann::json& v);

}  // namespace ivs::cli
