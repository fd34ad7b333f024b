"""Both algorithms for mix.delta_rule (DeltaNet, Gated DeltaNet, KDA-style
per-channel gates): the chunked WY/UT form (chunk 16, 64) and the recurrent
form (chunk 0) against the f64 recurrent reference, and the numerically hard
cases where hand-written kernels have produced NaN: beta 0 and 1, doubled
beta (negative eigenvalues), gates from 0 down to -30, keys of very
different norms, long sequences, half-precision inputs."""

import ml_dtypes
import numpy as np
import pytest

import mixir
from mixir import reference as ref
from test_numerics import DTYPES, SHARING, make_gate, normal, params, rng_for

LIMIT = {"f32": 1e-4, "f16": 5e-3, "bf16": 5e-3}

CASES = params({
    "gate": ["none", "scalar", "vector"], "dtype": ["f32", "bf16", "f16"],
    "T": [1, 63, 64, 65, 500], "K": [60, 64, 100, 128], "V": [60, 64, 100, 128],
    "init": [True, False], "heads": list(SHARING), "l2norm": [True, False],
    "negeig": [False, True], "chunk": [0, 16, 64]})


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def check(record, name, dtype, want, got, expect_dtype, case_id):
    assert got.dtype == expect_dtype and got.shape == want.shape
    assert np.isfinite(got.astype(np.float64)).all(), f"{name}: NaN or Inf"
    err = ref.rel_rms(want, got)
    record("delta_rule(chunked)", dtype, name, err, LIMIT[dtype], case_id)
    assert err < LIMIT[dtype], f"{name}: rel-RMS {err:.3e} >= {LIMIT[dtype]:.0e}"


def run_both(q, k, v, beta, g, gate, s0, chunk, **flags):
    got = mixir.delta_rule(q, k, v, beta, g, gate=gate, initial_state=s0,
                           output_final_state=True, chunk_size=chunk, **flags)
    want = ref.delta_rule(q, k, v, beta, g, gate=gate, initial_state=s0,
                          output_final_state=True, **flags)
    return got, want


@pytest.mark.parametrize("case", CASES)
def test_delta_rule_algorithms(case, record_rel_rms):
    rng = rng_for(case)
    dtype = DTYPES[case["dtype"]]
    hq, hk, hv = SHARING[case["heads"]]
    t, kd, vd = case["T"], case["K"], case["V"]
    # Without qk_l2norm, keys must be small enough for a contracting
    # transition (the delta rule's usual regime): norm ~ 1 / sqrt(2).
    q = normal(rng, (1, t, hq, kd), dtype)
    k = normal(rng, (1, t, hk, kd), dtype, (2 * kd) ** -0.5)
    v = normal(rng, (1, t, hv, vd), dtype)
    beta = sigmoid(rng.normal(size=(1, t, hv))).astype(np.float32)
    g = make_gate(rng, case["gate"], 1, t, hv, kd)
    s0 = rng.normal(size=(1, hv, kd, vd)).astype(np.float32) if case["init"] else None
    (o, s), (want_o, want_s) = run_both(
        q, k, v, beta, g, case["gate"], s0, case["chunk"],
        qk_l2norm=case["l2norm"], allow_neg_eigval=case["negeig"])
    cid = "-".join(map(str, case.values()))
    check(record_rel_rms, "o", case["dtype"], want_o, o, q.dtype, cid)
    check(record_rel_rms, "state", case["dtype"], want_s, s, np.float32, cid)


HARD = [
    pytest.param(dict(beta=0.0), id="beta0"),
    pytest.param(dict(beta=0.5), id="beta0.5"),
    pytest.param(dict(beta=1.0), id="beta1"),
    pytest.param(dict(beta=1.0, negeig=True), id="beta1-negeig(2)"),
    pytest.param(dict(beta=0.5, negeig=True), id="beta0.5-negeig"),
    pytest.param(dict(gate="scalar", glo=0.0, ghi=0.0), id="gate0"),
    pytest.param(dict(gate="scalar", glo=-30.0, ghi=0.0), id="gate-30"),
    pytest.param(dict(gate="vector", glo=-30.0, ghi=0.0), id="vector-gate-30"),
    pytest.param(dict(keynorms=True), id="key-norms"),
    pytest.param(dict(keynorms=True, negeig=True, beta=1.0), id="key-norms-negeig"),
]


@pytest.mark.parametrize("hard", HARD)
@pytest.mark.parametrize("dtype", ["f32", "bf16"])
def test_delta_rule_hard_cases(hard, dtype, record_rel_rms):
    rng = np.random.default_rng(11)
    t, h, kd, vd = 300, 2, 64, 48
    npdt = DTYPES[dtype]
    q = normal(rng, (1, t, h, kd), npdt)
    k = normal(rng, (1, t, h, kd), npdt)
    if hard.get("keynorms"):
        # Norms from 1e-3 to 1e3 before normalisation.
        k = (k.astype(np.float32) * 10.0 ** rng.uniform(-3, 3, size=(1, t, h, 1))).astype(npdt)
    v = normal(rng, (1, t, h, vd), npdt)
    beta = np.full((1, t, h), hard.get("beta", 0.7), np.float32)
    gate = hard.get("gate", "none")
    g = None
    if gate == "scalar":
        g = rng.uniform(hard["glo"], hard["ghi"], size=(1, t, h)).astype(np.float32)
    if gate == "vector":
        g = rng.uniform(hard["glo"], hard["ghi"], size=(1, t, h, kd)).astype(np.float32)
    (o, s), (want_o, want_s) = run_both(
        q, k, v, beta, g, gate, None, 64, qk_l2norm=True,
        allow_neg_eigval=hard.get("negeig", False))
    cid = f"hard-{dtype}-{'-'.join(f'{a}={b}' for a, b in hard.items())}"
    check(record_rel_rms, "o", dtype, want_o, o, q.dtype, cid)
    check(record_rel_rms, "state", dtype, want_s, s, np.float32, cid)


def test_delta_rule_long_sequence(record_rel_rms):
    """T = 16384 with a gate and doubled beta: errors must not accumulate
    across 256 chunks."""
    rng = np.random.default_rng(5)
    t, h, kd, vd = 16384, 1, 32, 32
    q = rng.normal(size=(1, t, h, kd)).astype(np.float32)
    k = rng.normal(size=(1, t, h, kd)).astype(np.float32)
    v = rng.normal(size=(1, t, h, vd)).astype(np.float32)
    beta = sigmoid(rng.normal(size=(1, t, h))).astype(np.float32)
    g = -np.logaddexp(0, rng.normal(size=(1, t, h))).astype(np.float32) / 8
    (o, s), (want_o, want_s) = run_both(q, k, v, beta, g, "scalar", None, 64,
                                        qk_l2norm=True, allow_neg_eigval=True)
    check(record_rel_rms, "o", "f32", want_o, o, np.float32, "T16384")
    check(record_rel_rms, "state", "f32", want_s, s, np.float32, "T16384")
