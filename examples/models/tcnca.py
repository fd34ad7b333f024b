#!/usr/bin/env python3
"""TCNCA (Lutati et al. 2023): a temporal convolution network with chunked
attention.

TCNCA is MEGA with its exponential moving average replaced by a TCN, a
stack of dilated causal convolutions whose receptive field grows
geometrically, followed by softmax attention inside non-overlapping chunks:

    y^0 = x;  y^l = y^(l-1) + silu(conv_{d_l}(y^(l-1)))    d_l = 1, 2, 4
    conv_d(y)_t = sum_{i<W} w[:, i] y_{t - (W-1-i) d}          (depthwise)
    q = y W_q, k = y W_k, v = x W_v                           (y = y^L)
    o_t = sum_{s in chunk(t), s<=t} softmax_s(q_t . k_s / sqrt(K)) v_s
    out = o W_o

Each dilated convolution is one mix.causal_conv1d (activation silu) on a
strided view: a convolution with dilation d is an ordinary one on each of
the d phases t = r, r + d, r + 2d, ... of the sequence, so the tokens are
reshaped [B, T] -> [B d, T/d] (T padded at the end to a multiple of d;
padding after the last token does not reach the causal outputs). The
chunked attention is one causal mix.attention with `block = N` (the last
chunk is shorter: T = 203, N = 32). The reshapes, padding, residuals and
projections are numpy. The reference is float64 loops over the taps and a
chunk-and-causal mask on the full score matrix.
"""

import _common as C  # first: it sets numpy's thread count
import numpy as np

PAPER = "TCNCA"
CHUNK = 32
OPS = (f"mix.causal_conv1d silu x 3 (dilation 1,2,4) + mix.attention causal, "
       f"block = {CHUNK}")
OUTSIDE = "numpy: phase reshapes and padding of the convolutions, residuals, projections"
DILATIONS = (1, 2, 4)


def pad_to(x, m):
    T = x.shape[1]
    n = -T % m
    return np.pad(x, [(0, 0), (0, n)] + [(0, 0)] * (x.ndim - 2)) if n else x


def dilated_conv(mixir, y, w, d):
    B, T, D = y.shape
    yp = pad_to(y, d)
    ph = yp.reshape(B, -1, d, D).transpose(0, 2, 1, 3).reshape(B * d, -1, D)
    out, _ = mixir.causal_conv1d(np.ascontiguousarray(ph), w, activation="silu")
    return out.reshape(B, d, -1, D).transpose(0, 2, 1, 3).reshape(B, -1, D)[:, :T]


def layer(mixir, x, p, H, N):
    B, T, _ = x.shape
    y = x
    for d, w in zip(DILATIONS, p["convs"]):
        y = y + dilated_conv(mixir, y, w, d)
    q, k, v = ((a @ p[n]).reshape(B, T, H, -1) for a, n in ((y, "wq"), (y, "wk"), (x, "wv")))
    o = mixir.attention(q, k, v, causal=True, block=N)
    return o.reshape(B, T, -1) @ p["wo"]


def reference(x, p, H, N):
    x = x.astype(np.float64)
    B, T, _ = x.shape
    y = x
    for d, w in zip(DILATIONS, p["convs"]):
        w = w.astype(np.float64)
        W = w.shape[1]
        conv = np.zeros_like(y)
        for t in range(T):
            for i in range(W):
                s = t - (W - 1 - i) * d
                if s >= 0:
                    conv[:, t] += w[:, i] * y[:, s]
        y = y + C.silu(conv)
    q, k, v = ((a @ p[n].astype(np.float64)).reshape(B, T, H, -1)
               for a, n in ((y, "wq"), (y, "wk"), (x, "wv")))
    i, j = np.arange(T)[:, None], np.arange(T)[None, :]
    s = np.einsum("bthk,bshk->bhts", q, k) / np.sqrt(q.shape[-1])
    s = np.where((j <= i) & (i // N == j // N), s, -np.inf)
    o = np.einsum("bhts,bshv->bthv", C.softmax(s), v)
    return o.reshape(B, T, -1) @ p["wo"].astype(np.float64)


def run(rng, B=2, T=203, H=2, K=24, V=32, N=CHUNK, W=3):
    import mixir
    dm = 40
    x = rng.standard_normal((B, T, dm)).astype(np.float32)
    p = dict(convs=[(rng.standard_normal((dm, W)) / np.sqrt(W)).astype(np.float32)
                    for _ in DILATIONS],
             wq=C.weight(rng, dm, H * K), wk=C.weight(rng, dm, H * K),
             wv=C.weight(rng, dm, H * V), wo=C.weight(rng, H * V, dm))
    return [C.check(PAPER, OPS, OUTSIDE, C.F32_TOL, B * T,
                    lambda: layer(mixir, x, p, H, N),
                    lambda: reference(x, p, H, N))]


if __name__ == "__main__":
    C.main(__name__)
