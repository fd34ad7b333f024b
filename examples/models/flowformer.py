#!/usr/bin/env python3
"""Flowformer (Wu et al. 2022): Flow-Attention, linear attention with flow
conservation, non-causal.

With phi = sigmoid, Q^ = phi(Q), K^ = phi(K) per head (n queries, m keys):

    incoming  I_i = Q^_i . sum_j K^_j        outgoing  O_j = K^_j . sum_i Q^_i
    conserved I~_i = Q^_i . sum_j K^_j / O_j  O~_j = K^_j . sum_i Q^_i / I_i
    competition   V~ = m softmax_j(O~) V
    aggregation   R_i = (Q^_i / I_i)^T (sum_j K^_j V~_j^T)
    allocation    o_i = sigmoid(I~_i n / m) R_i,     y = o W_o

The one product over all token pairs, sum_j K^_j V~_j^T, is the final state
of mix.linear_attention (no gate) over the sequence; the four flow sums
(vectors of K channels), the softmax, the read R and the gates are numpy
(mix.linear_attention's causal=false form will make the read part of the
op). The reference evaluates the flows and R with explicit n x m matrices
in float64.
"""

import _common as C  # first: it sets numpy's thread count
import numpy as np

PAPER = "Flowformer (Flow-Attention)"


def flows(q, k):
    """phi(q), phi(k), I, O, I~, O~ with the sums over tokens (axis 1)."""
    fq, fk = C.sigmoid(q), C.sigmoid(k)
    inc = np.einsum("bthk,bhk->bth", fq, fk.sum(1))
    out = np.einsum("bshk,bhk->bsh", fk, fq.sum(1))
    inc_c = np.einsum("bthk,bhk->bth", fq, (fk / out[..., None]).sum(1))
    out_c = np.einsum("bshk,bhk->bsh", fk, (fq / inc[..., None]).sum(1))
    return fq, fk, inc, inc_c, out_c


def qkv(x, p, H):
    B, T, _ = x.shape
    return tuple((x @ p[w]).reshape(B, T, H, -1) for w in ("wq", "wk", "wv"))


def layer(mixir, x, p, H):
    B, T, _ = x.shape
    q, k, v = qkv(x, p, H)
    fq, fk, inc, inc_c, out_c = flows(q, k)
    vt = (T * C.softmax(out_c, axis=1))[..., None] * v
    _, s = mixir.linear_attention(fk, fk, vt.astype(np.float32), output_final_state=True)
    r = np.einsum("bthk,bhkv->bthv", fq / inc[..., None], s)
    o = C.sigmoid(inc_c)[..., None] * r
    return o.reshape(B, T, -1) @ p["wo"]


def reference(x, p, H):
    x = x.astype(np.float64)
    p = {n: a.astype(np.float64) for n, a in p.items()}
    B, T, _ = x.shape
    q, k, v = qkv(x, p, H)
    fq, fk = C.sigmoid(q), C.sigmoid(k)
    a = np.einsum("bthk,bshk->bhts", fq, fk)                  # flow capacities
    inc = a.sum(3)                                             # [B, H, n]
    out = a.sum(2)                                             # [B, H, m]
    inc_c = (a / out[:, :, None, :]).sum(3)
    out_c = (a / inc[:, :, :, None]).sum(2)
    vt = T * C.softmax(out_c, axis=-1).transpose(0, 2, 1)[..., None] * v
    r = np.einsum("bhts,bshv->bthv", a / inc[..., None], vt)
    o = C.sigmoid(inc_c).transpose(0, 2, 1)[..., None] * r
    return o.reshape(B, T, -1) @ p["wo"]


def run(rng, B=2, T=195, H=2, K=24, V=32):
    import mixir
    dm = 48
    x = rng.standard_normal((B, T, dm)).astype(np.float32)
    p = dict(wq=C.weight(rng, dm, H * K), wk=C.weight(rng, dm, H * K),
             wv=C.weight(rng, dm, H * V), wo=C.weight(rng, H * V, dm))
    y, sec = C.timed(lambda: layer(mixir, x, p, H))
    err = C.rel_rms(reference(x, p, H), y)
    return [C.row(PAPER, "mix.linear_attention (final state)",
                  "numpy: sigmoid, flow sums, softmax, R read (no causal=false op yet), gates",
                  err, C.F32_TOL, B * T, sec)]


if __name__ == "__main__":
    import sys
    C.main(sys.modules[__name__])
