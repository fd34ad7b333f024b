"""Numerics of the compiled ops against the f64 recurrent reference.

Each op gets an all-pairs design over its axes (gate kind, dtype, T, head
dims, initial state, head sharing, ...): every pair of values of two axes
appears in some case, without the full product. Low-precision inputs are
generated in f32 and cast; the reference sees the cast values, so only the
kernel's error is measured. Gates, beta and states are passed as f32 (MIXERS.md:
gates and states are f32). Limits are MIXERS.md's rel-RMS bounds.
"""

import zlib

import ml_dtypes
import numpy as np
import pytest

import mixir  # noqa: E402  (a missing native extension must fail, not skip)
from mixir import reference as ref  # noqa: E402


DTYPES = {"f32": np.float32, "f16": np.float16, "bf16": ml_dtypes.bfloat16}
F32_LIMIT = {"linear_attention": 1e-5, "delta_rule": 1e-4, "attention": 1e-5, "scan": 1e-5}
HALF_LIMIT = 5e-3
SEQ_LENS = [1, 63, 75, 500]
HEAD_DIMS = [60, 64, 100]
# (Hq, Hk, Hv): GQA has more query heads than states, GVA more value heads
# than q/k heads (and Hk < Hv).
SHARING = {"plain": (2, 2, 2), "gqa": (4, 2, 2), "gva": (2, 1, 4)}
ATTN_SHARING = {"mha": (2, 2), "gqa": (4, 2)}  # (Hq, Hkv)


def all_pairs(axes):
    """Greedy all-pairs design over ``axes`` ({name: [values]}), deterministic.

    Seeds each case with the smallest uncovered pair and fills the other axes
    with the value covering the most uncovered pairs (first value on ties).
    """
    names = list(axes)
    uncovered = {(a, i, b, j)
                 for a in range(len(names)) for b in range(a + 1, len(names))
                 for i in range(len(axes[names[a]])) for j in range(len(axes[names[b]]))}
    cases = []
    while uncovered:
        a, i, b, j = min(uncovered)
        pick = {a: i, b: j}
        for n in range(len(names)):
            if n in pick:
                continue

            def gain(x, n=n):
                return sum(((m, pick[m], n, x) if m < n else (n, x, m, pick[m])) in uncovered
                           for m in pick)

            pick[n] = max(range(len(axes[names[n]])), key=lambda x: (gain(x), -x))
        uncovered -= {(m, pick[m], n, pick[n])
                      for m in range(len(names)) for n in range(m + 1, len(names))}
        cases.append({names[n]: axes[names[n]][pick[n]] for n in range(len(names))})
    return cases


def case_id(case):
    def part(name, value):
        if isinstance(value, bool):
            return name if value else "no" + name
        if name in ("T", "S", "K", "V", "D", "w"):
            return f"{name}{value}"
        if name == "scale":
            return "scale" + ("def" if value is None else f"{value:g}")
        return str(value)
    return "-".join(part(n, v) for n, v in case.items())


def params(axes):
    return [pytest.param(c, id=case_id(c)) for c in all_pairs(axes)]


def rng_for(case):
    return np.random.default_rng(zlib.crc32(case_id(case).encode()))


def batch(t):
    return 1 if t >= 500 else 2


def log_sigmoid(x):
    return -np.logaddexp(0.0, -x)


def scalar_gate(rng, shape):
    """Data-dependent log decays, roughly in [-3, 0)."""
    return np.maximum(log_sigmoid(rng.normal(1.5, 1.5, shape)), -3.0).astype(np.float32)


def vector_gate(rng, shape):
    """Per-channel log decays, -softplus(x)/16 (GLA-like magnitudes)."""
    return (-np.logaddexp(0.0, rng.normal(size=shape)) / 16).astype(np.float32)


def head_gate(hv):
    """RetNet: g[h] = ln(1 - 2^(-5-h))."""
    return np.log1p(-(2.0 ** (-5.0 - np.arange(hv)))).astype(np.float32)


def make_gate(rng, gate, b, t, hv, kd):
    if gate == "none":
        return None
    if gate == "head":
        return head_gate(hv)
    if gate == "scalar":
        return scalar_gate(rng, (b, t, hv))
    return vector_gate(rng, (b, t, hv, kd))


def normal(rng, shape, dtype, scale=1.0):
    return (rng.normal(size=shape) * scale).astype(np.float32).astype(dtype)


def check(record, op, case, what, want, got, want_shape, want_dtype):
    """Asserts shape, dtype and the rel-RMS bound; records the error."""
    assert got is not None, f"{what} is None"
    assert got.shape == want_shape, f"{what} shape {got.shape}, expected {want_shape}"
    assert got.dtype == want_dtype, f"{what} dtype {got.dtype}, expected {want_dtype}"
    limit = F32_LIMIT[op] if case["dtype"] == "f32" else HALF_LIMIT
    err = ref.rel_rms(want, got)
    record(op, case["dtype"], what, err, limit, case_id(case))
    assert err < limit, f"{what}: rel-RMS {err:.3e} >= {limit:.0e}"


LINEAR_ATTENTION_CASES = params({
    "gate": ["none", "head", "scalar", "vector"], "dtype": list(DTYPES), "T": SEQ_LENS,
    "K": HEAD_DIMS, "V": HEAD_DIMS, "init": [False, True], "heads": list(SHARING),
    "scale": [None, 1.0]})


@pytest.mark.parametrize("case", LINEAR_ATTENTION_CASES)
def test_linear_attention(case, record_rel_rms):
    rng, dt = rng_for(case), DTYPES[case["dtype"]]
    t, kd, vd = case["T"], case["K"], case["V"]
    hq, hk, hv = SHARING[case["heads"]]
    b = batch(t)
    q = normal(rng, (b, t, hq, kd), dt)
    k = normal(rng, (b, t, hk, kd), dt)
    v = normal(rng, (b, t, hv, vd), dt)
    g = make_gate(rng, case["gate"], b, t, hv, kd)
    s0 = normal(rng, (b, hv, kd, vd), np.float32, 0.5) if case["init"] else None
    kw = dict(g=g, gate=case["gate"], scale=case["scale"], initial_state=s0,
              output_final_state=True)
    o, st = mixir.linear_attention(q, k, v, **kw)
    o_ref, st_ref = ref.linear_attention(q, k, v, **kw)
    check(record_rel_rms, "linear_attention", case, "o", o_ref, o, o_ref.shape, np.dtype(dt))
    check(record_rel_rms, "linear_attention", case, "state", st_ref, st, st_ref.shape,
          np.dtype(np.float32))


DELTA_RULE_CASES = params({
    "gate": ["none", "scalar", "vector"], "dtype": list(DTYPES), "T": SEQ_LENS,
    "K": HEAD_DIMS, "V": HEAD_DIMS, "init": [False, True], "heads": list(SHARING),
    "l2norm": [False, True], "negeig": [False, True]})


@pytest.mark.parametrize("case", DELTA_RULE_CASES)
def test_delta_rule(case, record_rel_rms):
    rng, dt = rng_for(case), DTYPES[case["dtype"]]
    t, kd, vd = case["T"], case["K"], case["V"]
    hq, hk, hv = SHARING[case["heads"]]
    b = batch(t)
    q = normal(rng, (b, t, hq, kd), dt)
    k = rng.normal(size=(b, t, hk, kd))
    if not case["l2norm"]:  # keep the transition contractive: unit keys
        k /= np.linalg.norm(k, axis=-1, keepdims=True)
    k = k.astype(np.float32).astype(dt)
    v = normal(rng, (b, t, hv, vd), dt)
    beta = (1.0 / (1.0 + np.exp(-rng.normal(size=(b, t, hv))))).astype(np.float32)
    g = make_gate(rng, case["gate"], b, t, hv, kd)
    s0 = normal(rng, (b, hv, kd, vd), np.float32, 0.5) if case["init"] else None
    kw = dict(g=g, gate=case["gate"], initial_state=s0, output_final_state=True,
              qk_l2norm=case["l2norm"], allow_neg_eigval=case["negeig"])
    o, st = mixir.delta_rule(q, k, v, beta, **kw)
    o_ref, st_ref = ref.delta_rule(q, k, v, beta, **kw)
    check(record_rel_rms, "delta_rule", case, "o", o_ref, o, o_ref.shape, np.dtype(dt))
    check(record_rel_rms, "delta_rule", case, "state", st_ref, st, st_ref.shape,
          np.dtype(np.float32))


ATTENTION_CASES = params({
    "dtype": list(DTYPES), "T": SEQ_LENS, "K": HEAD_DIMS, "V": HEAD_DIMS,
    "causal": [True, False], "w": [0, 32], "forget": [False, True],
    "heads": list(ATTN_SHARING)})


@pytest.mark.parametrize("case", ATTENTION_CASES)
def test_attention(case, record_rel_rms):
    rng, dt = rng_for(case), DTYPES[case["dtype"]]
    t, kd, vd = case["T"], case["K"], case["V"]
    hq, hkv = ATTN_SHARING[case["heads"]]
    b = batch(t)
    q = normal(rng, (b, t, hq, kd), dt)
    k = normal(rng, (b, t, hkv, kd), dt)
    v = normal(rng, (b, t, hkv, vd), dt)
    g = scalar_gate(rng, (b, t, hq)) if case["forget"] else None
    kw = dict(g=g, causal=case["causal"], window=case["w"])
    o = mixir.attention(q, k, v, **kw)
    o_ref = ref.attention(q, k, v, **kw)
    check(record_rel_rms, "attention", case, "o", o_ref, o, o_ref.shape, np.dtype(dt))


@pytest.mark.parametrize("dtype", list(DTYPES))
def test_attention_cross_lengths(dtype, record_rel_rms):
    # Keys longer and shorter than the queries, no causal mask, explicit scale.
    case = {"dtype": dtype, "T": 75, "S": 130}
    rng, dt = rng_for(case), DTYPES[dtype]
    for s in (130, 40):
        q = normal(rng, (2, 75, 4, 64), dt)
        k = normal(rng, (2, s, 1, 64), dt)
        v = normal(rng, (2, s, 1, 60), dt)
        o = mixir.attention(q, k, v, scale=0.1, causal=False)
        o_ref = ref.attention(q, k, v, scale=0.1, causal=False)
        check(record_rel_rms, "attention", case, "o", o_ref, o, o_ref.shape, np.dtype(dt))


SCAN_CASES = params({"dtype": list(DTYPES), "T": SEQ_LENS, "D": [60, 64, 100, 1000],
                     "init": [False, True]})


@pytest.mark.parametrize("case", SCAN_CASES)
def test_scan(case, record_rel_rms):
    rng, dt = rng_for(case), DTYPES[case["dtype"]]
    b, t, d = batch(case["T"]), case["T"], case["D"]
    x = normal(rng, (b, t, d), dt)
    g = scalar_gate(rng, (b, t, d))
    h0 = normal(rng, (b, d), np.float32) if case["init"] else None
    o, h = mixir.scan(x, g, initial_state=h0)
    o_ref, h_ref = ref.scan(x, g, initial_state=h0)
    check(record_rel_rms, "scan", case, "o", o_ref, o, o_ref.shape, np.dtype(dt))
    check(record_rel_rms, "scan", case, "state", h_ref, h, h_ref.shape, np.dtype(np.float32))


def test_final_state_only_when_asked():
    rng = np.random.default_rng(0)
    q, k, v = (normal(rng, (1, 5, 1, 8), np.float32) for _ in range(3))
    assert mixir.linear_attention(q, k, v)[1] is None
    assert mixir.delta_rule(q, k, v, np.full((1, 5, 1), 0.5, np.float32))[1] is None


def test_all_pairs_covers_every_pair():
    axes = {"a": [0, 1, 2, 3], "b": [0, 1, 2], "c": [0, 1], "d": [0, 1, 2]}
    cases = all_pairs(axes)
    for x in axes:
        for y in axes:
            if x < y:
                seen = {(c[x], c[y]) for c in cases}
                assert seen == {(i, j) for i in axes[x] for j in axes[y]}
    assert len(cases) < 4 * 3 * 2 * 3
