"""Both algorithms for mix.linear_attention, every gate kind: the
chunkwise-parallel form (chunk 16, 64) and the recurrent form (chunk 0)
against the f64 recurrent reference and against each other: partial last
chunks, sequences shorter than a chunk (the run-time branch), initial
states, head sharing."""

import numpy as np
import pytest

import mixir
from mixir import reference as ref
from test_numerics import (DTYPES, F32_LIMIT, HALF_LIMIT, SHARING, make_gate,
                           normal, params, rng_for)

CASES = params({
    "gate": ["none", "head", "scalar", "vector"], "dtype": ["f32", "bf16"],
    "T": [1, 63, 64, 65, 500, 1500], "K": [60, 64, 100, 128],
    "V": [60, 64, 100, 128], "init": [True, False],
    "heads": list(SHARING), "chunk": [0, 16, 64]})


def inputs(case):
    rng = rng_for(case)
    dtype = DTYPES[case["dtype"]]
    hq, hk, hv = SHARING[case["heads"]]
    b, t, kd, vd = 1, case["T"], case["K"], case["V"]
    q = normal(rng, (b, t, hq, kd), dtype)
    k = normal(rng, (b, t, hk, kd), dtype, kd ** -0.5)
    v = normal(rng, (b, t, hv, vd), dtype)
    g = make_gate(rng, case["gate"], b, t, hv, kd)
    s0 = rng.normal(size=(b, hv, kd, vd)).astype(np.float32) if case["init"] else None
    return q, k, v, g, s0


@pytest.mark.parametrize("case", CASES)
def test_chunked_linear_attention(case, record_rel_rms):
    q, k, v, g, s0 = inputs(case)
    o, s = mixir.linear_attention(q, k, v, g, gate=case["gate"], initial_state=s0,
                                  output_final_state=True,
                                  chunk_size=case["chunk"])
    want_o, want_s = ref.linear_attention(q, k, v, g, gate=case["gate"],
                                          initial_state=s0,
                                          output_final_state=True)
    op = "linear_attention"
    limit = F32_LIMIT[op] if case["dtype"] == "f32" else HALF_LIMIT
    for what, want, got, dtype in (("o", want_o, o, q.dtype),
                                   ("state", want_s, s, np.float32)):
        assert got.shape == want.shape and got.dtype == dtype
        err = ref.rel_rms(want, got)
        record_rel_rms(f"linear_attention(chunk={case['chunk']})", case["dtype"], what, err,
                       limit, "-".join(map(str, case.values())))
        assert err < limit, f"{what}: rel-RMS {err:.3e} >= {limit:.0e}"


@pytest.mark.parametrize("gate", ["none", "head", "scalar", "vector"])
def test_chunked_agrees_with_recurrent(gate):
    case = {"gate": gate, "dtype": "f32", "T": 200, "K": 64, "V": 48,
            "init": True, "heads": "gqa", "chunk": 64}
    q, k, v, g, s0 = inputs(case)
    rec = mixir.linear_attention(q, k, v, g, gate=gate, initial_state=s0,
                                 output_final_state=True, chunk_size=0)
    chk = mixir.linear_attention(q, k, v, g, gate=gate, initial_state=s0,
                                 output_final_state=True, chunk_size=64)
    for a, b in zip(rec, chk):
        assert ref.rel_rms(a, b) < 1e-5


def test_chunk_size_must_be_power_of_two():
    q = np.zeros((1, 4, 1, 8), np.float32)
    with pytest.raises(ValueError, match="chunk_size"):
        mixir.linear_attention(q, q, q, chunk_size=48)


def test_strong_vector_gate_stays_finite():
    """Per-channel decays down to -30 per token: every exponent the chunked
    form takes stays <= 0, so nothing overflows."""
    rng = np.random.default_rng(7)
    q = rng.normal(size=(1, 130, 1, 32)).astype(np.float32)
    k = (rng.normal(size=(1, 130, 1, 32)) / 6).astype(np.float32)
    v = rng.normal(size=(1, 130, 1, 16)).astype(np.float32)
    g = -rng.uniform(0, 30, size=(1, 130, 1, 32)).astype(np.float32)
    g[..., :4] = 0.0  # some channels never decay
    o, s = mixir.linear_attention(q, k, v, g, gate="vector",
                                  output_final_state=True, chunk_size=64)
    want_o, want_s = ref.linear_attention(q, k, v, g, gate="vector",
                                          output_final_state=True)
    assert np.isfinite(o).all() and np.isfinite(s).all()
    assert ref.rel_rms(want_o, o) < 1e-5
    assert ref.rel_rms(want_s, s) < 1e-5


SCAN_CASES = params({"dtype": ["f32", "bf16", "f16"], "T": [1, 63, 64, 65, 500, 1500],
                     "D": [33, 64, 100, 1000], "init": [True, False], "chunk": [0, 16, 64]})


@pytest.mark.parametrize("case", SCAN_CASES)
def test_scan_algorithms(case, record_rel_rms):
    rng = rng_for(case)
    dtype = DTYPES[case["dtype"]]
    b, t, d = 2, case["T"], case["D"]
    x = normal(rng, (b, t, d), dtype)
    g = (-np.logaddexp(0.0, rng.normal(size=(b, t, d))) / 4).astype(np.float32)
    h0 = rng.normal(size=(b, d)).astype(np.float32) if case["init"] else None
    o, s = mixir.scan(x, g, initial_state=h0, chunk_size=case["chunk"])
    want_o, want_s = ref.scan(x, g, initial_state=h0)
    limit = 1e-5 if case["dtype"] == "f32" else HALF_LIMIT
    for what, want, got, dt in (("o", want_o, o, x.dtype), ("state", want_s, s, np.float32)):
        assert got.shape == want.shape and got.dtype == dt
        err = ref.rel_rms(want, got)
        record_rel_rms(f"scan(chunk={case['chunk']})", case["dtype"], what, err, limit,
                       "-".join(map(str, case.values())))
        assert err < limit, f"{what}: rel-RMS {err:.3e} >= {limit:.0e}"
