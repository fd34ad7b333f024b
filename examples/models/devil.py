#!/usr/bin/env python3
"""The Devil in Linear Transformer (Qin et al. 2022): TransNormer's two token
mixers, NormAttention and DiagAttention.

NormAttention drops the scaling (the 1 / sum denominator) of kernel linear
attention and normalises the output instead; here causal, with the kernel
phi = 1 + elu:

    o_t = RMSNorm( sum_{s<=t} (phi(q_t) . phi(k_s)) v_s ),   y = o W_o

one mix.linear_attention (no gate, scale 1) with phi, the norm and the
projections in numpy.

DiagAttention confines softmax attention to non-overlapping blocks of N
tokens (the early layers, against attention dilution):

    o_t = sum_{s in block(t)} softmax_s(q_t . k_s / sqrt(K)) v_s

which is one non-causal mix.attention with `block = N` (the last block is
shorter when N does not divide T, as here: T = 225, N = 32). The
references are float64: NormAttention's quadratic form and a block-diagonal
mask on the full T x T score matrix.
"""

import _common as C  # first: it sets numpy's thread count
import numpy as np

PAPER = "The Devil in Linear Transformer"


def elu1(x):
    return np.where(x > 0, x + 1.0, np.exp(np.minimum(x, 0.0)))


def norm_layer(mixir, x, p, H):
    q, k, v = C.project(x, p, H)
    o, _ = mixir.linear_attention(elu1(q), elu1(k), v, scale=1.0)
    return C.merge_heads(C.rmsnorm(o), p["wo"])


def norm_reference(x, p, H):
    x, p = C.as_f64(x, p)
    T = x.shape[1]
    q, k, v = C.project(x, p, H)
    a = np.einsum("bthk,bshk->bhts", elu1(q), elu1(k)) * np.tril(np.ones((T, T)))
    o = np.einsum("bhts,bshv->bthv", a, v)
    return C.merge_heads(C.rmsnorm(o), p["wo"])


def diag_layer(mixir, x, p, H, N):
    q, k, v = C.project(x, p, H)
    o = mixir.attention(q, k, v, causal=False, block=N)
    return C.merge_heads(o, p["wo"])


def diag_reference(x, p, H, N):
    x, p = C.as_f64(x, p)
    T = x.shape[1]
    q, k, v = C.project(x, p, H)
    blk = np.arange(T) // N
    s = np.einsum("bthk,bshk->bhts", q, k) / np.sqrt(q.shape[-1])
    s = np.where(blk[:, None] == blk[None, :], s, -np.inf)
    o = np.einsum("bhts,bshv->bthv", C.softmax(s), v)
    return C.merge_heads(o, p["wo"])


def run(rng, B=2, T=225, H=4, K=30, V=36, N=32):
    import mixir
    dm = 80
    rows = []
    x = rng.standard_normal((B, T, dm)).astype(np.float32)
    p = C.attention_weights(rng, dm, H, K, V)
    rows.append(C.check(
        f"{PAPER}: NormAttention",
        "mix.linear_attention, scale 1",
        "numpy: projections, 1+elu, RMSNorm",
        C.F32_TOL, B * T, lambda: norm_layer(mixir, x, p, H),
        lambda: norm_reference(x, p, H)))
    p = C.attention_weights(rng, dm, H, K, V)
    rows.append(C.check(
        f"{PAPER}: DiagAttention (N={N})",
        f"mix.attention non-causal, block = {N}",
        "numpy: projections",
        C.F32_TOL, B * T, lambda: diag_layer(mixir, x, p, H, N),
        lambda: diag_reference(x, p, H, N)))
    return rows


if __name__ == "__main__":
    C.main(__name__)
