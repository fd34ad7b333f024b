#!/usr/bin/env python3
"""LightNet, "You Only Scan Once" (Qin et al. 2024): the additive linear
recurrence, causal (1-D) and over an image in one scan (2-D).

LightNet replaces the multiplicative decay of linear attention by an
additive recurrence: per key channel c, a running sum of exp(k), and the
state is normalised by it,

    z_t = z_{t-1} + exp(k_t)                       (per channel, [K])
    S_t = S_{t-1} + exp(k_t) v_t^T,   o_t = (S_t / z_t)^T q_t

so o_t = sum_{s<=t} sum_c q_tc softmax_{s'<=t}(k_s'c)[s] v_s: a softmax
over time for every key channel. In the form of a decayed recurrence the
decay comes from the cumulative log-sum-exp delta_t = log z_t:

    S~_t = exp(delta_{t-1} - delta_t) S~_{t-1} + exp(k_t - delta_t) v_t^T

which is mix.linear_attention with `gate vector` (g_t = delta_{t-1} -
delta_t <= 0) and keys exp(k_t - delta_t) <= 1, scale 1. The cumulative
log-sum-exp, the projections, q = silu(x W_q), the RMSNorm and the output
gate are numpy.

The multi-dimensional case is what the additive form is for: its state
after the last token, S_T / z_T, does not depend on the order the tokens
were summed in, so an image needs no scan per direction (nor any scan
order): every pixel reads the global state, o_t = (S_T / z_T)^T q_t with
S_T / z_T = sum_s exp(k_s - delta_T) v_s^T. That is mix.linear_attention in
its non-causal form (`causal = false`, no gate, scale 1) with the keys
exp(k_s - delta_T), delta_T = log z_T the log-sum-exp of each key channel
over all pixels (numpy). The references are float64: the per-channel
softmax over the prefix (1-D) and over all pixels (2-D), written directly.
"""

import _common as C  # first: it sets numpy's thread count
import numpy as np

PAPER = "LightNet (You Only Scan Once)"


def project(x, p, H):
    B, T, _ = x.shape
    q = C.silu(x @ p["wq"]).reshape(B, T, H, -1)
    k = (x @ p["wk"]).reshape(B, T, H, -1)
    v = (x @ p["wv"]).reshape(B, T, H, -1)
    return q, k, v


def out(o, x, p):
    B, T = o.shape[:2]
    return (C.rmsnorm(o).reshape(B, T, -1) * C.sigmoid(x @ p["wu"])) @ p["wo"]


def layer_1d(mixir, x, p, H):
    q, k, v = project(x, p, H)
    delta = np.logaddexp.accumulate(k, axis=1)               # log z_t
    g = np.zeros_like(k)
    g[:, 1:] = delta[:, :-1] - delta[:, 1:]
    o, _ = mixir.linear_attention(q, np.exp(k - delta), v, g, gate="vector", scale=1.0)
    return out(o, x, p)


def layer_2d(mixir, img, p, H):
    B, Hh, Ww, D = img.shape
    x = img.reshape(B, Hh * Ww, D)                            # the pixels, any order
    q, k, v = project(x, p, H)
    delta = np.logaddexp.reduce(k, axis=1, keepdims=True)     # log z_T
    o, _ = mixir.linear_attention(q, np.exp(k - delta), v, scale=1.0, causal=False)
    return out(o, x, p)


def reference(x, p, H, causal):
    x, p = C.as_f64(x, p)
    q, k, v = project(x, p, H)
    T = x.shape[1]
    o = np.zeros(v.shape)
    for t in range(T):
        n = t + 1 if causal else T
        w = C.softmax(k[:, :n], axis=1)                       # over time, per channel
        o[:, t] = np.einsum("bhk,bshk,bshv->bhv", q[:, t], w, v[:, :n])
    return out(o, x, p)


def run(rng, B=2, T=175, H=3, K=16, V=24, side=(13, 15)):
    import mixir
    dm = 48
    rows = []
    p = dict(wq=C.weight(rng, dm, H * K), wk=C.weight(rng, dm, H * K),
             wv=C.weight(rng, dm, H * V), wu=C.weight(rng, dm, H * V),
             wo=C.weight(rng, H * V, dm))
    x = rng.standard_normal((B, T, dm)).astype(np.float32)
    rows.append(C.check(
        f"{PAPER}: causal",
        "mix.linear_attention gate vector, scale 1",
        "numpy: projections, cumulative logsumexp, norm, gate",
        C.F32_TOL, B * T, lambda: layer_1d(mixir, x, p, H),
        lambda: reference(x, p, H, causal=True)))
    img = rng.standard_normal((B,) + side + (dm,)).astype(np.float32)
    rows.append(C.check(
        f"{PAPER}: 2-D, global",
        "mix.linear_attention causal=false, scale 1",
        "numpy: projections, logsumexp over pixels, norm, gate",
        C.F32_TOL, B * side[0] * side[1], lambda: layer_2d(mixir, img, p, H),
        lambda: reference(img.reshape(B, -1, dm), p, H, causal=False)))
    return rows


if __name__ == "__main__":
    C.main(__name__)
