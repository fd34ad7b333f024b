#!/usr/bin/env python3
"""CPU benchmark of training: forward + backward time over forward time for
MixIR's derived backward, beside the same ratio for chunked torch code
written the way fla's reference (`naive`) chunk code is (a torch peer that
autograd differentiates).

Shape (defaults): B=1, T=4096, H=4, K=V=128, float32; scan over D=H*K.
Gates: log decays in [-0.5, -0.01]. Rows:

    mixir  forward             mixir.torch.linear_attention(...), no grad
    mixir  forward+backward    the same with .backward() through the
                               compiled @mixer_backward (mix-derive-backward)
    torch  forward / fwd+bwd   a chunk-64 torch implementation (intra-chunk
                               masked matmuls, state pass over chunks)

Each MixIR row is first checked against the torch peer's gradients in
float64 at a short length (--check-T, 200), and marked if rel-RMS > 1e-4.
The last row, `delta` (Gated DeltaNet: mixir.torch.delta_rule with a scalar
gate and qk_l2norm, backward through its mix.recurrence form), has no torch
peer here; its gradients are checked by test/python/test_backward_dplr.py.
The row `attention` is causal softmax attention (mixir.torch.attention,
backward: the flash-attention backward, mix.attention_grad) beside torch's
scaled_dot_product_attention as the peer.
Timing: median of --repeat calls after one warm-up (bench/timing.py).

    PYTHONPATH=build/python python3 bench/bench_backward.py
"""

import argparse
import os
import platform
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from timing import median_ms  # noqa: E402

import mixir.torch as mt  # noqa: E402

CHUNK = 64


def torch_chunked(q, k, v, g, gate, scale):
    """Chunkwise linear attention in torch (fla-style), differentiable by
    autograd. g: None, [H] (head), [B, T, H] (scalar) or [B, T, H, K]."""
    B, T, H, K = q.shape
    V = v.shape[-1]
    n = -(-T // CHUNK)
    pad = n * CHUNK - T

    def blocks(x):  # [B, T, H, D] -> [B, H, n, C, D]
        x = torch.nn.functional.pad(x, (0, 0, 0, 0, 0, pad))
        return x.reshape(B, n, CHUNK, H, -1).permute(0, 3, 1, 2, 4)

    if gate == "none":
        gk = q.new_zeros(B, T, H, 1)
    elif gate == "head":
        gk = g.expand(B, T, H)[..., None]
    elif gate == "scalar":
        gk = g[..., None]
    else:
        gk = g
    G = blocks(gk).cumsum(3)                     # [B, H, n, C, 1 or K]
    qb, kb, vb = blocks(q) * scale, blocks(k), blocks(v)
    mask = torch.ones(CHUNK, CHUNK, dtype=torch.bool).tril()
    S = q.new_zeros(B, H, K, V)
    outs = []
    for c in range(n):
        Gc, qc, kc, vc = G[:, :, c], qb[:, :, c], kb[:, :, c], vb[:, :, c]
        last = Gc[:, :, -1:]
        if gk.shape[-1] == 1:
            A = (qc @ kc.transpose(-1, -2)) * torch.exp(
                (Gc - Gc.transpose(-1, -2)).masked_fill(~mask, -1e30))
        else:  # per-channel decay: exponents relative to the chunk start
            A = (qc * torch.exp(Gc)) @ (kc * torch.exp(-Gc)).transpose(-1, -2)
            A = A.masked_fill(~mask, 0)
        o = A @ vc + (qc * torch.exp(Gc)) @ S
        outs.append(o)
        S = torch.exp(last).transpose(-1, -2) * S
        S = S + (kc * torch.exp(last - Gc)).transpose(-1, -2) @ vc
    o = torch.stack(outs, 2).permute(0, 2, 3, 1, 4).reshape(B, n * CHUNK, H, V)
    return o[:, :T], S


def inputs(B, T, H, K, gate, dtype=torch.float32, seed=0):
    gen = torch.Generator().manual_seed(seed)
    q = torch.randn(B, T, H, K, generator=gen, dtype=dtype)
    k = torch.randn(B, T, H, K, generator=gen, dtype=dtype)
    k = k / k.norm(dim=-1, keepdim=True)
    v = torch.randn(B, T, H, K, generator=gen, dtype=dtype)
    shape = {"head": (H,), "scalar": (B, T, H), "vector": (B, T, H, K)}
    g = None if gate == "none" else \
        -0.01 - 0.49 * torch.rand(*shape[gate], generator=gen, dtype=dtype)
    return [x for x in (q, k, v, g) if x is not None]


def run(fn, xs, backward):
    def step():
        ys = [x.detach().requires_grad_(backward) for x in xs]
        with torch.set_grad_enabled(backward):
            o, s = fn(*ys)
            if backward:
                (o.square().sum() + s.square().sum()).backward()
    return step


def mixir_fn(gate, scale):
    def f(q, k, v, g=None):
        return mt.linear_attention(q, k, v, g, gate, scale, None, True)
    return f


def delta_fn(scale):
    def f(q, k, v, g):
        beta = torch.sigmoid(g)  # any (0, 1) values
        return mt.delta_rule(q, k, v, beta, g, "scalar", scale, None, True,
                             qk_l2norm=True)
    return f


def peer_fn(gate, scale):
    if gate == "attention":
        return sdpa_fn(scale)

    def f(q, k, v, g=None):
        return torch_chunked(q, k, v, g, gate, scale)
    return f


def attention_fn(scale):
    def f(q, k, v):
        o = mt.attention(q, k, v, scale=scale, causal=True)
        return o, o.new_zeros(())
    return f


def sdpa_fn(scale):
    def f(q, k, v):
        o = torch.nn.functional.scaled_dot_product_attention(
            q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2),
            is_causal=True, scale=scale).transpose(1, 2)
        return o, o.new_zeros(())
    return f


def mixir_of(gate, scale):
    return attention_fn(scale) if gate == "attention" else \
        mixir_fn(gate, scale)


def check(gate, K, T):
    """rel-RMS of MixIR's gradients against the torch peer's, float64."""
    xs = inputs(1, T, 2, K, "none" if gate == "attention" else gate,
                torch.float64, seed=1)
    scale = K ** -0.5
    grads = []
    for fn in (mixir_of(gate, scale), peer_fn(gate, scale)):
        ys = [x.clone().requires_grad_(True) for x in xs]
        o, s = fn(*ys)
        grads.append(torch.autograd.grad(o.square().sum() + s.square().sum(),
                                         ys))
    return max(float((a - b).square().mean().sqrt() / b.square().mean().sqrt())
               for a, b in zip(*grads))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--T", type=int, default=4096)
    p.add_argument("--H", type=int, default=4)
    p.add_argument("--K", type=int, default=128, help="K = V")
    p.add_argument("--check-T", type=int, default=200)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--gates",
                   default="none,head,scalar,vector,delta,attention")
    args = p.parse_args()
    torch.set_num_threads(os.cpu_count() or 1)
    scale = args.K ** -0.5
    print(f"## forward + backward over forward, B=1 T={args.T} H={args.H} "
          f"K=V={args.K} float32; {platform.processor() or platform.machine()}"
          f", {os.cpu_count()} threads")
    print()
    print("| gate | grad rel-RMS vs peer (T=%d, f64) | mixir fwd ms | mixir "
          "fwd+bwd ms | mixir ratio | torch chunked fwd ms | fwd+bwd ms | "
          "torch ratio | mixir fwd+bwd vs torch |" % args.check_T)
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for gate in args.gates.split(","):
        if gate == "delta":
            xs = inputs(1, args.T, args.H, args.K, "scalar")
            step = delta_fn(scale)
            mf = median_ms(run(step, xs, False), args.repeat)
            mb = median_ms(run(step, xs, True), args.repeat)
            print(f"| delta (scalar) | - | {mf:.1f} | {mb:.1f} | "
                  f"{mb / mf:.2f} | - | - | - | - |")
            continue
        err = check(gate, 16, args.check_T)
        xs = inputs(1, args.T, args.H, args.K,
                    "none" if gate == "attention" else gate)
        row = []
        for fn in (mixir_of(gate, scale), peer_fn(gate, scale)):
            fwd = median_ms(run(fn, xs, False), args.repeat)
            both = median_ms(run(fn, xs, True), args.repeat)
            row.append((fwd, both))
        (mf, mb), (tf, tb) = row
        flag = "" if err <= 1e-4 else " (> 1e-4)"
        print(f"| {gate} | {err:.1e}{flag} | {mf:.1f} | {mb:.1f} | "
              f"{mb / mf:.2f} | {tf:.1f} | {tb:.1f} | {tb / tf:.2f} | "
              f"{tb / mb:.2f}x |")


if __name__ == "__main__":
    main()
