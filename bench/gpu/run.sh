#!/usr/bin/env bash
# Issue 13's GPU run in one call of at most 8 minutes on an H200 (16 cores), every step under a
# printed time budget (seconds):
#   1. build      150  CMake, sm_90a only, -j16: native/test and gpu_bench (no Node needed)
#   2. test        60  native/test: every case on the CPU against float64, every CUDA case against the CPU
#   3. memcheck    60  compute-sanitizer memcheck over the reduced case set (--quick: 2 cases a family)
#   4. racecheck   75  compute-sanitizer racecheck on the shared-memory kernels: attention, vq, gumbel
#   5. gpu_bench   60  gpu_bench --quick: the peer suites and every native/test case at bench shapes
#   6. torch       45  bench/gpu/torch_peers.py --quick, when torch imports
#   7. report      10  $OUT/gpu-report.md (+ bench/results/gpu-<date>.md via report.py)
# Without a CUDA device it checks what it can (the tools, Node) and says `skipped: no CUDA device`.
# Node is not needed here; later device scripts find it on PATH or in .device/node (unpacked from
# .device/node.xz, which travels in the working tree as a `carry` path).
# usage: bench/gpu/run.sh            (writes under $OUT, or /tmp/echogen-gpu)
set -uo pipefail
cd "$(dirname "$0")/../.."
export OUTDIR=${OUT:-/tmp/echogen-gpu}
mkdir -p "$OUTDIR" bench/results
REPORT="$OUTDIR/gpu-report.md"
export JOBS=${JOBS:-16}
T0=$(date +%s)
status=0

{
  echo "# bench/gpu/run.sh, $(date -u +%FT%TZ)"
  echo
  echo "| step | budget s | took s | result |"
  echo "|---|---:|---:|---|"
} > "$REPORT"

# step NAME BUDGET CMD...: runs CMD under `timeout BUDGET`, prints and records the time it took.
step() {
  local name=$1 budget=$2
  shift 2
  local t=$(date +%s)
  echo "== $name (budget ${budget}s, $(( $(date +%s) - T0 ))s into the run)"
  timeout "$budget" bash -c '"$@"' "$name" "$@"  # a new bash, so shell functions need export -f
  local rc=$? took=$(( $(date +%s) - t ))
  local result="ok"
  [ $rc -eq 124 ] && result="TIMED OUT"
  [ $rc -ne 0 ] && [ $rc -ne 124 ] && result="exit $rc"
  echo "   $name: $result in ${took}s (budget ${budget}s)"
  echo "| $name | $budget | $took | $result |" >> "$REPORT"
  [ $rc -ne 0 ] && status=1
  return $rc
}

skip() {
  echo "   $1: skipped: $2"
  echo "| $1 | | | skipped: $2 |" >> "$REPORT"
}

# Node for the device scripts that need it: PATH first, else .device/node(.xz).
if ! command -v node >/dev/null 2>&1; then
  if [ ! -x .device/node ] && [ -f .device/node.xz ]; then xz -dc .device/node.xz > .device/node && chmod +x .device/node; fi
  [ -x .device/node ] && export PATH="$PWD/.device:$PATH"
fi
echo "node: $(command -v node >/dev/null 2>&1 && node --version || echo 'none (not needed by this script)')"

if ! command -v nvidia-smi >/dev/null 2>&1 || ! nvidia-smi -L 2>/dev/null | grep -q GPU; then
  for s in build test memcheck racecheck gpu_bench torch; do skip "$s" "no CUDA device"; done
  echo "skipped: no CUDA device"
  echo >> "$REPORT"
  echo "skipped: no CUDA device" >> "$REPORT"
  exit 0
fi
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$OUTDIR/device.txt"
echo "Device: $(cat "$OUTDIR/device.txt")" >> "$REPORT"

build() {
  local gen=()
  command -v ninja >/dev/null 2>&1 && gen=(-G Ninja)
  ECHOGEN_REQUIRE_CUDA=1 cmake -S . -B build-gpu "${gen[@]}" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=90a-real \
    > "$OUTDIR/cmake.log" 2>&1 || { tail -30 "$OUTDIR/cmake.log"; return 1; }
  cmake --build build-gpu -j"$JOBS" --target echogen_native_test echogen_gpu_bench > "$OUTDIR/build.log" 2>&1 ||
    { grep -E "error|FAILED" "$OUTDIR/build.log" | head -40; return 1; }
}
export -f build
if ! step build 150 build; then
  echo "build failed: see $OUTDIR/build.log"
  exit 1
fi
export BIN=build-gpu/bin

native_test() {
  "$BIN/echogen_native_test" > "$OUTDIR/native-test.log" 2>&1
  local rc=$?
  grep -E "FAIL|cases|device" "$OUTDIR/native-test.log" | tail -40
  return $rc
}
export -f native_test
step test 60 native_test

sanitize() {  # sanitize TOOL LOG ARGS...: compute-sanitizer over native/test with ARGS
  local tool=$1 log=$2
  shift 2
  compute-sanitizer --tool "$tool" --error-exitcode 9 "$BIN/echogen_native_test" "$@" > "$OUTDIR/$log" 2>&1
  local rc=$?
  echo "   $tool $*: exit $rc, $(grep -m1 'ERROR SUMMARY' "$OUTDIR/$log" || echo 'no summary')"
  echo "$tool $*: exit $rc, $(grep -m1 'ERROR SUMMARY' "$OUTDIR/$log")" >> "$OUTDIR/sanitizer.txt"
  return $rc
}
export -f sanitize
: > "$OUTDIR/sanitizer.txt"
if command -v compute-sanitizer >/dev/null 2>&1; then
  step memcheck 60 sanitize memcheck sanitizer-memcheck.log --quick
  racecheck() {
    local rc=0
    for fam in attention vq gumbel; do sanitize racecheck "sanitizer-racecheck-$fam.log" "$fam" --quick || rc=1; done
    return $rc
  }
  export -f racecheck
  step racecheck 75 racecheck
else
  skip memcheck "compute-sanitizer not found"
  skip racecheck "compute-sanitizer not found"
  echo "compute-sanitizer not found" > "$OUTDIR/sanitizer.txt"
fi

step gpu_bench 60 sh -c "'$BIN/echogen_gpu_bench' --quick > '$OUTDIR/echogen.jsonl' 2> '$OUTDIR/echogen.err'"
: > "$OUTDIR/torch.jsonl"
if python3 -c 'import torch; assert torch.cuda.is_available()' > /dev/null 2>&1; then
  step torch 45 sh -c "python3 bench/gpu/torch_peers.py --quick > '$OUTDIR/torch.jsonl' 2> '$OUTDIR/torch.err'"
else
  skip torch "torch does not import (or sees no GPU)"
fi

date=$(date +%F)
step report 10 python3 bench/gpu/report.py "$OUTDIR/echogen.jsonl" "$OUTDIR/torch.jsonl" "bench/results/gpu-$date.md" "$OUTDIR/sanitizer.txt"
cp "bench/results/gpu-$date.md" "$OUTDIR/" 2>/dev/null
{
  echo
  echo "Total: $(( $(date +%s) - T0 )) s. Sanitizer:"
  sed 's/^/- /' "$OUTDIR/sanitizer.txt"
  echo
  echo "native/test: $(grep -E 'cases in' "$OUTDIR/native-test.log" | tail -1)"
  grep -E "FAIL" "$OUTDIR/native-test.log" | head -20 | sed 's/^/- /'
  echo
  echo "Benchmarks: bench/results/gpu-$date.md (copied to \$OUT)."
} >> "$REPORT"
echo "report: $REPORT (total $(( $(date +%s) - T0 ))s)"
exit $status
