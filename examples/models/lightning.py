#!/usr/bin/env python3
"""Lightning Attention 1/2 (TransNormerLLM, Qin et al. 2024): NormAttention
with a fixed decay per head, the whole layer in MLIR (lightning.mlir).

One TransNormerLLM token mixer:

    q = silu(x W_q), k = silu(x W_k), v = x W_v, u = x W_u
    o_t = sum_{s<=t} lambda_h^(t-s) (q_t . k_s) v_s     per head, no scaling
    y = (SRMSNorm(o) * u) W_o

with lambda_h = exp(-slope_h), slope_h = 2^(-8 (h+1) / H) (the ALiBi
slopes). Lightning Attention is the tiled (intra-block quadratic,
inter-block recurrent) algorithm for this recurrence; here it is one
mix.linear_attention with `gate head` (g_h = ln lambda_h) and scale 1, whose
chunked form is that same split. The projections (linalg.matmul), silu, the
norm and the output gate (linalg.generic) are in the same module,
lightning.mlir, compiled with mixir.compile; nothing runs in numpy. (The
projections are plain linalg.generic contractions, lowered to loops without
tiling: they, not the mixer, set this layer's tokens per second.) The
reference is the quadratic form (Q K^T * M) V with the decay mask
M_ts = lambda^(t-s), in float64.
"""

import os

import _common as C  # first: it sets numpy's thread count
import numpy as np

PAPER = "Lightning Attention (TransNormerLLM)"
OPS = "mix.linear_attention gate head, scale 1"
OUTSIDE = "linalg in lightning.mlir: projections, silu, SRMSNorm, output gate"
# The sizes lightning.mlir is written for.
DM, H, K, V = 96, 4, 32, 48


def slopes():
    """ln lambda_h = -2^(-8 (h+1) / H), the constant of lightning.mlir."""
    return -2.0 ** (-8.0 * (np.arange(H) + 1) / H)


def reference(x, p):
    x, p = C.as_f64(x, p)
    T = x.shape[1]
    q = C.silu(x @ p["wq"]).reshape(x.shape[:2] + (H, K))
    k = C.silu(x @ p["wk"]).reshape(x.shape[:2] + (H, K))
    v = (x @ p["wv"]).reshape(x.shape[:2] + (H, V))
    t = np.arange(T)
    o = np.zeros(v.shape)
    for h, g in enumerate(slopes()):
        mask = np.where(t[:, None] >= t[None, :],
                        np.exp(g * np.maximum(t[:, None] - t[None, :], 0)), 0.0)
        a = np.einsum("btk,bsk->bts", q[:, :, h], k[:, :, h]) * mask
        o[:, :, h] = a @ v[:, :, h]
    o = C.rmsnorm(o).reshape(x.shape[:2] + (H * V,))
    return (o * (x @ p["wu"])) @ p["wo"]


def run(rng, B=2, T=201):
    import mixir
    with open(os.path.join(C.HERE, "lightning.mlir")) as f:
        module = mixir.compile(f.read())
    x = rng.standard_normal((B, T, DM)).astype(np.float32)
    p = C.attention_weights(rng, DM, H, K, V, wu=C.weight(rng, DM, H * V))
    return [C.check(PAPER, OPS, OUTSIDE, C.F32_TOL, B * T,
                    lambda: module.lightning(x, p["wq"], p["wk"], p["wv"], p["wu"], p["wo"]),
                    lambda: reference(x, p))]


if __name__ == "__main__":
    C.main(__name__)
