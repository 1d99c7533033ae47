#!/usr/bin/env bash
# Issue 13's second device script (at most 5 minutes): the trainer on CUDA for a fixed number of
# steps against the CPU run of the same seed, then tokens/s on both.
#   1. build    the addon with CUDA (sm_90a only) and dist/, unless already built
#   2. cpu      echogen train --preset small --stages pmtp --steps N --device cpu
#   3. cuda     the same with --device cuda
#   4. compare  per-step losses (max |cuda - cpu| / |cpu|; the kernels round differently, so the
#               curves drift slowly: the first step must agree to 1e-3, the rest are printed)
#               and the median tokens/s of each; written to $OUT/train-check.md
# Without a CUDA device it says `skipped: no CUDA device` after checking that the CPU run works.
# Node: PATH, else .device/node (unpacked from .device/node.xz, carried with the working tree).
# usage: STEPS=20 bench/gpu/train-check.sh
set -uo pipefail
cd "$(dirname "$0")/../.."
OUTDIR=${OUT:-/tmp/echogen-train-check}
STEPS=${STEPS:-20}
mkdir -p "$OUTDIR"
if ! command -v node >/dev/null 2>&1; then
  if [ ! -x .device/node ] && [ -f .device/node.xz ]; then xz -dc .device/node.xz > .device/node && chmod +x .device/node; fi
  [ -x .device/node ] && export PATH="$PWD/.device:$PATH"
fi
command -v node >/dev/null 2>&1 || { echo "train-check: no node on PATH or in .device/"; exit 1; }

gpu=1
if ! command -v nvidia-smi >/dev/null 2>&1 || ! nvidia-smi -L 2>/dev/null | grep -q GPU; then gpu=0; fi

if [ ! -f build/Release/echogen.node ] || [ ! -f dist/index.js ]; then
  echo "== build ($(date +%T))"
  timeout 240 npx cmake-js compile --out build -l warn --CDCMAKE_CUDA_ARCHITECTURES=90a-real || exit 1
  timeout 60 npx tsc -p tsconfig.json || exit 1
fi

train() { # device
  rm -rf "$OUTDIR/run-$1"
  timeout 120 node bin/echogen.js train --preset small --stages pmtp --steps "$STEPS" --seed 0 \
    --device "$1" --out "$OUTDIR/run-$1" --checkpoint-every 3600 --json > "$OUTDIR/$1.log" 2>&1
}

echo "== cpu ($(date +%T))"
train cpu || { echo "train-check: the CPU run failed:"; tail -5 "$OUTDIR/cpu.log"; exit 1; }
if [ $gpu -eq 0 ]; then echo "train-check: cpu run ok; cuda: skipped: no CUDA device"; exit 0; fi
echo "== cuda ($(date +%T))"
train cuda || { echo "train-check: the CUDA run failed:"; tail -5 "$OUTDIR/cuda.log"; exit 1; }

echo "== compare"
node - "$OUTDIR" <<'EOF'
const fs = require('fs');
const dir = process.argv[2];
const read = (d) => fs.readFileSync(`${dir}/run-${d}/log.jsonl`, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
const cpu = read('cpu'), cuda = read('cuda');
const rel = cpu.map((c, i) => Math.abs(cuda[i].loss - c.loss) / Math.abs(c.loss));
const med = (a) => { const s = [...a].sort((x, y) => x - y); return s[Math.floor(s.length / 2)]; };
const tps = (l) => med(l.slice(2).map((r) => r.tokensPerSec));
const gpuName = require('child_process').execSync('nvidia-smi --query-gpu=name --format=csv,noheader').toString().trim();
const lines = [
  `# train-check ${new Date().toISOString()} on ${gpuName}`, '',
  '| step | cpu loss | cuda loss | rel. diff |', '|---:|---:|---:|---:|',
  ...cpu.map((c, i) => `| ${i} | ${c.loss.toFixed(5)} | ${cuda[i].loss.toFixed(5)} | ${rel[i].toExponential(2)} |`), '',
  `tokens/s (median after 2 warm-up steps): cpu ${tps(cpu).toFixed(0)}, cuda ${tps(cuda).toFixed(0)}, ratio ${(tps(cuda) / tps(cpu)).toFixed(1)}x`,
];
fs.writeFileSync(`${dir}/train-check.md`, lines.join('\n') + '\n');
console.log(lines.join('\n'));
process.exit(rel[0] <= 1e-3 ? 0 : 1);
EOF
