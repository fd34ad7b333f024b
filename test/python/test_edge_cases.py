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
inputs and 5e-3 for 16-bit ones, except where a comment says why the
reference itself is ill-conditioned.
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
    """The inputs of `op` as a dict (q, k, v in `dtype`; g, beta float32)."""
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
                                qk_l2norm=d.get("l2", False), **common)
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
                                    qk_l2norm=d.get("l2", False), **common)
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


def check_op(op, d, target, chunk, tol=None):
    dtype = (d["x"] if "x" in d else d["q"]).dtype
    tol = TOL[np.dtype(dtype)] if tol is None else tol
    o, s = run(op, d, target, chunk)
    wo, ws = want(op, d)
    check(o, wo, tol, f"{op} o")
    if ws is not None:
        check(s, ws, tol, f"{op} final state")


def shape_for(target):
    """T 75 in float32 on the CPU; 63 in bfloat16 under emulation (slower,
    and the tensor cores take 16-bit operands); odd K and V."""
    if target == "cpu":
        return dict(T=75, dtype=np.float32)
    return dict(T=63, dtype=BF16)


# --------------------------------------------------------------------------
# Gates at -30 and -1e4
# --------------------------------------------------------------------------

@pytest.mark.parametrize("run_", RUNS, ids=RUN_IDS)
@pytest.mark.parametrize("op", GATED)
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
        g[1, 40:] = -1e4  # a whole tail at -1e4: G reaches -3.5e5
    check_op(op, d, target, chunk)


# --------------------------------------------------------------------------
# beta at 0, 1 and 2 (negative eigenvalues), signed decays at -1, 0 and 1
# --------------------------------------------------------------------------

BETA_OPS = ["delta-none", "delta-scalar", "rec-log", "rec-signed"]


@pytest.mark.parametrize("run_", RUNS, ids=RUN_IDS)
@pytest.mark.parametrize("beta", [0.0, 1.0, 2.0])
@pytest.mark.parametrize("op", BETA_OPS)
def test_beta_edges(op, beta, run_):
    """beta = 2 with unit keys makes I - beta k k^T a reflection (eigenvalue
    -1); signed decays of exactly -1, 0 and 1 appear among the others."""
    target, chunk = run_
    d = make(op, seed=2, **shape_for(target))
    d["beta"][:] = beta
    d["l2"] = True
    if OPS[op][2] == "signed":
        d["g"][:, ::3] = -1.0
        d["g"][:, 1::5] = 0.0
        d["g"][:, 2::7] = 1.0
    check_op(op, d, target, chunk)


@pytest.mark.parametrize("run_", RUNS, ids=RUN_IDS)
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
