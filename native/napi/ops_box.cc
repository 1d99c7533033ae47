// Argument checks and CPU|CUDA dispatch for the box op family.
#include "napi/addon.h"
#include "napi/args.h"

namespace echogen {

void register_box_ops(Napi::Env, Napi::Object) {}

}  // namespace echogen
