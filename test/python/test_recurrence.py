"""Numerics of mix.recurrence, the diagonal-plus-low-rank (DPLR) recurrence

    S_t = (D_t + sum_r b[t, r] a[t, r]^T) S_{t-1} + k_t v_t^T,
    o_t = S_t^T (scale * q_t),

against float64 evaluations that do not share code with the compiler:
``explicit`` below (the recurrence in matrix form, one (batch, head, token)
at a time) for the general cases, and the special cases it must reduce to
against their own references: the delta rule and linear attention
(``mixir.reference``), RWKV-7 in its native transposed layout, and a Gated
DeltaProduct with two Householder steps per token. ``reference.recurrence``
is checked against ``explicit`` too. Everything here runs the recurrent form
(``chunk_size=0``); test_chunked_recurrence.py checks the chunked form.

Inputs are model-like, so the recurrence stays bounded: unit keys, log gates
in [-0.5, -0.01] (signed decays in [-1, 1]), and low-rank terms
``a_r`` orthonormal, ``b_r = -beta_r d * a_r`` with beta in (0, 1), which makes
the transition ``D (I - sum_r beta_r a_r a_r^T)`` a contraction. Low-precision
inputs are cast before the reference sees them, so only the kernel's error
is measured. Limits: rel-RMS 1e-4 for f32 inputs, 5e-3 for bf16.
"""

import ml_dtypes
import numpy as np
import pytest

import mixir  # noqa: E402  (a missing native extension must fail, not skip)
from mixir import reference as ref  # noqa: E402

DTYPES = {"f32": np.float32, "bf16": ml_dtypes.bfloat16}
LIMIT = {"f32": 1e-4, "bf16": 5e-3}
RECURRENT = 0  # chunk_size of the recurrent form
# (Hq, Hk, Hv): one query head for two states, two query heads for one.
HEADS = {"mha": (2, 2, 2), "q1v2": (1, 1, 2), "q2v1": (2, 1, 1)}


# --------------------------------------------------------------------------
# Independent float64 evaluation and inputs
# --------------------------------------------------------------------------

def explicit(q, k, v, a, b, d, scale, s0=None):
    """The recurrence as written, in float64: for every batch, state head and
    token, S = (diag(d) + B^T A) S + k v^T with A, B the [R, K] low-rank
    rows, then every output head reading S gets S^T (scale q). d is the
    decay itself, [B, T, Hv, K]. Returns (o [B, T, Ho, V], S [B, Hv, K, V])."""
    q, k, v, d = (np.asarray(x, dtype=np.float64) for x in (q, k, v, d))
    nb, nt, hq, kd = q.shape
    hk, hv, vd = k.shape[2], v.shape[2], v.shape[3]
    ho = max(hq, hv)
    if a is None:
        a = b = np.zeros((nb, nt, hv, 0, kd))
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    o = np.zeros((nb, nt, ho, vd))
    final = np.zeros((nb, hv, kd, vd))
    for bi in range(nb):
        for h in range(hv):
            S = np.zeros((kd, vd)) if s0 is None else np.array(s0[bi, h], dtype=np.float64)
            readers = [oh for oh in range(ho) if oh // (ho // hv) == h]
            for t in range(nt):
                M = np.diag(d[bi, t, h]) + b[bi, t, h].T @ a[bi, t, h]
                S = M @ S + np.outer(k[bi, t, h // (hv // hk)], v[bi, t, h])
                for oh in readers:
                    o[bi, t, oh] = S.T @ (scale * q[bi, t, oh // (ho // hq)])
            final[bi, h] = S
    return o, final


def unit(x):
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def cast(x, dt):
    return np.asarray(x, dtype=np.float32).astype(dt)


def gate_and_decay(rng, gate, decay, nb, nt, hv, kd):
    """(g as passed to the op, or None; the decay d it means, float64
    [B, T, Hv, K])."""
    if gate == "none":
        return None, np.ones((nb, nt, hv, kd))
    shape = {"head": (hv,), "scalar": (nb, nt, hv), "vector": (nb, nt, hv, kd)}[gate]
    lo, hi = (-0.5, -0.01) if decay == "log" else (-1.0, 1.0)
    g = rng.uniform(lo, hi, shape).astype(np.float32)
    d = np.exp(g.astype(np.float64)) if decay == "log" else g.astype(np.float64)
    if gate == "head":
        d = d[None, None, :]
    if gate in ("head", "scalar"):
        d = d[..., None]
    return g, np.broadcast_to(d, (nb, nt, hv, kd))


def low_rank(rng, d, rank):
    """a_r orthonormal over K and b_r = -beta_r d * a_r, [B, T, Hv, R, K]."""
    nb, nt, hv, kd = d.shape
    basis, _ = np.linalg.qr(rng.normal(size=(nb, nt, hv, kd, rank)))
    a = np.swapaxes(basis, -1, -2)
    beta = rng.uniform(0.05, 0.95, (nb, nt, hv, rank, 1))
    return a, -beta * d[:, :, :, None, :] * a


def record_and_check(record, name, dtype, case, what, want, got):
    limit = LIMIT[dtype]
    err = ref.rel_rms(want, got)
    record(name, dtype, what, err, limit, case)
    assert err <= limit, f"{what}: rel-RMS {err:.3e} > {limit:.0e}"


# --------------------------------------------------------------------------
# The general recurrence
# --------------------------------------------------------------------------

# Every T, K/V, R, gate kind, decay, head sharing, initial state and dtype
# appears, in most pairs with each other, without the full product (each case
# compiles once, in well under a second).
#        dtype   T    K   V  R  gate      decay     heads   init   ab dtype
CASES = [
    ("f32", 1, 64, 64, 0, "none", "log", "mha", False, "f32"),
    ("f32", 63, 60, 64, 1, "scalar", "log", "q1v2", True, "f32"),
    ("f32", 300, 64, 60, 2, "vector", "signed", "q2v1", False, "f32"),
    ("f32", 300, 60, 60, 1, "head", "signed", "mha", True, "f32"),
    ("f32", 63, 64, 64, 2, "head", "log", "q2v1", False, "f32"),
    ("f32", 1, 60, 64, 2, "scalar", "signed", "q1v2", True, "f32"),
    ("f32", 63, 64, 60, 0, "vector", "log", "q1v2", True, "f32"),
    ("f32", 300, 64, 64, 1, "none", "log", "q2v1", True, "f32"),
    ("f32", 63, 60, 60, 2, "vector", "log", "mha", False, "f32"),
    ("bf16", 300, 64, 64, 1, "vector", "log", "mha", True, "bf16"),
    ("bf16", 63, 60, 64, 2, "scalar", "signed", "q2v1", False, "f32"),
    ("bf16", 1, 64, 60, 0, "head", "log", "q1v2", True, "bf16"),
    ("bf16", 300, 60, 60, 2, "none", "log", "q1v2", False, "bf16"),
    ("bf16", 63, 64, 64, 1, "head", "signed", "q2v1", True, "f32"),
    ("bf16", 300, 64, 64, 2, "vector", "signed", "q1v2", True, "f32"),
    ("bf16", 63, 60, 64, 1, "scalar", "log", "mha", False, "bf16"),
]


def case_id(c):
    dtype, t, kd, vd, rank, gate, decay, heads, init, ab = c
    return (f"{dtype}-T{t}-K{kd}-V{vd}-R{rank}-{gate}-{decay}-{heads}"
            f"-{'init' if init else 'noinit'}-ab{ab}")


@pytest.mark.parametrize("case", [pytest.param(c, id=case_id(c)) for c in CASES])
def test_recurrence(case, record_rel_rms):
    dtype, t, kd, vd, rank, gate, decay, heads, init, ab = case
    dt, abt = DTYPES[dtype], DTYPES[ab]
    rng = np.random.default_rng(100 + CASES.index(case))
    hq, hk, hv = HEADS[heads]
    nb = 2 if t < 300 else 1
    q = cast(rng.normal(size=(nb, t, hq, kd)), dt)
    k = cast(unit(rng.normal(size=(nb, t, hk, kd))), dt)
    v = cast(rng.normal(size=(nb, t, hv, vd)), dt)
    g, d = gate_and_decay(rng, gate, decay, nb, t, hv, kd)
    a = b = None
    if rank:
        a, b = (cast(x, abt) for x in low_rank(rng, d, rank))
    s0 = cast(0.5 * rng.normal(size=(nb, hv, kd, vd)), np.float32) if init else None

    o, s = mixir.recurrence(q, k, v, a, b, g, gate=gate, decay=decay,
                            initial_state=s0, output_final_state=True,
                            chunk_size=RECURRENT)
    o_want, s_want = explicit(q, k, v, a, b, d, kd ** -0.5, s0)
    assert o.shape == o_want.shape and o.dtype == np.dtype(dt)
    assert s.shape == s_want.shape and s.dtype == np.float32
    record_and_check(record_rel_rms, "recurrence", dtype, case_id(case), "o", o_want, o)
    record_and_check(record_rel_rms, "recurrence", dtype, case_id(case), "state", s_want, s)

    # The f64 reference agrees with the explicit evaluation.
    o_ref, s_ref = ref.recurrence(q, k, v, a, b, g, gate=gate, decay=decay,
                                  initial_state=s0, output_final_state=True)
    assert ref.rel_rms(o_want, o_ref) < 1e-12 and ref.rel_rms(s_want, s_ref) < 1e-12


def test_scale_and_no_final_state():
    rng = np.random.default_rng(7)
    q, k, v = (cast(rng.normal(size=(1, 5, 1, 8)), np.float32) for _ in range(3))
    a, b = (cast(x, np.float32) for x in low_rank(rng, np.ones((1, 5, 1, 8)), 1))
    o, s = mixir.recurrence(q, k, v, a, b, scale=0.5, chunk_size=RECURRENT)
    assert s is None
    o_want, _ = explicit(q, k, v, a, b, np.ones((1, 5, 1, 8)), 0.5)
    assert ref.rel_rms(o_want, o) < 1e-5


# --------------------------------------------------------------------------
# Special cases: the delta rule, linear attention, RWKV-7, DeltaProduct
# --------------------------------------------------------------------------

def delta_inputs(rng, gate, nb, t, hq, hk, hv, kd, vd):
    q = cast(rng.normal(size=(nb, t, hq, kd)), np.float32)
    k = cast(unit(rng.normal(size=(nb, t, hk, kd))), np.float32)
    v = cast(rng.normal(size=(nb, t, hv, vd)), np.float32)
    beta = rng.uniform(0.05, 0.95, (nb, t, hv)).astype(np.float32)
    g, d = gate_and_decay(rng, gate, "log", nb, t, hv, kd)
    return q, k, v, beta, g, d


def as_recurrence(k, v, beta, d, neg_eigval):
    """The delta rule's S = D (I - beta k k^T) S + beta k v^T as a DPLR
    recurrence: R = 1, a = d * k, b = -beta k, v -> beta v (2 beta for
    negative eigenvalues). k is expanded to the state heads first."""
    hk, hv = k.shape[2], v.shape[2]
    ks = k.astype(np.float64)[:, :, np.arange(hv) // (hv // hk)]
    beta = beta.astype(np.float64)[..., None] * (2.0 if neg_eigval else 1.0)
    a = (d * ks)[:, :, :, None, :]
    b = (-beta * ks)[:, :, :, None, :]
    return (a.astype(np.float32), b.astype(np.float32),
            (beta * v.astype(np.float64)).astype(np.float32))


@pytest.mark.parametrize("gate", ["none", "scalar", "vector"])
@pytest.mark.parametrize("neg_eigval", [False, True], ids=["beta", "negeig"])
def test_delta_rule_is_rank_one(gate, neg_eigval, record_rel_rms):
    rng = np.random.default_rng(11 + 2 * ["none", "scalar", "vector"].index(gate) + neg_eigval)
    q, k, v, beta, g, d = delta_inputs(rng, gate, 2, 63, 1, 1, 2, 64, 60)
    s0 = cast(0.5 * rng.normal(size=(2, 2, 64, 60)), np.float32)
    kw = dict(g=g, gate=gate, initial_state=s0, output_final_state=True)
    o_want, s_want = ref.delta_rule(q, k, v, beta, allow_neg_eigval=neg_eigval, **kw)
    a, b, bv = as_recurrence(k, v, beta, d, neg_eigval)
    # The reference recurrence reduces to the reference delta rule (up to
    # the f32 rounding of a, b and beta v) ...
    o_ref, s_ref = ref.recurrence(q, k, bv, a, b, **kw)
    assert ref.rel_rms(o_want, o_ref) < 1e-6 and ref.rel_rms(s_want, s_ref) < 1e-6
    # ... and the compiled one to it within the f32 limit.
    o, s = mixir.recurrence(q, k, bv, a, b, chunk_size=RECURRENT, **kw)
    case = f"delta-{gate}-{'negeig' if neg_eigval else 'beta'}"
    record_and_check(record_rel_rms, "recurrence (delta rule)", "f32", case, "o", o_want, o)
    record_and_check(record_rel_rms, "recurrence (delta rule)", "f32", case, "state", s_want, s)


@pytest.mark.parametrize("gate", ["none", "head", "scalar", "vector"])
def test_linear_attention_is_rank_zero(gate, record_rel_rms):
    rng = np.random.default_rng(23 + ["none", "head", "scalar", "vector"].index(gate))
    q, k, v, _, g, _ = delta_inputs(rng, gate, 2, 63, 2, 1, 1, 60, 64)
    kw = dict(g=g, gate=gate, output_final_state=True)
    o_want, s_want = ref.linear_attention(q, k, v, **kw)
    o_ref, s_ref = ref.recurrence(q, k, v, None, None, **kw)
    assert ref.rel_rms(o_want, o_ref) < 1e-12 and ref.rel_rms(s_want, s_ref) < 1e-12
    # R = 0 spelt as absent terms and as empty arrays.
    empty = np.zeros((2, 63, 1, 0, 60), np.float32)
    for a, b in ((None, None), (empty, empty)):
        o, s = mixir.recurrence(q, k, v, a, b, chunk_size=RECURRENT, **kw)
        record_and_check(record_rel_rms, "recurrence (lin. attn.)", "f32", gate, "o", o_want, o)
        record_and_check(record_rel_rms, "recurrence (lin. attn.)", "f32", gate, "state",
                         s_want, s)


def rwkv7_native(r, w, k, v, kappa_hat, a_rwkv):
    """RWKV-7's time-mixing recurrence as its paper writes it, state [V, K]:
    wkv = wkv (diag(w) - kappa_hat^T (a * kappa_hat)) + v^T k; o = wkv r."""
    r, w, k, v, kh, ar = (x.astype(np.float64) for x in (r, w, k, v, kappa_hat, a_rwkv))
    nb, nt, nh, kd = r.shape
    o = np.zeros(v.shape)
    state = np.zeros((nb, nh, v.shape[3], kd))
    for t in range(nt):
        removed = np.einsum("bhvk,bhk->bhv", state, kh[:, t])  # wkv kappa_hat^T
        state = (state * w[:, t, :, None, :]
                 - removed[..., None] * (ar[:, t] * kh[:, t])[:, :, None, :]
                 + v[:, t, :, :, None] * k[:, t, :, None, :])
        o[:, t] = np.einsum("bhvk,bhk->bhv", state, r[:, t])
    return o, state


@pytest.mark.parametrize("decay", ["log", "signed"])
def test_rwkv7(decay, record_rel_rms):
    rng = np.random.default_rng(31 + (decay == "signed"))
    nb, nt, nh, kd = 2, 63, 2, 64
    r, k, v = (cast(rng.normal(size=(nb, nt, nh, kd)), np.float32) for _ in range(3))
    # w = exp(-exp(-0.5) sigmoid(x)) in (0.545, 1); a in (0, 1).
    log_w = (-np.exp(-0.5) / (1.0 + np.exp(-rng.normal(size=(nb, nt, nh, kd))))).astype(np.float32)
    w = np.exp(log_w.astype(np.float64)).astype(np.float32)
    kappa_hat = cast(unit(rng.normal(size=(nb, nt, nh, kd))), np.float32)
    a_rwkv = rng.uniform(0.0, 1.0, (nb, nt, nh, kd)).astype(np.float32)
    o_want, s_native = rwkv7_native(r, w, k, v, kappa_hat, a_rwkv)
    a = kappa_hat[:, :, :, None, :]
    b = -(kappa_hat * a_rwkv)[:, :, :, None, :]
    g = log_w if decay == "log" else w
    o, s = mixir.recurrence(r, k, v, a, b, g, gate="vector", decay=decay, scale=1.0,
                            output_final_state=True, chunk_size=RECURRENT)
    case = f"rwkv7-{decay}"
    record_and_check(record_rel_rms, "recurrence (RWKV-7)", "f32", case, "o", o_want, o)
    record_and_check(record_rel_rms, "recurrence (RWKV-7)", "f32", case, "state",
                     np.swapaxes(s_native, -1, -2), s)


def test_gated_deltaproduct(record_rel_rms):
    """Two Householder steps per token: S_t = H2 (alpha_t H1 S + beta1 k1 v1^T)
    + beta2 k2 v2^T, H_j = I - beta_j k_j k_j^T, output after the second. As
    mix.recurrence: 2T sub-steps (k, v, beta interleaved), the gate on the
    first sub-step of each token, q on the last, o read at the odd ones."""
    rng = np.random.default_rng(41)
    nb, nt, nh, kd, vd, n = 2, 63, 2, 64, 64, 2
    q = cast(rng.normal(size=(nb, nt, nh, kd)), np.float32)
    k = cast(unit(rng.normal(size=(nb, nt, n, nh, kd))), np.float32)
    v = cast(rng.normal(size=(nb, nt, n, nh, vd)), np.float32)
    beta = rng.uniform(0.05, 0.95, (nb, nt, n, nh)).astype(np.float32)
    g = rng.uniform(-0.5, -0.01, (nb, nt, nh)).astype(np.float32)

    # The product form, per token.
    k64, v64, b64 = k.astype(np.float64), v.astype(np.float64), beta.astype(np.float64)
    S = np.zeros((nb, nh, kd, vd))
    o_want = np.zeros((nb, nt, nh, vd))
    for t in range(nt):
        S = np.exp(g[:, t].astype(np.float64))[..., None, None] * S
        for j in range(n):
            kj, bj = k64[:, t, j], b64[:, t, j, :, None, None]
            S = S - bj * np.einsum("bhk,bhv->bhkv", kj, np.einsum("bhk,bhkv->bhv", kj, S))
            S = S + bj * np.einsum("bhk,bhv->bhkv", kj, v64[:, t, j])
        o_want[:, t] = np.einsum("bhkv,bhk->bhv", S, kd ** -0.5 * q[:, t].astype(np.float64))

    # Interleaved sub-steps.
    steps = lambda x: x.reshape((nb, nt * n) + x.shape[3:])  # noqa: E731
    q2 = np.zeros((nb, nt, n, nh, kd), np.float32)
    q2[:, :, n - 1] = q
    g2 = np.zeros((nb, nt, n, nh), np.float32)
    g2[:, :, 0] = g
    k2, bt2 = steps(k), steps(beta)
    d2 = np.exp(steps(g2).astype(np.float64))[..., None]
    a = (d2 * k2)[:, :, :, None, :].astype(np.float32)
    b = (-bt2[..., None] * k2)[:, :, :, None, :]
    o2, s = mixir.recurrence(steps(q2), k2, (bt2[..., None] * steps(v)).astype(np.float32),
                             a, b, steps(g2), gate="scalar", output_final_state=True,
                             chunk_size=RECURRENT)
    o = o2.reshape(nb, nt, n, nh, vd)[:, :, n - 1]
    record_and_check(record_rel_rms, "recurrence (DeltaProduct)", "f32", "n2", "o", o_want, o)
    record_and_check(record_rel_rms, "recurrence (DeltaProduct)", "f32", "n2", "state", S, s)


@pytest.mark.parametrize("chunk", [RECURRENT, 64])
def test_mamba2_negative_eigenvalues(chunk, record_rel_rms):
    """Mamba2 (SSD) with its decay mapped onto (-1, 1), d = 2 exp(-dt A) - 1
    (examples/mamba2_negeig.mlir): S = d S + (dt B) x^T, y = S^T C, the
    decay read as is (decay signed), recurrent and chunked."""
    rng = np.random.default_rng(53)
    nb, nt, nh, n, p = 2, 1500, 2, 60, 64
    x = rng.normal(size=(nb, nt, nh, p)).astype(np.float32)
    bm = (0.5 * rng.normal(size=(nb, nt, nh, n))).astype(np.float32)
    cm = (0.5 * rng.normal(size=(nb, nt, nh, n))).astype(np.float32)
    dt = np.log1p(np.exp(rng.normal(size=(nb, nt, nh)) - 3.0))
    d = (2.0 * np.exp(-dt * rng.uniform(1.0, 16.0, nh)) - 1.0).astype(np.float32)
    k = (bm * dt[..., None]).astype(np.float32)
    S = np.zeros((nb, nh, n, p))
    y_want = np.zeros((nb, nt, nh, p))
    for t in range(nt):
        S = d[:, t, :, None, None].astype(np.float64) * S + np.einsum(
            "bhn,bhp->bhnp", k[:, t].astype(np.float64), x[:, t].astype(np.float64))
        y_want[:, t] = np.einsum("bhnp,bhn->bhp", S, cm[:, t].astype(np.float64))
    assert (d < 0).any() and (d > 0).any()
    y, s = mixir.recurrence(cm, k, x, None, None, d, gate="scalar", decay="signed",
                            scale=1.0, output_final_state=True, chunk_size=chunk)
    case = f"mamba2-negeig-C{chunk}"
    record_and_check(record_rel_rms, "recurrence (Mamba2, signed)", "f32", case, "o", y_want, y)
    record_and_check(record_rel_rms, "recurrence (Mamba2, signed)", "f32", case, "state", S, s)


# --------------------------------------------------------------------------
# Argument errors name the argument
# --------------------------------------------------------------------------

def small(rank=1, **kw):
    shape = (1, 4, 2, 8)
    args = dict(q=np.full(shape, 0.1, np.float32), k=np.full(shape, 0.1, np.float32),
                v=np.full(shape, 0.1, np.float32),
                a=np.full((1, 4, 2, rank, 8), 0.1, np.float32),
                b=np.full((1, 4, 2, rank, 8), 0.1, np.float32))
    args.update(kw)
    return args


@pytest.mark.parametrize("kw, error, match", [
    (dict(b=None), ValueError, "a is None|b is None"),
    (dict(a=None), ValueError, "a is None|b is None"),
    (dict(a=np.zeros((1, 4, 2, 8), np.float32)), ValueError, r"a must have rank 5 \[B, T, Hv, R, K\]"),
    (dict(b=np.zeros((1, 4, 2, 2, 8), np.float32)), ValueError, "a and b must have the same shape"),
    (dict(a=[[0.0]]), TypeError, "a must be a numpy array"),
    (dict(a=np.zeros((1, 4, 2, 1, 8), np.int32), b=np.zeros((1, 4, 2, 1, 8), np.int32)),
     TypeError, "a must be a floating-point array"),
    (dict(rank=5), ValueError, "R = 5 .*at most 4"),
    (dict(decay="exp"), ValueError, "decay must be one of 'log', 'signed'"),
    (dict(decay="signed"), ValueError, "decay='signed' needs a gate"),
    (dict(gate="diag", g=np.zeros(2, np.float32)), ValueError, "gate must be one of"),
    (dict(gate="vector"), ValueError, "gate='vector' needs the gate g"),
    (dict(rank=4, chunk_size=64), ValueError,
     r"'mix.recurrence' op chunk_size = 64 with R = 4 low-rank terms"),
    (dict(chunk_size=3), ValueError, "chunk_size must be 0"),
    (dict(scale=-1.0), ValueError, "scale must be positive"),
    (dict(a=np.zeros((1, 4, 2, 1, 6), np.float32), b=np.zeros((1, 4, 2, 1, 6), np.float32)),
     ValueError, r"'a' dim 4 \(K\) is 6, but 'q' dim 3 is 8"),
    (dict(initial_state=np.zeros((1, 2, 8), np.float32)), ValueError, "initial_state must have rank 4"),
    (dict(target="cuda-emulation", chunk_size=0), ValueError,
     "runs chunks of 16 to 64 tokens, got chunk_size 0"),
])
def test_argument_errors(kw, error, match):
    with pytest.raises(error, match=match):
        mixir.recurrence(**small(**kw))


def test_chunk_size_zero_is_recurrent():
    o, _ = mixir.recurrence(**small(chunk_size=0))
    o_none, _ = mixir.recurrence(**small())
    np.testing.assert_array_equal(o, o_none)
