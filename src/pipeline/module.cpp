#include "pipeline/module.hpp"

#include <fmt/format.h>

namespace ivs::pipeline {

std::expected<std::vector<std::unique_ptr<Module>>, std::string> make_modules(const ModuleEnv& env) {
  std::vector<std::unique_ptr<Module>> out;
  for (const auto& info : registered_modules()) {
    auto m = info.create(env);
    if (!m) return std::unexpected(m.error());
    if (*m) out.push_back(std::move(*m));
  }
  return out;
}

}  // namespace ivs::pipeline
