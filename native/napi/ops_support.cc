// Argument checks and CPU|CUDA dispatch for the support op family.
#include "napi/addon.h"
#include "napi/args.h"

namespace echogen {

void register_support_ops(Napi::Env, Napi::Object) {}

}  // namespace echogen
