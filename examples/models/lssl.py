#!/usr/bin/env python3
"""LSSL (Gu et al. 2021): the linear state-space layer with a HiPPO-LegS
transition, in its convolution view, checked against its recurrent view.

Every one of the H channels is a single-input single-output SSM with an
N-dimensional state and its own step dt_h, discretised with the bilinear
rule from the continuous HiPPO-LegS matrices A (dense, lower triangular,
N x N) and B:

    A_nk = -sqrt(2n+1) sqrt(2k+1) (n > k),  -(n+1) (n = k),  0 (n < k)
    B_n  = sqrt(2n+1)
    Ab = (I - dt/2 A)^-1 (I + dt/2 A),   Bb = (I - dt/2 A)^-1 dt B

    recurrent view:   s_t = Ab s_{t-1} + Bb u_t,   y_t = C s_t + D u_t
    convolution view: y = K * u + D u,   K_l = C Ab^l Bb   (l < T)

and the layer is out = y W_o. A dense N x N transition is no mix op's
(mix.recurrence is diagonal plus rank <= 4), so the layer runs in the
convolution view: the kernel K (weights: it depends on A, B, C and dt only)
is computed in numpy, and the long causal convolution runs as chunked
Toeplitz matmuls in one linalg.generic compiled by mixir.compile: with
chunks of M tokens, output chunk i is sum_{d<=i} T_d u_{i-d}, where T_d is
the M x M Toeplitz block T_d[c, c'] = K[d M + c - c'] (0 off the kernel's
range). No mix op is used; the reference is the recurrent view, token by
token in float64.
"""

import _common as C  # first: it sets numpy's thread count
import numpy as np

PAPER = "LSSL (HiPPO-LegS)"
OPS = "none (a dense N x N transition is no mix op)"
CHUNK = 32
OUTSIDE = (f"linalg.generic: chunked Toeplitz matmuls (M={CHUNK}); "
           "numpy: kernel C A^l B, D u, W_o")

SOURCE = """
#map_t = affine_map<(b, h, i, c, d, e) -> (h, d, c, e)>
#map_u = affine_map<(b, h, i, c, d, e) -> (b, h, i - d + {nb}, e)>
#map_y = affine_map<(b, h, i, c, d, e) -> (b, h, i, c)>
// y[b, h, i, c] = sum_{{d, e}} T[h, d, c, e] u[b, h, i - d, e]: u carries
// {nb} zero chunks in front, so chunk i - d < 0 reads zeros.
func.func @toeplitz(%t: tensor<{h}x{nb}x{m}x{m}xf32>, %u: tensor<?x{h}x{nb2}x{m}xf32>)
    -> tensor<?x{h}x{nb}x{m}xf32> {{
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %bs = tensor.dim %u, %c0 : tensor<?x{h}x{nb2}x{m}xf32>
  %empty = tensor.empty(%bs) : tensor<?x{h}x{nb}x{m}xf32>
  %init = linalg.fill ins(%zero : f32) outs(%empty : tensor<?x{h}x{nb}x{m}xf32>)
      -> tensor<?x{h}x{nb}x{m}xf32>
  %y = linalg.generic
      {{indexing_maps = [#map_t, #map_u, #map_y],
       iterator_types = ["parallel", "parallel", "parallel", "parallel",
                         "reduction", "reduction"]}}
      ins(%t, %u : tensor<{h}x{nb}x{m}x{m}xf32>, tensor<?x{h}x{nb2}x{m}xf32>)
      outs(%init : tensor<?x{h}x{nb}x{m}xf32>) {{
  ^bb0(%tv: f32, %uv: f32, %acc: f32):
    %p = arith.mulf %tv, %uv : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }} -> tensor<?x{h}x{nb}x{m}xf32>
  return %y : tensor<?x{h}x{nb}x{m}xf32>
}}
"""


def hippo_legs(N):
    n = np.arange(N)
    r = np.sqrt(2 * n + 1.0)
    A = -np.tril(np.outer(r, r), -1) - np.diag(n + 1.0)
    return A, r


def discretise(N, dt):
    A, B = hippo_legs(N)
    I = np.eye(N)
    inv = np.linalg.inv(I - dt / 2 * A)
    return inv @ (I + dt / 2 * A), inv @ (dt * B)


def kernel(Cm, dts, T):
    """K[h, l] = C_h Ab_h^l Bb_h, computed in float64 (weights of the layer)."""
    H, N = Cm.shape
    K = np.zeros((H, T))
    for h in range(H):
        Ab, x = discretise(N, dts[h])
        for l in range(T):
            K[h, l] = Cm[h] @ x
            x = Ab @ x
    return K


def toeplitz_blocks(K, M, NB):
    H, T = K.shape
    c = np.arange(M)
    idx = np.arange(NB)[:, None, None] * M + c[:, None] - c[None, :]   # [NB, M, M]
    Kp = np.concatenate([K, np.zeros((H, 1))], 1)
    idx = np.where((idx >= 0) & (idx < T), idx, T)                     # T -> the 0
    return Kp[:, idx].astype(np.float32)                               # [H, NB, M, M]


def layer(module, x, tb, D, w_o, M):
    B, T, H = x.shape
    NB = tb.shape[1]
    u = np.zeros((B, H, 2 * NB * M), np.float32)
    u[:, :, NB * M:NB * M + T] = x.transpose(0, 2, 1)
    y = module.toeplitz(tb, u.reshape(B, H, 2 * NB, M))
    y = y.reshape(B, H, NB * M)[:, :, :T].transpose(0, 2, 1) + D * x
    return y @ w_o


def reference(x, Cm, dts, D, w_o):
    x = x.astype(np.float64)
    B, T, H = x.shape
    y = np.zeros((B, T, H))
    for h in range(H):
        Ab, Bb = discretise(Cm.shape[1], dts[h])
        s = np.zeros((B, Cm.shape[1]))
        for t in range(T):
            s = s @ Ab.T + np.outer(x[:, t, h], Bb)
            y[:, t, h] = s @ Cm[h] + D[h] * x[:, t, h]
    return y @ w_o.astype(np.float64)


def run(rng, B=2, T=299, H=8, N=32, M=CHUNK):
    import mixir
    NB = -(-T // M)
    module = mixir.compile(SOURCE.format(h=H, nb=NB, nb2=2 * NB, m=M))
    x = rng.standard_normal((B, T, H)).astype(np.float32)
    dts = np.exp(rng.uniform(np.log(1e-3), np.log(1e-1), H))
    Cm = rng.standard_normal((H, N))
    D = (0.1 * rng.standard_normal(H)).astype(np.float32)
    w_o = C.weight(rng, H, H)
    tb = toeplitz_blocks(kernel(Cm, dts, T), M, NB)
    return [C.check(PAPER, OPS, OUTSIDE, C.F32_TOL, B * T,
                    lambda: layer(module, x, tb, D, w_o, M),
                    lambda: reference(x, Cm, dts, D, w_o))]


if __name__ == "__main__":
    C.main(__name__)
