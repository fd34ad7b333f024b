"""mix.recurrence's `read transposed` (o_t = S_t (scale q_t), q [.., V] and o
[.., K]; MIXERS.md "mix.recurrence"), the read the derived backward needs,
against a float64 loop written here: the recurrent form (chunk_size=0) and
the chunked form (chunks of 16 and 32, T = 1 taking the run-time branch to
the recurrent form, 63 ending in a partial chunk, 500 running many chunks).

Every gate kind with log and signed decays, R = 0, 1, 2, K/V of 12/20 and
60/64, head sharing both ways, with and without an initial state, f32 and
bf16 inputs. Limits as for the normal read: rel-RMS 1e-4 (f32), 5e-3 (bf16).
"""

import numpy as np
import pytest

import mixir  # noqa: E402
from test_chunked_recurrence import decays
from test_recurrence import (DTYPES, HEADS, cast, low_rank, record_and_check,
                            unit)


def transposed_read(q, k, v, a, b, d, scale, s0):
    """float64: S_t = (D_t + sum_r b_tr a_tr^T) S_{t-1} + k_t v_t^T and
    o_t = S_t (scale q_t) per output head, heads shared as MIXERS.md says."""
    f = lambda x: None if x is None else np.asarray(x, np.float64)  # noqa: E731
    q, k, v, a, b, s0 = map(f, (q, k, v, a, b, s0))
    nb, nt, hq, _ = q.shape
    hk, kd = k.shape[2], k.shape[3]
    hv, vd = v.shape[2], v.shape[3]
    ho = max(hq, hv)
    o = np.zeros((nb, nt, ho, kd))
    S = np.zeros((nb, hv, kd, vd)) if s0 is None else s0.copy()
    for t in range(nt):
        for s in range(hv):
            kt = k[:, t, s // (hv // hk)]
            A = d[:, t, s][:, :, None] * np.eye(kd)
            if a is not None:
                A = A + np.einsum("brk,brl->bkl", b[:, t, s], a[:, t, s])
            S[:, s] = A @ S[:, s] + kt[:, :, None] * v[:, t, s][:, None, :]
        for h in range(ho):
            y = scale * q[:, t, h // (ho // hq)]
            o[:, t, h] = np.einsum("bkv,bv->bk", S[:, h // (ho // hv)], y)
    return o, S


#        dtype  K   V   R  gate      decay     heads   init   chunk
CASES = [
    ("f32", 12, 20, 1, "vector", "log", "mha", True, 16),
    ("f32", 60, 64, 2, "scalar", "signed", "q1v2", False, 16),
    ("f32", 64, 60, 0, "head", "log", "q2v1", True, 32),
    ("f32", 12, 20, 2, "none", "log", "q2v1", True, 16),
    ("f32", 60, 64, 1, "vector", "signed", "q1v2", True, 16),
    ("f32", 12, 20, 0, "vector", "log", "mha", False, 32),
    ("f32", 20, 12, 1, "head", "signed", "mha", True, 16),
    ("bf16", 60, 64, 1, "vector", "log", "q2v1", True, 16),
    ("bf16", 12, 20, 2, "scalar", "log", "mha", True, 32),
]


def case_id(c):
    dtype, kd, vd, rank, gate, decay, heads, init, chunk = c
    return (f"{dtype}-K{kd}-V{vd}-R{rank}-{gate}-{decay}-{heads}-"
            f"{'init' if init else 'noinit'}-C{chunk}")


# Form: chunk size and target. "auto" lets mix-select-algorithm choose;
# "cuda-emulation" runs the CUDA pipeline's kernel (convert-chunked-to-gpu)
# on CPU threads.
FORMS = {"recurrent": (0, "cpu"), "chunked": (None, "cpu"),
         "auto": ("auto", "cpu"), "cuda-emulation": (None, "cuda-emulation")}


# Every case in the recurrent and chunked forms; every third (vector, none
# and signed head gates among them) also chosen by the compiler and on the
# emulated GPU.
PAIRS = [pytest.param(c, f, id=f"{case_id(c)}-{f}") for i, c in enumerate(CASES)
         for f in FORMS if f in ("recurrent", "chunked") or i % 3 == 0]


@pytest.mark.parametrize("case,form", PAIRS)
def test_transposed_read(case, form, record_rel_rms):
    dtype, kd, vd, rank, gate, decay, heads, init, chunk = case
    chunk_size, target = FORMS[form]
    chunk_size = {None: chunk, "auto": None}.get(chunk_size, chunk_size)
    dt = DTYPES[dtype]
    hq, hk, hv = HEADS[heads]
    for t in (1, 63, 500):
        rng = np.random.default_rng(CASES.index(case) * 1000 + t)
        nb = 2 if t < 500 else 1
        # Queries have the value dim V.
        q, k, v = (rng.normal(size=(nb, t, h, n))
                   for h, n in ((hq, vd), (hk, kd), (hv, vd)))
        q, k, v = cast(q, dt), cast(unit(k), dt), cast(v, dt)
        g, d = decays(rng, gate, decay, nb, t, hv, kd)
        a = b = None
        if rank:
            a, b = (cast(x, dt) for x in low_rank(rng, d, rank))
        s0 = (0.5 * rng.normal(size=(nb, hv, kd, vd))).astype(np.float32) \
            if init else None
        o, s = mixir.recurrence(
            q, k, v, a, b, g=g, gate=gate, decay=decay, initial_state=s0,
            output_final_state=True, read="transposed",
            chunk_size=chunk_size, target=target)
        want_o, want_s = transposed_read(q, k, v, a, b, d, kd ** -0.5, s0)
        assert o.dtype == np.dtype(dt) and o.shape == want_o.shape
        for what, w, x in (("o", want_o, o), ("state", want_s, s)):
            x = x.astype(np.float64)
            assert np.isfinite(x).all(), f"{what} T={t}: NaN or Inf"
            record_and_check(record_rel_rms,
                             f"recurrence(read transposed, {form})", dtype,
                             f"{case_id(case)}-T{t}", what, w, x)


def test_transposed_read_shapes_are_checked():
    """q must have V entries and o K entries; the verifier names the one
    that disagrees."""
    rng = np.random.default_rng(0)
    q = rng.normal(size=(1, 4, 2, 12)).astype(np.float32)  # K, not V = 20
    k = unit(rng.normal(size=(1, 4, 2, 12))).astype(np.float32)
    v = rng.normal(size=(1, 4, 2, 20)).astype(np.float32)
    with pytest.raises(ValueError, match="'v' dim 3 \\(V\\) is 20, but 'q' dim 3 is 12"):
        mixir.recurrence(q, k, v, None, None, read="transposed")
    with pytest.raises(ValueError, match="read must be"):
        mixir.recurrence(q, k, v, None, None, read="sideways")
