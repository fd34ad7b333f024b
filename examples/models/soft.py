#!/usr/bin/env python3
"""SOFT (Lu et al. 2021): softmax-free attention with a Gaussian kernel and
its Nystrom low-rank approximation.

SOFT replaces softmax(q . k) by the Gaussian kernel of a shared projection
(Q = K), with no row normalisation, and approximates the T x T kernel
matrix through m landmarks Q~ (here the average of each image row's
tokens):

    G(A, B)_ij = exp(-|a_i - b_j|^2 / 2),   q = x W_q / d^(1/4)
    o = G(Q, Q~) pinv(G(Q~, Q~)) (G(Q~, Q) V),   y = o W_o

Both products with a kernel matrix, G(Q~, Q) V (m queries over T keys) and
G(Q, Q~) W (T queries over m keys), are non-causal mix.attention calls:
with q' = [q, 1, |q|^2 / 2] and keys k' = [k, -|k|^2 / 2, 0] (scale 1) the
score of key j is q . k - |k|^2 / 2, and one more "sink" key [0, 0, 1] has
the score |q|^2 / 2; their difference is -|q - k|^2 / 2. So with values
[v_j, 0] and [0, 1] for the sink, softmax's output divided by its last
channel (the sink's weight) is sum_j exp(-|q - k_j|^2 / 2) v_j: the
unnormalised kernel sum, with the sink's weight >= 1 / (keys + 1). The
landmark pooling, the m x m pseudo-inverse (SOFT's Newton iteration, here
numpy's pinv in float64), the channels and the projections are numpy. The
reference forms the kernel matrices in float64.
"""

import _common as C  # first: it sets numpy's thread count
import numpy as np

PAPER = "SOFT (Gaussian kernel, Nystrom)"
OPS = "mix.attention non-causal x 2 (kernel sums, one sink key)"
OUTSIDE = "numpy: landmark pooling, m x m pinv, |q|^2 channels, projections"


def gaussian_sum(mixir, a, b, v):
    """sum_j exp(-|a_i - b_j|^2 / 2) v_j per batch and head, through one
    non-causal mix.attention. a: [B, Ta, H, K], b: [B, Tb, H, K], v: [B, Tb, H, V]."""
    one = np.ones(a.shape[:-1] + (1,), np.float32)
    qa = np.concatenate([a, one, 0.5 * (a * a).sum(-1, keepdims=True)], -1)
    kb = np.concatenate([b, -0.5 * (b * b).sum(-1, keepdims=True), 0 * b[..., :1]], -1)
    sink_k = np.zeros(b.shape[:1] + (1,) + b.shape[2:3] + (b.shape[3] + 2,), np.float32)
    sink_k[..., -1] = 1.0
    vb = np.concatenate([v, 0 * v[..., :1]], -1)
    sink_v = np.zeros(sink_k.shape[:3] + (v.shape[3] + 1,), np.float32)
    sink_v[..., -1] = 1.0
    o = mixir.attention(qa, np.concatenate([kb, sink_k], 1), np.concatenate([vb, sink_v], 1),
                        causal=False, scale=1.0)
    return o[..., :-1] / o[..., -1:]


def project(img, p, H):
    B, Hh, Ww, D = img.shape
    x = img.reshape(B, Hh * Ww, D)
    q = (x @ p["wq"]).reshape(B, Hh * Ww, H, -1)
    q = q / q.shape[-1] ** 0.25
    v = (x @ p["wv"]).reshape(B, Hh * Ww, H, -1)
    marks = q.reshape((B, Hh, Ww) + q.shape[2:]).mean(2)      # [B, m = Hh, H, K]
    return q, v, marks


def gram(a, b):
    return np.exp(-0.5 * ((a[..., :, None, :] - b[..., None, :, :]) ** 2).sum(-1))


def layer(mixir, img, p, H):
    q, v, marks = project(img, p, H)
    right = gaussian_sum(mixir, marks, q, v)                  # G(Q~, Q) V: [B, m, H, V]
    mm = marks.transpose(0, 2, 1, 3).astype(np.float64)       # [B, H, m, K]
    pinv = np.linalg.pinv(gram(mm, mm)).astype(np.float32)    # [B, H, m, m]
    w = np.einsum("bhij,bjhv->bihv", pinv, right)
    o = gaussian_sum(mixir, q, marks, np.ascontiguousarray(w))
    return C.merge_heads(o, p["wo"])


def reference(img, p, H):
    img, p = C.as_f64(img, p)
    B, Hh, Ww, _ = img.shape
    q, v, marks = project(img, p, H)
    qh, mh, vh = (a.transpose(0, 2, 1, 3) for a in (q, marks, v))  # [B, H, ., .]
    o = gram(qh, mh) @ np.linalg.pinv(gram(mh, mh)) @ (gram(mh, qh) @ vh)
    return o.transpose(0, 2, 1, 3).reshape(B, Hh * Ww, -1) @ p["wo"]


def run(rng, B=2, side=(13, 15), H=2, K=16, V=24):
    import mixir
    dm = 48
    # Image rows of different content (a base per row plus noise), so the
    # row landmarks are distinct and G(Q~, Q~) is well conditioned.
    base = rng.standard_normal((B, side[0], 1, dm))
    img = (base + 0.5 * rng.standard_normal((B,) + side + (dm,))).astype(np.float32)
    p = dict(wq=C.weight(rng, dm, H * K), wv=C.weight(rng, dm, H * V),
             wo=C.weight(rng, H * V, dm))
    return [C.check(PAPER, OPS, OUTSIDE, C.F32_TOL, B * side[0] * side[1],
                    lambda: layer(mixir, img, p, H),
                    lambda: reference(img, p, H))]


if __name__ == "__main__":
    C.main(__name__)
