// Argument checks and CPU|CUDA dispatch for the box op family: boxIou and cycleReward.
#include <cmath>
#include <cstdio>
#include <string>

#include "common/box.h"
#include "echogen/boxes.h"
#include "napi/addon.h"
#include "napi/args.h"
#ifdef ECHOGEN_WITH_CUDA
#include "echogen/cuda_device.h"
#endif

namespace echogen {

namespace {

// Reads `count` floats at element `offset` of t, wherever it lives (only on the error path).
void read_floats(Napi::Env env, const NativeTensor* t, int64_t offset, int count, float* out) {
  if (t->device() == Device::CPU) {
    for (int k = 0; k < count; ++k) out[k] = t->f32()[offset + k];
    return;
  }
#ifdef ECHOGEN_WITH_CUDA
  cuda::copy_d2h(out, t->f32() + offset, count * sizeof(float), addon_state(env).cuda_stream(env));
#else
  (void)env;
#endif
}

std::string index_string(int64_t flat, const std::vector<int64_t>& dims) {
  std::string s = "]";
  for (size_t k = dims.size(); k-- > 0;) {
    s = (k ? "," : "") + std::to_string(flat % dims[k]) + s;
    flat /= dims[k];
  }
  return "[" + s;
}

// "fn: name[i,j] = [x1, y1, x2, y2] has x2 < x1 (boxes are xyxy ...)"; `dims` are the box dims.
[[noreturn]] void throw_bad_box(Napi::Env env, const char* fn, const char* name, const NativeTensor* t, int64_t box,
                                const std::vector<int64_t>& dims) {
  float v[4] = {0.f, 0.f, 0.f, 0.f};
  read_floats(env, t, box * 4, 4, v);
  const char* why = !(std::isfinite(v[0]) && std::isfinite(v[1]) && std::isfinite(v[2]) && std::isfinite(v[3]))
                        ? "has a non-finite coordinate"
                        : !(std::fabs(v[0]) <= EG_BOX_COORD_MAX && std::fabs(v[1]) <= EG_BOX_COORD_MAX && std::fabs(v[2]) <= EG_BOX_COORD_MAX && std::fabs(v[3]) <= EG_BOX_COORD_MAX)
                        ? "has a coordinate beyond +-2^62 (~4.6e18), where f32 areas overflow"
                        : v[2] < v[0] ? "has x2 < x1" : "has y2 < y1";
  char coords[160];
  std::snprintf(coords, sizeof coords, "[%g, %g, %g, %g]", v[0], v[1], v[2], v[3]);
  throw_range(env, std::string(fn) + ": " + name + index_string(box, dims) + " = " + coords + " " + why +
                       " (boxes are xyxy with x1 <= x2, y1 <= y2, all finite)");
}

void require_boxes(Napi::Env env, const NativeTensor* t, int rank, const char* fn, const char* name, const char* dims) {
  require_dtype(env, t, DType::F32, fn, name);
  if (t->rank() != rank || t->dim(rank - 1) != 4)
    throw_range(env, std::string(fn) + ": " + name + " must have shape " + dims + " (xyxy boxes), got " +
                         shape_string(t->shape()));
}

// A finite, non-negative number option.
float weight_option(Napi::Object opts, const char* key, double fallback, const char* fn) {
  double v = number_option(opts, key, fallback, fn);
  if (!(v >= 0 && v <= 3.4028234663852886e38)) {  // as the f32 the kernel uses: 1e39 would be inf
    char value[48];
    std::snprintf(value, sizeof value, "%g", v);
    throw_range(opts.Env(), std::string(fn) + ": options." + key + " must be a finite number >= 0 that f32 can hold (<= 3.4e38), got " + value);
  }
  return static_cast<float>(v);
}

Napi::Value BoxIou(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "boxIou";
  NativeTensor* a = tensor_arg(info, 0, fn, "a");
  NativeTensor* b = tensor_arg(info, 1, fn, "b");
  require_boxes(env, a, 2, fn, "a", "[N,4]");
  require_boxes(env, b, 2, fn, "b", "[M,4]");
  require_same_device(env, a, b, fn, "a", "b");
  Napi::Object opts = options_arg(info, 2, fn);
  std::string kind_name = string_option(opts, "kind", "iou", fn);
  if (kind_name != "iou" && kind_name != "giou")
    throw_range(env, std::string(fn) + ": options.kind must be 'iou' or 'giou', got '" + kind_name + "'");
  BoxKind kind = kind_name == "giou" ? BoxKind::GIoU : BoxKind::IoU;
  const int64_t n = a->dim(0), m = b->dim(0);
  NativeTensor* out;
  Napi::Object result = NativeTensor::Empty(env, {n, m}, DType::F32, a->device(), &out);
  DiscardOutputsOnThrow guard{out};
  BoxFault fault;
  if (a->device() == Device::CPU) {
    fault = cpu::box_iou(addon_state(env).pool, a->f32(), n, b->f32(), m, kind, out->f32());
  } else {
#ifdef ECHOGEN_WITH_CUDA
    fault = cuda::box_iou(addon_state(env).cuda_stream(env), a->f32(), n, b->f32(), m, kind, out->f32());
#endif
  }
  if (fault.bad[0] >= 0) throw_bad_box(env, fn, "a", a, fault.bad[0], {n});
  if (fault.bad[1] >= 0) throw_bad_box(env, fn, "b", b, fault.bad[1], {m});
  return result;
}

Napi::Value CycleReward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "cycleReward";
  NativeTensor* pred = tensor_arg(info, 0, fn, "pred");
  NativeTensor* target = tensor_arg(info, 1, fn, "target");
  require_boxes(env, pred, 4, fn, "pred", "[B,G,N,4]");
  const int64_t B = pred->dim(0), G = pred->dim(1), N = pred->dim(2);
  require_dtype(env, target, DType::F32, fn, "target");
  require_shape(env, target, {B, N, 4}, fn, "target", "B and N of pred, xyxy boxes");
  require_same_device(env, pred, target, fn, "pred", "target");
  Napi::Object opts = options_arg(info, 2, fn);
  NativeTensor* mask = nullptr;
  Napi::Value mask_value = opts.Get("mask");
  if (!mask_value.IsUndefined() && !mask_value.IsNull()) {
    mask = tensor_value(env, mask_value, fn, "options.mask");
    require_dtype(env, mask, DType::F32, fn, "options.mask");
    require_shape(env, mask, {B, N}, fn, "options.mask", "B and N of pred");
    require_same_device(env, pred, mask, fn, "pred", "options.mask");
  }
  RewardOptions opt;
  opt.iou_weight = weight_option(opts, "iouWeight", 1.0, fn);
  opt.l1_weight = weight_option(opts, "l1Weight", 1.0, fn);
  opt.eps = weight_option(opts, "eps", 1e-4, fn);

  const Device dev = pred->device();
  NativeTensor *reward, *advantage, *iou;
  Napi::Object result = Napi::Object::New(env);
  result.Set("reward", NativeTensor::Empty(env, {B, G}, DType::F32, dev, &reward));
  result.Set("advantage", NativeTensor::Empty(env, {B, G}, DType::F32, dev, &advantage));
  result.Set("iou", NativeTensor::Empty(env, {B, G, N}, DType::F32, dev, &iou));
  DiscardOutputsOnThrow guard{reward, advantage, iou};
  const float* mask_data = mask ? mask->f32() : nullptr;
  BoxFault fault;
  if (dev == Device::CPU) {
    fault = cpu::cycle_reward(addon_state(env).pool, pred->f32(), target->f32(), mask_data, B, G, N, opt,
                              reward->f32(), advantage->f32(), iou->f32());
  } else {
#ifdef ECHOGEN_WITH_CUDA
    fault = cuda::cycle_reward(addon_state(env).cuda_stream(env), pred->f32(), target->f32(), mask_data, B, G, N, opt,
                               reward->f32(), advantage->f32(), iou->f32());
#endif
  }
  if (fault.bad[0] >= 0) throw_bad_box(env, fn, "pred", pred, fault.bad[0], {B, G, N});
  if (fault.bad[1] >= 0) throw_bad_box(env, fn, "target", target, fault.bad[1], {B, N});
  if (fault.bad[2] >= 0) {
    float v = 0.f;
    read_floats(env, mask, fault.bad[2], 1, &v);
    char value[48];
    std::snprintf(value, sizeof value, "%g", v);
    throw_range(env, std::string(fn) + ": options.mask" + index_string(fault.bad[2], {B, N}) + " = " + value +
                         " must be 0 (padding) or 1 (a real object)");
  }
  return result;
}

}  // namespace

void register_box_ops(Napi::Env env, Napi::Object exports) {
  exports.Set("boxIou", Napi::Function::New(env, BoxIou, "boxIou"));
  exports.Set("cycleReward", Napi::Function::New(env, CycleReward, "cycleReward"));
}

}  // namespace echogen
