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


def feature_map(x, w_f):
    """x: [B, T, H, K], w_f: [H, K, F] -> [B, T, H, 2F]."""
    z = np.einsum("bthk,hkf->bthf", x, w_f)
    return np.concatenate([C.softmax(z), C.softmax(-z)], axis=-1)


def project(x, p, H):
    B, T, _ = x.shape
    q = (x @ p["wq"]).reshape(B, T, H, -1)
    k = (x @ p["wk"]).reshape(B, T, H, -1)
    v = (x @ p["wv"]).reshape(B, T, H, -1)
    return feature_map(q, p["wf"]), feature_map(k, p["wf"]), v


def layer(mixir, x, p, H):
    B, T, _ = x.shape
    fq, fk, v = project(x, p, H)
    ones = np.ones(v.shape[:-1] + (1,), np.float32)
    o, _ = mixir.linear_attention(fq, fk, np.concatenate([v, ones], -1), scale=1.0)
    o = o[..., :-1] / o[..., -1:]
    return o.reshape(B, T, -1) @ p["wo"]


def reference(x, p, H):
    x = x.astype(np.float64)
    p = {n: a.astype(np.float64) for n, a in p.items()}
    B, T, _ = x.shape
    fq, fk, v = project(x, p, H)
    causal = np.tril(np.ones((T, T)))
    a = np.einsum("bthf,bshf->bhts", fq, fk) * causal
    a = a / a.sum(-1, keepdims=True)
    o = np.einsum("bhts,bshv->bthv", a, v)
    return o.reshape(B, T, -1) @ p["wo"]


def run(rng, B=2, T=175, H=3, K=32, F=24, V=40):
    import mixir
    dm = 64
    x = rng.standard_normal((B, T, dm)).astype(np.float32)
    p = dict(wq=C.weight(rng, dm, H * K), wk=C.weight(rng, dm, H * K),
             wv=C.weight(rng, dm, H * V), wo=C.weight(rng, H * V, dm),
             wf=(rng.standard_normal((H, K, F)) / np.sqrt(K)).astype(np.float32))
    y, sec = C.timed(lambda: layer(mixir, x, p, H))
    err = C.rel_rms(reference(x, p, H), y)
    return [C.row(PAPER, "mix.linear_attention (v with a ones channel: the denominator)",
                  "numpy: projections, softmax feature map, division",
                  err, C.F32_TOL, B * T, sec)]


if __name__ == "__main__":
    import sys
    C.main(sys.modules[__name__])
