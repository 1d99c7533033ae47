// Argument checks and CPU|CUDA dispatch for the vq op family.
#include "napi/addon.h"
#include "napi/args.h"

namespace echogen {

void register_vq_ops(Napi::Env, Napi::Object) {}

}  // namespace echogen
