#!/usr/bin/env python3
"""Liger (Lan et al. 2025): Liger Attention, gated linear attention and
sliding-window softmax attention mixed in one layer.

Liger linearises a pretrained Transformer without new parameters: the
gated recurrence reuses the pretrained q and k, and its decay is built from
the key projection itself (here a GLA-style per-channel gate,
g_t = logsigmoid(k_t) / 16). Liger Attention adds, in the same layer, the
pretrained softmax attention restricted to a sliding window of W tokens:

    S_t = diag(exp(g_t)) S_{t-1} + k_t v_t^T,   o_gla_t = S_t^T (q_t / sqrt(K))
    o_swa_t = sum_{t-W<s<=t} softmax_s(q_t . k_s / sqrt(K)) v_s
    y = (alpha o_gla + beta o_swa) W_o,   alpha = beta = 1/2

Two mix ops on the same q, k, v: mix.linear_attention `gate vector` and
mix.attention `causal window = W`; the gate, the mix and the projections are
numpy. The reference is float64: the GLA recurrence token by token and the
windowed softmax from the full score matrix.
"""

import _common as C  # first: it sets numpy's thread count
import numpy as np

PAPER = "Liger (Liger Attention)"
WINDOW = 32
OPS = f"mix.linear_attention gate vector + mix.attention causal window={WINDOW}"
OUTSIDE = "numpy: projections, gate from k, the weighted sum"
ALPHA = BETA = 0.5


def project(x, p, H):
    q, k, v = C.project(x, p, H)
    return q, k, v, C.logsigmoid(k) / 16.0


def layer(mixir, x, p, H, W):
    q, k, v, g = project(x, p, H)
    o_gla, _ = mixir.linear_attention(q, k, v, g, gate="vector")
    o_swa = mixir.attention(q, k, v, causal=True, window=W)
    return C.merge_heads(ALPHA * o_gla + BETA * o_swa, p["wo"])


def reference(x, p, H, W):
    x, p = C.as_f64(x, p)
    B, T, _ = x.shape
    q, k, v, g = project(x, p, H)
    scale = 1.0 / np.sqrt(q.shape[-1])
    S = np.zeros((B, H, q.shape[-1], v.shape[-1]))
    o_gla = np.zeros(v.shape)
    for t in range(T):
        S = np.exp(g[:, t])[..., None] * S + k[:, t, :, :, None] * v[:, t, :, None, :]
        o_gla[:, t] = np.einsum("bhkv,bhk->bhv", S, scale * q[:, t])
    i, j = np.arange(T)[:, None], np.arange(T)[None, :]
    s = np.einsum("bthk,bshk->bhts", q, k) * scale
    s = np.where((j <= i) & (j > i - W), s, -np.inf)
    o_swa = np.einsum("bhts,bshv->bthv", C.softmax(s), v)
    return C.merge_heads(ALPHA * o_gla + BETA * o_swa, p["wo"])


def run(rng, B=2, T=201, H=4, K=32, V=32, W=WINDOW):
    import mixir
    dm = 96
    x = rng.standard_normal((B, T, dm)).astype(np.float32)
    p = C.attention_weights(rng, dm, H, K, V)
    return [C.check(PAPER, OPS, OUTSIDE, C.F32_TOL, B * T,
                    lambda: layer(mixir, x, p, H, W),
                    lambda: reference(x, p, H, W))]


if __name__ == "__main__":
    C.main(__name__)
