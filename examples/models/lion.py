#!/usr/bin/env python3
"""LION (Liu et al. 2024): a linear group RNN over a 3-D point cloud, in
several scan orders and both directions.

The points (features x, coordinates p in R^3) are put in a scan order (here:
sorted along x, along y and along z), cut into groups of G consecutive
points, and in each group a bidirectional linear RNN with a selective decay
(Mamba2 / RetNet style, one decay a_t = exp(g_t) per head and token) mixes
them. Its attention-matrix form, per group and head:

    o_i = sum_j scale (q_i . k_j) M_ij v_j,   M_ij = prod_{l=min(i,j)+1}^{max(i,j)} a_l

The orders' outputs are put back in the original point order, averaged,
and projected: y = mean_orders(o) W_o.

With the causal op this is two calls, as LION computes it: the forward
direction (j <= i) is mix.linear_attention with `gate scalar`; the backward
direction (j >= i) is the same op on the reversed group with the decays
shifted by one token (reversed position t' decays by a_{G-t'}); their sum
counts the diagonal j = i twice, so scale (q_i . k_i) v_i is subtracted
once. The orders (argsort, gather, scatter), the grouping (a reshape), the
reversal, the diagonal and the projections are numpy. The reference builds
M and the full G x G matrices in float64.
"""

import _common as C  # first: it sets numpy's thread count
import numpy as np

PAPER = "LION (linear group RNN, 3-D)"
OPS = "mix.linear_attention gate scalar x 2 directions x 3 orders"
OUTSIDE = "numpy: projections, sort/gather/scatter, reversal, diagonal"


def project(x, p, H):
    B, N, _ = x.shape
    q = (x @ p["wq"]).reshape(B, N, H, -1)
    k = (x @ p["wk"]).reshape(B, N, H, -1)
    v = (x @ p["wv"]).reshape(B, N, H, -1)
    g = C.logsigmoid(x @ p["wg"] + 2.0)                      # [B, N, H], < 0
    return q, k, v, g


def bidirectional(mixir, q, k, v, g, scale):
    fwd, _ = mixir.linear_attention(q, k, v, g, gate="scalar", scale=scale)
    rev = lambda a: np.ascontiguousarray(a[:, ::-1])  # noqa: E731
    g_b = np.zeros_like(g)
    g_b[:, 1:] = rev(g)[:, :-1]
    bwd, _ = mixir.linear_attention(rev(q), rev(k), rev(v), g_b, gate="scalar",
                                    scale=scale)
    diag = scale * np.einsum("bthk,bthk->bth", q, k)[..., None] * v
    return fwd + rev(bwd) - diag


def orders(coords):
    """One permutation [B, N] per scan order: sorted along x, y and z."""
    return [np.argsort(coords[..., a], axis=1, kind="stable") for a in range(3)]


def layer(mixir, x, coords, p, H, G):
    B, N, _ = x.shape
    q, k, v, g = project(x, p, H)
    scale = q.shape[-1] ** -0.5
    total = np.zeros(v.shape, np.float32)
    for perm in orders(coords):
        def take(a):  # gather into the order, then cut into groups of G
            idx = perm.reshape(perm.shape + (1,) * (a.ndim - 2))
            return np.take_along_axis(a, idx, 1).reshape((B * N // G, G) + a.shape[2:])
        o = bidirectional(mixir, take(q), take(k), take(v), take(g), scale)
        back = np.empty(v.shape, np.float32)
        np.put_along_axis(back, perm[..., None, None], o.reshape(v.shape), 1)
        total += back
    return (total / 3).reshape(B, N, -1) @ p["wo"]


def reference(x, coords, p, H, G):
    x, p = C.as_f64(x, p)
    B, N, _ = x.shape
    q, k, v, g = project(x, p, H)
    scale = q.shape[-1] ** -0.5
    total = np.zeros(v.shape)
    for perm in orders(coords):
        for b in range(B):
            for s in range(0, N, G):
                idx = perm[b, s:s + G]
                for h in range(H):
                    G_cum = np.cumsum(g[b, idx, h])          # sum_{l<=i} g_l
                    m = np.exp(-np.abs(G_cum[:, None] - G_cum[None, :]))
                    a = scale * (q[b, idx, h] @ k[b, idx, h].T) * m
                    total[b, idx, h] += a @ v[b, idx, h]
    return (total / 3).reshape(B, N, -1) @ p["wo"]


def run(rng, B=2, N=225, G=75, H=2, K=24, V=32):
    import mixir
    dm = 48
    x = rng.standard_normal((B, N, dm)).astype(np.float32)
    coords = rng.uniform(-10.0, 10.0, (B, N, 3)).astype(np.float32)
    p = dict(wq=C.weight(rng, dm, H * K), wk=C.weight(rng, dm, H * K),
             wv=C.weight(rng, dm, H * V), wg=C.weight(rng, dm, H),
             wo=C.weight(rng, H * V, dm))
    return [C.check(PAPER, OPS, OUTSIDE, C.F32_TOL, B * N,
                    lambda: layer(mixir, x, coords, p, H, G),
                    lambda: reference(x, coords, p, H, G))]


if __name__ == "__main__":
    C.main(__name__)
