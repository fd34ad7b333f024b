#!/usr/bin/env python3
"""CLEAR (Liu et al. 2024): softmax attention restricted to a local 2-D
window, a circle of radius r around each pixel.

    o_(i,j) = sum_{(i',j'): (i-i')^2 + (j-j')^2 <= r^2}
                  softmax(q_(i,j) . k_(i',j') / sqrt(K)) v_(i',j'),   y = o W_o

A 2-D window is no band of the flattened sequence, so mix.attention's
`window` does not express it. Here every pixel is one sequence of one
query: its neighbourhood (the offsets inside the circle, 29 for r = 3) is
gathered as its keys and values, [B H W, 29], and one non-causal
mix.attention runs over them; neighbours outside the image are masked by
one extra channel (q gets a 1, a key gets 0 inside and -1e4 sqrt(K)
outside, weight exp(-1e4) = 0). The gather (an unfold), the mask channel
and the projections are numpy. The reference masks the full score matrix
by distance, in float64.
"""

import _common as C  # first: it sets numpy's thread count
import numpy as np

PAPER = "CLEAR (local 2-D windows)"
RADIUS = 3
OPS = "mix.attention non-causal, one query over its 29 neighbours (r = 3)"
OUTSIDE = "numpy: neighbourhood gather (unfold), edge mask channel, projections"


def offsets(r):
    return [(a, b) for a in range(-r, r + 1) for b in range(-r, r + 1) if a * a + b * b <= r * r]


def layer(mixir, img, p, H, r):
    B, Hh, Ww, _ = img.shape
    q, k, v = C.project(img, p, H)
    K = q.shape[-1]
    pad = [(0, 0), (r, r), (r, r), (0, 0), (0, 0)]
    kp, vp = np.pad(k, pad), np.pad(v, pad)
    inside = np.pad(np.ones((B, Hh, Ww, H, 1), np.float32), pad)
    keys, vals = [], []
    for a, b in offsets(r):
        win = (slice(None), slice(r + a, r + a + Hh), slice(r + b, r + b + Ww))
        mask = np.where(inside[win] > 0, 0.0, -1e4 * np.sqrt(K)).astype(np.float32)
        keys.append(np.concatenate([kp[win], mask], -1))
        vals.append(vp[win])
    S = len(keys)
    keys = np.stack(keys, 3).reshape(B * Hh * Ww, S, H, K + 1)
    vals = np.stack(vals, 3).reshape(B * Hh * Ww, S, H, -1)
    qa = np.concatenate([q, np.ones(q.shape[:-1] + (1,), np.float32)], -1)
    o = mixir.attention(qa.reshape(B * Hh * Ww, 1, H, K + 1), keys, vals,
                        causal=False, scale=1.0 / np.sqrt(K))
    return o.reshape(B, Hh * Ww, -1) @ p["wo"]


def reference(img, p, H, r):
    img, p = C.as_f64(img, p)
    B, Hh, Ww, _ = img.shape
    q, k, v = (a.reshape(B, Hh * Ww, H, -1) for a in C.project(img, p, H))
    ii, jj = np.divmod(np.arange(Hh * Ww), Ww)
    near = (ii[:, None] - ii[None, :]) ** 2 + (jj[:, None] - jj[None, :]) ** 2 <= r * r
    s = np.einsum("bthk,bshk->bhts", q, k) / np.sqrt(q.shape[-1])
    o = np.einsum("bhts,bshv->bthv", C.softmax(np.where(near, s, -np.inf)), v)
    return o.reshape(B, Hh * Ww, -1) @ p["wo"]


def run(rng, B=2, side=(13, 15), H=2, K=24, V=32, r=RADIUS):
    import mixir
    dm = 48
    img = rng.standard_normal((B,) + side + (dm,)).astype(np.float32)
    p = C.attention_weights(rng, dm, H, K, V)
    return [C.check(PAPER, OPS, OUTSIDE, C.F32_TOL, B * side[0] * side[1],
                    lambda: layer(mixir, img, p, H, r),
                    lambda: reference(img, p, H, r))]


if __name__ == "__main__":
    C.main(__name__)
