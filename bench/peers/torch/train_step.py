#!/usr/bin/env python3
"""The EchoGen decoder's training step in PyTorch (CPU), for bench/suites/train_step.js.

Same parameters as EchoGen.stateDict() for a model with geometry: false, layoutMap: false (the plain
decoder), loaded from echogen's own initial weights; pre-LN blocks (LN -> fused QKV linear -> causal
AND segment-masked softmax attention -> out proj -> residual; LN -> fc -> tanh GELU -> proj ->
residual), final LN, the bias-free image and text heads, mean cross-entropy over the rows the batch
marks, global-norm clip 1 (torch.nn.utils.clip_grad_norm_: scale max/(norm+1e-6), as lib/optim/clip.ts)
and torch.optim.AdamW (lr 1e-3, betas (0.9, 0.95), eps 1e-8, weight decay 0.01 on every parameter, as
lib/train/optimizer.ts gives all of model.parameters() to one AdamW).

Protocol (a long-lived child, so the suite can interleave echogen and PyTorch rounds in one run):
  python3 train_step.py --input in.safetensors --config '{json}' [--threads N]
  stdout line 1: {"ready": true, "torch": ..., "threads": ..., "params": ..., "losses": [[img, txt], ...]}
    (losses: the first --verify-steps steps from echogen's weights, before any timing)
  then for each stdin line "steps N": one line {"ms": [per-step wall ms, ...], "cpu": [per-step CPU ms, all
  threads]}; "quit" ends it.
"""
import argparse
import json
import math
import struct
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F


def read_safetensors(path):
    with open(path, 'rb') as f:
        buf = f.read()
    n = struct.unpack('<Q', buf[:8])[0]
    header = json.loads(buf[8:8 + n].decode('utf8'))
    base = 8 + n
    out = {}
    for name, h in header.items():
        if name == '__metadata__':
            continue
        a, b = h['data_offsets']
        dt = {'F32': np.float32, 'I32': np.int32}.get(h['dtype'])
        if dt is None:
            raise TypeError(f'{name}: dtype {h["dtype"]} (only F32 and I32 are read)')
        out[name] = np.frombuffer(buf[base + a:base + b], dtype=dt).reshape(h['shape']).copy()
    return out


def parameter_shapes(c):
    D, hidden = c['dim'], round(c['dim'] * c['mlpRatio'])
    out = [('tokens.weight', [c['vocabSize'], D]), ('positions.weight', [c['maxPositions'], D])]
    for i in range(c['layers']):
        b = f'blocks.{i}'
        out += [(f'{b}.ln1.weight', [D]), (f'{b}.ln1.bias', [D]),
                (f'{b}.attn.qkv.weight', [3 * D, D]), (f'{b}.attn.qkv.bias', [3 * D]),
                (f'{b}.attn.out.weight', [D, D]), (f'{b}.attn.out.bias', [D]),
                (f'{b}.ln2.weight', [D]), (f'{b}.ln2.bias', [D]),
                (f'{b}.mlp.fc.weight', [hidden, D]), (f'{b}.mlp.fc.bias', [hidden]),
                (f'{b}.mlp.proj.weight', [D, hidden]), (f'{b}.mlp.proj.bias', [D])]
    out += [('lnFinal.weight', [D]), ('lnFinal.bias', [D]),
            ('imageHead.weight', [c['codebookSize'], D]), ('textHead.weight', [c['textSize'], D])]
    return out


class Decoder:
    def __init__(self, cfg, weights):
        self.cfg = cfg
        self.p = {}
        for name, shape in parameter_shapes(cfg):
            w = weights.get(name)
            if w is None:
                raise KeyError(f'the weights lack {name}')
            if list(w.shape) != shape:
                raise ValueError(f'{name} is {list(w.shape)} in the weights, {shape} here')
            self.p[name] = torch.tensor(w, requires_grad=True)
        extra = set(weights) - set(self.p)
        if extra:
            raise KeyError(f'the weights have parameters this model lacks: {sorted(extra)}')
        self.params = list(self.p.values())

    def prepare(self, b):
        ids = torch.from_numpy(b['ids'].astype(np.int64))
        B, T = ids.shape
        allowed = torch.tril(torch.ones(T, T, dtype=torch.bool)).expand(B, T, T)
        if 'mask' in b:
            allowed = allowed & torch.from_numpy(b['mask'] != 0)
        bias = torch.zeros(B, 1, T, T)
        bias.masked_fill_(~allowed.unsqueeze(1), -1e9)
        i64 = lambda k: torch.from_numpy(b[k].astype(np.int64)).reshape(-1)
        return dict(B=B, T=T, ids=ids.reshape(-1), pos=i64('pos'), bias=bias,
                    imageRows=i64('imageRows'), imageTargets=i64('imageTargets'),
                    textRows=i64('textRows'), textTargets=i64('textTargets'))

    def lin(self, x, name, bias=True):
        return F.linear(x, self.p[f'{name}.weight'], self.p[f'{name}.bias'] if bias else None)

    def ln(self, x, name):
        return F.layer_norm(x, (x.shape[-1],), self.p[f'{name}.weight'], self.p[f'{name}.bias'], 1e-5)

    def attention(self, x, name, bt):
        B, T, H = bt['B'], bt['T'], self.cfg['heads']
        D = self.cfg['dim']
        Dh = D // H
        q, k, v = self.lin(x, f'{name}.qkv').reshape(B, T, 3, H, Dh).permute(2, 0, 3, 1, 4)
        s = torch.matmul(q, k.transpose(-1, -2)) * (1.0 / math.sqrt(Dh)) + bt['bias']
        o = torch.matmul(torch.softmax(s, -1), v)
        return self.lin(o.permute(0, 2, 1, 3).reshape(B * T, D), f'{name}.out')

    def losses(self, bt):
        p = self.p
        x = F.embedding(bt['ids'], p['tokens.weight']) + F.embedding(bt['pos'], p['positions.weight'])
        for i in range(self.cfg['layers']):
            b = f'blocks.{i}'
            x = x + self.attention(self.ln(x, f'{b}.ln1'), f'{b}.attn', bt)
            h = F.gelu(self.lin(self.ln(x, f'{b}.ln2'), f'{b}.mlp.fc'), approximate='tanh')
            x = x + self.lin(h, f'{b}.mlp.proj')
        h = self.ln(x, 'lnFinal')
        image = F.cross_entropy(self.lin(h[bt['imageRows']], 'imageHead', False), bt['imageTargets'])
        text = F.cross_entropy(self.lin(h[bt['textRows']], 'textHead', False), bt['textTargets'])
        return image, text


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--input', required=True)
    ap.add_argument('--config', required=True)
    ap.add_argument('--threads', type=int, default=0)
    ap.add_argument('--verify-steps', type=int, default=2)
    o = ap.parse_args()
    cfg = json.loads(o.config)
    if o.threads > 0:
        torch.set_num_threads(o.threads)
    data = read_safetensors(o.input)
    weights = {k[6:]: v for k, v in data.items() if k.startswith('param.')}
    batch = {k[6:]: v for k, v in data.items() if k.startswith('batch.')}
    model = Decoder(cfg, weights)
    bt = model.prepare(batch)
    opt = torch.optim.AdamW(model.params, lr=cfg['lr'], betas=tuple(cfg['betas']), eps=cfg['eps'],
                            weight_decay=cfg['weightDecay'], foreach=True)

    def step():
        opt.zero_grad(set_to_none=True)
        image, text = model.losses(bt)
        (image + text).backward()
        norm = torch.nn.utils.clip_grad_norm_(model.params, cfg['clip'])
        opt.step()
        return [image.item(), text.item(), float(norm)]

    losses = [step()[:2] for _ in range(o.verify_steps)]
    print(json.dumps({'ready': True, 'torch': torch.__version__, 'threads': torch.get_num_threads(),
                      'params': sum(t.numel() for t in model.params), 'losses': losses,
                      'config': torch.__config__.parallel_info().splitlines()[:6]}), flush=True)
    for line in sys.stdin:
        cmd = line.split()
        if not cmd or cmd[0] == 'quit':
            break
        if cmd[0] == 'steps':
            ms, cpu = [], []
            for _ in range(int(cmd[1])):
                t0, c0 = time.perf_counter(), time.process_time()
                step()
                ms.append((time.perf_counter() - t0) * 1e3)
                cpu.append((time.process_time() - c0) * 1e3)
            print(json.dumps({'ms': ms, 'cpu': cpu}), flush=True)


if __name__ == '__main__':
    main()
