#!/usr/bin/env python3
"""CPU benchmark of non-causal linear attention (mix.linear_attention with
causal = false) against the same math in torch, float32, in one run:

    none     global linear attention, o = scale q (sum_s k_s v_s^T): torch
             computes the [K, V] sum once and multiplies (two einsums)
    scalar   LION's bidirectional decayed form, weights exp(-|G_t - G_s|):
             torch forms the [T, T] weights per head and multiplies
             (quadratic in T, as LION's own attention form is)
    +norm    the same with `normalize` (each row divided by its sum with
             v = 1); torch divides by the weights' row sums

Each MixIR row is checked against the torch row first (rel-RMS, printed);
times are medians of --repeat calls (bench/timing.py), with the ratio
torch / MixIR (> 1: MixIR faster).

    PYTHONPATH=build/python python3 bench/bench_noncausal.py [--T 2048]
"""

import argparse
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from timing import median_ms  # noqa: E402

import mixir  # noqa: E402


def torch_form(q, k, v, g, normalize, scale):
    """The same math in torch on [B, T, H, K] tensors."""
    if g is None:
        s = torch.einsum("bthk,bthv->bhkv", k, v)
        o = scale * torch.einsum("bthk,bhkv->bthv", q, s)
        if normalize:
            z = scale * torch.einsum("bthk,bhk->bth", q, k.sum(1))
            o = o / z[..., None]
        return o
    G = torch.cumsum(g, 1).transpose(1, 2)  # [B, H, T]
    w = torch.exp(-(G[..., :, None] - G[..., None, :]).abs())
    a = scale * torch.einsum("bthk,bshk->bhts", q, k) * w
    o = torch.einsum("bhts,bshv->bthv", a, v)
    if normalize:
        o = o / a.sum(-1).transpose(1, 2)[..., None]
    return o


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--B", type=int, default=1)
    ap.add_argument("--T", type=int, default=2048)
    ap.add_argument("--H", type=int, default=4)
    ap.add_argument("--K", type=int, default=64)
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args()
    rng = np.random.default_rng(0)
    shape = (a.B, a.T, a.H, a.K)
    # Positive features (the kernel-feature-map case the normaliser needs).
    q, k = (np.abs(rng.standard_normal(shape)).astype(np.float32) * 0.3
            for _ in range(2))
    v = rng.standard_normal(shape).astype(np.float32)
    g = -rng.uniform(0.01, 0.5, (a.B, a.T, a.H)).astype(np.float32)
    scale = a.K ** -0.5
    tq, tk, tv, tg = (torch.from_numpy(x) for x in (q, k, v, g))
    print(f"B={a.B} T={a.T} H={a.H} K=V={a.K} float32, "
          f"{torch.get_num_threads()} torch threads")
    print("| form | MixIR ms | torch ms | torch / MixIR | rel-RMS |")
    print("|---|---|---|---|---|")
    for name, gate, normalize in (("none", "none", False),
                                  ("none +norm", "none", True),
                                  ("scalar (LION)", "scalar", False),
                                  ("scalar +norm", "scalar", True)):
        gg = g if gate != "none" else None

        def ours():
            return mixir.linear_attention(q, k, v, gg, gate=gate, scale=scale,
                                          causal=False, normalize=normalize)[0]

        def peer():
            with torch.no_grad():
                return torch_form(tq, tk, tv,
                                  tg if gate != "none" else None,
                                  normalize, scale)
        ref = peer().numpy().astype(np.float64)
        err = np.sqrt(np.mean((ours() - ref) ** 2) / np.mean(ref ** 2))
        m, t = median_ms(ours, a.repeat), median_ms(peer, a.repeat)
        print(f"| {name} | {m:.2f} | {t:.2f} | {t / m:.2f} | {err:.1e} |")


if __name__ == "__main__":
    main()
