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
OPS = "mix.linear_attention (final state)"
OUTSIDE = "numpy: sigmoid, flow sums, softmax, R read (no causal=false op yet), gates"


def flows(q, k):
    """phi(q), phi(k), I, O, I~, O~ with the sums over tokens (axis 1)."""
    fq, fk = C.sigmoid(q), C.sigmoid(k)
    inc = np.einsum("bthk,bhk->bth", fq, fk.sum(1))
    out = np.einsum("bshk,bhk->bsh", fk, fq.sum(1))
    inc_c = np.einsum("bthk,bhk->bth", fq, (fk / out[..., None]).sum(1))
    out_c = np.einsum("bshk,bhk->bsh", fk, (fq / inc[..., None]).sum(1))
    return fq, fk, inc, inc_c, out_c


def layer(mixir, x, p, H):
    T = x.shape[1]
    q, k, v = C.project(x, p, H)
    fq, fk, inc, inc_c, out_c = flows(q, k)
    vt = (T * C.softmax(out_c, axis=1))[..., None] * v
    _, s = mixir.linear_attention(fk, fk, vt.astype(np.float32), output_final_state=True)
    r = np.einsum("bthk,bhkv->bthv", fq / inc[..., None], s)
    o = C.sigmoid(inc_c)[..., None] * r
    return C.merge_heads(o, p["wo"])


def reference(x, p, H):
    x, p = C.as_f64(x, p)
    T = x.shape[1]
    q, k, v = C.project(x, p, H)
    fq, fk = C.sigmoid(q), C.sigmoid(k)
    a = np.einsum("bthk,bshk->bhts", fq, fk)                  # flow capacities
    inc = a.sum(3)                                             # [B, H, n]
    out = a.sum(2)                                             # [B, H, m]
    inc_c = (a / out[:, :, None, :]).sum(3)
    out_c = (a / inc[:, :, :, None]).sum(2)
    vt = T * C.softmax(out_c, axis=-1).transpose(0, 2, 1)[..., None] * v
    r = np.einsum("bhts,bshv->bthv", a / inc[..., None], vt)
    o = C.sigmoid(inc_c).transpose(0, 2, 1)[..., None] * r
    return C.merge_heads(o, p["wo"])


def run(rng, B=2, T=195, H=2, K=24, V=32):
    import mixir
    dm = 48
    x = rng.standard_normal((B, T, dm)).astype(np.float32)
    p = C.attention_weights(rng, dm, H, K, V)
    return [C.check(PAPER, OPS, OUTSIDE, C.F32_TOL, B * T,
                    lambda: layer(mixir, x, p, H),
                    lambda: reference(x, p, H))]


if __name__ == "__main__":
    C.main(__name__)
