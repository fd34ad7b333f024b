#!/usr/bin/env python3
"""Flowformer (Wu et al. 2022): Flow-Attention, linear attention with flow
conservation, non-causal.

With phi = sigmoid, Q^ = phi(Q), K^ = phi(K) per head (n queries, m keys):

    incoming  I_i = Q^_i . sum_j K^_j        outgoing  O_j = K^_j . sum_i Q^_i
    conserved I~_i = Q^_i . sum_j K^_j / O_j  O~_j = K^_j . sum_i Q^_i / I_i
    competition   V~ = m softmax_j(O~) V
    aggregation   R_i = (Q^_i / I_i)^T (sum_j K^_j V~_j^T)
    allocation    o_i = sigmoid(I~_i n / m) R_i,     y = o W_o

Every sum over tokens is the non-causal mix.linear_attention
(`causal = false`, no gate, scale 1): I and O are one call with v = 1 (a
single channel of ones; O is I with the roles of queries and keys swapped,
stacked along the batch), I~ and O~ a second one of the same form with the
keys divided by O and I, and the aggregation, whose divisor I_i is the
op's own row sum with v = 1, is a third one with `normalize`:
R_i = Q^_i^T (sum_j K^_j V~_j^T) / Q^_i . sum_j K^_j. The sigmoids, the
softmax over the outgoing flows and the gates are numpy. The reference
evaluates the flows and R with explicit n x m matrices in float64.
"""

import _common as C  # first: it sets numpy's thread count
import numpy as np

PAPER = "Flowformer (Flow-Attention)"
OPS = "mix.linear_attention causal=false x 3 (flow sums; R with normalize)"
OUTSIDE = "numpy: projections, sigmoid, flow divisions, softmax, gates"


def global_sums(mixir, q, k, v, normalize=False):
    """o_i = q_i^T sum_j k_j v_j^T over every token (/ the same with v = 1)."""
    o, _ = mixir.linear_attention(q, k, v, scale=1.0, causal=False,
                                  normalize=normalize)
    return o


def flow_pairs(mixir, q, k, kq, qk):
    """(q_i . sum_j kq_j, k_j . sum_i qk_i): one call over the batch stacked
    twice, the second half with the roles of queries and keys swapped."""
    ones = np.ones(q.shape[:-1] + (1,), np.float32)
    o = global_sums(mixir, np.concatenate([q, k]), np.concatenate([kq, qk]),
                    np.concatenate([ones, ones]))[..., 0]
    return o[:len(q)], o[len(q):]


def layer(mixir, x, p, H):
    T = x.shape[1]
    q, k, v = C.project(x, p, H)
    fq, fk = C.sigmoid(q), C.sigmoid(k)
    inc, out = flow_pairs(mixir, fq, fk, fk, fq)             # I, O: [B, T, H]
    inc_c, out_c = flow_pairs(mixir, fq, fk, fk / out[..., None], fq / inc[..., None])
    vt = (T * C.softmax(out_c, axis=1))[..., None] * v
    r = global_sums(mixir, fq, fk, vt.astype(np.float32), normalize=True)
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
