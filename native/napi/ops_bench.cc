// Native helpers for bench/: fmaPeak(seconds) measures this CPU's fp32 FMA peak in GFLOP/s.
#include "echogen/fma_peak.h"
#include "napi/addon.h"
#include "napi/args.h"

namespace echogen {

namespace {

Napi::Value FmaPeak(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  double seconds = info[0].IsUndefined() ? 0.5 : number_arg(info, 0, "fmaPeak", "seconds");
  if (!(seconds > 0 && seconds <= 60)) throw_range(env, "fmaPeak: seconds must be in (0, 60], got " + info[0].ToString().Utf8Value());
  return Napi::Number::New(env, cpu::fma_peak_gflops(addon_state(env).pool, seconds));
}

}  // namespace

void register_bench_ops(Napi::Env env, Napi::Object exports) {
  exports.Set("fmaPeak", Napi::Function::New(env, FmaPeak, "fmaPeak"));
}

}  // namespace echogen
