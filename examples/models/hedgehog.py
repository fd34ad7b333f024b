#!/usr/bin/env python3
"""Hedgehog (Zhang et al. 2024): linear attention with a learned feature map
that mimics softmax.

Per head, a learned projection W_f: [K, F] gives the feature map

    phi(x) = [softmax(x W_f), softmax(-x W_f)]      (2F features, each > 0)

and the layer is normalised causal linear attention over those features:

    o_t = sum_{s<=t} (phi(q_t) . phi(k_s)) v_s / sum_{s<=t} phi(q_t) . phi(k_s)
    y   = o W_o

The feature map is numpy (a projection and two softmaxes per head). Both the
numerator and the denominator come from one mix.linear_attention (no gate,
scale 1): the values carry one extra channel of ones, whose output is the
denominator. The reference is the quadratic form in float64.
"""

import _common as C  # first: it sets numpy's thread count
import numpy as np

PAPER = "Hedgehog"
OPS = "mix.linear_attention (v with a ones channel: the denominator)"
OUTSIDE = "numpy: projections, softmax feature map, division"


def feature_map(x, w_f):
    """x: [B, T, H, K], w_f: [H, K, F] -> [B, T, H, 2F]."""
    z = np.einsum("bthk,hkf->bthf", x, w_f)
    return np.concatenate([C.softmax(z), C.softmax(-z)], axis=-1)


def project(x, p, H):
    q, k, v = C.project(x, p, H)
    return feature_map(q, p["wf"]), feature_map(k, p["wf"]), v


def layer(mixir, x, p, H):
    fq, fk, v = project(x, p, H)
    ones = np.ones(v.shape[:-1] + (1,), np.float32)
    o, _ = mixir.linear_attention(fq, fk, np.concatenate([v, ones], -1), scale=1.0)
    o = o[..., :-1] / o[..., -1:]
    return C.merge_heads(o, p["wo"])


def reference(x, p, H):
    x, p = C.as_f64(x, p)
    T = x.shape[1]
    fq, fk, v = project(x, p, H)
    causal = np.tril(np.ones((T, T)))
    a = np.einsum("bthf,bshf->bhts", fq, fk) * causal
    a = a / a.sum(-1, keepdims=True)
    o = np.einsum("bhts,bshv->bthv", a, v)
    return C.merge_heads(o, p["wo"])


def run(rng, B=2, T=175, H=3, K=32, F=24, V=40):
    import mixir
    dm = 64
    x = rng.standard_normal((B, T, dm)).astype(np.float32)
    p = C.attention_weights(rng, dm, H, K, V,
                           wf=(rng.standard_normal((H, K, F)) / np.sqrt(K)).astype(np.float32))
    return [C.check(PAPER, OPS, OUTSIDE, C.F32_TOL, B * T,
                    lambda: layer(mixir, x, p, H),
                    lambda: reference(x, p, H))]


if __name__ == "__main__":
    C.main(__name__)
