"""Sequence mixers written the way JAX users write them, for the StableHLO
importer's tests and bench/bench_stablehlo.py.

Layout as in MIXERS.md: q [B,T,H,K], k [B,T,H,K], v [B,T,H,V], gates
[B,T,H] (scalar) or [B,T,H,K] (vector), beta [B,T,H], states [B,H,K,V].
"""


from needs import need

need("jax")
import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

L2NORM_EPS = 1e-6


def l2norm(x):
    return x * lax.rsqrt(jnp.sum(x * x, axis=-1, keepdims=True) + L2NORM_EPS)


def _time_major(*xs):
    return tuple(jnp.swapaxes(x, 0, 1) for x in xs)


def _zero_state(q, v):
    b, _, h, k = q.shape
    return jnp.zeros((b, h, k, v.shape[-1]), jnp.float32)


# --- written with lax.scan over T (what mix-raise turns into mix ops) --------------
def linear_attention_scan(q, k, v, g=None, scale=None):
    """Linear attention, optionally with a scalar gate g [B,T,H]:
    S = exp(g) S + k v^T, o = S^T (scale q)."""
    scale = q.shape[-1] ** -0.5 if scale is None else scale

    def step(S, xs):
        if g is None:
            qt, kt, vt = xs
        else:
            qt, kt, vt, gt = xs
            S = S * jnp.exp(gt)[:, :, None, None]
        S = S + jnp.einsum("bhk,bhv->bhkv", kt, vt)
        o = jnp.einsum("bhk,bhkv->bhv", qt * scale, S)
        return S, o

    xs = _time_major(q, k, v) + (() if g is None else _time_major(g))
    _, o = lax.scan(step, _zero_state(q, v), xs)
    return jnp.swapaxes(o, 0, 1)


def gated_deltanet_scan(q, k, v, beta, g):
    """Gated DeltaNet, one token per scan step: S = S exp(g);
    u = v - k S; S = S + beta outer(k, u); o = (scale q) S."""
    scale = q.shape[-1] ** -0.5

    def step(S, xs):
        qt, kt, vt, bt, gt = xs
        S = S * jnp.exp(gt)[:, :, None, None]
        u = vt - jnp.einsum("bhk,bhkv->bhv", kt, S)
        S = S + bt[:, :, None, None] * jnp.einsum("bhk,bhv->bhkv", kt, u)
        o = jnp.einsum("bhk,bhkv->bhv", qt * scale, S)
        return S, o

    _, o = lax.scan(step, _zero_state(q, v), _time_major(q, k, v, beta, g))
    return jnp.swapaxes(o, 0, 1)


def deltanet_neg_eigval_scan(q, k, v, beta):
    """DeltaNet with negative eigenvalues (state tracking): q and k
    l2-normalised, beta doubled so that I - 2 beta k k^T has eigenvalues in
    [-1, 1]; lax.scan over T."""
    scale = q.shape[-1] ** -0.5

    def norm(x):
        return x / jnp.sqrt(jnp.sum(x * x, axis=-1, keepdims=True) + 1e-6)

    def step(S, xs):
        qt, kt, vt, bt = xs
        qt, kt = norm(qt), norm(kt)
        u = (2.0 * bt)[:, :, None] * (vt - jnp.einsum("bhk,bhkv->bhv", kt, S))
        S = S + jnp.einsum("bhk,bhv->bhkv", kt, u)
        return S, jnp.einsum("bhk,bhkv->bhv", qt * scale, S)

    S, o = lax.scan(step, _zero_state(q, v), _time_major(q, k, v, beta))
    return jnp.swapaxes(o, 0, 1), S


def rwkv7_scan(r, w, k, v, kappa, a, *, log_decay=False):
    """RWKV-7 time mixing as its authors write it, on a [V, K] state per head:
    kk = normalised kappa; S = S diag(w) + (S (-kk)) (kk * a)^T + v k^T;
    o = S r. w is the decay in (0, 1), or its log with log_decay."""
    def step(S, xs):
        rt, wt, kt, vt, kt_kappa, at = xs
        if log_decay:
            wt = jnp.exp(wt)
        kk = kt_kappa / jnp.sqrt(jnp.sum(kt_kappa * kt_kappa, -1, keepdims=True) + 1e-6)
        sa = jnp.einsum("bhvk,bhk->bhv", S, -kk)
        S = (S * wt[:, :, None, :] + jnp.einsum("bhv,bhk->bhvk", sa, kk * at)
             + jnp.einsum("bhv,bhk->bhvk", vt, kt))
        return S, jnp.einsum("bhvk,bhk->bhv", S, rt)

    b, _, h, dk = r.shape
    s0 = jnp.zeros((b, h, v.shape[-1], dk), jnp.float32)
    S, o = lax.scan(step, s0, _time_major(r, w, k, v, kappa, a))
    return jnp.swapaxes(o, 0, 1), S


def gated_deltaproduct_scan(q, k, v, beta, g):
    """Gated DeltaProduct: n Householder steps per token (k [B,T,H,n,K],
    v [B,T,H,n,V], beta [B,T,H,n]), the token's decay exp(g) first:
    S = exp(g) S; for j < n: S = S - beta_j k_j (k_j^T S) + beta_j k_j v_j^T;
    o = (scale q) S."""
    scale = q.shape[-1] ** -0.5
    n = k.shape[3]

    def step(S, xs):
        qt, kt, vt, bt, gt = xs
        S = S * jnp.exp(gt)[:, :, None, None]
        for j in range(n):
            kj, vj, bj = kt[:, :, j], vt[:, :, j], bt[:, :, j]
            kS = jnp.einsum("bhk,bhkv->bhv", kj, S)
            S = S + bj[:, :, None, None] * jnp.einsum("bhk,bhv->bhkv", kj, vj - kS)
        return S, jnp.einsum("bhk,bhkv->bhv", qt * scale, S)

    S, o = lax.scan(step, _zero_state(q, v), _time_major(q, k, v, beta, g))
    return jnp.swapaxes(o, 0, 1), S


def signed_decay_scan(q, k, v, d):
    """Linear attention whose per-token decay d [B,T,H] may be negative
    (Mamba2/GLA with negative eigenvalues): S = d S + k v^T; o = S^T q."""
    def step(S, xs):
        qt, kt, vt, dt = xs
        S = S * dt[:, :, None, None] + jnp.einsum("bhk,bhv->bhkv", kt, vt)
        return S, jnp.einsum("bhk,bhkv->bhv", qt, S)

    S, o = lax.scan(step, _zero_state(q, v), _time_major(q, k, v, d))
    return jnp.swapaxes(o, 0, 1), S


def nonlinear_scan(q, k, v):
    """Not a linear recurrence (tanh of the state): must not be raised."""
    def step(S, xs):
        qt, kt, vt = xs
        S = jnp.tanh(S) + jnp.einsum("bhk,bhv->bhkv", kt, vt)
        return S, jnp.einsum("bhk,bhkv->bhv", qt, S)

    _, o = lax.scan(step, _zero_state(q, v), _time_major(q, k, v))
    return jnp.swapaxes(o, 0, 1)


# --- written quadratically ---------------------------------------------------------
def gla_quadratic(q, k, v, g):
    """GLA's parallel form: ((q exp(G)) (k exp(-G))^T * causal) v, with G the
    per-channel cumulative log gate (g [B,T,H,K])."""
    scale = q.shape[-1] ** -0.5
    G = jnp.cumsum(g, axis=1)
    qg = q * jnp.exp(G) * scale
    kg = k * jnp.exp(-G)
    A = jnp.einsum("bthk,bshk->bhts", qg, kg)
    t = q.shape[1]
    causal = jnp.tril(jnp.ones((t, t), dtype=q.dtype))
    return jnp.einsum("bhts,bshv->bthv", A * causal, v)


def sliding_window_attention(q, k, v, window=8):
    """Causal softmax attention over the last `window` keys."""
    scale = q.shape[-1] ** -0.5
    s = jnp.einsum("bthd,bshd->bhts", q, k) * scale
    t = q.shape[1]
    i = jnp.arange(t)[:, None]
    j = jnp.arange(t)[None, :]
    s = jnp.where((j <= i) & (i - j < window), s, -jnp.inf)
    p = jax.nn.softmax(s, axis=-1)
    return jnp.einsum("bhts,bshd->bthd", p, v)


# --- plain-JAX references (the decompositions of the mixir.* composites) ------------
def ref_linear_attention(q, k, v, g=None, s0=None, *, gate="none", scale=None):
    """Recurrent linear attention; returns (o, final_state)."""
    scale = q.shape[-1] ** -0.5 if scale is None else scale
    s0 = _zero_state(q, v) if s0 is None else s0

    def step(S, xs):
        qt, kt, vt = xs[:3]
        if gate == "scalar":
            S = S * jnp.exp(xs[3])[:, :, None, None]
        elif gate == "vector":
            S = S * jnp.exp(xs[3])[:, :, :, None]
        S = S + jnp.einsum("bhk,bhv->bhkv", kt, vt)
        return S, jnp.einsum("bhk,bhkv->bhv", qt * scale, S)

    xs = _time_major(q, k, v) + (() if gate == "none" else _time_major(g))
    S, o = lax.scan(step, s0.astype(jnp.float32), xs)
    return jnp.swapaxes(o, 0, 1).astype(q.dtype), S


def ref_delta_rule(q, k, v, beta, g=None, s0=None, *, gate="none", scale=None,
                   qk_l2norm=False, allow_neg_eigval=False):
    """Recurrent (gated) delta rule; returns (o, final_state)."""
    scale = q.shape[-1] ** -0.5 if scale is None else scale
    s0 = _zero_state(q, v) if s0 is None else s0
    if qk_l2norm:
        q, k = l2norm(q), l2norm(k)
    if allow_neg_eigval:
        beta = 2 * beta

    def step(S, xs):
        qt, kt, vt, bt = xs[:4]
        if gate == "scalar":
            S = S * jnp.exp(xs[4])[:, :, None, None]
        elif gate == "vector":
            S = S * jnp.exp(xs[4])[:, :, :, None]
        u = bt[:, :, None] * (vt - jnp.einsum("bhk,bhkv->bhv", kt, S))
        S = S + jnp.einsum("bhk,bhv->bhkv", kt, u)
        return S, jnp.einsum("bhk,bhkv->bhv", qt * scale, S)

    xs = _time_major(q, k, v, beta) + (() if gate == "none" else _time_major(g))
    S, o = lax.scan(step, s0.astype(jnp.float32), xs)
    return jnp.swapaxes(o, 0, 1).astype(q.dtype), S


def ref_attention(q, k, v, g=None, *, scale=None, causal=True, window=0):
    """Softmax attention with optional forget gate, causal mask and window."""
    scale = q.shape[-1] ** -0.5 if scale is None else scale
    s = jnp.einsum("bthd,bshd->bhts", q, k) * scale
    t, n = q.shape[1], k.shape[1]
    i = jnp.arange(t)[:, None]
    j = jnp.arange(n)[None, :]
    if g is not None:
        G = jnp.cumsum(g, axis=1)                        # [B,T,H]
        Gh = jnp.swapaxes(G, 1, 2)                       # [B,H,T]
        s = s + Gh[:, :, :, None] - Gh[:, :, None, :]
    keep = jnp.ones((t, n), bool)
    if causal:
        keep = keep & (j <= i)
    if window:
        keep = keep & (j > i - window)
    s = jnp.where(keep, s, -jnp.inf)
    return jnp.einsum("bhts,bshd->bthd", jax.nn.softmax(s, axis=-1), v)


def ref_scan(x, g, h0=None):
    """h = exp(g) h + x over T; returns (o, final h)."""
    h0 = jnp.zeros((x.shape[0], x.shape[2]), jnp.float32) if h0 is None else h0

    def step(h, xs):
        xt, gt = xs
        h = jnp.exp(gt) * h + xt
        return h, h

    h, o = lax.scan(step, h0, _time_major(x, g))
    return jnp.swapaxes(o, 0, 1), h


# --- the mixers as jax.lax.composite ops ---------------------------------------------------
def _composite(name, impl, operands, attrs):
    """Calls `impl(*operands, **attrs)` as the composite `name`."""
    def decomposition(*ops, **kw):
        return impl(*ops, **kw)
    return lax.composite(decomposition, name=name)(*operands, **attrs)


def composite_linear_attention(q, k, v, g=None, s0=None, *, gate="none",
                               scale=None, final_state=False):
    """`mixir.linear_attention`(q, k, v, [g], [initial_state])."""
    scale = q.shape[-1] ** -0.5 if scale is None else scale

    def impl(*ops, gate, scale):
        ops = list(ops)
        q, k, v = ops[:3]
        gg = ops.pop(3) if gate != "none" else None
        init = ops[3] if len(ops) > 3 else None
        o, S = ref_linear_attention(q, k, v, gg, init, gate=gate, scale=scale)
        return (o, S) if final_state else o

    operands = [q, k, v] + ([g] if gate != "none" else []) + ([s0] if s0 is not None else [])
    return _composite("mixir.linear_attention", impl, operands,
                      dict(gate=gate, scale=float(scale)))


def composite_delta_rule(q, k, v, beta, g=None, s0=None, *, gate="none",
                         scale=None, qk_l2norm=False, allow_neg_eigval=False,
                         final_state=False):
    """`mixir.delta_rule`(q, k, v, beta, [g], [initial_state])."""
    scale = q.shape[-1] ** -0.5 if scale is None else scale

    def impl(*ops, gate, scale, qk_l2norm, allow_neg_eigval):
        ops = list(ops)
        q, k, v, beta = ops[:4]
        gg = ops.pop(4) if gate != "none" else None
        init = ops[4] if len(ops) > 4 else None
        o, S = ref_delta_rule(q, k, v, beta, gg, init, gate=gate, scale=scale,
                              qk_l2norm=qk_l2norm, allow_neg_eigval=allow_neg_eigval)
        return (o, S) if final_state else o

    operands = ([q, k, v, beta] + ([g] if gate != "none" else []) +
                ([s0] if s0 is not None else []))
    return _composite("mixir.delta_rule", impl, operands,
                      dict(gate=gate, scale=float(scale), qk_l2norm=qk_l2norm,
                           allow_neg_eigval=allow_neg_eigval))


def composite_attention(q, k, v, g=None, *, scale=None, causal=True, window=0):
    """`mixir.attention`(q, k, v, [g])."""
    scale = q.shape[-1] ** -0.5 if scale is None else scale

    def impl(*ops, scale, causal, window):
        return ref_attention(*ops, scale=scale, causal=causal, window=window)

    operands = [q, k, v] + ([g] if g is not None else [])
    return _composite("mixir.attention", impl, operands,
                      dict(scale=float(scale), causal=causal, window=int(window)))


def composite_scan(x, g, h0=None, *, final_state=False):
    """`mixir.scan`(x, g, [initial_state])."""
    def impl(*ops):
        o, h = ref_scan(*ops)
        return (o, h) if final_state else o

    return _composite("mixir.scan", impl, [x, g] + ([h0] if h0 is not None else []), {})


# --- a whole block -------------------------------------------------------------------------
def rms_norm(x, w, eps=1e-6):
    return x * lax.rsqrt(jnp.mean(x * x, axis=-1, keepdims=True) + eps) * w


def short_conv(x, w):
    """Depthwise causal convolution over T: x [B,T,C], w [W,C]."""
    width = w.shape[0]
    return lax.conv_general_dilated(x, w[:, None, :], (1,), [(width - 1, 0)],
                                    dimension_numbers=("NWC", "WIO", "NWC"),
                                    feature_group_count=x.shape[-1])


def gated_deltanet_block(x, params, *, heads, dk, dv, mixer="scan"):
    """A Gated DeltaNet layer as fla writes it: RMSNorm -> q/k/v projections
    with short causal convolutions and SiLU -> l2-normalised q, k -> beta and
    decay projections -> gated delta rule -> gated RMSNorm of the output ->
    output projection + residual. x [B,T,D]; params from `block_params`."""
    b, t, _ = x.shape
    h = rms_norm(x, params["norm"])

    def proj(name, dim):
        y = jax.nn.silu(short_conv(h @ params["w" + name], params["conv_" + name]))
        return y.reshape(b, t, heads, dim)
    q = l2norm(proj("q", dk))
    k = l2norm(proj("k", dk))
    v = proj("v", dv)
    beta = jax.nn.sigmoid(h @ params["wb"])                  # [B,T,H]
    g = -jax.nn.softplus(h @ params["wg"]) * 0.1             # [B,T,H], <= 0
    if mixer == "scan":
        o = gated_deltanet_scan(q, k, v, beta, g)
    else:
        o = composite_delta_rule(q, k, v, beta, g, gate="scalar")
    gate = jax.nn.silu(h @ params["wz"]).reshape(b, t, heads, dv)
    o = rms_norm(o, params["onorm"]) * gate
    return x + o.reshape(b, t, heads * dv) @ params["wo"]


def block_params(rng, d, heads, dk, dv, conv=4):
    def w(*shape):
        return (rng.standard_normal(shape) / np.sqrt(shape[0])).astype(np.float32)
    return {"norm": (1.0 + 0.1 * rng.standard_normal(d)).astype(np.float32),
            "wq": w(d, heads * dk), "wk": w(d, heads * dk), "wv": w(d, heads * dv),
            "conv_q": w(conv, heads * dk), "conv_k": w(conv, heads * dk),
            "conv_v": w(conv, heads * dv),
            "wb": w(d, heads), "wg": w(d, heads), "wz": w(d, heads * dv),
            "onorm": np.ones(dv, np.float32), "wo": w(heads * dv, d)}


__all__ = [n for n in dir() if not n.startswith("_") and n not in
           ("functools", "jax", "jnp", "np", "lax")]
