#!/usr/bin/env bash
# Everything issue 7 asks of a GPU machine, in one call (no Node needed):
#   1. build native/ with CMake (CUDA on), 2. native/test: every CUDA kernel against its CPU twin,
#   3. compute-sanitizer memcheck + racecheck over the CUDA checks, 4. gpu_bench (CUDA events) and
#   torch_peers.py at the same shapes, 5. report.py -> bench/results/gpu-<date>.md (and $OUT if set).
# usage: bench/gpu/run.sh [--quick]    (on a machine without a GPU every step says it skipped)
set -uo pipefail
cd "$(dirname "$0")/../.."
OUTDIR=${OUT:-/tmp/echogen-gpu}
mkdir -p "$OUTDIR" bench/results
date=$(date +%F)
cmake -S . -B build-gpu -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=90a-real > "$OUTDIR/cmake.log" 2>&1 || { tail -30 "$OUTDIR/cmake.log"; exit 1; }
cmake --build build-gpu -j"$(nproc)" > "$OUTDIR/build.log" 2>&1 || { tail -40 "$OUTDIR/build.log"; exit 1; }
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | tee "$OUTDIR/device.txt"
echo "== native/test (CUDA vs CPU)"
./build-gpu/bin/echogen_native_test > "$OUTDIR/native-test.log" 2>&1; rc=$?
grep -E "FAIL|cuda|checks" "$OUTDIR/native-test.log" | tail -40
if ! ./build-gpu/bin/echogen_gpu_bench --probe 2>/dev/null | grep -q '"device"'; then
  echo "skipped: no CUDA device (native/test ran its CPU checks; benchmarks need a GPU)"; exit $rc
fi
echo "== compute-sanitizer"
: > "$OUTDIR/sanitizer.txt"
if command -v compute-sanitizer >/dev/null; then
  for tool in memcheck racecheck; do
    compute-sanitizer --tool $tool --error-exitcode 9 ./build-gpu/bin/echogen_native_test _cuda > "$OUTDIR/sanitizer-$tool.log" 2>&1
    echo "$tool: exit $? ($(grep -c 'ERROR SUMMARY: 0 errors' "$OUTDIR/sanitizer-$tool.log") clean summaries; $(grep -m1 'ERROR SUMMARY' "$OUTDIR/sanitizer-$tool.log"))" | tee -a "$OUTDIR/sanitizer.txt"
  done
else
  echo "compute-sanitizer not found" | tee "$OUTDIR/sanitizer.txt"
fi
echo "== benchmarks"
./build-gpu/bin/echogen_gpu_bench "$@" > "$OUTDIR/echogen.jsonl" 2> "$OUTDIR/echogen.err"
python3 bench/gpu/torch_peers.py "$@" > "$OUTDIR/torch.jsonl" 2> "$OUTDIR/torch.err"
python3 bench/gpu/report.py "$OUTDIR/echogen.jsonl" "$OUTDIR/torch.jsonl" "bench/results/gpu-$date.md" "$OUTDIR/sanitizer.txt"
cp "bench/results/gpu-$date.md" "$OUTDIR/" 2>/dev/null
exit $rc
