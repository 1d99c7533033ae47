// The support op family (GEMM, norms, losses, embedding, AdamW, elementwise, reductions and layout);
// the entry points live in ops_support_*.cc.
#include "napi/dispatch.h"

namespace echogen {

void register_support_ops(Napi::Env env, Napi::Object exports) {
  register_support_gemm_ops(env, exports);
  register_support_elementwise_ops(env, exports);
  register_support_layout_ops(env, exports);
  register_support_nn_ops(env, exports);
}

}  // namespace echogen
