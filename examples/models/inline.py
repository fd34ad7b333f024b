#!/usr/bin/env python3
"""Bridging the Divide (Han et al. 2024): InLine attention, injective
linear attention with a local attention residual, over an image.

Linear attention's weights phi(q_i) . phi(k_j) / sum_s phi(q_i) . phi(k_s)
are not injective in q (scaling q leaves them unchanged). InLine subtracts
the mean instead of dividing by the sum:

    w_ij = phi(q_i) . phi(k_j) - (1/N) sum_s phi(q_i) . phi(k_s) + 1/N
    o_i  = sum_j w_ij v_j + sum_{j in 3x3(i)} r_(j-i) v_j,   y = o W_o

with phi = ReLU (our choice of kernel) and the local residual's nine
weights per head predicted from the image's mean token, r = mean(x) W_r.
The sum over j of the first two terms is phi(q_i)^T S - (phi(q_i) . z)
vbar + vbar, with S = sum_j phi(k_j) v_j^T, z = sum_j phi(k_j) and vbar
the mean value: one non-causal mix.linear_attention (`causal = false`, no
gate, scale 1) whose values carry one extra channel of ones gives both
phi(q_i)^T S and phi(q_i) . z for every token. (Its `normalize` would
divide by phi(q_i) . z, linear attention's own normaliser, which InLine
replaces.) The mean terms, the local residual (nine shifted images) and
the projections are numpy. The reference builds w as an N x N matrix and
the 3 x 3 neighbourhoods by index, in float64.
"""

import _common as C  # first: it sets numpy's thread count
import numpy as np

PAPER = "Bridging the Divide (InLine attention)"
OPS = "mix.linear_attention causal=false, scale 1 (v with a ones channel)"
OUTSIDE = "numpy: ReLU, mean terms, 3x3 local residual, projections"


def project(img, p, H):
    B, Hh, Ww, D = img.shape
    x = img.reshape(B, Hh * Ww, D)
    q, k, v = C.project(x, p, H)
    r = (x.mean(1) @ p["wr"]).reshape(B, H, 3, 3)
    return np.maximum(q, 0), np.maximum(k, 0), v, r


def local(v, r, side):
    B, _, H, V = v.shape
    Hh, Ww = side
    im = np.pad(v.reshape(B, Hh, Ww, H, V), [(0, 0), (1, 1), (1, 1), (0, 0), (0, 0)])
    out = sum(r[:, None, None, :, a, c, None] * im[:, a:a + Hh, c:c + Ww]
              for a in range(3) for c in range(3))
    return out.reshape(v.shape)


def layer(mixir, img, p, H):
    Hh, Ww = img.shape[1:3]
    fq, fk, v, r = project(img, p, H)
    ones = np.ones(v.shape[:-1] + (1,), np.float32)
    read, _ = mixir.linear_attention(fq, fk, np.concatenate([v, ones], -1),
                                     scale=1.0, causal=False)  # [phi(q) S, phi(q) . z]
    vbar = v.mean(1)[:, None]
    o = read[..., :-1] - read[..., -1:] * vbar + vbar + local(v, r, (Hh, Ww))
    return C.merge_heads(o, p["wo"])


def reference(img, p, H):
    img, p = C.as_f64(img, p)
    Hh, Ww = img.shape[1:3]
    fq, fk, v, r = project(img, p, H)
    N = Hh * Ww
    a = np.einsum("bthk,bshk->bhts", fq, fk)
    w = a - a.mean(-1, keepdims=True) + 1.0 / N
    o = np.einsum("bhts,bshv->bthv", w, v)
    ii, jj = np.divmod(np.arange(N), Ww)
    for t in range(N):
        for da in (-1, 0, 1):
            for dc in (-1, 0, 1):
                i2, j2 = ii[t] + da, jj[t] + dc
                if 0 <= i2 < Hh and 0 <= j2 < Ww:
                    o[:, t] += r[:, :, da + 1, dc + 1, None] * v[:, i2 * Ww + j2]
    return C.merge_heads(o, p["wo"])


def run(rng, B=2, side=(13, 15), H=2, K=24, V=32):
    import mixir
    dm = 48
    img = rng.standard_normal((B,) + side + (dm,)).astype(np.float32)
    p = C.attention_weights(rng, dm, H, K, V,
                           wr=(30 * C.weight(rng, dm, H * 9)))  # residual weights of order 1
    return [C.check(PAPER, OPS, OUTSIDE, C.F32_TOL, B * side[0] * side[1],
                    lambda: layer(mixir, img, p, H),
                    lambda: reference(img, p, H))]


if __name__ == "__main__":
    C.main(__name__)
