#!/bin/sh
# Square GEMMs of several builds of the addon and of PyTorch, alternated round by round on one
# machine (a quiet one: nothing else running), so that a change to the GEMM or the pool is judged
# against its own base and the peer in the same minutes.
#   bench/profile/gemm_build_ab.sh BUILDS_DIR ROUNDS NAME...
# runs BUILDS_DIR/build-NAME/Release/echogen.node for each NAME, then PyTorch (/usr/bin/python3,
# Debian's python3-torch; see bench/setup-torch.sh), ROUNDS times; prints "NAME ROUND LOAD" then
# "N^3 MS ms" lines (min over 9 repetitions of the mean per back-to-back call).
dir=$1; rounds=$2; shift 2
here=$(dirname "$0")
i=1
while [ "$i" -le "$rounds" ]; do
  for v in "$@"; do
    echo "$v $i $(cut -d' ' -f1 /proc/loadavg)"
    ECHOGEN_ADDON="$dir/build-$v/Release/echogen.node" node "$here/square_gemm.js"
  done
  echo "torch $i $(cut -d' ' -f1 /proc/loadavg)"
  /usr/bin/python3 "$here/square_gemm_torch.py"
  i=$((i + 1))
done
