#!/usr/bin/env python3
"""LongVQ (Liu et al. 2024): attention over a vector-quantised key memory.

LongVQ quantises the keys to a fixed-size codebook, so that attention over
the sequence becomes attention over the codebook, linear in length. With
z_t = argmin_c |k_t - e_c|^2 (e_c: [S, K] per head, S codes), attention
over the quantised keys k^_t = e_{z_t} is, grouped by code,

    o_t = sum_s softmax_s(q_t . k^_s / sqrt(K)) v_s
        = sum_c softmax_c(q_t . e_c / sqrt(K) + log n_c) vbar_c

where n_c counts the tokens with code c and vbar_c is the mean of their
values: S keys instead of T. This is the non-causal (encoder / Long Range
Arena) form; y = o W_o. The lookup (distances and argmin, in linalg), the
counts and per-code means and the attention over the codebook (one
non-causal mix.attention over the 16 codes, the log-count bias on an extra
channel) are one MLIR function, longvq.mlir, compiled with mixir.compile;
the projections are numpy. MEGA's EMA and gates around LongVQ's attention
are left out. The reference quantises in float64 and runs softmax
attention over all T quantised keys.
"""

import os

import _common as C  # first: it sets numpy's thread count
import numpy as np

PAPER = "LongVQ"
CODES = 16
OPS = f"mix.attention non-causal over {CODES} codebook keys"
OUTSIDE = ("linalg in longvq.mlir: codebook argmin, counts, per-code means, "
           "log-count channel; numpy: projections")


def codes(k, book):
    """z[b, t, h] = argmin_c |k[b, t, h] - book[h, c]|^2."""
    d = ((k[:, :, :, None, :] - book[None, None]) ** 2).sum(-1)
    return d.argmin(-1)


def layer(module, x, p, H):
    q, k, v = C.project(x, p, H)
    return C.merge_heads(module.longvq(q, k, v, p["book"]), p["wo"])


def reference(x, p, H):
    x, p = C.as_f64(x, p)
    q, k, v = C.project(x, p, H)
    book = p["book"]
    z = codes(k, book)
    kq = book[np.arange(H)[None, None, :], z]                              # [B,T,H,K]
    s = np.einsum("bthk,bshk->bhts", q, kq) / np.sqrt(q.shape[-1])
    o = np.einsum("bhts,bshv->bthv", C.softmax(s), v)
    return C.merge_heads(o, p["wo"])


def run(rng, B=2, T=201, H=2, K=24, V=32, S=CODES):
    """H, K, V and S are the sizes longvq.mlir is written for."""
    import mixir
    with open(os.path.join(C.HERE, "longvq.mlir")) as f:
        module = mixir.compile(f.read())
    dm = 48
    x = rng.standard_normal((B, T, dm)).astype(np.float32)
    p = C.attention_weights(rng, dm, H, K, V,
                           book=(0.6 * rng.standard_normal((H, S, K))).astype(np.float32))
    return [C.check(PAPER, OPS, OUTSIDE, C.F32_TOL, B * T,
                    lambda: layer(module, x, p, H),
                    lambda: reference(x, p, H))]


if __name__ == "__main__":
    C.main(__name__)
