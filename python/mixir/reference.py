"""Float64 reference for the mix ops: the literal recurrent forms of MIXERS.md.

Written from docs/MIXERS.md alone and independent of the compiler, so the
numerics tests can compare compiled kernels against it. Every input is cast to
float64 (float16 and ml_dtypes.bfloat16 included) and every result is float64.
The time loops are the recurrences as written; numpy only vectorises over
batch and heads.

Head sharing (all recurrent ops): ``Ho = max(Hq, Hv)``; output head ``h``
reads query head ``h // (Ho // Hq)`` and state ``h // (Ho // Hv)``; state
``s`` reads key head ``s // (Hv // Hk)``.
"""

import numpy as np

__all__ = ["linear_attention", "delta_rule", "recurrence", "attention", "scan",
           "rnn", "rel_rms", "l2norm", "L2NORM_EPS"]

L2NORM_EPS = 1e-6

_GATE_KINDS = ("none", "head", "scalar", "vector")


def _f64(x):
    return None if x is None else np.asarray(x).astype(np.float64)


def l2norm(x):
    """fla's qk normalisation over the last axis: ``x * 1/sqrt(sum(x**2) + 1e-6)``."""
    x = _f64(x)
    return x / np.sqrt(np.sum(x * x, axis=-1, keepdims=True) + L2NORM_EPS)


def _head_maps(hq, hk, hv):
    """Index arrays (query head per output head, state per output head,
    key head per state)."""
    ho = max(hq, hv)
    if ho % hq or ho % hv or hv % hk:
        raise ValueError(f"head counts Hq={hq}, Hk={hk}, Hv={hv}: max(Hq, Hv) "
                         "must be a multiple of Hq and Hv, and Hv of Hk")
    out = np.arange(ho)
    return out // (ho // hq), out // (ho // hv), np.arange(hv) // (hv // hk)


def _gate(g, gate, kinds, b, t, hv, k, signed=False):
    """Validates the gate and returns it as float64 exp(g), or g itself when
    ``signed`` (None for "none")."""
    if gate not in kinds:
        raise ValueError(f"gate must be one of {kinds}, got {gate!r}")
    if gate == "none":
        if g is not None:
            raise ValueError('g given with gate="none"')
        return None
    if g is None:
        raise ValueError(f'gate="{gate}" needs g')
    shape = {"head": (hv,), "scalar": (b, t, hv), "vector": (b, t, hv, k)}[gate]
    g = _f64(g)
    if g.shape != shape:
        raise ValueError(f'g for gate="{gate}" must have shape {shape}, got {g.shape}')
    return g if signed else np.exp(g)


def _decay(a, gate, t):
    """The factor multiplying S [B, Hv, K, V] at step t."""
    if gate == "none":
        return 1.0
    if gate == "head":
        return a[None, :, None, None]
    if gate == "scalar":
        return a[:, t, :, None, None]
    return a[:, t, :, :, None]  # vector: diag(exp(g[t])) on the K axis


def _initial_state(s0, shape):
    if s0 is None:
        return np.zeros(shape)
    s0 = _f64(s0)  # a copy: the caller's array is never modified
    if s0.shape != shape:
        raise ValueError(f"initial_state must have shape {shape}, got {s0.shape}")
    return s0


def _shapes(q, k, v):
    b, t, hq, kd = q.shape
    if k.shape[:2] != (b, t) or k.shape[3] != kd or v.shape[:2] != (b, t):
        raise ValueError(f"inconsistent shapes q {q.shape}, k {k.shape}, v {v.shape}")
    return b, t, hq, k.shape[2], v.shape[2], kd, v.shape[3]


def linear_attention(q, k, v, g=None, gate="none", scale=None,
                     initial_state=None, output_final_state=False,
                     causal=True, normalize=False):
    """Recurrent gated linear attention.

    q [B,T,Hq,K], k [B,T,Hk,K], v [B,T,Hv,V]; g per ``gate``: "none" (g None),
    "head" [Hv], "scalar" [B,T,Hv], "vector" [B,T,Hv,K] (natural-log decays).
    ``causal=False`` adds the backward recurrence
    ``S'_t = decay(t+1) (S'_{t+1} + k_{t+1} v_{t+1}^T)`` (LION);
    ``normalize`` divides each row by the same sum with v = 1 (0 where that
    is 0); neither takes an initial state. Returns (o [B,T,Ho,V],
    final_state [B,Hv,K,V] (the forward recurrence's) or None), float64.
    """
    q, k, v = _f64(q), _f64(k), _f64(v)
    b, t_len, hq, hk, hv, kd, vd = _shapes(q, k, v)
    qi, si, ki = _head_maps(hq, hk, hv)
    a = _gate(g, gate, _GATE_KINDS, b, t_len, hv, kd)
    scale = kd ** -0.5 if scale is None else float(scale)
    if (normalize or not causal) and initial_state is not None:
        raise ValueError("causal=False and normalize=True take no initial_state")
    if normalize:  # a column of ones rides along: its output is the divisor
        v = np.concatenate([v, np.ones(v.shape[:3] + (1,))], axis=3)
    s = _initial_state(initial_state, (b, hv, kd, v.shape[3]))
    o = np.empty((b, t_len, len(qi), v.shape[3]))
    for t in range(t_len):
        s = _decay(a, gate, t) * s + np.einsum("bhk,bhv->bhkv", k[:, t, ki], v[:, t])
        o[:, t] = np.einsum("bhkv,bhk->bhv", s[:, si], scale * q[:, t, qi])
    if not causal:
        back = np.zeros_like(s)
        for t in reversed(range(t_len)):
            o[:, t] += np.einsum("bhkv,bhk->bhv", back[:, si], scale * q[:, t, qi])
            back = _decay(a, gate, t) * (
                back + np.einsum("bhk,bhv->bhkv", k[:, t, ki], v[:, t]))
    if normalize:
        den = o[..., vd:]
        o = np.divide(o[..., :vd], den, out=np.zeros_like(o[..., :vd]),
                      where=den != 0)
        s = s[..., :vd]
    return o, (s if output_final_state else None)


def delta_rule(q, k, v, beta, g=None, gate="none", scale=None,
               initial_state=None, output_final_state=False, qk_l2norm=False,
               allow_neg_eigval=False):
    """Recurrent (gated) delta rule.

    beta [B,T,Hv]; gate "none", "scalar" [B,T,Hv] or "vector" [B,T,Hv,K].
    ``qk_l2norm`` first replaces q and k by ``x * 1/sqrt(sum_K(x**2) + 1e-6)``
    (fla's convention); ``allow_neg_eigval`` uses ``2 * beta``. Per step:
    ``S = decay*S; u = beta*(v - S^T k); S += k u^T; o = S^T (scale*q)``.
    Returns (o [B,T,Ho,V], final_state [B,Hv,K,V] or None), float64.
    """
    q, k, v, beta = _f64(q), _f64(k), _f64(v), _f64(beta)
    b, t_len, hq, hk, hv, kd, vd = _shapes(q, k, v)
    qi, si, ki = _head_maps(hq, hk, hv)
    a = _gate(g, gate, ("none", "scalar", "vector"), b, t_len, hv, kd)
    if beta.shape != (b, t_len, hv):
        raise ValueError(f"beta must have shape {(b, t_len, hv)}, got {beta.shape}")
    if qk_l2norm:
        q, k = l2norm(q), l2norm(k)
    if allow_neg_eigval:
        beta = 2.0 * beta
    scale = kd ** -0.5 if scale is None else float(scale)
    s = _initial_state(initial_state, (b, hv, kd, vd))
    o = np.empty((b, t_len, len(qi), vd))
    for t in range(t_len):
        kt = k[:, t, ki]
        s = _decay(a, gate, t) * s
        u = beta[:, t, :, None] * (v[:, t] - np.einsum("bhkv,bhk->bhv", s, kt))
        s = s + np.einsum("bhk,bhv->bhkv", kt, u)
        o[:, t] = np.einsum("bhkv,bhk->bhv", s[:, si], scale * q[:, t, qi])
    return o, (s if output_final_state else None)


def recurrence(q, k, v, a, b, g=None, gate="none", decay="log", scale=None,
               initial_state=None, output_final_state=False):
    """Recurrent diagonal-plus-low-rank (DPLR) linear recurrence.

    a, b [B,T,Hv,R,K] (both None: R = 0); g per ``gate`` as for
    ``linear_attention``, read as the log decay (``decay="log"``: d = exp(g))
    or as the decay itself (``decay="signed"``: d = g). Per step:
    ``S = d*S + sum_r b_r (a_r^T S) + k v^T; o = S^T (scale*q)``.
    Returns (o [B,T,Ho,V], final_state [B,Hv,K,V] or None), float64.
    """
    q, k, v = _f64(q), _f64(k), _f64(v)
    b_len, t_len, hq, hk, hv, kd, vd = _shapes(q, k, v)
    qi, si, ki = _head_maps(hq, hk, hv)
    if decay not in ("log", "signed"):
        raise ValueError(f'decay must be "log" or "signed", got {decay!r}')
    d = _gate(g, gate, _GATE_KINDS, b_len, t_len, hv, kd,
              signed=decay == "signed")
    if (a is None) != (b is None):
        raise ValueError("a and b must be given together (neither: R = 0)")
    if a is None:
        a = b = np.zeros((b_len, t_len, hv, 0, kd))
    a, b = _f64(a), _f64(b)
    if a.ndim != 5 or a.shape != b.shape or a.shape[:3] != (b_len, t_len, hv) \
            or a.shape[4] != kd:
        raise ValueError(f"a and b must both have shape {(b_len, t_len, hv)} + "
                         f"(R, {kd}), got {a.shape} and {b.shape}")
    scale = kd ** -0.5 if scale is None else float(scale)
    s = _initial_state(initial_state, (b_len, hv, kd, vd))
    o = np.empty((b_len, t_len, len(qi), vd))
    for t in range(t_len):
        a_s = np.einsum("bhrk,bhkv->bhrv", a[:, t], s)  # a_r^T S_{t-1}
        s = (_decay(d, gate, t) * s + np.einsum("bhrk,bhrv->bhkv", b[:, t], a_s)
             + np.einsum("bhk,bhv->bhkv", k[:, t, ki], v[:, t]))
        o[:, t] = np.einsum("bhkv,bhk->bhv", s[:, si], scale * q[:, t, qi])
    return o, (s if output_final_state else None)


def attention(q, k, v, g=None, scale=None, causal=True, window=0, softcap=None,
              block=0):
    """Softmax attention, one query token at a time.

    q [B,T,Hq,K], k [B,S,Hkv,K], v [B,S,Hkv,V]; query head h reads kv head
    ``h // (Hq // Hkv)``. ``softcap`` > 0 turns each scaled score x into
    ``softcap * tanh(x / softcap)``. Optional forget gate g [B,T,Hq] (needs
    S == T) adds ``G[i] - G[j]`` with ``G = cumsum(g)``. Key j is masked when ``j > i``
    (causal), ``j <= i - window`` (window > 0) or ``i // block != j // block``
    (block > 0, needs S == T); a query with no key left outputs 0. Returns
    o [B,T,Hq,V], float64.
    """
    q, k, v, g = _f64(q), _f64(k), _f64(v), _f64(g)
    b, t_len, hq, kd = q.shape
    s_len, hkv = k.shape[1:3]
    if hq % hkv:
        raise ValueError(f"Hq={hq} must be a multiple of Hkv={hkv}")
    if window < 0:
        raise ValueError(f"window must be >= 0, got {window}")
    if block < 0 or (block > 0 and s_len != t_len):
        raise ValueError(f"block must be >= 0 and needs S == T, got block="
                         f"{block}, S={s_len}, T={t_len}")
    if softcap is not None and not (np.isfinite(softcap) and softcap > 0):
        raise ValueError(f"softcap must be positive and finite, got {softcap}")
    kv = np.arange(hq) // (hq // hkv)
    k, v = k[:, :, kv], v[:, :, kv]
    big_g = None
    if g is not None:
        if g.shape != (b, t_len, hq) or s_len != t_len:
            raise ValueError(f"g must have shape {(b, t_len, hq)} with S == T")
        big_g = np.cumsum(g, axis=1)
    scale = kd ** -0.5 if scale is None else float(scale)
    j = np.arange(s_len)
    o = np.zeros((b, t_len, hq, v.shape[3]))
    for i in range(t_len):
        keep = np.ones(s_len, dtype=bool)
        if causal:
            keep &= j <= i
        if window > 0:
            keep &= j > i - window
        if block > 0:
            keep &= j // block == i // block
        if not keep.any():
            continue
        s = scale * np.einsum("bhk,bjhk->bhj", q[:, i], k[:, keep])
        if softcap:
            s = softcap * np.tanh(s / softcap)
        if big_g is not None:
            s += big_g[:, i, :, None] - big_g[:, keep].transpose(0, 2, 1)
        p = np.exp(s - s.max(axis=-1, keepdims=True))
        p /= p.sum(axis=-1, keepdims=True)
        o[:, i] = np.einsum("bhj,bjhv->bhv", p, v[:, keep])
    return o


def scan(x, g, initial_state=None):
    """Diagonal gated recurrence ``h = exp(g[t]) * h + x[t]; o[t] = h``.

    x, g [B,T,D]; initial_state [B,D]. Returns (o [B,T,D], final_state [B,D]).
    """
    x, g = _f64(x), _f64(g)
    if g.shape != x.shape or x.ndim != 3:
        raise ValueError(f"x and g must both be [B,T,D], got {x.shape} and {g.shape}")
    b, t_len, d = x.shape
    h = _initial_state(initial_state, (b, d))
    o = np.empty_like(x)
    for t in range(t_len):
        h = np.exp(g[:, t]) * h + x[:, t]
        o[:, t] = h
    return o, h


def _sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _rnn_cell_step(cell, a, wx_n, states, first):
    """One step of ``cell`` from the gate pre-activations ``a`` [B, H, G, D]
    (GRU's n gate without wx, which is ``wx_n``); returns the new states."""
    if cell == "lstm":
        c = (_sigmoid(a[:, :, 1]) * states[1]
             + _sigmoid(a[:, :, 0]) * np.tanh(a[:, :, 2]))
        return [_sigmoid(a[:, :, 3]) * np.tanh(c), c]
    if cell == "gru":
        r, z = _sigmoid(a[:, :, 0]), _sigmoid(a[:, :, 1])
        n = np.tanh(wx_n + r * a[:, :, 2])
        return [(1.0 - z) * n + z * states[0]]
    _, c, n, m = states
    log_f = -np.logaddexp(0.0, -a[:, :, 1])
    a_i = a[:, :, 0]
    m_new = a_i if first else np.maximum(log_f + m, a_i)
    i_gate, f_gate = np.exp(a_i - m_new), np.exp(log_f + m - m_new)
    c = f_gate * c + i_gate * np.tanh(a[:, :, 2])
    n = f_gate * n + i_gate
    return [_sigmoid(a[:, :, 3]) * c / n, c, n, m_new]


_RNN_STATES = {"lstm": 2, "gru": 1, "slstm": 4}


def rnn(wx, r, b=None, cell="lstm", initial_state=None):
    """Head-wise non-linear RNN (``mix.rnn``): LSTM, GRU or sLSTM cells with
    ``a_g = wx[t, g] + r[h, g] @ h + b[h, g]``.

    wx [B,T,H,G,D]; r [H,G,D,D]; b [H,G,D] or None; initial_state None or the
    cell's states (h; h, c; h, c, n, m), each [B,H,D]. Without initial states
    every state starts at zero and sLSTM's first step takes ``m = a_i``.
    Returns (h [B,T,H,D], list of final states).
    """
    if cell not in _RNN_STATES:
        raise ValueError(f"cell must be lstm, gru or slstm, got {cell!r}")
    wx, r = _f64(wx), _f64(r)
    bsz, t_len, heads, gates, d = wx.shape
    if gates != (3 if cell == "gru" else 4) or r.shape != (heads, gates, d, d):
        raise ValueError(f"wx {wx.shape} and r {r.shape} do not fit cell {cell!r}")
    bias = np.zeros((heads, gates, d)) if b is None else _f64(b)
    if initial_state is None:
        states = [np.zeros((bsz, heads, d)) for _ in range(_RNN_STATES[cell])]
    else:
        states = [_f64(s).copy() for s in initial_state]
    out = np.empty((bsz, t_len, heads, d))
    for t in range(t_len):
        a = np.einsum("hgij,bhj->bhgi", r, states[0]) + bias
        if cell != "gru":
            a = a + wx[:, t]
        else:
            a[:, :, :2] += wx[:, t, :, :2]
        states = _rnn_cell_step(cell, a, wx[:, t, :, 2], states,
                                first=(t == 0 and initial_state is None))
        out[:, t] = states[0]
    return out, states


def rel_rms(ref, out):
    """``rms(ref - out) / rms(ref)`` in float64 (``rms(out)`` when ref is all 0)."""
    ref, out = _f64(ref), _f64(out)
    den = np.sqrt(np.mean(ref * ref))
    num = np.sqrt(np.mean((ref - out) ** 2))
    return float(num / den) if den > 0 else float(np.sqrt(np.mean(out * out)))
