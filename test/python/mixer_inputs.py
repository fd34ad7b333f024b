"""Random inputs of one linear-attention or delta-rule call, as several
test files draw them (the draws in this order: q, k, v, the gate, the
initial state), so that one seed gives one set of values everywhere."""

import numpy as np


def recurrent_inputs(rng, linear, gate, B, T, Hq, Hv, K, V, dtype, init,
                     decay=0.3):
    """q [B,T,Hq,K], k [B,T,Hq,K] (scaled by K^-1/2 for linear attention),
    v [B,T,Hv,V] in `dtype`; g (f32 log decays in [-decay, 0]) per `gate`
    ("none", "scalar", "vector", or "head": fixed RetNet-like decays); the
    f32 initial state [B,Hv,K,V] when `init`, else None."""
    q = rng.standard_normal((B, T, Hq, K)).astype(dtype)
    k = rng.standard_normal((B, T, Hq, K))
    if linear:
        k /= np.sqrt(K)
    k = k.astype(dtype)
    v = rng.standard_normal((B, T, Hv, V)).astype(dtype)
    g = None
    if gate == "scalar":
        g = -rng.uniform(0.0, decay, (B, T, Hv)).astype(np.float32)
    elif gate == "vector":
        g = -rng.uniform(0.0, decay, (B, T, Hv, K)).astype(np.float32)
    elif gate == "head":
        g = np.log(1 - 2.0 ** (-4 - np.arange(Hv))).astype(np.float32)
    s0 = rng.standard_normal((B, Hv, K, V)).astype(np.float32) \
        if init else None
    return q, k, v, g, s0
