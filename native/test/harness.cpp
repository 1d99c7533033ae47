#include "test/harness.h"

#include <algorithm>
#include <chrono>
#include <climits>
#include <cmath>
#include <cstdio>

#ifdef ECHOGEN_WITH_CUDA
#include "echogen/cuda_device.h"
#endif

namespace echogen::test {

Array in(std::string name, std::vector<float> data) {
  Array a;
  a.name = std::move(name);
  a.f = std::move(data);
  return a;
}
Array in_i32(std::string name, std::vector<int32_t> data) {
  Array a;
  a.name = std::move(name);
  a.i32 = true;
  a.i = std::move(data);
  return a;
}
Array out(std::string name, size_t n, double tol) {
  Array a;
  a.name = std::move(name);
  a.output = true;
  a.input = false;
  a.tol = tol;
  a.f.assign(n, std::nanf(""));
  return a;
}
Array out_i32(std::string name, size_t n) {
  Array a = out(std::move(name), 0, 0);
  a.i32 = true;
  a.i.assign(n, INT32_MIN);
  return a;
}
Array inout(std::string name, std::vector<float> data, double tol) {
  Array a = in(std::move(name), std::move(data));
  a.output = true;
  a.tol = tol;
  return a;
}

std::vector<Family>& families() {
  static std::vector<Family> f;
  return f;
}

ThreadPool& case_pool() {
  static ThreadPool pool(4);
  return pool;
}

bool compare(Report& report, const std::string& what, const float* got, const float* want, const double* scale, size_t n,
             double tol, double range) {
  double max_err = 0, max_scale = range;
  bool finite = true;
  for (size_t i = 0; i < n; ++i) {
    const double g = got[i], w = want[i], s = scale ? scale[i] : w;
    if (std::isinf(w) && g == w) continue;  // matching infinities (e.g. lse of an empty row)
    if (!std::isfinite(g) || !std::isfinite(w)) {
      finite = false;
      continue;
    }
    max_err = std::max(max_err, std::fabs(g - w));
    if (std::isfinite(s)) max_scale = std::max(max_scale, std::fabs(s));
  }
  const double rel = max_scale > 0 ? max_err / max_scale : max_err;
  char buf[96];
  std::snprintf(buf, sizeof buf, ": rel err %.2e (tol %.0e)%s", rel, tol, finite ? "" : " NON-FINITE");
  return report.expect(finite && rel <= tol, what + buf);
}

Outputs run_cpu(const Case& c) {
  Outputs o;
  o.f.resize(c.arrays.size());
  o.i.resize(c.arrays.size());
  Args a;
  for (size_t k = 0; k < c.arrays.size(); ++k) {
    const Array& arr = c.arrays[k];
    o.f[k] = arr.f;  // outputs start as poison (out()), in-place ones as their data
    o.i[k] = arr.i;
    a.p.push_back(arr.i32 ? static_cast<void*>(o.i[k].data()) : static_cast<void*>(o.f[k].data()));
  }
  c.run_cpu(cpu::Backend{&case_pool()}, a);
  std::copy(a.status, a.status + 3, o.status);
  return o;
}

double time_cpu(const Case& c, int reps) {
  std::vector<double> ms;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    run_cpu(c);  // includes copying the arrays, as every backend's run does
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

static std::string status_string(const int64_t* s) {
  return "(" + std::to_string(s[0]) + ", " + std::to_string(s[1]) + ", " + std::to_string(s[2]) + ")";
}

void check_case(Report& report, const Case& c) {
  Outputs cpu = run_cpu(c);
  const bool faults_ok = std::equal(cpu.status, cpu.status + 3, c.expect_status);
  if (!faults_ok || c.expect_status[0] >= 0 || c.expect_status[1] >= 0 || c.expect_status[2] >= 0)
    report.expect(faults_ok, c.name + " cpu faults " + status_string(cpu.status) + " == " + status_string(c.expect_status));
  for (size_t k = 0; k < c.arrays.size(); ++k) {
    const Array& arr = c.arrays[k];
    if (!arr.output || arr.ref.empty()) continue;
    std::vector<float> got = arr.i32 ? std::vector<float>(cpu.i[k].begin(), cpu.i[k].end()) : cpu.f[k];
    std::vector<float> want(arr.ref.begin(), arr.ref.end());
    compare(report, c.name + " " + arr.name + " cpu vs f64", got.data(), want.data(), arr.ref.data(), got.size(),
            arr.ref_tol >= 0 ? arr.ref_tol : arr.tol, arr.range);
  }
  if (c.check) c.check(report, cpu);
#ifdef ECHOGEN_WITH_CUDA
  if (!c.run_cuda || !cuda_device_present(nullptr)) return;
  Outputs gpu = run_cuda(c, nullptr);
  report.expect(std::equal(gpu.status, gpu.status + 3, cpu.status),
                c.name + " cuda faults " + status_string(gpu.status) + " == cpu " + status_string(cpu.status));
  for (size_t k = 0; k < c.arrays.size(); ++k) {
    const Array& arr = c.arrays[k];
    if (!arr.output || !arr.compare) continue;
    const std::string what = c.name + " " + arr.name + " cuda vs cpu";
    if (arr.i32) {
      report.expect(gpu.i[k] == cpu.i[k], what + ": equal bit for bit");
      continue;
    }
    const double* scale = arr.ref.empty() ? nullptr : arr.ref.data();
    compare(report, what, gpu.f[k].data(), cpu.f[k].data(), scale, arr.size(), arr.tol, arr.range);
    if (!arr.ref.empty()) {
      std::vector<float> want(arr.ref.begin(), arr.ref.end());
      compare(report, c.name + " " + arr.name + " cuda vs f64", gpu.f[k].data(), want.data(), arr.ref.data(), arr.size(),
              arr.ref_tol >= 0 ? arr.ref_tol : arr.tol, arr.range);
    }
  }
  if (c.twin_check) c.twin_check(report, gpu, cpu);
#endif
}

#ifdef ECHOGEN_WITH_CUDA
namespace {
// Device copies of a case's arrays (outputs poisoned, as on the CPU), freed on scope exit.
struct DeviceArgs {
  Args a;
  std::vector<size_t> bytes;
  DeviceArgs(const Case& c, void* stream) {
    for (const Array& arr : c.arrays) {
      const size_t n = arr.size() * 4;
      void* p = cuda::malloc_device(std::max<size_t>(n, 4));
      if (n) cuda::copy_h2d(p, arr.i32 ? static_cast<const void*>(arr.i.data()) : arr.f.data(), n, stream);
      a.p.push_back(p);
      bytes.push_back(n);
    }
  }
  ~DeviceArgs() {
    for (void* p : a.p) cuda::free_device(p);
  }
  DeviceArgs(const DeviceArgs&) = delete;
  DeviceArgs& operator=(const DeviceArgs&) = delete;
};
}  // namespace

Outputs run_cuda(const Case& c, void* stream) {
  DeviceArgs d(c, stream);
  c.run_cuda(cuda::Backend{stream}, d.a);
  Outputs o;
  o.f.resize(c.arrays.size());
  o.i.resize(c.arrays.size());
  for (size_t k = 0; k < c.arrays.size(); ++k) {
    const Array& arr = c.arrays[k];
    void* host;
    if (arr.i32) {
      o.i[k].resize(arr.size());
      host = o.i[k].data();
    } else {
      o.f[k].resize(arr.size());
      host = o.f[k].data();
    }
    if (d.bytes[k]) cuda::copy_d2h(host, d.a.p[k], d.bytes[k], stream);
  }
  cuda::synchronize(stream);
  std::copy(d.a.status, d.a.status + 3, o.status);
  return o;
}

double time_cuda(const Case& c, void* stream, bool quick) {
  DeviceArgs d(c, stream);
  using clock = std::chrono::steady_clock;
  auto once = [&] {
    const auto t0 = clock::now();
    c.run_cuda(cuda::Backend{stream}, d.a);
    cuda::synchronize(stream);
    return std::chrono::duration<double, std::milli>(clock::now() - t0).count();
  };
  for (int i = 0; i < 3; ++i) once();
  const double first = once();
  const int reps = std::clamp(static_cast<int>((quick ? 100.0 : 500.0) / std::max(first, 1e-3)), 10, 200);
  std::vector<double> ms(reps);
  for (double& t : ms) t = once();
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}
#endif

}  // namespace echogen::test
