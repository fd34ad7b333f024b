"""Packed variable-length batches (MIXERS.md "Packed sequences" and "State
pools"): ``cu_seqlens`` on linear_attention, delta_rule, recurrence and scan.

Numerics are compared with a float64 evaluation of the recurrent form written
here, sequence by sequence (it shares no code with the compiler or with
``mixir.reference``), on random packings that include empty and length-1
sequences, at odd head dims (60) and with shared query or key heads. Each
packed sequence's output and final state also equal running it alone. Bad
packings are run-time errors that name the broken rule and touch nothing
(canary rows around the inputs stay intact), and one compilation serves
every packing. State pools (``state_indices`` with ``state_pool``) read
and write their slots in place, padding (negative slots) untouched with zero
outputs, and bad indices are errors that leave the pool as it was.
"""

import zlib

import ml_dtypes
import numpy as np
import pytest

import mixir

DTYPES = {"f32": np.float32, "bf16": ml_dtypes.bfloat16}
# rel-RMS limits: f32 (1e-4 for the delta rule's triangular solves), bf16.
LIMIT = {("f32", "la"): 1e-5, ("f32", "dr"): 1e-4, ("f32", "rc"): 1e-4,
         ("f32", "scan"): 1e-5, ("bf16", "la"): 5e-3, ("bf16", "dr"): 5e-3,
         ("bf16", "rc"): 5e-3, ("bf16", "scan"): 5e-3}
# (Hq, Hk, Hv): one query head for two states (GVA), two query heads per
# key/value head (GQA), or one of each.
HEADS = {"mha": (2, 2, 2), "gva": (1, 1, 2), "gqa": (4, 2, 2)}


def packing(rng, n, total=None, max_len=24):
    """Random offsets of n sequences with empty and length-1 ones mixed in."""
    lengths = rng.integers(0, max_len, n)
    lengths[rng.random(n) < 0.15] = 0
    lengths[rng.random(n) < 0.15] = 1
    if total is not None:  # rescale to about `total` tokens
        lengths = np.maximum(0, (lengths * total) // max(1, lengths.sum()))
    if n >= 3:  # at least one empty and one single-token sequence
        empty, single = rng.choice(n, 2, replace=False)
        lengths[empty], lengths[single] = 0, 1
    return np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)


def rel_rms(got, want):
    got = np.asarray(got, np.float64)
    return np.sqrt(np.mean((got - want) ** 2) / max(np.mean(want ** 2), 1e-30))


def l2n(x):
    return x / np.sqrt((x * x).sum(-1, keepdims=True) + 1e-6)


# --------------------------------------------------------------------------
# The float64 reference: the recurrent form, one sequence at a time.
# --------------------------------------------------------------------------

def reference(cu, q, k, v, decay, s0, scale, beta=None, a=None, b=None,
              every_token=None):
    """o [T, Ho, V] and states [N, Hv, K, V] of packed sequences in float64.
    q [T, Hq, K], k [T, Hk, K], v [T, Hv, V], decay [T, Hv, K] (multiplier
    of the state's rows), s0 [N, Hv, K, V]; beta [T, Hv] for the delta rule
    (S <- D S, then S += beta k (v - S^T k)^T); a, b [T, Hv, R, K] for
    S <- D S + sum_r b_r (a_r^T S_prev) + k v^T. `every_token` ([T, Hv, K,
    V]), when given, receives the state after each token."""
    T, hq, K = q.shape
    hk, hv, V = k.shape[1], v.shape[1], v.shape[2]
    ho = max(hq, hv)
    qh = (np.arange(ho) // (ho // hq))           # query head of output head
    sh = (np.arange(ho) // (ho // hv))           # state head of output head
    kh = np.arange(hv) // (hv // hk)             # key head of state head
    o = np.zeros((T, ho, V))
    states = np.array(s0, np.float64, copy=True)
    for n in range(len(cu) - 1):
        S = states[n]
        for t in range(cu[n], cu[n + 1]):
            kt = k[t, kh]                                    # [Hv, K]
            prev = S
            S = decay[t][:, :, None] * S
            if beta is not None:
                u = beta[t][:, None] * (v[t] - np.einsum("hk,hkv->hv", kt, S))
                S = S + kt[:, :, None] * u[:, None, :]
            else:
                S = S + kt[:, :, None] * v[t][:, None, :]
                if a is not None:
                    proj = np.einsum("hrk,hkv->hrv", a[t], prev)
                    S = S + np.einsum("hrk,hrv->hkv", b[t], proj)
            o[t] = np.einsum("hk,hkv->hv", scale * q[t, qh], S[sh])
            if every_token is not None:
                every_token[t] = S
        states[n] = S
    return o, states


def f64(x):
    return np.asarray(x, np.float64)


def gate_input(rng, gate, T, hv, K):
    """(g as the op takes it, or None; the decay [T, Hv, K] it means)."""
    if gate == "none":
        return None, np.ones((T, hv, K))
    shape = {"head": (hv,), "scalar": (1, T, hv), "vector": (1, T, hv, K)}[gate]
    g = rng.uniform(-0.5, -0.01, shape).astype(np.float32)
    d = np.exp(f64(g))
    if gate == "head":
        d = np.broadcast_to(d[None, :, None], (T, hv, K))
    elif gate == "scalar":
        d = np.broadcast_to(d[0][:, :, None], (T, hv, K))
    else:
        d = d[0]
    return g, d


def inputs(rng, dtype, heads, T, K, V):
    hq, hk, hv = HEADS[heads]
    dt = DTYPES[dtype]
    q = rng.standard_normal((1, T, hq, K)).astype(np.float32)
    k = rng.standard_normal((1, T, hk, K)).astype(np.float32)
    k /= np.linalg.norm(k, axis=-1, keepdims=True)
    v = rng.standard_normal((1, T, hv, V)).astype(np.float32)
    return q.astype(dt), k.astype(dt), v.astype(dt)


def check(got, want, limit, what):
    err = rel_rms(got, want)
    assert err <= limit, f"{what}: rel-RMS {err:.2e} > {limit:.0e}"
    return err


# --------------------------------------------------------------------------
# Numerics against the reference
# --------------------------------------------------------------------------

# (op, gate, dtype, heads, K, V, chunk, N, T target) -- every gate kind on
# linear attention, the delta rule's gates, recurrence with low-rank terms,
# recurrent (0) and chunked (16, 64) forms, odd dims, GQA and GVA.
CASES = [
    ("la", "none", "f32", "mha", 60, 60, 0, 7, 63),
    ("la", "head", "f32", "gva", 64, 60, 16, 64, 500),
    ("la", "scalar", "f32", "gqa", 60, 64, 64, 13, 500),
    ("la", "vector", "f32", "mha", 60, 60, 16, 33, 75),
    ("la", "scalar", "bf16", "gva", 64, 64, 16, 20, 500),
    ("dr", "none", "f32", "gqa", 60, 60, 16, 9, 75),
    ("dr", "scalar", "f32", "mha", 64, 60, 64, 64, 500),
    ("dr", "vector", "f32", "gva", 60, 64, 0, 12, 63),
    ("dr", "scalar", "bf16", "mha", 60, 60, 64, 17, 500),
    ("rc", "vector", "f32", "mha", 60, 60, 16, 11, 75),
    ("rc", "scalar", "f32", "gva", 64, 60, 0, 5, 63),
]


def case_id(c):
    return "-".join(str(x) for x in c)


def extras(op, rng, T, hv, K):
    """The op's own inputs: beta [1, T, Hv] for the delta rule, unit a and
    b = -a / 2 [1, T, Hv, 1, K] for mix.recurrence."""
    if op == "dr":
        return {"beta": rng.uniform(0.1, 0.9, (1, T, hv)).astype(np.float32)}
    if op == "rc":
        a = rng.standard_normal((1, T, hv, 1, K)).astype(np.float32)
        a /= np.linalg.norm(a, axis=-1, keepdims=True)
        return {"a": a, "b": (-0.5 * a).astype(np.float32)}
    return {}


def run_op(op, gate, q, k, v, g, s0, cu, chunk, extra, target="cpu"):
    """Calls the op; returns (o, state, the f64 reference's (o, state))."""
    gate_arg, decay = g
    common = dict(gate=gate, initial_state=s0, output_final_state=True,
                  chunk_size=chunk, cu_seqlens=cu, target=target)
    scale = 1.0 / np.sqrt(q.shape[3])
    ref64 = {name: f64(x[0]) for name, x in extra.items()}
    want = reference(cu, f64(q[0]), f64(k[0]), f64(v[0]), decay, s0, scale,
                     **ref64)
    if op == "la":
        o, s = mixir.linear_attention(q, k, v, gate_arg, **common)
    elif op == "dr":
        o, s = mixir.delta_rule(q, k, v, extra["beta"], gate_arg, **common)
    else:
        o, s = mixir.recurrence(q, k, v, extra["a"], extra["b"], gate_arg,
                                **common)
    return o, s, want


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_packed_matches_reference(case, record_rel_rms):
    op, gate, dtype, heads, K, V, chunk, N, total = case
    rng = np.random.default_rng(zlib.crc32(case_id(case).encode()))
    cu = packing(rng, N, total)
    assert (np.diff(cu) == 0).any() and (np.diff(cu) == 1).any()
    T = int(cu[-1])
    q, k, v = inputs(rng, dtype, heads, T, K, V)
    hv = v.shape[2]
    g = gate_input(rng, gate, T, hv, K)
    s0 = rng.standard_normal((N, hv, K, V)).astype(np.float32)
    extra = extras(op, rng, T, hv, K)
    o, s, (wo, ws) = run_op(op, gate, q, k, v, g, s0, cu, chunk, extra)
    assert o.shape == (1, T, wo.shape[1], V) and s.shape == (N, hv, K, V)
    limit = LIMIT[(dtype, op)]
    record_rel_rms(f"packed {op}", dtype, "o", check(o[0], wo, limit, "o"), limit,
                   case_id(case))
    record_rel_rms(f"packed {op}", dtype, "state",
                   check(s, ws, limit, "state"), limit, case_id(case))
    empty = np.flatnonzero(np.diff(cu) == 0)
    np.testing.assert_array_equal(s[empty], s0[empty])  # untouched states


@pytest.mark.parametrize("op,chunk", [("la", 16), ("dr", 64), ("rc", 0)])
def test_each_sequence_equals_running_it_alone(op, chunk):
    """Sequence n of a packing gives the output and final state of the same
    call on that sequence alone (the same compiled code, B = 1, N = 1)."""
    rng = np.random.default_rng(7)
    K = V = 60
    cu = packing(rng, 9, 300)
    cu[3] = cu[2]  # an empty sequence
    T = int(cu[-1])
    q, k, v = inputs(rng, "f32", "gva", T, K, V)
    g = gate_input(rng, "scalar", T, v.shape[2], K)
    s0 = rng.standard_normal((9, v.shape[2], K, V)).astype(np.float32)
    extra = extras(op, rng, T, v.shape[2], K)
    o, s, _ = run_op(op, "scalar", q, k, v, g, s0, cu, chunk, extra)
    for n in range(9):
        lo, hi = cu[n], cu[n + 1]
        alone = np.array([0, hi - lo], np.int32)

        def sub(x):
            return np.ascontiguousarray(x[:, lo:hi])
        o1, s1, _ = run_op(op, "scalar", sub(q), sub(k), sub(v),
                           (sub(g[0]), g[1][lo:hi]), s0[n:n + 1], alone, chunk,
                           {name: sub(x) for name, x in extra.items()})
        np.testing.assert_allclose(o[:, lo:hi], o1, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(s[n], s1[0], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("chunk", [64, 16, 0])
def test_decode_step_of_many_sequences(chunk):
    """Decoding: 64 sequences of one token each (T = 64, so chunk 64 takes
    the chunked form with one valid row per chunk), and a single T = 1."""
    rng = np.random.default_rng(chunk + 1)
    K, V = 60, 64
    for cu in (np.arange(65, dtype=np.int32), np.array([0, 1], np.int32)):
        T, N = int(cu[-1]), len(cu) - 1
        q, k, v = inputs(rng, "f32", "gqa", T, K, V)
        g = gate_input(rng, "vector", T, v.shape[2], K)
        s0 = rng.standard_normal((N, v.shape[2], K, V)).astype(np.float32)
        extra = extras("dr", rng, T, v.shape[2], K)
        o, s, (wo, ws) = run_op("dr", "vector", q, k, v, g, s0, cu, chunk, extra)
        check(o[0], wo, 1e-4, "o")
        check(s, ws, 1e-4, "state")


def scan_reference(cu, x, g, h0):
    o = np.zeros_like(x)
    h = np.array(h0, np.float64, copy=True)
    for n in range(len(cu) - 1):
        for t in range(cu[n], cu[n + 1]):
            h[n] = np.exp(g[t]) * h[n] + x[t]
            o[t] = h[n]
    return o, h


@pytest.mark.parametrize("dtype,chunk,D", [("f32", 0, 60), ("f32", 64, 130),
                                           ("bf16", 16, 64)])
def test_packed_scan(dtype, chunk, D, record_rel_rms):
    rng = np.random.default_rng(D + chunk)
    cu = packing(rng, 40, 500)
    T = int(cu[-1])
    x = rng.standard_normal((1, T, D)).astype(np.float32).astype(DTYPES[dtype])
    g = rng.uniform(-0.5, -0.01, (1, T, D)).astype(np.float32)
    h0 = rng.standard_normal((40, D)).astype(np.float32)
    o, h = mixir.scan(x, g, h0, chunk_size=chunk, cu_seqlens=cu.astype(np.int64))
    wo, wh = scan_reference(cu, f64(x[0]), f64(g[0]), h0)
    limit = LIMIT[(dtype, "scan")]
    record_rel_rms("packed scan", dtype, "o", check(o[0], wo, limit, "o"), limit,
                   f"C{chunk}-D{D}")
    check(h, wh, limit, "state")


def test_no_initial_state_and_int64_offsets():
    """Without initial_state each sequence starts from zero; int64 offsets
    give the same result as int32 ones."""
    rng = np.random.default_rng(3)
    cu = packing(rng, 6, 80)
    T = int(cu[-1])
    q, k, v = inputs(rng, "f32", "mha", T, 60, 60)
    o32, s32 = mixir.linear_attention(q, k, v, output_final_state=True,
                                      cu_seqlens=cu, chunk_size=16)
    o64, s64 = mixir.linear_attention(q, k, v, output_final_state=True,
                                      cu_seqlens=cu.astype(np.int64),
                                      chunk_size=16)
    np.testing.assert_array_equal(o32, o64)
    np.testing.assert_array_equal(s32, s64)
    wo, ws = reference(cu, f64(q[0]), f64(k[0]), f64(v[0]), np.ones((T, 2, 60)),
                       np.zeros((6, 2, 60, 60)), 1 / np.sqrt(60))
    check(o32[0], wo, 1e-5, "o")
    check(s32, ws, 1e-5, "state")


def compilations():
    """Modules built so far: compiled here, or loaded from a
    MIXIR_CACHE_DIR."""
    stats = mixir.cache.stats()
    return stats["compiles"] + stats["disk_hits"]


def test_one_compilation_serves_every_packing():
    rng = np.random.default_rng(11)
    K = V = 16
    built = compilations
    before = built()
    for i in range(100):
        n = int(rng.integers(1, 65))
        cu = packing(rng, n, max_len=6)
        T = int(cu[-1])
        q, k, v = inputs(rng, "f32", "mha", T, K, V)
        s0 = rng.standard_normal((n, 2, K, V)).astype(np.float32)
        o, s = mixir.delta_rule(q, k, v, np.full((1, T, 2), 0.5, np.float32),
                                initial_state=s0, output_final_state=True,
                                chunk_size=16, cu_seqlens=cu)
        assert s.shape == (n, 2, K, V)
        if i % 25 == 0:  # spot-check the numerics
            wo, ws = reference(cu, f64(q[0]), f64(k[0]), f64(v[0]),
                               np.ones((T, 2, K)), s0, 1 / 4,
                               beta=np.full((T, 2), 0.5))
            check(s, ws, 1e-4, "state")
    assert built() - before == 1


# --------------------------------------------------------------------------
# Bad packings: a clear error, nothing read or written out of range
# --------------------------------------------------------------------------

T_BAD, N_BAD = 12, 3


def guarded(shape, rng):
    """A random array inside a buffer with NaN canary rows before and after
    it along T: returns (view, buffer)."""
    buf = np.full((shape[0], shape[1] + 4) + tuple(shape[2:]), np.nan,
                  np.float32)
    buf[:, 2:-2] = rng.standard_normal(shape)
    return buf[:, 2:-2], buf


BAD = [
    # (name, offsets, expected message fragment, overrides)
    ("first-not-zero", [1, 4, 8, 12], r"'cu_seqlens'\[0\] must be 0 \(got 1", {}),
    ("first-negative", [-1, 4, 8, 12], r"'cu_seqlens'\[0\] must be 0 \(got -1", {}),
    ("decreasing", [0, 8, 4, 12], r"non-decreasing.*\(got 2, expected 4\)", {}),
    ("decreasing-first", [0, 0, 12, 11], r"non-decreasing.*\(got 3, expected 4\)", {}),
    ("negative-middle", [0, -3, 8, 12], r"non-decreasing.*\(got 1", {}),
    ("last-short", [0, 4, 8, 11], r"must be T.*\(got 11, expected 12\)", {}),
    ("last-long", [0, 4, 8, 13], r"must be T.*\(got 13, expected 12\)", {}),
    ("last-huge", [0, 4, 8, 2**31 - 1], r"must be T.*expected 12\)", {}),
    ("middle-beyond-T", [0, 4, 100, 12], r"non-decreasing", {}),
    ("all-zero", [0, 0, 0, 0], r"must be T.*\(got 0, expected 12\)", {}),
    ("too-few-offsets", [0, 6, 12], r"'initial_state' dim 0 \(N\) does not match "
     r"'cu_seqlens' dim 0 - 1 \(got 3, expected 2\)", {}),
    ("too-many-offsets", [0, 3, 6, 9, 12], r"\(N\) does not match.*\(got 3, expected 4\)", {}),
    ("one-offset", [0], r"\(got 3, expected 0\)", {}),
    ("no-offsets", [], r"must hold N \+ 1 >= 1 offsets", {}),
    ("batch-two", [0, 4, 8, 12], r"batch \(B, dim 0 of the inputs\) must be 1 "
     r"with 'cu_seqlens'.*\(got 2, expected 1\)", {"batch": 2}),
    ("first-and-last", [2, 4, 8, 10], r"\[0\] must be 0.*must be T", {}),
    ("i64-first", np.array([5, 6, 7, 12], np.int64), r"\[0\] must be 0 \(got 5", {}),
    ("i64-decreasing", np.array([0, 9, 3, 12], np.int64), r"non-decreasing", {}),
    ("i64-beyond-i32", np.array([0, 4, 2**40, 12], np.int64), r"non-decreasing", {}),
    ("i64-last-long", np.array([0, 4, 8, 2**40], np.int64), r"must be T", {}),
    ("i64-negative", np.array([0, -2**40, 8, 12], np.int64), r"non-decreasing", {}),
]


@pytest.mark.parametrize("op", ["la", "dr", "scan"])
@pytest.mark.parametrize("name,cu,message,over", BAD, ids=[b[0] for b in BAD])
def test_bad_packing_is_an_error(op, name, cu, message, over):
    rng = np.random.default_rng(5)
    cu = np.asarray(cu, np.int32) if isinstance(cu, list) else cu
    batch = over.get("batch", 1)
    if op == "scan":
        x, xbuf = guarded((batch, T_BAD, 8), rng)
        g = np.full((batch, T_BAD, 8), -0.1, np.float32)
        h0 = rng.standard_normal((N_BAD, 8)).astype(np.float32)
        kept = [xbuf.copy(), h0.copy()]
        with pytest.raises(ValueError, match=message):
            mixir.scan(x, g, h0, chunk_size=16, cu_seqlens=cu)
        np.testing.assert_array_equal(xbuf, kept[0])  # canaries and data intact
        np.testing.assert_array_equal(h0, kept[1])
        return
    q, qbuf = guarded((batch, T_BAD, 2, 8), rng)
    v, vbuf = guarded((batch, T_BAD, 2, 8), rng)
    s0 = rng.standard_normal((N_BAD, 2, 8, 8)).astype(np.float32)
    kept = [qbuf.copy(), vbuf.copy(), s0.copy()]
    with pytest.raises(ValueError, match=message):
        if op == "la":
            mixir.linear_attention(q, q, v, initial_state=s0, chunk_size=16,
                                   cu_seqlens=cu)
        else:
            mixir.delta_rule(q, q, v, np.full((batch, T_BAD, 2), 0.5, np.float32),
                             initial_state=s0, chunk_size=0, cu_seqlens=cu)
    for got, want in zip([qbuf, vbuf, s0], kept):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("bad,err", [
    (np.array([0.0, 12.0], np.float32), TypeError),
    (np.array([[0, 12]], np.int32), ValueError),
    ([0, 12], TypeError),
    (np.array([0, 12], np.int16), TypeError),
])
def test_offsets_argument_checked(bad, err):
    q = np.zeros((1, 12, 1, 8), np.float32)
    with pytest.raises(err, match="cu_seqlens"):
        mixir.linear_attention(q, q, q, cu_seqlens=bad)


# --------------------------------------------------------------------------
# cuda-emulation: the CUDA pipeline maps the same chunked form
# --------------------------------------------------------------------------

@pytest.mark.parametrize("op,chunk", [("la", 16), ("dr", 16), ("rc", 16)])
def test_packed_cuda_emulation(op, chunk):
    rng = np.random.default_rng(21)
    K = V = 16
    cu = packing(rng, 6, 70)
    T = int(cu[-1])
    q, k, v = inputs(rng, "f32", "gva", T, K, V)
    g = gate_input(rng, "scalar", T, v.shape[2], K)
    s0 = rng.standard_normal((6, v.shape[2], K, V)).astype(np.float32)
    extra = extras(op, rng, T, v.shape[2], K)
    o, s, (wo, ws) = run_op(op, "scalar", q, k, v, g, s0, cu, chunk, extra,
                            target="cuda-emulation")
    check(o[0], wo, 1e-4, "o")
    check(s, ws, 1e-4, "state")


def test_packed_scan_cuda_emulation():
    rng = np.random.default_rng(22)
    cu = packing(rng, 5, 60)
    T = int(cu[-1])
    x = rng.standard_normal((1, T, 8)).astype(np.float32)
    g = rng.uniform(-0.5, -0.01, (1, T, 8)).astype(np.float32)
    h0 = rng.standard_normal((5, 8)).astype(np.float32)
    o, h = mixir.scan(x, g, h0, chunk_size=16, cu_seqlens=cu,
                      target="cuda-emulation")
    wo, wh = scan_reference(cu, f64(x[0]), f64(g[0]), h0)
    check(o[0], wo, 1e-5, "o")
    check(h, wh, 1e-5, "state")


# --------------------------------------------------------------------------
# State pools: state_indices with a state_pool updated in place
# --------------------------------------------------------------------------

def pooled_reference(cu, slots, pool, q, k, v, decay, scale, **extra):
    """The reference on the pool: sequence n starts from pool[slots[n]] and
    writes its final state there; padding (negative slots) gives zero rows."""
    live = [n for n in range(len(slots)) if slots[n] >= 0]
    s0 = np.array([pool[max(i, 0)] for i in slots], np.float64)
    o, states = reference(cu, q, k, v, decay, s0, scale, **extra)
    for n in range(len(slots)):
        if slots[n] < 0:
            o[cu[n]:cu[n + 1]] = 0
    want = np.array(pool, np.float64, copy=True)
    for n in live:
        want[slots[n]] = states[n]
    return o, want


@pytest.mark.parametrize("op,chunk,packed", [("la", 16, True), ("dr", 0, True),
                                             ("rc", 16, True), ("la", 64, False),
                                             ("dr", 16, False)])
def test_state_pool_in_place(op, chunk, packed):
    rng = np.random.default_rng(31 + chunk)
    K, V, P = 60, 60, 11
    if packed:
        cu = packing(rng, 7, 150)
        N, T, B = 7, int(cu[-1]), 1
    else:
        N, T, B = 3, 75, 3
        cu = np.arange(0, 3 * T + 1, T, dtype=np.int32)  # for the reference
    slots = rng.permutation(P)[:N].astype(np.int32)
    slots[[1, N - 1]] = [-1, -5]  # padding
    hq, hk, hv = HEADS["gva"]
    q = rng.standard_normal((B, T, hq, K)).astype(np.float32)
    k = rng.standard_normal((B, T, hk, K)).astype(np.float32)
    k /= np.linalg.norm(k, axis=-1, keepdims=True)
    v = rng.standard_normal((B, T, hv, V)).astype(np.float32)
    pool = rng.standard_normal((P, hv, K, V)).astype(np.float32)
    before = pool.copy()
    flat = lambda x: x.reshape((1, B * T) + x.shape[2:])  # noqa: E731
    g, decay = gate_input(rng, "scalar", B * T, hv, K)
    g = g.reshape(B, T, hv)
    extra = extras(op, rng, B * T, hv, K)
    extra = {n: x.reshape((B, T) + x.shape[2:]) for n, x in extra.items()}
    common = dict(gate="scalar", output_final_state=True, chunk_size=chunk,
                  cu_seqlens=cu if packed else None, state_pool=pool,
                  state_indices=slots)
    if op == "la":
        o, s = mixir.linear_attention(q, k, v, g, **common)
    elif op == "dr":
        o, s = mixir.delta_rule(q, k, v, extra["beta"], g, **common)
    else:
        o, s = mixir.recurrence(q, k, v, extra["a"], extra["b"], g, **common)
    assert s is pool
    wo, want = pooled_reference(
        cu, slots, before, f64(flat(q)[0]), f64(flat(k)[0]), f64(flat(v)[0]),
        decay, 1 / np.sqrt(K), **{n: f64(flat(x)[0]) for n, x in extra.items()})
    check(flat(o)[0], wo, 1e-4, "o")
    for n in range(N):
        if slots[n] < 0:  # padding: exactly zero outputs
            assert not flat(o)[0, cu[n]:cu[n + 1]].any()
    check(pool, want, 1e-4, "pool")
    untouched = np.setdiff1d(np.arange(P), slots[slots >= 0])
    np.testing.assert_array_equal(pool[untouched], before[untouched])


BAD_SLOTS = [
    ("beyond", [0, 11, 2], r"must be below P.*\(got 1, expected 3\)"),
    ("far-beyond", [0, 2, 2**31 - 1], r"must be below P.*\(got 2, expected 3\)"),
    ("twice", [4, 2, 4], r"must not name a slot twice.*\(got 2, expected 3\)"),
    ("twice-zero", [0, 0, -1], r"twice.*\(got 1, expected 3\)"),
    ("too-few", [0, 1], r"'state_indices' dim 0 does not match the number of "
     r"sequences.*\(got 2, expected 3\)"),
    ("too-many", [0, 1, 2, 3], r"does not match.*\(got 4, expected 3\)"),
]


@pytest.mark.parametrize("name,slots,message", BAD_SLOTS,
                         ids=[b[0] for b in BAD_SLOTS])
def test_bad_state_indices_leave_the_pool(name, slots, message):
    rng = np.random.default_rng(41)
    P = 11
    q, qbuf = guarded((1, T_BAD, 2, 8), rng)
    pool = rng.standard_normal((P, 2, 8, 8)).astype(np.float32)
    kept = (pool.copy(), qbuf.copy())
    with pytest.raises(ValueError, match=message):
        mixir.delta_rule(q, q, q, np.full((1, T_BAD, 2), 0.5, np.float32),
                         cu_seqlens=np.array([0, 4, 8, 12], np.int32),
                         state_pool=pool, state_indices=np.array(slots, np.int32),
                         chunk_size=16)
    np.testing.assert_array_equal(pool, kept[0])
    np.testing.assert_array_equal(qbuf, kept[1])


def test_state_pool_arguments_checked():
    q = np.zeros((1, 4, 1, 8), np.float32)
    pool = np.zeros((2, 1, 8, 8), np.float32)
    slots = np.array([0], np.int32)
    cu = np.array([0, 4], np.int32)
    with pytest.raises(ValueError, match="state_pool needs state_indices"):
        mixir.linear_attention(q, q, q, cu_seqlens=cu, state_pool=pool)
    with pytest.raises(ValueError, match="needs state_pool"):
        mixir.linear_attention(q, q, q, cu_seqlens=cu, state_indices=slots)
    with pytest.raises(ValueError, match="not both"):
        mixir.linear_attention(q, q, q, initial_state=pool, cu_seqlens=cu,
                               state_pool=pool, state_indices=slots)
    with pytest.raises(TypeError, match="float32"):
        mixir.linear_attention(q, q, q, cu_seqlens=cu, state_indices=slots,
                               state_pool=pool.astype(np.float64))
    with pytest.raises(TypeError, match="int32"):
        mixir.linear_attention(q, q, q, cu_seqlens=cu, state_pool=pool,
                               state_indices=slots.astype(np.int64))


def test_state_pool_cuda_emulation():
    """The pool on target cuda-emulation equals the reference: the sequence
    loop is launched on the (emulated) device, the scatter runs after it."""
    rng = np.random.default_rng(51)
    K = V = 16
    cu = packing(rng, 5, 60)
    T = int(cu[-1])
    q, k, v = inputs(rng, "f32", "mha", T, K, V)
    pool = rng.standard_normal((9, 2, K, V)).astype(np.float32)
    before = pool.copy()
    slots = np.array([3, -1, 0, 8, 5], np.int32)
    o, _ = mixir.linear_attention(q, k, v, cu_seqlens=cu, state_pool=pool,
                                  state_indices=slots, chunk_size=16,
                                  target="cuda-emulation")
    wo, want = pooled_reference(cu, slots, before, f64(q[0]), f64(k[0]),
                                f64(v[0]), np.ones((T, 2, K)), 1 / 4)
    check(o[0], wo, 1e-4, "o")
    check(pool, want, 1e-4, "pool")


def test_pool_and_packing_with_the_same_types_are_told_apart():
    """An initial state with int32 offsets and a pool with its indices have
    the same operand types; each call gets its own compiled function."""
    rng = np.random.default_rng(61)
    q = rng.standard_normal((1, 6, 1, 8)).astype(np.float32)
    s0 = rng.standard_normal((2, 1, 8, 8)).astype(np.float32)
    cu = np.array([0, 3, 6], np.int32)
    mixir.linear_attention(q, q, q, initial_state=s0, cu_seqlens=cu)
    q2 = rng.standard_normal((2, 6, 1, 8)).astype(np.float32)
    pool = rng.standard_normal((4, 1, 8, 8)).astype(np.float32)
    before = pool.copy()
    slots = np.array([1, -1], np.int32)
    o, _ = mixir.linear_attention(q2, q2, q2, state_pool=pool,
                                  state_indices=slots)
    rows = np.arange(13, dtype=np.int32)[::6][:3]  # [0, 6, 12]: the batch rows
    wo, want = pooled_reference(rows, slots, before, f64(q2.reshape(12, 1, 8)),
                                f64(q2.reshape(12, 1, 8)),
                                f64(q2.reshape(12, 1, 8)), np.ones((12, 1, 8)),
                                1 / np.sqrt(8))
    check(o.reshape(12, 1, 8), wo, 1e-5, "o")
    check(pool, want, 1e-5, "pool")
