#!/usr/bin/env python3
"""Joins the JSON lines of gpu_bench (echogen) and torch_peers.py (PyTorch) into
bench/results/gpu-<date>.md: every figure, GFLOP/s or GB/s, the fraction of the measured ceilings
(d2d copy bandwidth; bf16 matmul rate) and the ratio of each PyTorch path's time to echogen's
(> 1 means echogen is faster). usage: report.py ECHOGEN.jsonl TORCH.jsonl OUT.md [SANITIZER.txt]"""
import datetime
import json
import os
import sys


def load(path):
    rows, meta = [], {}
    for line in open(path):
        line = line.strip()
        if not line.startswith('{'):
            continue
        o = json.loads(line)
        if 'impl' in o and 'ms' in o:
            rows.append(o)
        else:
            meta.update(o)
    return rows, meta


ours, meta = load(sys.argv[1])
peers, tmeta = load(sys.argv[2])
rows = ours + peers
copy_bw = next((r['bytes'] / r['ms'] / 1e6 for r in rows if r['case'] == 'copy 1GiB d2d' and r['impl'] != 'echogen'), None)
copy_bw_ours = next((r['bytes'] / r['ms'] / 1e6 for r in rows if r['case'] == 'copy 1GiB d2d' and r['impl'] == 'echogen'), None)
mm_rate = next((r['flops'] / r['ms'] / 1e9 for r in rows if r['case'] == 'matmul bf16 8192'), None)

lines = [f"# GPU benchmark, {datetime.date.today().isoformat()}", '',
         f"Device: **{meta.get('device', tmeta.get('device', '?'))}** (sm {meta.get('sm', '?')}, {meta.get('sms', '?')} SMs); "
         f"PyTorch {tmeta.get('torch', '?')}. CUDA events, warm-up, median of repeats; inputs random on the device.", '',
         f"Ceilings measured in this run: d2d copy {copy_bw or copy_bw_ours or float('nan'):.0f} GB/s (read + write), "
         f"bf16 matmul {mm_rate or float('nan'):.0f} TFLOP/s." if mm_rate else "", '',
         '| suite | case | impl | ms | TFLOP/s | GB/s | of ceiling | PyTorch ms / echogen ms |',
         '|---|---|---|---:|---:|---:|---:|---:|']
by_case = {}
for r in rows:
    by_case.setdefault((r['suite'], r['case']), []).append(r)
for (suite, case), rs in by_case.items():
    base = next((r for r in rs if r['impl'] == 'echogen'), None)
    for r in rs:
        tf = r['flops'] / r['ms'] / 1e9 if r.get('flops') else None
        gb = r['bytes'] / r['ms'] / 1e6 if r.get('bytes') else None
        ceil = ''
        if suite == 'attention' and tf and mm_rate:
            ceil = f'{tf / mm_rate:.1%} of bf16 mm'
        elif gb and (copy_bw or copy_bw_ours) and suite in ('gumbel', 'boxes', 'device'):
            ceil = f'{gb / (copy_bw or copy_bw_ours):.0%} of copy'
        ratio = f"{r['ms'] / base['ms']:.2f}x" if base and r is not base else ''
        lines.append(f"| {suite} | {case} | {r['impl']} | {r['ms']:.4f} | {tf and f'{tf:.2f}' or ''} | {gb and f'{gb:.0f}' or ''} | {ceil} | {ratio} |")
if len(sys.argv) > 4 and os.path.exists(sys.argv[4]):
    lines += ['', '## compute-sanitizer', '', '```', open(sys.argv[4]).read().strip()[-4000:], '```']
out = sys.argv[3]
tmp = out + '.tmp'
with open(tmp, 'w') as f:
    f.write('\n'.join(lines) + '\n')
os.replace(tmp, out)
print('\n'.join(lines))
