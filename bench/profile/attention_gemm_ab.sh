#!/bin/sh
# Session 8, quiet machine: square GEMMs of base / pf (C-tile prefetch) / pfw2 (pf + 2 tasks a thread) and PyTorch,
# alternated; then the small training step: old TS (base worktree) vs new TS (packedAttention) on the base addon,
# and new TS on pf / pfw2.
cd "$(dirname "$0")/../.."
# W holds build-base, build-pf, build-pfw2 (cmake-js --out builds of three worktrees) and the base worktree (old TS).
W=${W:-/tmp/wt-gemm}
sh bench/profile/gemm_build_ab.sh $W 6 base pf pfw2
for i in 1 2 3 4; do
  for combo in "base base" "main base" "main pf" "main pfw2"; do
    set -- $combo
    ts=$1; addon=$2
    if [ "$ts" = main ]; then dir=/work/main; else dir=$W/base; fi
    echo "step ts=$ts addon=$addon round $i load $(cut -d' ' -f1 /proc/loadavg)"
    ECHOGEN_ADDON=$W/build-$addon/Release/echogen.node node $dir/bench/profile/step_profile.js --no-wrap --steps 6 --warmup 2 2>&1 | head -2
  done
done
