#!/usr/bin/env python3
"""SLAB (Guo et al. 2024), and LiT's simplified linear attention of the
same form: non-causal ReLU linear attention plus a depthwise-convolution
branch, over the tokens of an image.

    o_t = phi(q_t)^T (sum_s phi(k_s) v_s^T) / phi(q_t)^T (sum_s phi(k_s))
          + DWC(v)_t,        phi = ReLU
    y = o W_o

where DWC is a 3 x 3 depthwise convolution of v laid out as the H x W image
(zero padding), the branch that gives linear attention its local
modelling. The attention is mix.linear_attention in its non-causal form
(`causal = false`, no gate, scale 1) with `normalize`: the op divides each
row by its own sum with v = 1, phi(q_t)^T sum_s phi(k_s), which is this
denominator. phi, the convolution and the projections are numpy. The
reference is the quadratic form and the convolution's taps, in float64.
"""

import _common as C  # first: it sets numpy's thread count
import numpy as np

PAPER = "SLAB / LiT (ReLU linear attention + DWC)"
OPS = "mix.linear_attention causal=false normalize, scale 1"
OUTSIDE = "numpy: ReLU, 3x3 DWC, projections"


def project(img, p, H):
    B, Hh, Ww, D = img.shape
    q, k, v = C.project(img.reshape(B, Hh * Ww, D), p, H)
    return np.maximum(q, 0), np.maximum(k, 0), v


def dwconv3(v, w, side):
    """3 x 3 depthwise convolution of v [B, T, H, V] on the image, w: [3, 3, H, V]."""
    B = v.shape[0]
    Hh, Ww = side
    im = np.pad(v.reshape((B, Hh, Ww) + v.shape[2:]), [(0, 0), (1, 1), (1, 1), (0, 0), (0, 0)])
    out = sum(w[a, c] * im[:, a:a + Hh, c:c + Ww] for a in range(3) for c in range(3))
    return out.reshape(v.shape)


def layer(mixir, img, p, H):
    Hh, Ww = img.shape[1:3]
    fq, fk, v = project(img, p, H)
    o, _ = mixir.linear_attention(fq, fk, v, scale=1.0, causal=False, normalize=True)
    o = o + dwconv3(v, p["dw"], (Hh, Ww))
    return C.merge_heads(o, p["wo"])


def reference(img, p, H):
    img, p = C.as_f64(img, p)
    B, Hh, Ww, _ = img.shape
    fq, fk, v = project(img, p, H)
    a = np.einsum("bthk,bshk->bhts", fq, fk)
    o = np.einsum("bhts,bshv->bthv", a / a.sum(-1, keepdims=True), v)
    conv = np.zeros(v.shape)
    vi = v.reshape((B, Hh, Ww) + v.shape[2:])
    for i in range(Hh):
        for j in range(Ww):
            for a_ in range(3):
                for c in range(3):
                    ii, jj = i + a_ - 1, j + c - 1
                    if 0 <= ii < Hh and 0 <= jj < Ww:
                        conv[:, i * Ww + j] += p["dw"][a_, c] * vi[:, ii, jj]
    return C.merge_heads(o + conv, p["wo"])


def run(rng, B=2, side=(13, 15), H=2, K=32, V=24):
    import mixir
    dm = 48
    img = rng.standard_normal((B,) + side + (dm,)).astype(np.float32)
    p = C.attention_weights(rng, dm, H, K, V,
                           dw=(rng.standard_normal((3, 3, H, V)) / 3).astype(np.float32))
    return [C.check(PAPER, OPS, OUTSIDE, C.F32_TOL, B * side[0] * side[1],
                    lambda: layer(mixir, img, p, H),
                    lambda: reference(img, p, H))]


if __name__ == "__main__":
    C.main(__name__)
