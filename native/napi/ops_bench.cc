// Native helpers for bench/: fmaPeak(seconds) measures this CPU's fp32 FMA peak in GFLOP/s (wall clock);
// fmaPeakDetail(seconds) returns { wallGflops, cpuGflops, wallSeconds, cpuSeconds, threads, threadsRan }
// (cpuGflops: per second of CPU time the threads were given, times the threads: the quiet-machine peak).
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

Napi::Value FmaPeakDetail(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  double seconds = info[0].IsUndefined() ? 0.5 : number_arg(info, 0, "fmaPeakDetail", "seconds");
  if (!(seconds > 0 && seconds <= 60)) throw_range(env, "fmaPeakDetail: seconds must be in (0, 60], got " + info[0].ToString().Utf8Value());
  cpu::FmaPeak p = cpu::fma_peak(addon_state(env).pool, seconds);
  Napi::Object o = Napi::Object::New(env);
  o.Set("wallGflops", p.wall_gflops);
  o.Set("cpuGflops", p.cpu_gflops);
  o.Set("wallSeconds", p.wall_seconds);
  o.Set("cpuSeconds", p.cpu_seconds);
  o.Set("threads", p.threads);
  o.Set("threadsRan", p.threads_ran);
  return o;
}

}  // namespace

void register_bench_ops(Napi::Env env, Napi::Object exports) {
  exports.Set("fmaPeak", Napi::Function::New(env, FmaPeak, "fmaPeak"));
  exports.Set("fmaPeakDetail", Napi::Function::New(env, FmaPeakDetail, "fmaPeakDetail"));
}

}  // namespace echogen
