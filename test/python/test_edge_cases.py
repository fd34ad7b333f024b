"""Numerical robustness at the edges (issue 20, item 5): every mix op on
target cpu (the compiler's choice of form, and the chunked form forced with
chunks of 16) and on cuda-emulation (the CUDA kernels on CPU threads), with
inputs where chunked kernels are known to break: log gates at -30 and -1e4
(exp of the reversed cumulative gate overflows), beta at 0, 1 and 2 (negative
eigenvalues of the transition, also with signed decays), inputs of norm 1e3,
all zeros, K = 1 and K = 256, float16 inputs whose products approach 65504,
a NaN in one token of one packed sequence, and T = 65536.

Every result is compared with the float64 recurrent form of MIXERS.md
(`mixir.reference`, numpy only, no code shared with the compiler; causal
conv and the long windowed attention have their own loops here). The rule:
no NaN/Inf where the reference is finite, rel-RMS within 1e-4 for float32
inputs and 5e-3 for 16-bit ones. One documented exception, asserted as
such: in the chunked forms a NaN may also reach the tokens of its own chunk
before it (docs/MIXERS.md, "Packed sequences").

What the suite found and the compiler now does: gates of -1e4 swamped the
f32 cumulative gates of the chunked forms and of the forget-gate attention
(rel-RMS 2e-4 to 6e-4; gates are floored at -104, where exp is 0 in f32),
and the forget gate's G over 65536 tokens lost its low bits in f32 (2.4e-4;
now summed in f64).
"""

import ml_dtypes
import numpy as np
import pytest

import mixir
from mixir import reference

BF16 = ml_dtypes.bfloat16
F16 = np.float16
TOL = {np.dtype(np.float32): 1e-4, np.dtype(BF16): 5e-3, np.dtype(F16): 5e-3}

# (target, chunk_size): the compiler's choice, the chunked form forced, and
# the CUDA kernels (chunk chosen by the CUDA pipeline).
RUNS = [("cpu", None), ("cpu", 16), ("cuda-emulation", None)]
RUN_IDS = ["cpu", "cpu-chunk16", "emulation"]

# op name -> (function, gate, decay); the recurrence ops carry one low-rank
# term a = unit key, b = -beta * d * a, so the transition is
# d (I - beta a a^T): eigenvalues d and d (1 - beta), within [-1, 1] for
# beta in [0, 2] and d in [-1, 1].
OPS = {
    "la-none": ("la", "none", "log"),
    "la-head": ("la", "head", "log"),
    "la-scalar": ("la", "scalar", "log"),
    "la-vector": ("la", "vector", "log"),
    "delta-none": ("delta", "none", "log"),
    "delta-scalar": ("delta", "scalar", "log"),
    "rec-log": ("rec", "scalar", "log"),
    "rec-signed": ("rec", "scalar", "signed"),
    "scan": ("scan", "scalar", "log"),
    "attention": ("attn", "scalar", "log"),
}


def pairs(ops, emulated, runs=None):
    """(op, run, id): every op on the CPU runs, the `emulated` ones also
    under emulation (each new shape or flag is a kernel compile there, and
    its runs are slow: the emulated subset keeps one op per kernel family
    and the suite within its time)."""
    runs = RUNS if runs is None else runs
    return [(op, r, f"{op}-{i}") for op in ops
            for r, i in zip(runs, RUN_IDS + ["cpu-recurrent"])
            if r[0] == "cpu" or op in emulated]


def on(ops, emulated, runs=None):
    return [pytest.param(op, r, id=i) for op, r, i in pairs(ops, emulated, runs)]


# One op per kernel family under emulation where a test's inputs, not its
# flags, are the point.
FAMILIES = ["la-vector", "delta-scalar", "rec-signed", "scan", "attention"]
GATED = [op for op, (_, gate, decay) in OPS.items()
         if gate != "none" and decay == "log"]
PACKABLE = [op for op, (fn, _, _) in OPS.items() if fn != "attn"]


def unit(x):
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def gate_of(rng, op, B, T, H, K):
    """A moderate log gate (or signed decay) for `op`, float32."""
    fn, gate, decay = OPS[op]
    shape = {"none": None, "head": (H,), "scalar": (B, T, H),
             "vector": (B, T, H, K)}[gate]
    if fn == "scan":
        shape = (B, T, H * K)
    if shape is None:
        return None
    if decay == "signed":
        return rng.uniform(-1.0, 1.0, shape).astype(np.float32)
    return -rng.uniform(0.01, 0.5, shape).astype(np.float32)


def make(op, B=2, T=75, H=2, K=60, V=40, dtype=np.float32, seed=0):
    """The inputs of `op` as a dict (q, k, v in `dtype`; g, beta float32;
    the delta rule l2-normalises q and k unless d["l2"] is False)."""
    rng = np.random.default_rng(seed)
    fn = OPS[op][0]
    d = {"g": gate_of(rng, op, B, T, H, K)}
    if fn == "scan":
        d["x"] = rng.standard_normal((B, T, H * K)).astype(dtype)
        return d
    d["q"] = rng.standard_normal((B, T, H, K)).astype(dtype)
    d["k"] = unit(rng.standard_normal((B, T, H, K))).astype(dtype)
    d["v"] = rng.standard_normal((B, T, H, V)).astype(dtype)
    if fn in ("delta", "rec"):
        d["beta"] = rng.uniform(0.0, 1.0, (B, T, H)).astype(np.float32)
    if fn == "rec":
        d["a"] = unit(rng.standard_normal((B, T, H, 1, K))).astype(np.float32)
    return d


def low_rank_b(op, d):
    """b = -beta * d_t * a (the decay applied to the low-rank term too)."""
    decay = d["g"] if OPS[op][2] == "signed" else np.exp(d["g"].astype(np.float64))
    return (-(d["beta"] * decay)[..., None, None] * d["a"]).astype(np.float32)


def run(op, d, target="cpu", chunk=None, cu=None):
    """(o, final state or None) of the compiled op."""
    fn, gate, decay = OPS[op]
    kw = dict(chunk_size=chunk, target=target)
    if cu is not None:
        kw["cu_seqlens"] = cu
    if fn == "scan":
        return mixir.scan(d["x"], d["g"], **kw)
    if fn == "attn":
        return mixir.attention(d["q"], d["k"], d["v"], d["g"],
                               scale=d.get("scale"), **kw), None
    common = dict(g=d["g"], gate=gate, scale=d.get("scale"),
                  output_final_state=True, **kw)
    if fn == "la":
        return mixir.linear_attention(d["q"], d["k"], d["v"], **common)
    if fn == "delta":
        return mixir.delta_rule(d["q"], d["k"], d["v"], d["beta"],
                                qk_l2norm=d.get("l2", True), **common)
    return mixir.recurrence(d["q"], d["k"], d["v"], d["a"], low_rank_b(op, d),
                            decay=decay, **common)


def want(op, d):
    """The float64 reference (o, final state or None)."""
    fn, gate, decay = OPS[op]
    if fn == "scan":
        return reference.scan(d["x"], d["g"])
    if fn == "attn":
        return reference.attention(d["q"], d["k"], d["v"], d["g"],
                                   scale=d.get("scale")), None
    common = dict(g=d["g"], gate=gate, scale=d.get("scale"),
                  output_final_state=True)
    if fn == "la":
        return reference.linear_attention(d["q"], d["k"], d["v"], **common)
    if fn == "delta":
        return reference.delta_rule(d["q"], d["k"], d["v"], d["beta"],
                                    qk_l2norm=d.get("l2", True), **common)
    return reference.recurrence(d["q"], d["k"], d["v"], d["a"],
                                low_rank_b(op, d), decay=decay, **common)


def check(got, ref, tol, what):
    """No NaN/Inf where the reference is finite, and rel-RMS <= tol."""
    got = np.asarray(got).astype(np.float64)
    assert got.shape == ref.shape, what
    assert np.isfinite(ref).all(), f"{what}: the reference is not finite"
    bad = np.argwhere(~np.isfinite(got))
    assert len(bad) == 0, f"{what}: {len(bad)} NaN/Inf, first at {bad[0]}"
    err = reference.rel_rms(ref, got)
    assert err <= tol, f"{what}: rel-RMS {err:.3e} > {tol:.0e}"


def check_op(op, d, target, chunk):
    """The compiled op against the reference at its inputs' tolerance."""
    tol = TOL[np.dtype((d["x"] if "x" in d else d["q"]).dtype)]
    o, s = run(op, d, target, chunk)
    wo, ws = want(op, d)
    check(o, wo, tol, f"{op} o")
    if ws is not None:
        check(s, ws, tol, f"{op} final state")


def shape_for(target):
    """T 75 in float32 on the CPU; 41 in bfloat16 under emulation (slower,
    and the tensor cores take 16-bit operands); odd K and V."""
    if target == "cpu":
        return dict(T=75, dtype=np.float32)
    return dict(T=41, dtype=BF16)


# --------------------------------------------------------------------------
# Gates at -30 and -1e4
# --------------------------------------------------------------------------

@pytest.mark.parametrize("op,run_", on(GATED, GATED))
def test_extreme_log_gates(op, run_):
    """Some tokens (or, for a head gate, whole heads) decay by exp(-30) and
    exp(-1e4) = 0: the reference is finite, the chunked forms must not form
    exp(-cumulative gate) on its own."""
    target, chunk = run_
    d = make(op, seed=1, **shape_for(target))
    g = d["g"]
    if OPS[op][1] == "head":
        g[:] = [-30.0, -1e4]
    else:
        g[:, 3::7] = -30.0
        g[:, 5::11] = -1e4
        g[1, g.shape[1] // 2:] = -1e4  # a whole tail at -1e4
    check_op(op, d, target, chunk)


# --------------------------------------------------------------------------
# beta at 0, 1 and 2 (negative eigenvalues), signed decays at -1, 0 and 1
# --------------------------------------------------------------------------

BETA_OPS = ["delta-none", "delta-scalar", "rec-log", "rec-signed"]


@pytest.mark.parametrize("op,beta,run_", [
    pytest.param(op, beta, r, id=f"{i}-beta{beta:g}")
    for op, r, i in pairs(BETA_OPS, ["delta-scalar", "rec-signed"])
    for beta in (0.0, 1.0, 2.0)
    if r[0] == "cpu" or beta == 2.0])  # emulated: the reflection only
def test_beta_edges(op, beta, run_):
    """beta = 2 with unit keys makes I - beta k k^T a reflection (eigenvalue
    -1); signed decays of exactly -1, 0 and 1 appear among the others."""
    target, chunk = run_
    d = make(op, seed=2, **shape_for(target))
    d["beta"][:] = beta
    if OPS[op][2] == "signed":
        d["g"][:, ::3] = -1.0
        d["g"][:, 1::5] = 0.0
        d["g"][:, 2::7] = 1.0
    check_op(op, d, target, chunk)


@pytest.mark.parametrize("run_", RUNS[:2], ids=RUN_IDS[:2])
def test_delta_allow_neg_eigval(run_):
    """allow_neg_eigval doubles beta: beta 1 is the reflection."""
    target, chunk = run_
    shape = shape_for(target)
    d = make("delta-scalar", seed=3, **shape)
    d["beta"][:] = 1.0
    o, s = mixir.delta_rule(d["q"], d["k"], d["v"], d["beta"], d["g"],
                            gate="scalar", output_final_state=True,
                            qk_l2norm=True, allow_neg_eigval=True,
                            chunk_size=chunk, target=target)
    wo, ws = reference.delta_rule(d["q"], d["k"], d["v"], d["beta"], d["g"],
                                  gate="scalar", output_final_state=True,
                                  qk_l2norm=True, allow_neg_eigval=True)
    tol = TOL[np.dtype(shape["dtype"])]
    check(o, wo, tol, "o")
    check(s, ws, tol, "final state")


# --------------------------------------------------------------------------
# Inputs of norm 1e3, and all zeros
# --------------------------------------------------------------------------

@pytest.mark.parametrize("op,run_", on(OPS, FAMILIES))
def test_inputs_of_norm_1e3(op, run_):
    """Every token's q, k, v (x for the scan) has norm 1e3, so the state
    grows to ~1e6 per token. The delta rule and the recurrence keep their
    keys normalised (their transitions need |k| <= 1 to stay contractive;
    the values and queries carry the size)."""
    target, chunk = run_
    shape = shape_for(target)
    d = make(op, seed=4, **shape)
    fn = OPS[op][0]
    for name in ("q", "k", "v", "x"):
        if name in d and not (name == "k" and fn in ("delta", "rec")):
            d[name] = (1e3 * unit(d[name].astype(np.float64))).astype(shape["dtype"])
    # For the attention, logits of ~1e6 / sqrt(K) make the softmax a hard
    # maximum: the reference is o = v of the best key, and so must the
    # kernels be (no exp of a positive exponent, no inf - inf).
    check_op(op, d, target, chunk)


@pytest.mark.parametrize("op,run_", on(OPS, FAMILIES))
def test_all_zero_inputs(op, run_):
    """Zero inputs, zero gates (decay 1) and zero beta give exactly zero
    outputs and states (the l2-normalised delta rule divides 0 by
    sqrt(eps), never by 0; the attention's softmax is uniform over zero
    values)."""
    target, chunk = run_
    d = make(op, seed=5, **shape_for(target))
    for name in d:
        if d[name] is not None:
            d[name] = np.zeros_like(d[name])
    if OPS[op][1] == "head":
        d["g"][:] = 0.0
    o, s = run(op, d, target, chunk)
    assert np.all(np.asarray(o, np.float64) == 0.0), f"{op}: o not all zero"
    if s is not None:
        assert np.all(s == 0.0), f"{op}: final state not all zero"


# --------------------------------------------------------------------------
# K = 1 and K = 256
# --------------------------------------------------------------------------

@pytest.mark.parametrize("K", [1, 256])
@pytest.mark.parametrize("op,run_", on(["la-vector", "delta-scalar",
                                        "rec-signed", "attention"],
                                       ["la-vector", "rec-signed",
                                        "attention"]))
def test_key_dim_1_and_256(op, K, run_):
    """K = 1 (a rank-one state per value channel) and K = 256 (the widest
    keys), on every target: the CUDA kernels take both (K = 1 products on
    the CUDA cores, where padding to the tensor-core tile would be 16 times
    the work; K = 256 tiles in the block's global scratch)."""
    target, chunk = run_
    shape = shape_for(target)
    d = make(op, H=1, K=K, V=24, seed=6, **shape)
    check_op(op, d, target, chunk)


# --------------------------------------------------------------------------
# float16 inputs near overflow
# --------------------------------------------------------------------------

@pytest.mark.parametrize("op,run_", on(OPS, ["la-scalar", "delta-scalar",
                                             "rec-log", "scan", "attention"]))
def test_f16_inputs_near_overflow(op, run_):
    """float16 q, k, v with entries up to ~250, so a single product q_i k_i
    or k_i v_j reaches ~6e4 (65504 is the largest float16) and q.k or a
    state row overflows float16 by far. The reference is the float64
    evaluation of those float16 inputs; `scale` (the scan: a mild gate) is
    chosen so that the reference outputs stay below 2e4, inside float16.
    Then the kernels must not overflow (accumulate the state and q.k in
    f32) and must agree within the 16-bit tolerance."""
    target, chunk = run_
    d = make(op, seed=7, **shape_for(target) | {"dtype": F16})
    fn = OPS[op][0]
    for name in ("q", "k", "v", "x"):
        if name in d and not (name == "k" and fn in ("delta", "rec")):
            x = d[name].astype(np.float64)
            d[name] = (250.0 * x / np.abs(x).max()).astype(F16)
    if fn == "scan":
        # Positive inputs and gates near 0: h grows to several thousand.
        d["x"] = np.abs(d["x"].astype(np.float64) / 2).astype(F16)
        d["g"] = np.full_like(d["g"], -0.002)
        assert 1e3 < np.abs(want(op, d)[0]).max() < 3e4
    else:
        q, k = d["q"].astype(np.float64), d["k"].astype(np.float64)
        logits = np.abs(np.einsum("bthk,bshk->bhts", q, k)).max()
        if fn == "attn":
            # Scaled logits within +-10; their unscaled q.k overflow f16.
            d["scale"] = float(10.0 / logits)
        else:
            top = np.abs(want(op, d)[0]).max()
            d["scale"] = float(q.shape[-1] ** -0.5 * 2e4 / top)
            assert 1e3 < np.abs(want(op, d)[0]).max() < 3e4
        if fn in ("la", "attn"):
            assert logits > 65504, "q.k must overflow float16"
    check_op(op, d, target, chunk)


# --------------------------------------------------------------------------
# NaN in one token of one packed sequence
# --------------------------------------------------------------------------

def packed_want(op, d, cu):
    """The reference run on each sequence of the packing alone: (o [1, T,
    ...], final states [N, ...])."""
    outs, states = [], []
    for n in range(len(cu) - 1):
        piece = {name: (x if not isinstance(x, np.ndarray) or x.ndim == 1
                        else x[:, cu[n]:cu[n + 1]])
                 for name, x in d.items()}
        o, s = want(op, piece)
        outs.append(o)
        states.append(s[0])
    return np.concatenate(outs, axis=1), np.stack(states)


def nan_cases():
    """(op, where, run): the NaN in each per-token input of each op."""
    def inputs(op):
        if op == "scan":
            return "xg"
        return "kvg" if OPS[op][1] in ("scalar", "vector") else "kv"
    return [pytest.param(op, w, r, id=f"{i}-nan-{w}")
            for op, r, i in pairs(PACKABLE, ["la-vector", "delta-scalar",
                                             "rec-signed", "scan"],
                                  RUNS + [("cpu", 0)])
            for w in inputs(op)]


@pytest.mark.parametrize("op,where,run_", nan_cases())
def test_nan_stays_in_its_sequence(op, where, run_):
    """Three sequences packed with cu_seqlens, boundaries inside chunks; one
    NaN in token 30 (sequence 1: tokens 20 to 44, under emulation 12 to 36). The other sequences must
    be finite, equal to the reference and bit-identical to the same call
    without the NaN (a masked entry multiplied by 0 rather than selected
    away would carry the NaN across).

    Sequence 1 before the NaN: the recurrent form (chunk_size 0) keeps it
    clean. The chunked forms multiply the chunk's causal (lower-triangular)
    tiles with the chunk's key and value tiles in dense matmuls, and IEEE
    0 * NaN is NaN, so the tokens of the NaN's own chunk before it may read
    NaN (as in fla's kernels); there they must be NaN or right, never a
    wrong finite number. (docs/MIXERS.md, "Packed sequences".)"""
    target, chunk = run_
    shape = shape_for(target)
    T = shape["T"]
    cu = np.array([0, 20, 45, T] if T > 45 else [0, 12, 37, T], np.int32)
    d = make(op, B=1, seed=8, **shape)
    clean_o, clean_s = run(op, d, target, chunk, cu)
    d[where][0, 30] = np.nan
    o, s = run(op, d, target, chunk, cu)
    wo, ws = packed_want(op, d, cu)
    tol = TOL[np.dtype(shape["dtype"])]
    assert np.isnan(wo[0, 30:cu[2]]).any(), "the NaN must reach the reference"
    other = np.r_[0:cu[1], cu[2]:T]
    check(o[:, other], wo[:, other], tol, f"{op} o, other sequences")
    check(s[[0, 2]], ws[[0, 2]], tol, f"{op} final states, other sequences")
    np.testing.assert_array_equal(np.asarray(o)[:, other],
                                  np.asarray(clean_o)[:, other])
    np.testing.assert_array_equal(s[[0, 2]], clean_s[[0, 2]])
    before = np.asarray(o)[:, cu[1]:30].astype(np.float64)
    if chunk == 0:
        check(before, wo[:, cu[1]:30], tol, f"{op} o before the NaN")
    else:
        # Finite entries must be right (not bit-identical: a per-block
        # schedule choice, such as the factored diagonal blocks of vector
        # gates, may see the NaN's gates and round differently).
        finite = np.isfinite(before)
        if finite.any():
            check(before[finite], wo[:, cu[1]:30][finite], tol,
                  f"{op} o before the NaN, its finite entries")


# --------------------------------------------------------------------------
# T = 65536 on the CPU
# --------------------------------------------------------------------------

def windowed_attention(q, k, v, g, window):
    """float64 causal sliding-window softmax attention with a forget gate,
    B = H = 1: key j is kept for query i when i - window < j <= i, with the
    bias sum(g[j+1..i]) (a sum of at most window - 1 gates, never a
    difference of long cumulative sums)."""
    q, k, v = (x[0, :, 0].astype(np.float64) for x in (q, k, v))
    g = g[0, :, 0].astype(np.float64)
    T, K = q.shape
    W = window
    pad = lambda x: np.concatenate([np.zeros((W - 1,) + x.shape[1:]), x])
    kw = np.lib.stride_tricks.sliding_window_view(pad(k), W, axis=0)  # [T,K,W]
    vw = np.lib.stride_tricks.sliding_window_view(pad(v), W, axis=0)
    s = np.einsum("tk,tkw->tw", q, kw) / np.sqrt(K)
    # bias of column w (key i - W + 1 + w): -(g[i-W+2+w] + ... + g[i]).
    gw = np.lib.stride_tricks.sliding_window_view(pad(g[:, None])[:, 0], W)
    bias = np.cumsum(gw[:, ::-1], axis=1)[:, ::-1] - gw
    s = s + bias
    s[np.arange(T)[:, None] - W + 1 + np.arange(W) < 0] = -np.inf
    p = np.exp(s - s.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    return np.einsum("tw,tvw->tv", p, vw)[None, :, None]


_LONG_WANT = {}


@pytest.mark.parametrize("chunk", [None, 64])
@pytest.mark.parametrize("op", ["la-scalar", "delta-scalar", "rec-signed",
                                "scan", "attention"])
def test_sequence_of_65536_tokens(op, chunk):
    """One sequence of 65536 tokens (B = H = 1, K = V = 4) per op family:
    the cumulative log gate over the whole sequence reaches ~-1.6e4, so
    nothing may add gates up beyond a chunk (or a key block) in f32."""
    d = make(op, B=1, T=65536, H=1, K=4, V=4, seed=9)
    if op not in _LONG_WANT:  # one reference for both chunk sizes
        _LONG_WANT[op] = (windowed_attention(d["q"], d["k"], d["v"], d["g"], 32),
                          None) if op == "attention" else want(op, d)
    wo, ws = _LONG_WANT[op]
    if op == "attention":
        o, s = mixir.attention(d["q"], d["k"], d["v"], d["g"], window=32,
                               chunk_size=chunk), None
    else:
        o, s = run(op, d, "cpu", chunk)
    check(o, wo, 1e-4, f"{op} o")
    if ws is not None:
        check(s, ws, 1e-4, f"{op} final state")


# --------------------------------------------------------------------------
# Causal conv (CPU): large and tiny inputs through silu
# --------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, F16])
def test_causal_conv_silu_at_the_edges(dtype):
    """silu(y) = y / (1 + exp(-y)) at y = +-1e4 (float32; exp(-y) overflows
    to inf for y = -1e4, which must give -0, not NaN) and near the float16
    limit, against a float64 loop."""
    rng = np.random.default_rng(10)
    B, T, D, W = 2, 75, 7, 4
    x = rng.standard_normal((B, T, D))
    big = 1e4 if dtype == np.float32 else 1.5e4
    x[:, ::5] = big
    x[:, 2::5] = -big
    x[:, 3::7] = 0.0
    w = np.full((D, W), 0.25)
    w[:, -1] = 1.0
    x = x.astype(dtype)
    y, _ = mixir.causal_conv1d(x, w.astype(dtype), activation="silu")
    x64 = np.concatenate([np.zeros((B, W - 1, D)), x.astype(np.float64)], 1)
    ref = sum(w[:, i] * x64[:, i:i + T] for i in range(W))
    with np.errstate(over="ignore"):
        ref = ref / (1 + np.exp(-ref))
    check(y, ref, TOL[np.dtype(dtype)], "causal_conv1d silu")
