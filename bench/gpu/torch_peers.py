#!/usr/bin/env python3
"""PyTorch peers of native/bench/gpu_bench.cu at the same shapes, timed the same way (CUDA events,
warm-up, median). One JSON object per line, impl naming the PyTorch path. Also measures the
device's bf16 matmul rate (the ceiling attention is compared to).
usage: torch_peers.py [suite] [--quick]"""
import json
import math
import sys

import torch
import torch.nn.functional as F

quick = '--quick' in sys.argv
only = next((a for a in sys.argv[1:] if not a.startswith('--')), None)


def time_ms(fn):
    for _ in range(3):
        fn()
    torch.cuda.synchronize()
    a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    a.record(); fn(); b.record(); b.synchronize()
    reps = max(10, min(200, int((100 if quick else 500) / max(a.elapsed_time(b), 1e-3))))
    ts = []
    for _ in range(reps):
        a.record(); fn(); b.record(); b.synchronize()
        ts.append(a.elapsed_time(b))
    ts.sort()
    return ts[len(ts) // 2]


def emit(suite, case, impl, ms, flops=0, bytes_=0):
    print(json.dumps({'suite': suite, 'case': case, 'impl': impl, 'ms': ms, 'flops': flops, 'bytes': bytes_}), flush=True)


def bench_device():
    n = 1 << 28
    a = torch.randn(n, device='cuda')
    b = torch.empty_like(a)
    emit('device', 'copy 1GiB d2d', 'torch copy_', time_ms(lambda: b.copy_(a)), 0, 2.0 * n * 4)
    m = 8192
    x = torch.randn(m, m, device='cuda', dtype=torch.bfloat16)
    y = torch.randn(m, m, device='cuda', dtype=torch.bfloat16)
    emit('device', 'matmul bf16 8192', 'torch matmul', time_ms(lambda: x @ y), 2.0 * m ** 3, 0)


def bench_attention():
    from torch.nn.attention import SDPBackend, sdpa_kernel
    cases = [(4, 8, 130, 32)] + [(16384 // T, 2048 // D, T, D) for D in (64, 128) for T in (512, 1024, 2048, 4096, 8192)]
    if quick:
        cases = cases[:3]
    for (B, H, T, D) in cases:
        for causal in (False, True):
            name = f'D={D} T={T} B={B} H={H}' + (' causal' if causal else '')
            flops = 4.0 * B * H * T * T * D * (0.5 if causal else 1.0)
            for dtype, backend, label in ((torch.float32, SDPBackend.EFFICIENT_ATTENTION, 'sdpa f32 (mem-efficient)'),
                                          (torch.bfloat16, SDPBackend.FLASH_ATTENTION, 'sdpa bf16 (flash)')):
                q, k, v = (torch.randn(B, H, T, D, device='cuda', dtype=dtype, requires_grad=True) for _ in range(3))
                do = torch.randn(B, H, T, D, device='cuda', dtype=dtype)
                try:
                    with sdpa_kernel(backend):
                        emit('attention', 'fwd ' + name, label, time_ms(lambda: F.scaled_dot_product_attention(q, k, v, is_causal=causal)), flops)
                        out = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
                        emit('attention', 'bwd ' + name, label,
                             time_ms(lambda: torch.autograd.grad(out, (q, k, v), do, retain_graph=True)), 2.5 * flops)
                except RuntimeError as e:
                    print(json.dumps({'suite': 'attention', 'case': name, 'impl': label, 'error': str(e)[:200]}), flush=True)


def bench_vq():
    N = 65536
    for D in (8, 64, 256):
        for K in (512, 4096, 16384):
            if quick and K > 4096:
                continue
            x = torch.randn(N, D, device='cuda')
            c = torch.randn(K, D, device='cuda')
            case = f'nearest N={N} D={D} K={K}'
            emit('vq', case, 'torch cdist+argmin', time_ms(lambda: torch.cdist(x, c).argmin(1)), 2.0 * N * K * D)
            cn = (c * c).sum(1)
            emit('vq', case, 'torch (|c|^2 - 2 x@c.T).argmin', time_ms(lambda: (cn - 2 * x @ c.T).argmin(1)), 2.0 * N * K * D)


def bench_gumbel():
    for N in (4096, 65536):
        for V in (1024, 16384):
            if quick and N * V > 4096 * 16384:
                continue
            logits = torch.randn(N, V, device='cuda') * 4
            n = N * V
            emit('gumbel', f'soft N={N} V={V}', 'F.gumbel_softmax', time_ms(lambda: F.gumbel_softmax(logits, tau=0.7)), 0, 4.0 * (2 * n + N))
            emit('gumbel', f'hard N={N} V={V}', 'F.gumbel_softmax hard', time_ms(lambda: F.gumbel_softmax(logits, tau=0.7, hard=True)), 0, 4.0 * (3 * n + N))


def box_iou_torch(a, b):
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    lt = torch.max(a[:, None, :2], b[None, :, :2])
    rb = torch.min(a[:, None, 2:], b[None, :, 2:])
    wh = (rb - lt).clamp(min=0)
    inter = wh[..., 0] * wh[..., 1]
    return inter / (area_a[:, None] + area_b[None, :] - inter)


def bench_reward():
    try:
        from torchvision.ops import box_iou
        label = 'torchvision box_iou + group stats'
    except ImportError:
        box_iou, label = box_iou_torch, 'torch box_iou + group stats'
    for B in (64, 4096, 65536):
        G, N = 8, 4
        t = torch.rand(B, N, 4, device='cuda') * 0.5
        t[..., 2:] += t[..., :2] + 0.1
        p = (t[:, None] + 0.05 * torch.randn(B, G, N, 4, device='cuda'))
        p[..., 2:] = torch.max(p[..., 2:], p[..., :2])
        mask = torch.ones(B, N, device='cuda')

        def reward():
            # matched IoU needs only the diagonal; box_iou computes the full pairwise matrix per layout
            flat_p = p.reshape(B * G * N, 4)
            flat_t = t[:, None].expand(B, G, N, 4).reshape(B * G * N, 4)
            inter_lt = torch.max(flat_p[:, :2], flat_t[:, :2])
            inter_rb = torch.min(flat_p[:, 2:], flat_t[:, 2:])
            wh = (inter_rb - inter_lt).clamp(min=0)
            inter = wh[:, 0] * wh[:, 1]
            area = lambda b: (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
            iou = (inter / (area(flat_p) + area(flat_t) - inter)).reshape(B, G, N)
            l1 = (p - t[:, None]).abs().mean(-1)
            m = mask[:, None]
            r = (iou * m).sum(-1) / m.sum(-1) - (l1 * m).sum(-1) / m.sum(-1)
            return (r - r.mean(1, keepdim=True)) / (r.std(1, keepdim=True) + 1e-4)
        emit('boxes', f'cycleReward B={B} G=8 N=4', 'torch elementwise IoU + group stats', time_ms(reward), 0,
             4.0 * (B * G * N * 4 + B * N * 4 + B * N + 2 * B * G + B * G * N))
        pb = p.reshape(B * G * N, 4)[:4096]
        tb = t.reshape(B * N, 4)[:4096]
        emit('boxes', f'boxIou 4096x4096 (from B={B})', label.split(' +')[0], time_ms(lambda: box_iou(pb, tb)), 0, 4.0 * 4096 * 4096)


if __name__ == '__main__':
    print(json.dumps({'torch': torch.__version__, 'device': torch.cuda.get_device_name(0)}), flush=True)
    for name, fn in (('device', bench_device), ('attention', bench_attention), ('vq', bench_vq),
                     ('gumbel', bench_gumbel), ('boxes', bench_reward)):
        if only in (None, name):
            fn()
