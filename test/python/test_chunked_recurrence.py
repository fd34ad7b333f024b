"""The chunkwise-parallel form of mix.recurrence (MIXERS.md "mix.recurrence:
the WY/UT form with low-rank terms") against float64 evaluations that share
no code with the compiler: ``mixir.reference.recurrence`` (itself checked
against the explicit matrix loop in test_recurrence.py), and for the special
cases ``reference.delta_rule`` and ``reference.linear_attention``.

Each case compiles once (B and T are dynamic) and runs several lengths: T = 1
takes the run-time branch to the recurrent form, 63 ends in a partial chunk
(chunks of 16 or 32), 1500 (4096 once) runs many chunks. Inputs are
model-like: unit keys, log gates in [-0.5, -0.01] (and a strong per-channel
decay in [-5, -1]), signed decays in [-1, 1] with exact zeros and negatives,
low-rank terms a_r orthonormal with b_r = -beta_r d * a_r, beta in (0, 1),
so the transition D (I - sum_r beta_r a_r a_r^T) is a contraction. Limits:
rel-RMS 1e-4 for f32 inputs, 5e-3 for bf16.
"""

import numpy as np
import pytest

import mixir  # noqa: E402  (a missing native extension must fail, not skip)
from mixir import reference as ref  # noqa: E402
from test_recurrence import (DTYPES, HEADS, LIMIT, as_recurrence, cast, delta_inputs,
                             low_rank, rwkv7_native, unit)

OP = "recurrence(chunked)"

# Every gate kind, decay, K/V, R (0..2 and 4), head sharing, initial state,
# dtype, a/b dtype and chunk (16, 32, 64, and None: the compiler's choice)
# appears, most in pairs with each other. (T = 63 with chunk 64 would take
# the recurrent branch, so 63 goes with the smaller chunks.)
#        dtype  K    V   R  gate      decay     heads   init   ab     chunk  T
CASES = [
    ("f32", 64, 64, 1, "vector", "log", "mha", True, "f32", 32, (1, 63, 1500)),
    ("f32", 60, 64, 2, "scalar", "signed", "q1v2", False, "f32", 32, (63, 1500)),
    ("f32", 128, 128, 1, "head", "signed", "q2v1", True, "f32", 64, (1500,)),
    ("f32", 64, 60, 0, "vector", "signed", "q1v2", True, "f32", 16, (63, 1500)),
    ("f32", 60, 60, 1, "none", "log", "mha", True, "f32", 64, (1, 4096)),
    ("f32", 64, 64, 0, "scalar", "log", "q2v1", False, "f32", None, (1500,)),
    ("f32", 64, 64, 4, "scalar", "log", "mha", False, "f32", 32, (63, 1500)),
    ("bf16", 64, 64, 2, "vector", "log", "q2v1", True, "bf16", 16, (63, 1500)),
    ("bf16", 128, 64, 1, "scalar", "log", "q1v2", False, "f32", None, (1, 1500)),
    ("bf16", 60, 128, 0, "head", "log", "mha", True, "bf16", 16, (63,)),
    ("bf16", 64, 64, 1, "vector", "signed", "mha", True, "f32", 32, (63, 1500)),
]


def case_id(c):
    dtype, kd, vd, rank, gate, decay, heads, init, ab, chunk, ts = c
    return (f"{dtype}-K{kd}-V{vd}-R{rank}-{gate}-{decay}-{heads}-"
            f"{'init' if init else 'noinit'}-ab{ab}-C{chunk}")


def decays(rng, gate, decay, nb, t, hv, kd, log_range=(-0.5, -0.01)):
    """(g as the op takes it, or None; the decay d, float64 [B, T, Hv, K]).
    Signed decays are uniform in [-1, 1] with about 5% exact zeros (a head
    gate: fixed values, negative ones included)."""
    if gate == "none":
        return None, np.ones((nb, t, hv, kd))
    shape = {"head": (hv,), "scalar": (nb, t, hv), "vector": (nb, t, hv, kd)}[gate]
    if decay == "log" and callable(log_range):
        g = log_range(rng, shape).astype(np.float32)
        d = np.exp(g.astype(np.float64))
    elif decay == "log":
        g = rng.uniform(*log_range, shape).astype(np.float32)
        d = np.exp(g.astype(np.float64))
    elif gate == "head":
        g = np.resize(np.array([-0.9, 0.7, -0.5], np.float32), shape)
        d = g.astype(np.float64)
    else:
        g = rng.uniform(-1.0, 1.0, shape).astype(np.float32)
        g[rng.random(shape) < 0.05] = 0.0
        d = g.astype(np.float64)
    if gate == "head":
        d = d[None, None, :]
    if gate in ("head", "scalar"):
        d = d[..., None]
    return g, np.broadcast_to(d, (nb, t, hv, kd))


def run_case(case, t, seed, log_range=(-0.5, -0.01), target="cpu"):
    """Runs one case at length t; returns (compiled (o, s), reference (o, s))."""
    dtype, kd, vd, rank, gate, decay, heads, init, ab, chunk, _ = case
    dt = DTYPES[dtype]
    rng = np.random.default_rng(seed)
    hq, hk, hv = HEADS[heads]
    nb = 2 if t < 500 else 1
    q = cast(rng.normal(size=(nb, t, hq, kd)), dt)
    k = cast(unit(rng.normal(size=(nb, t, hk, kd))), dt)
    v = cast(rng.normal(size=(nb, t, hv, vd)), dt)
    g, d = decays(rng, gate, decay, nb, t, hv, kd, log_range)
    a = b = None
    if rank:
        a, b = (cast(x, DTYPES[ab]) for x in low_rank(rng, d, rank))
    s0 = cast(0.5 * rng.normal(size=(nb, hv, kd, vd)), np.float32) if init else None
    kw = dict(g=g, gate=gate, decay=decay, initial_state=s0, output_final_state=True)
    got = mixir.recurrence(q, k, v, a, b, chunk_size=chunk, target=target, **kw)
    want = ref.recurrence(q, k, v, a, b, **kw)
    assert got[0].dtype == np.dtype(dt) and got[0].shape == want[0].shape
    assert got[1].dtype == np.float32 and got[1].shape == want[1].shape
    return got, want


def check(record, dtype, case, got, want):
    for what, w, x in zip(("o", "state"), want, got):
        assert np.isfinite(x.astype(np.float64)).all(), f"{what}: NaN or Inf"
        err = ref.rel_rms(w, x)
        record(OP, dtype, what, err, LIMIT[dtype], case)
        assert err <= LIMIT[dtype], f"{what}: rel-RMS {err:.3e} > {LIMIT[dtype]:.0e}"


@pytest.mark.parametrize("case", [pytest.param(c, id=case_id(c)) for c in CASES])
def test_chunked_recurrence(case, record_rel_rms):
    for t in case[-1]:
        got, want = run_case(case, t, seed=1000 * CASES.index(case) + t)
        check(record_rel_rms, case[0], f"{case_id(case)}-T{t}", got, want)


@pytest.mark.parametrize("case", [pytest.param(c, id=case_id(c)) for c in CASES])
def test_chunked_recurrence_cuda_emulation(case, record_rel_rms):
    """The same cases on target cuda-emulation: the CUDA pipeline maps the
    same chunked form onto GPU thread blocks (convert-chunked-to-gpu), and
    the emulator runs that kernel's IR, chunks of 64 included (their tiles
    go beyond shared memory, into the block's global scratch slice). Chunk
    None: the CUDA default (16)."""
    seed = 1000 * CASES.index(case) + 7
    for t in case[-1]:
        got, want = run_case(case, t, seed=seed + t, target="cuda-emulation")
        check(record_rel_rms, case[0], f"{case_id(case)}-T{t}-cuda-emulation",
              got, want)


def test_cuda_tiles_beyond_one_thread(record_rel_rms):
    """Chunks of 64 at K = V = 128: about 1 MB of tiles, which one GPU
    thread could not hold (512 KiB) and shared memory cannot either; the
    block keeps them in its global scratch slice."""
    case = ("f32", 128, 128, 1, "scalar", "log", "mha", True, "f32", 64, (70,))
    got, want = run_case(case, 70, seed=5, target="cuda-emulation")
    check(record_rel_rms, "f32", "K128-V128-C64-T70-cuda-emulation", got, want)


def alternating_blocks(rng, shape):
    """Log gates in [-0.5, -0.01], times 40 in every other 16-token block:
    the weak blocks decay by at most 8 over their 16 tokens, the strong ones
    by about 150, beyond what factors through one reference row in f32
    (e^88) (per channel, [B, T, H, K] gates)."""
    g = rng.uniform(-0.5, -0.01, shape)
    strong = (np.arange(shape[1]) // 16) % 2 == 1
    g[:, strong] *= 40.0
    return g


@pytest.mark.parametrize("log_range, target", [
    ((-5.0, -1.0), "cpu"), (alternating_blocks, "cpu"),
    (alternating_blocks, "cuda-emulation")])
def test_strong_vector_decay(log_range, target, record_rel_rms):
    """Per-channel log gates in [-5, -1]: in-chunk cumulative gates reach
    -160, so every factor must be exp of a non-positive difference (the
    16-token sub-chunks' reference rows included), and no 16-token block
    stays within the bound (30) under which its diagonal product is
    factored. With alternating weak and strong blocks both happen in one
    call: the weak blocks factor, the strong ones take the exact per-entry
    exponent. Same compiled function as the first case."""
    t = 1500 if target == "cpu" else 150
    got, want = run_case(CASES[0], t, seed=7, log_range=log_range,
                         target=target)
    name = log_range if isinstance(log_range, tuple) else "alternating"
    check(record_rel_rms, "f32", f"vector-gate-{name}-{target}", got, want)


@pytest.mark.parametrize("gate, chunk", [("none", 64), ("vector", 32)])
def test_delta_rule_is_rank_one(gate, chunk, record_rel_rms):
    """The delta rule as mix.recurrence (R = 1, a = d * k, b = -beta k,
    v -> beta v), chunked, against reference.delta_rule; shapes and flags of
    the cases above, so their compiled functions are reused."""
    kd, vd = (60, 60) if gate == "none" else (64, 64)
    rng = np.random.default_rng(51 + chunk)
    q, k, v, beta, g, d = delta_inputs(rng, gate, 1, 1500, 2, 2, 2, kd, vd)
    s0 = cast(0.5 * rng.normal(size=(1, 2, kd, vd)), np.float32)
    kw = dict(g=g, gate=gate, initial_state=s0, output_final_state=True)
    want = ref.delta_rule(q, k, v, beta, **kw)
    a, b, bv = as_recurrence(k, v, beta, d, neg_eigval=False)
    got = mixir.recurrence(q, k, bv, a, b, chunk_size=chunk, **kw)
    check(record_rel_rms, "f32", f"delta-{gate}-C{chunk}", got, want)


def test_linear_attention_is_rank_zero(record_rel_rms):
    """R = 0 (absent terms, and empty arrays) chunked against
    reference.linear_attention; the R = 0 scalar-gate case's function."""
    rng = np.random.default_rng(61)
    q, k, v, _, g, _ = delta_inputs(rng, "scalar", 1, 1500, 2, 1, 1, 64, 64)
    kw = dict(g=g, gate="scalar", output_final_state=True)
    want = ref.linear_attention(q, k, v, **kw)
    empty = np.zeros((1, 1500, 1, 0, 64), np.float32)
    for a, b in ((None, None), (empty, empty)):
        got = mixir.recurrence(q, k, v, a, b, **kw)
        check(record_rel_rms, "f32", "lin-attn-scalar", got, want)


def test_rwkv7(record_rel_rms):
    """RWKV-7 time mixing (a = kappa_hat, b = -(kappa_hat * a_rwkv), signed
    decay w in (0.545, 1)), chunked, against its native transposed-state
    recurrence."""
    rng = np.random.default_rng(71)
    nb, nt, nh, kd = 1, 1000, 2, 64
    r, k, v = (cast(rng.normal(size=(nb, nt, nh, kd)), np.float32) for _ in range(3))
    w = np.exp(-np.exp(-0.5) / (1.0 + np.exp(-rng.normal(size=(nb, nt, nh, kd)))))
    w = w.astype(np.float32)
    kappa_hat = cast(unit(rng.normal(size=(nb, nt, nh, kd))), np.float32)
    a_rwkv = rng.uniform(0.0, 1.0, (nb, nt, nh, kd)).astype(np.float32)
    o_want, s_native = rwkv7_native(r, w, k, v, kappa_hat, a_rwkv)
    got = mixir.recurrence(r, k, v, kappa_hat[:, :, :, None, :],
                           -(kappa_hat * a_rwkv)[:, :, :, None, :], w, gate="vector",
                           decay="signed", scale=1.0, output_final_state=True)
    check(record_rel_rms, "f32", "rwkv7", got, (o_want, np.swapaxes(s_native, -1, -2)))


def test_chunk_too_large_for_rank():
    """An explicit chunk is the op's own: C R > 128 is refused, naming the
    op, not shrunk."""
    shape = (1, 4, 1, 16)
    x = np.full(shape, 0.1, np.float32)
    ab = np.full((1, 4, 1, 4, 16), 0.1, np.float32)
    with pytest.raises(ValueError, match=r"'mix.recurrence' op chunk_size = 64 with R = 4 "
                                         r"low-rank terms .* chunk_size \* R <= 128"):
        mixir.recurrence(x, x, x, ab, ab, chunk_size=64)
