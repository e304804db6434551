#include "mirror/module.hpp"

namespace ivs::mirror {

std::expected<std::unique_ptr<pipeline::Module>, std::string> MirrorModule::create(const pipeline::ModuleEnv& env) {
  return std::make_unique<MirrorModule>(env.datapath);
}

}  // namespace ivs::mirror
