#!/usr/bin/env python3
"""Lightning Attention 1/2 (TransNormerLLM, Qin et al. 2024): NormAttention
with a fixed decay per head.

One TransNormerLLM token mixer:

    q = silu(x W_q), k = silu(x W_k), v = x W_v, u = x W_u
    o_t = sum_{s<=t} lambda_h^(t-s) (q_t . k_s) v_s     per head, no scaling
    y = (SRMSNorm(o) * u) W_o

with lambda_h = exp(-slope_h), slope_h = 2^(-8 (h+1) / H) (the ALiBi
slopes). Lightning Attention is the tiled (intra-block quadratic,
inter-block recurrent) algorithm for this recurrence; here it is one
mix.linear_attention with `gate head` (g_h = ln lambda_h) and scale 1, whose
chunked form is that same split. The projections, the norm and the output
gate are numpy. The reference is the quadratic form (Q K^T * M) V with the
decay mask M_ts = lambda^(t-s), in float64.
"""

import _common as C  # first: it sets numpy's thread count
import numpy as np

PAPER = "Lightning Attention (TransNormerLLM)"


def heads(x, H):
    B, T, D = x.shape
    return x.reshape(B, T, H, D // H)


def layer(mixir, x, p, H):
    B, T, _ = x.shape
    q = heads(C.silu(x @ p["wq"]), H)
    k = heads(C.silu(x @ p["wk"]), H)
    v = heads(x @ p["wv"], H)
    o, _ = mixir.linear_attention(q, k, v, p["g"], gate="head", scale=1.0)
    o = C.rmsnorm(o).reshape(B, T, -1)
    return (o * (x @ p["wu"])) @ p["wo"]


def reference(x, p, H):
    x, p = C.as_f64(x, p)
    B, T, _ = x.shape
    q = heads(C.silu(x @ p["wq"]), H)
    k = heads(C.silu(x @ p["wk"]), H)
    v = heads(x @ p["wv"], H)
    t = np.arange(T)
    o = np.zeros(v.shape)
    for h in range(H):
        lam = np.exp(p["g"][h])
        mask = np.where(t[:, None] >= t[None, :],
                        lam ** np.maximum(t[:, None] - t[None, :], 0), 0.0)
        a = np.einsum("btk,bsk->bts", q[:, :, h], k[:, :, h]) * mask
        o[:, :, h] = a @ v[:, :, h]
    o = C.rmsnorm(o).reshape(B, T, -1)
    return (o * (x @ p["wu"])) @ p["wo"]


def run(rng, B=2, T=201, H=4, K=32, V=48):
    import mixir
    dm = 96
    x = rng.standard_normal((B, T, dm)).astype(np.float32)
    p = dict(wq=C.weight(rng, dm, H * K), wk=C.weight(rng, dm, H * K),
             wv=C.weight(rng, dm, H * V), wu=C.weight(rng, dm, H * V),
             wo=C.weight(rng, H * V, dm),
             g=(-2.0 ** (-8.0 * (np.arange(H) + 1) / H)).astype(np.float32))
    y, sec = C.timed(lambda: layer(mixir, x, p, H))
    err = C.rel_rms(reference(x, p, H), y)
    return [C.row(PAPER, "mix.linear_attention gate head, scale 1",
                  "numpy: projections, silu, SRMSNorm, output gate", err, C.F32_TOL,
                  B * T, sec)]


if __name__ == "__main__":
    C.main(__name__)
