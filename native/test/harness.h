// The cross-backend harness of native/test (the ggml test-backend-ops way): a Case declares its
// arrays (inputs with data, outputs with a size, optional float64 references) and its kernel call,
// written once as a generic lambda `[=](auto be, Args& a) { layer_norm(be, ..., a.f(0), ...); }`
// (common/backend.h). The harness poisons every output (NaN / INT32_MIN), runs the CPU, compares
// with the float64 references, then, with a CUDA device, uploads the same inputs, runs the CUDA
// twin and compares with the CPU.
//
// The one measure (DESIGN.md section 6): err = max|out - want| / max|scale| over finite entries,
// where `scale` is the float64 reference when the case has one and `want` otherwise; matching
// infinities count as equal, any other non-finite entry fails. i32 outputs must match exactly.
// Each family registers a list of cases with EG_CASES(family); `echogen_native_test` checks them
// all (and prints how many), `echogen_gpu_bench` times them on the GPU in its `cases` suite.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/backend.h"
#include "test/check.h"

namespace echogen::test {

// One argument of a case: an input (host data), an output (size only) or an in-place one (both).
struct Array {
  std::string name;
  bool i32 = false, output = false, input = true;
  std::vector<float> f;
  std::vector<int32_t> i;
  double tol = 1e-5;         // CUDA vs CPU (and CPU vs float64) tolerance; 0 = exact
  std::vector<double> ref;   // float64 reference for the CPU output (optional)
  double ref_tol = -1;       // tolerance against `ref` (default: tol)
  bool compare = true;       // false: the case's own twin_check compares this output
  double range = 0;          // errors are relative to max(max |ref|, range): see within()
  size_t size() const { return i32 ? i.size() : f.size(); }
  // For an output bounded by a known range (an IoU in [-1, 1]): errors relative to at least that range, so a case
  // whose few values all happen to lie near zero is not held to a relative error of float32 near zero.
  Array&& within(double r) && {
    range = r;
    return std::move(*this);
  }
  Array&& with_ref(std::vector<double> r, double t = -1) && {
    ref = std::move(r);
    ref_tol = t;
    return std::move(*this);
  }
  Array&& custom() && {
    compare = false;
    return std::move(*this);
  }
  // The same on a named Array (a statement, never `a = std::move(a).with_ref(...)`).
  void set_ref(std::vector<double> r, double t = -1) {
    ref = std::move(r);
    ref_tol = t;
  }
};
Array in(std::string name, std::vector<float> data);
Array in_i32(std::string name, std::vector<int32_t> data);
Array out(std::string name, size_t n, double tol = 1e-5);
Array out_i32(std::string name, size_t n);
Array inout(std::string name, std::vector<float> data, double tol = 1e-5);  // in place: data kept, compared after

// What a kernel sees: the arrays on the backend's memory, plus up to three fault positions the
// kernel reported (BadIndex, BoxFault), which must agree across backends.
struct Args {
  std::vector<void*> p;
  int64_t status[3] = {-1, -1, -1};
  float* f(size_t k) const { return static_cast<float*>(p[k]); }
  int32_t* i(size_t k) const { return static_cast<int32_t*>(p[k]); }
};

// Host copies of every array after a run (index = array index).
struct Outputs {
  std::vector<std::vector<float>> f;
  std::vector<std::vector<int32_t>> i;
  int64_t status[3] = {-1, -1, -1};
};

struct Case {
  std::string name;
  std::vector<Array> arrays;
  std::function<void(cpu::Backend, Args&)> run_cpu;
  std::function<void(cuda::Backend, Args&)> run_cuda;  // set in CUDA builds only
  int64_t expect_status[3] = {-1, -1, -1};             // the faults the kernel must report
  std::function<void(Report&, const Outputs& cpu)> check;                      // extra checks on the CPU run
  std::function<void(Report&, const Outputs& cuda, const Outputs& cpu)> twin_check;  // extra CUDA-vs-CPU checks
  double flops = 0, bytes = 0;  // for gpu_bench's GFLOP/s and GB/s
};

template <typename K>
Case make_case(std::string name, std::vector<Array> arrays, K kernel) {
  Case c;
  c.name = std::move(name);
  c.arrays = std::move(arrays);
  c.run_cpu = [kernel](cpu::Backend be, Args& a) { kernel(be, a); };
#ifdef ECHOGEN_WITH_CUDA
  c.run_cuda = [kernel](cuda::Backend be, Args& a) { kernel(be, a); };
#endif
  return c;
}

// Test: small odd sizes with references; Bench: the model's and larger shapes, no references.
enum class Mode { Test, Bench };
struct Family {
  const char* name;
  std::vector<Case> (*cases)(Mode);
};
std::vector<Family>& families();
struct RegisterFamily {
  RegisterFamily(const char* name, std::vector<Case> (*fn)(Mode)) { families().push_back({name, fn}); }
};
#define EG_CASES(family)                                                  \
  static std::vector<::echogen::test::Case> cases_##family(::echogen::test::Mode); \
  static ::echogen::test::RegisterFamily reg_cases_##family(#family, cases_##family); \
  static std::vector<::echogen::test::Case> cases_##family(::echogen::test::Mode mode)

// One pool for every case (4 threads, so the threaded paths run even on a small machine).
ThreadPool& case_pool();
Outputs run_cpu(const Case& c);
// Checks one case (CPU vs references, then CUDA vs CPU when a device is present); returns false on any failure.
void check_case(Report& report, const Case& c);
// Median ms of the CPU kernel over `reps` runs (outputs re-poisoned each time, inputs reused).
double time_cpu(const Case& c, int reps = 5);
// The measure above, reported as one line.
bool compare(Report& report, const std::string& what, const float* got, const float* want, const double* scale, size_t n,
             double tol, double range = 0);

#ifdef ECHOGEN_WITH_CUDA
// Uploads the inputs, runs the CUDA twin and downloads every array.
Outputs run_cuda(const Case& c, void* stream);
// Median ms of the CUDA twin over repeated runs (CUDA events), inputs uploaded once.
double time_cuda(const Case& c, void* stream, bool quick);
#endif

}  // namespace echogen::test
