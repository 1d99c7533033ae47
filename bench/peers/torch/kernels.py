#!/usr/bin/env python3
"""PyTorch CPU counterparts of echogen's kernels, for bench/suites/torch_kernels.js.

A long-lived child: prints {"ready": true, ...}, then answers each stdin line (JSON)
  {"op": "matmul", "m": M, "k": K, "n": N, "reps": R}
  {"op": "linear", "rows": N, "in": I, "out": O, "reps": R}                 (x W^T + b)
  {"op": "attention", "b": B, "h": H, "t": T, "d": D, "causal": bool, "bwd": bool, "reps": R}
      softmax(Q K^T / sqrt(D) [+ causal mask]) V; with bwd: the forward and backward of that
      expression under autograd (gradients of q, k and v for a random dy)
  {"op": "layernorm", "rows": N, "d": D, "bwd": bool, "reps": R}
("threads": n in any request: torch.set_num_threads(n) first) with one line {"ms": [per-call ms, ...]}. Inputs are random, made once per request, outside the timing.
"""
import argparse
import json
import math
import sys
import time

import torch
import torch.nn.functional as F


def timed(fn, reps):
    fn()  # warm-up (allocator, oneDNN/OpenBLAS first-call setup)
    out = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1e3)
    return out


def attention_fn(q, k, v, causal, scale):
    s = torch.matmul(q, k.transpose(-1, -2)) * scale
    if causal is not None:
        s = s.masked_fill(causal, float('-inf'))
    return torch.matmul(torch.softmax(s, -1), v)


def handle(r):
    reps = int(r.get('reps', 5))
    if r.get('threads'):
        torch.set_num_threads(int(r['threads']))
    op = r['op']
    if op == 'matmul':
        a, b = torch.randn(r['m'], r['k']), torch.randn(r['k'], r['n'])
        return timed(lambda: torch.mm(a, b), reps)
    if op == 'linear':
        x, w, bias = torch.randn(r['rows'], r['in']), torch.randn(r['out'], r['in']), torch.randn(r['out'])
        return timed(lambda: F.linear(x, w, bias), reps)
    if op == 'attention':
        B, H, T, D = r['b'], r['h'], r['t'], r['d']
        scale = 1.0 / math.sqrt(D)
        causal = torch.ones(T, T, dtype=torch.bool).triu(1) if r.get('causal') else None
        if not r.get('bwd'):
            q, k, v = (torch.randn(B, H, T, D) for _ in range(3))
            with torch.no_grad():
                return timed(lambda: attention_fn(q, k, v, causal, scale), reps)
        q, k, v = (torch.randn(B, H, T, D, requires_grad=True) for _ in range(3))
        dy = torch.randn(B, H, T, D)

        def fb():
            y = attention_fn(q, k, v, causal, scale)
            dq, dk, dv = torch.autograd.grad(y, (q, k, v), dy)
            return dq
        return timed(fb, reps)
    if op == 'layernorm':
        N, D = r['rows'], r['d']
        g, b = torch.randn(D), torch.randn(D)
        if not r.get('bwd'):
            x = torch.randn(N, D)
            with torch.no_grad():
                return timed(lambda: F.layer_norm(x, (D,), g, b, 1e-5), reps)
        x = torch.randn(N, D, requires_grad=True)
        gg, bb = g.clone().requires_grad_(True), b.clone().requires_grad_(True)
        dy = torch.randn(N, D)

        def fb():
            y = F.layer_norm(x, (D,), gg, bb, 1e-5)
            return torch.autograd.grad(y, (x, gg, bb), dy)
        return timed(fb, reps)
    raise ValueError(f'unknown op {op}')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--threads', type=int, default=0)
    o = ap.parse_args()
    if o.threads > 0:
        torch.set_num_threads(o.threads)
    print(json.dumps({'ready': True, 'torch': torch.__version__, 'threads': torch.get_num_threads(),
                      'blas': [l for l in torch.__config__.show().splitlines() if 'BLAS' in l][:2]}), flush=True)
    for line in sys.stdin:
        line = line.strip()
        if not line or line == 'quit':
            break
        try:
            print(json.dumps({'ms': handle(json.loads(line))}), flush=True)
        except Exception as e:  # report, keep serving
            print(json.dumps({'error': f'{type(e).__name__}: {e}'}), flush=True)


if __name__ == '__main__':
    main()
