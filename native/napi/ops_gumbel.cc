// Argument checks and CPU|CUDA dispatch for the gumbel op family.
#include "napi/addon.h"
#include "napi/args.h"

namespace echogen {

void register_gumbel_ops(Napi::Env, Napi::Object) {}

}  // namespace echogen
