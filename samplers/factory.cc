#include "samplers/pruner.h"
#include "samplers/sampler.h"

namespace mgr {

Result<std::unique_ptr<Sampler>> MakeSampler(const Json& config) {
  return Status::Unavailable("no samplers are built yet");
}

Result<std::unique_ptr<Pruner>> MakePruner(const Json& config) {
  return Status::Unavailable("no pruners are built yet");
}

}  // namespace mgr
