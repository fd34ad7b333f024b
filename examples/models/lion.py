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

M is the weight of mix.linear_attention's non-causal form (`causal =
false`, `gate scalar`, g_t = log a_t): for j <= i it is exp(G_i - G_j) and
for j > i exp(G_j - G_i), G the cumulative log gate, which is the product
of a_l over l = min(i, j) + 1 .. max(i, j) in both directions, with the
diagonal weighted 1 and counted once. So the whole bidirectional RNN is one
call: the groups of all three orders are the batch of one op. The orders
(argsort, gather, scatter), the grouping (a reshape) and the projections
are numpy. The reference builds M and the full G x G matrices in float64.
"""

import _common as C  # first: it sets numpy's thread count
import numpy as np

PAPER = "LION (linear group RNN, 3-D)"
OPS = "mix.linear_attention causal=false gate scalar (3 orders x groups as batch)"
OUTSIDE = "numpy: projections, sort/gather/scatter"


def project(x, p, H):
    B, N, _ = x.shape
    q = (x @ p["wq"]).reshape(B, N, H, -1)
    k = (x @ p["wk"]).reshape(B, N, H, -1)
    v = (x @ p["wv"]).reshape(B, N, H, -1)
    g = C.logsigmoid(x @ p["wg"] + 2.0)                      # [B, N, H], < 0
    return q, k, v, g


def orders(coords):
    """One permutation [B, N] per scan order: sorted along x, y and z."""
    return [np.argsort(coords[..., a], axis=1, kind="stable") for a in range(3)]


def layer(mixir, x, coords, p, H, G):
    B, N, _ = x.shape
    q, k, v, g = project(x, p, H)
    perms = orders(coords)

    def take(a):  # gather into each order, cut into groups of G, stack the orders
        return np.concatenate([
            np.take_along_axis(a, perm.reshape(perm.shape + (1,) * (a.ndim - 2)), 1)
            .reshape((B * N // G, G) + a.shape[2:]) for perm in perms])
    o, _ = mixir.linear_attention(take(q), take(k), take(v), take(g), gate="scalar",
                                  scale=q.shape[-1] ** -0.5, causal=False)
    total = np.zeros(v.shape, np.float32)
    for perm, o_order in zip(perms, np.split(o, len(perms))):
        back = np.empty(v.shape, np.float32)
        np.put_along_axis(back, perm[..., None, None], o_order.reshape(v.shape), 1)
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
