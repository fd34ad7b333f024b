"""Non-causal (bidirectional, LION) and normalised linear attention
(MIXERS.md: `causal = false`, `normalize` on mix.linear_attention) on the
CPU (recurrent and chunked forms) and under cuda-emulation, against a
float64 evaluation of the definition written here, pair by pair, at odd
lengths and head dims, every gate kind and shared heads."""

import ml_dtypes
import numpy as np
import pytest

import mixir

BF16 = ml_dtypes.bfloat16
HQ, HK, HV = 4, 1, 2  # Ho = 4: queries share states, states share a key head


def bidirectional_f64(q, k, v, g, gate, causal, normalize):
    """o[t] = sum_s w(t, s) (scale q_t . k_s) v_s (/ the same with v = 1):
    w = exp(G[t] - G[s]) for s <= t and, without causal, exp(G[s] - G[t])
    for s > t, with G the cumulative log gate per key channel."""
    q, k, v = (np.asarray(x, np.float64) for x in (q, k, v))
    bsz, t_len, hq, kd = q.shape
    hk, hv = k.shape[2], v.shape[2]
    ho = max(hq, hv)
    o = np.zeros((bsz, t_len, ho, v.shape[3]))
    for b in range(bsz):
        for h in range(ho):
            sh = h // (ho // hv)
            qh, kh = h // (ho // hq), sh // (hv // hk)
            log = np.zeros((t_len, kd))
            if gate == "head":
                log += float(g[sh])
            elif gate == "scalar":
                log += np.asarray(g[b, :, sh], np.float64)[:, None]
            elif gate == "vector":
                log += np.asarray(g[b, :, sh], np.float64)
            cum = np.cumsum(log, axis=0)
            # diff[t, s] = G[t] - G[s] for s <= t, G[s] - G[t] after t.
            diff = cum[:, None, :] - cum[None, :, :]
            after = np.triu(np.ones((t_len, t_len), bool), 1)
            diff[after] = -diff[after]
            a = kd ** -0.5 * np.einsum("tc,tsc,sc->ts", q[b, :, qh],
                                       np.exp(diff), k[b, :, kh])
            if causal:
                a[after] = 0.0
            o[b, :, h] = a @ v[b, :, sh]
            if normalize:
                den = a.sum(axis=1)
                o[b, :, h] = np.divide(o[b, :, h], den[:, None],
                                       out=np.zeros_like(o[b, :, h]),
                                       where=den[:, None] != 0)
    return o


def rel_rms(want, got):
    want, got = np.asarray(want, np.float64), np.asarray(got, np.float64)
    return float(np.sqrt(np.mean((want - got) ** 2) / np.mean(want ** 2)))


def inputs(t, d, gate, seed, dtype=np.float32):
    """Positive q and k (the feature maps normalised attention is used
    with), so the normaliser stays away from 0."""
    rng = np.random.default_rng(seed)
    q = np.abs(rng.normal(size=(2, t, HQ, d))).astype(dtype)
    k = np.abs(rng.normal(size=(2, t, HK, d))).astype(dtype)
    v = rng.normal(size=(2, t, HV, d)).astype(dtype)
    shape = {"none": None, "head": (HV,), "scalar": (2, t, HV),
             "vector": (2, t, HV, d)}[gate]
    g = None if shape is None else \
        -rng.uniform(0.02, 0.4, size=shape).astype(np.float32)
    return q, k, v, g


GATES = ["none", "head", "scalar", "vector"]
MODES = [(False, False), (False, True), (True, True)]
MODE_IDS = ["bidirectional", "bidirectional-normalize", "causal-normalize"]


# Every gate in every mode, alternating between f32 in the chunked form at
# T = 75, K = V = 60 and bf16 in the recurrent form at T = 63, K = V = 64,
# so that each gate and each mode meets both.
CONFIGS = [("f32", 75, 60, 16), ("bf16", 63, 64, 0)]
CPU_CASES = [pytest.param(gate, *mode, *CONFIGS[(i + j) % 2],
                          id=f"{gate}-{mode_id}-{CONFIGS[(i + j) % 2][0]}")
             for i, gate in enumerate(GATES)
             for j, (mode, mode_id) in enumerate(zip(MODES, MODE_IDS))]


@pytest.mark.parametrize("gate,causal,normalize,dtype,t,d,chunk", CPU_CASES)
def test_cpu_matches_f64(gate, causal, normalize, dtype, t, d, chunk):
    np_type = np.float32 if dtype == "f32" else BF16
    q, k, v, g = inputs(t, d, gate, seed=t + d + len(gate), dtype=np_type)
    o, s = mixir.linear_attention(q, k, v, g, gate, causal=causal,
                                  normalize=normalize, chunk_size=chunk,
                                  output_final_state=True)
    assert o.dtype == np_type and o.shape == (2, t, HQ, d)
    assert s.shape == (2, HV, d, d)
    want = bidirectional_f64(q, k, v, g, gate, causal, normalize)
    err = rel_rms(want, o)
    assert err <= (1e-5 if dtype == "f32" else 5e-3), f"rel-RMS {err:.3e}"
    # The other form differs: the attributes were not ignored.
    other = bidirectional_f64(q, k, v, g, gate, True, not normalize)
    assert rel_rms(other, o) > 1e-2


@pytest.mark.parametrize("gate", GATES)
def test_single_token(gate):
    """T = 1: no key after the only query; the bidirectional form is the
    causal one."""
    q, k, v, g = inputs(1, 60, gate, seed=3)
    o, _ = mixir.linear_attention(q, k, v, g, gate, causal=False,
                                  normalize=True)
    assert rel_rms(bidirectional_f64(q, k, v, g, gate, False, True), o) <= 1e-5


def test_final_state_is_the_forward_state():
    """The state returned with causal=False is the causal op's final state
    (for gate none the sum of every k v^T), not widened by the normaliser's
    column."""
    q, k, v, g = inputs(63, 60, "scalar", seed=4)
    _, s = mixir.linear_attention(q, k, v, g, "scalar", causal=False,
                                  normalize=True, output_final_state=True)
    decay = np.exp(np.cumsum(g[:, ::-1].astype(np.float64), axis=1)[:, ::-1])
    decay = np.concatenate([decay[:, 1:], np.ones_like(decay[:, :1])], axis=1)
    kk = np.repeat(k.astype(np.float64), HV, axis=2)  # key head per state
    want = np.einsum("bth,bthk,bthv->bhkv", decay, kk, v.astype(np.float64))
    assert s.shape == want.shape and rel_rms(want, s) <= 1e-5
    _, s = mixir.linear_attention(q, k, v, causal=False,
                                  output_final_state=True)
    assert rel_rms(np.einsum("bthk,bthv->bhkv", kk, v), s) <= 1e-5


def test_zero_normaliser_gives_zero_rows():
    """A row whose normaliser is exactly 0 (a zero query) outputs 0, not
    NaN; the other rows are unaffected."""
    q, k, v, _ = inputs(20, 16, "none", seed=5)
    q[:, 7] = 0.0
    for chunk in (0, 16):
        o, _ = mixir.linear_attention(q, k, v, causal=False, normalize=True,
                                      chunk_size=chunk)
        assert np.isfinite(o).all() and not o[:, 7].any()
        assert rel_rms(bidirectional_f64(q, k, v, None, "none", False, True),
                       o) <= 1e-5


def test_refused_with_state_inputs():
    q, k, v, _ = inputs(8, 16, "none", seed=6)
    s0 = np.zeros((2, HV, 16, 16), np.float32)
    with pytest.raises(ValueError, match="take no initial_state"):
        mixir.linear_attention(q, k, v, initial_state=s0, causal=False)
    with pytest.raises(ValueError, match="take no initial_state"):
        mixir.linear_attention(q, k, v, initial_state=s0, normalize=True)


def source(d, dtype, gate, attrs):
    def t(h):
        return f"tensor<?x?x{h}x{d}x{dtype}>"
    st = f"tensor<?x{HV}x{d}x{d}xf32>"
    gt = {"head": f"tensor<{HV}xf32>", "scalar": f"tensor<?x?x{HV}xf32>",
          "vector": f"tensor<?x?x{HV}x{d}xf32>"}.get(gate)
    args = f"%q: {t(HQ)}, %k: {t(HK)}, %v: {t(HV)}" + (f", %g: {gt}" if gt else "")
    types = f"{t(HQ)}, {t(HK)}, {t(HV)}" + (f", {gt}" if gt else "")
    gtxt = f"gate {gate}" + ("(%g)" if gt else "")
    return (f"func.func @la({args}) -> ({t(HQ)}, {st}) {{\n"
            f"  %o, %s = mix.linear_attention %q, %k, %v {gtxt}{attrs} : "
            f"({types}) -> ({t(HQ)}, {st})\n"
            f"  return %o, %s : {t(HQ)}, {st}\n}}\n")


@pytest.mark.parametrize("dtype,gate,normalize", [
    ("bf16", "scalar", False), ("bf16", "vector", True),
    ("f32", "head", True)])
def test_cuda_emulated(dtype, gate, normalize):
    """The CUDA lowering under cuda-emulation takes the same rewrite."""
    np_type = np.float32 if dtype == "f32" else BF16
    q, k, v, g = inputs(75, 64, gate, seed=7, dtype=np_type)
    attrs = " causal = false" + (" normalize" if normalize else "")
    mod = mixir.compile(source(64, dtype, gate, attrs),
                        target="cuda-emulation")
    o, _ = mod.la(q, k, v, *([] if g is None else [g]))
    o = np.asarray(o).astype(np.float32)
    want = bidirectional_f64(q, k, v, g, gate, False, normalize)
    assert np.isfinite(o).all()
    assert rel_rms(want, o) <= (1e-5 if dtype == "f32" else 5e-3)


@pytest.mark.parametrize("gate", GATES)
def test_the_reference_agrees(gate):
    """mixir.reference.linear_attention(..., causal=, normalize=), a
    recurrence in both directions, is the pairwise evaluation above."""
    from mixir import reference
    q, k, v, g = inputs(21, 12, gate, seed=8)
    for causal, normalize in MODES:
        got, _ = reference.linear_attention(q, k, v, g, gate, causal=causal,
                                            normalize=normalize)
        want = bidirectional_f64(q, k, v, g, gate, causal, normalize)
        assert rel_rms(want, got) < 1e-12


# Gate none takes the global form (one [K, V] sum per state, no causal op):
# every head-sharing pattern as (Hq, Hk, Hv), T = 1, 63, 75, 128 and 500,
# K = V = 60 and 64, f32 and bf16, both CPU forms (chunk 0: recurrent, 16:
# chunked).
GLOBAL_HEADS = {"mha": (2, 2, 2), "gqa": (4, 2, 2), "shared": (4, 1, 2),
                "gva": (2, 1, 4)}
GLOBAL_CASES = [
    ("mha", 75, 60, "f32", False, 0), ("mha", 63, 64, "bf16", True, 16),
    ("mha", 1, 64, "bf16", True, 0), ("gqa", 1, 60, "f32", True, 16),
    ("gqa", 75, 64, "bf16", False, 0), ("gqa", 63, 60, "f32", True, 0),
    ("shared", 63, 60, "f32", True, 16), ("shared", 1, 64, "bf16", False, 16),
    ("shared", 75, 64, "f32", False, 0), ("gva", 75, 64, "f32", True, 16),
    ("gva", 63, 60, "bf16", True, 0), ("gva", 1, 60, "f32", False, 0),
    # Whole 64-token tiles only, and many tiles with a partial last one.
    ("mha", 128, 64, "f32", True, 0), ("gva", 500, 60, "bf16", True, 16),
]


def global_inputs(heads, t, d, dtype, seed):
    """Positive q and k; with T > 1 the queries of token 5 (batch 0) and
    token 0 (batch 1) are zero, so their normalised rows divide by 0."""
    hq, hk, hv = GLOBAL_HEADS[heads]
    rng = np.random.default_rng(seed)
    q = np.abs(rng.normal(size=(2, t, hq, d)))
    k = np.abs(rng.normal(size=(2, t, hk, d)))
    v = rng.normal(size=(2, t, hv, d))
    zero = [(0, 5), (1, 0)] if t > 1 else []
    for b, row in zero:
        q[b, row] = 0.0
    return [x.astype(dtype) for x in (q, k, v)], zero


@pytest.mark.parametrize("heads,t,d,dtype,normalize,chunk", GLOBAL_CASES,
                         ids=[f"{h}-T{t}-K{d}-{dt}-{'norm' if n else 'plain'}"
                              f"-c{c}" for h, t, d, dt, n, c in GLOBAL_CASES])
def test_global_form_matches_f64(heads, t, d, dtype, normalize, chunk):
    np_type = np.float32 if dtype == "f32" else BF16
    (q, k, v), zero = global_inputs(heads, t, d, np_type, seed=t * d)
    o, s = mixir.linear_attention(q, k, v, causal=False, normalize=normalize,
                                  chunk_size=chunk, output_final_state=True)
    hq, hk, hv = GLOBAL_HEADS[heads]
    assert o.dtype == np_type and o.shape == (2, t, max(hq, hv), d)
    want = bidirectional_f64(q, k, v, None, "none", False, normalize)
    err = rel_rms(want, o)
    assert err <= (1e-5 if dtype == "f32" else 5e-3), f"rel-RMS {err:.3e}"
    o = np.asarray(o, np.float64)
    assert np.isfinite(o).all()
    for b, row in zero:  # 0 / 0 outputs 0 (and 0 without normalize too)
        assert not o[b, row].any()
    if t > 1:  # the causal form differs: the attribute was not ignored
        assert rel_rms(bidirectional_f64(q, k, v, None, "none", True,
                                         normalize), o) > 1e-2
    # The final state: the sum over every token of k v^T, per state.
    kk = np.repeat(np.asarray(k, np.float64), hv // hk, axis=2)
    want_s = np.einsum("bthk,bthv->bhkv", kk, np.asarray(v, np.float64))
    assert s.shape == want_s.shape
    assert rel_rms(want_s, s) <= 1e-5


@pytest.mark.parametrize("dtype,normalize", [("bf16", True), ("f32", False)])
def test_global_form_cuda_emulated(dtype, normalize):
    """The CUDA targets run the global form on the host (plain linalg)."""
    np_type = np.float32 if dtype == "f32" else BF16
    q, k, v, _ = inputs(75, 64, "none", seed=9, dtype=np_type)
    q[1, 3] = 0.0
    attrs = " causal = false" + (" normalize" if normalize else "")
    mod = mixir.compile(source(64, dtype, "none", attrs),
                        target="cuda-emulation")
    o, s = mod.la(q, k, v)
    o = np.asarray(o).astype(np.float32)
    want = bidirectional_f64(q, k, v, None, "none", False, normalize)
    assert np.isfinite(o).all() and not o[1, 3].any()
    assert rel_rms(want, o) <= (1e-5 if dtype == "f32" else 5e-3)
    kk = np.repeat(np.asarray(k, np.float64), HV // HK, axis=2)
    want_s = np.einsum("bthk,bthv->bhkv", kk, np.asarray(v, np.float64))
    assert rel_rms(want_s, np.asarray(s)) <= 1e-5
