// The box op family: boxIou and cycleReward.
#include <cmath>
#include <string>

#include "common/box.h"
#include "echogen/boxes.h"
#include "napi/dispatch.h"

namespace echogen {

namespace {

// Where a box the kernel rejected lives, to name it: "fn: name[i,j] = [x1, y1, x2, y2] has x2 < x1".
struct BoxSource {
  const char* name;
  Device device;
  const float* data;
  std::vector<int64_t> dims;  // the box dims (the shape without its trailing 4)
};

[[noreturn]] void throw_bad_box(Napi::Env env, const std::string& fn, const BoxSource& s, int64_t box) {
  float v[4] = {0.f, 0.f, 0.f, 0.f};
  read_floats(env, s.device, s.data, box * 4, 4, v);
  const char* why = !(std::isfinite(v[0]) && std::isfinite(v[1]) && std::isfinite(v[2]) && std::isfinite(v[3]))
                        ? "has a non-finite coordinate"
                        : !(std::fabs(v[0]) <= EG_BOX_COORD_MAX && std::fabs(v[1]) <= EG_BOX_COORD_MAX && std::fabs(v[2]) <= EG_BOX_COORD_MAX && std::fabs(v[3]) <= EG_BOX_COORD_MAX)
                        ? "has a coordinate beyond +-2^62 (~4.6e18), where f32 areas overflow"
                        : v[2] < v[0] ? "has x2 < x1" : "has y2 < y1";
  const std::string coords = "[" + number_string(v[0]) + ", " + number_string(v[1]) + ", " + number_string(v[2]) + ", " +
                             number_string(v[3]) + "]";
  throw_range(env, fn + ": " + s.name + index_string(box, s.dims) + " = " + coords + " " + why +
                       " (boxes are xyxy with x1 <= x2, y1 <= y2, all finite)");
}

NativeTensor* boxes(Call& c, size_t i, int rank, const char* name, const char* dims) {
  NativeTensor* t = c.f32(i, name);
  if (t->rank() != rank || t->dim(rank - 1) != 4)
    throw_range(c.env, std::string(c.fn()) + ": " + name + " must have shape " + dims + " (xyxy boxes), got " +
                           shape_string(t->shape()));
  return t;
}

BoxSource source(const char* name, const NativeTensor* t) {
  return {name, t->device(), t->f32(), std::vector<int64_t>(t->shape().begin(), t->shape().end() - 1)};
}

// A finite, non-negative number option.
float weight_option(Napi::Object opts, const char* key, double fallback, const char* fn) {
  double v = number_option(opts, key, fallback, fn);
  if (!(v >= 0 && v <= 3.4028234663852886e38))  // as the f32 the kernel uses: 1e39 would be inf
    throw_range(opts.Env(), std::string(fn) + ": options." + key + " must be a finite number >= 0 that f32 can hold (<= 3.4e38), got " + number_string(v));
  return static_cast<float>(v);
}

Napi::Value BoxIou(Call& c) {
  NativeTensor* a = boxes(c, 0, 2, "a", "[N,4]");
  NativeTensor* b = boxes(c, 1, 2, "b", "[M,4]");
  require_same_device(c.env, a, b, c.fn(), "a", "b");
  Napi::Object opts = options_arg(c.info, 2, c.fn());
  std::string kind_name = string_option(opts, "kind", "iou", c.fn());
  if (kind_name != "iou" && kind_name != "giou")
    throw_range(c.env, std::string(c.fn()) + ": options.kind must be 'iou' or 'giou', got '" + kind_name + "'");
  const BoxKind kind = kind_name == "giou" ? BoxKind::GIoU : BoxKind::IoU;
  const int64_t n = a->dim(0), m = b->dim(0);
  NativeTensor* out = c.out({n, m}, a->device());
  return c.run(a->device(), EG_KERNEL(box_iou, a->f32(), n, b->f32(), m, kind, out->f32()),
               [env = c.env, fn = std::string(c.fn()), sa = source("a", a), sb = source("b", b)](const BoxFault& f) {
                 if (f.bad[0] >= 0) throw_bad_box(env, fn, sa, f.bad[0]);
                 if (f.bad[1] >= 0) throw_bad_box(env, fn, sb, f.bad[1]);
               });
}

Napi::Value CycleReward(Call& c) {
  NativeTensor* pred = boxes(c, 0, 4, "pred", "[B,G,N,4]");
  const int64_t B = pred->dim(0), G = pred->dim(1), N = pred->dim(2);
  NativeTensor* target = c.f32(1, "target");
  require_shape(c.env, target, {B, N, 4}, c.fn(), "target", "B and N of pred, xyxy boxes");
  require_same_device(c.env, pred, target, c.fn(), "pred", "target");
  Napi::Object opts = options_arg(c.info, 2, c.fn());
  NativeTensor* mask = c.optional_tensor(opts.Get("mask"), "options.mask");
  if (mask) {
    require_dtype(c.env, mask, DType::F32, c.fn(), "options.mask");
    require_shape(c.env, mask, {B, N}, c.fn(), "options.mask", "B and N of pred");
    require_same_device(c.env, pred, mask, c.fn(), "pred", "options.mask");
  }
  RewardOptions opt;
  opt.iou_weight = weight_option(opts, "iouWeight", 1.0, c.fn());
  opt.l1_weight = weight_option(opts, "l1Weight", 1.0, c.fn());
  opt.eps = weight_option(opts, "eps", 1e-4, c.fn());
  const Device dev = pred->device();
  NativeTensor* reward = c.out("reward", {B, G}, dev);
  NativeTensor* advantage = c.out("advantage", {B, G}, dev);
  NativeTensor* iou = c.out("iou", {B, G, N}, dev);
  const float* mask_data = mask ? mask->f32() : nullptr;
  return c.run(dev, EG_KERNEL(cycle_reward, pred->f32(), target->f32(), mask_data, B, G, N, opt, reward->f32(), advantage->f32(), iou->f32()),
               [env = c.env, fn = std::string(c.fn()), sp = source("pred", pred), st = source("target", target),
                sm = BoxSource{"options.mask", dev, mask_data, {B, N}}](const BoxFault& f) {
                 if (f.bad[0] >= 0) throw_bad_box(env, fn, sp, f.bad[0]);
                 if (f.bad[1] >= 0) throw_bad_box(env, fn, st, f.bad[1]);
                 if (f.bad[2] >= 0) {
                   float v = 0.f;
                   read_floats(env, sm.device, sm.data, f.bad[2], 1, &v);
                   throw_range(env, fn + ": options.mask" + index_string(f.bad[2], sm.dims) + " = " + number_string(v) +
                                        " must be 0 (padding) or 1 (a real object)");
                 }
               });
}

const OpDef kOps[] = {
    {"boxIou", "boxIou", BoxIou},
    {"cycleReward", "cycleReward", CycleReward},
};

EG_OPS(kOps);

}  // namespace

}  // namespace echogen
