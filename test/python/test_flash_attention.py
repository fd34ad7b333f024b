"""The flash-attention lowering of mix.attention (convert-mix-to-chunked,
blocks of chunk_size queries and keys with an online softmax) against the f64
reference and against the per-row reference lowering (chunk_size=0).

Functions are written as MLIR text with dynamic B, T and S, so one compiled
module serves every length of a case family. Lengths straddle the 64-token
block (1, 63, 64, 65, 200, 500), windows are shorter than, equal to and
longer than a block, and key lengths differ from query lengths.
"""

import time

import numpy as np
import pytest

import mixir
from mixir import reference as ref
from test_numerics import (DTYPES, F32_LIMIT, HALF_LIMIT, case_id, normal,
                           params, rng_for, scalar_gate)

CHUNK = 64
LIMIT_F32 = F32_LIMIT["attention"]
HEADS = {"mha": (2, 2), "gqa": (4, 2), "mqa": (8, 1)}  # (Hq, Hkv)
DIMS = [60, 64, 100, 128]

_MODULES = {}


def attention_source(hq, hkv, kd, vd, dtype, causal=False, window=0,
                     forget=False, scale=None, softcap=0.0):
    """MLIR text of @attn(q, k, v[, g]) -> o, dynamic B, T and S."""
    def t(h, d):
        return f"tensor<?x?x{h}x{d}x{dtype}>"
    args = [f"%q: {t(hq, kd)}", f"%k: {t(hkv, kd)}", f"%v: {t(hkv, vd)}"]
    types = [t(hq, kd), t(hkv, kd), t(hkv, vd)]
    operands = "%q, %k, %v"
    if forget:
        args.append(f"%g: tensor<?x?x{hq}xf32>")
        types.append(f"tensor<?x?x{hq}xf32>")
        operands += " forget(%g)"
    attrs = (" causal" if causal else "") + (f" window = {window}" if window else "") \
        + (f" scale = {scale!r}" if scale is not None else "") \
        + (f" softcap = {softcap!r}" if softcap else "")
    out = t(hq, vd)
    return (f"func.func @attn({', '.join(args)}) -> {out} {{\n"
            f"  %o = mix.attention {operands}{attrs} : ({', '.join(types)}) -> {out}\n"
            f"  return %o : {out}\n}}\n")


def compiled(source, chunk_size=CHUNK):
    key = (source, chunk_size)
    if key not in _MODULES:
        _MODULES[key] = mixir.compile(source, chunk_size=chunk_size)
    return _MODULES[key].attn


def make_inputs(case, t, s):
    rng, dt = rng_for(case), DTYPES[case["dtype"]]
    hq, hkv = HEADS[case["heads"]]
    b = 1 if max(t, s) >= 500 else 2
    q = normal(rng, (b, t, hq, case["K"]), dt)
    k = normal(rng, (b, s, hkv, case["K"]), dt)
    v = normal(rng, (b, s, hkv, case["V"]), dt)
    g = scalar_gate(rng, (b, t, hq)) if case.get("forget") else None
    return q, k, v, g


def run_case(case, t, s, record, chunk_size=CHUNK):
    hq, hkv = HEADS[case["heads"]]
    causal, window = case.get("causal", False), case.get("w", 0)
    forget, scale = case.get("forget", False), case.get("scale")
    fn = compiled(attention_source(hq, hkv, case["K"], case["V"], case["dtype"],
                                   causal, window, forget, scale), chunk_size)
    q, k, v, g = make_inputs(case, t, s)
    o = fn(q, k, v) if g is None else fn(q, k, v, g)
    want = ref.attention(q, k, v, g, scale=scale, causal=causal, window=window)
    assert o.shape == want.shape and o.dtype == q.dtype
    limit = LIMIT_F32 if case["dtype"] == "f32" else HALF_LIMIT
    err = ref.rel_rms(want, o)
    record("attention(flash)", case["dtype"], "o", err, limit,
           f"{case_id(case)}-T{t}-S{s}")
    assert err < limit, f"T={t} S={s}: rel-RMS {err:.3e} >= {limit:.0e}"
    return q, k, v, g, o


# Self-attention (S = T): causal windows shorter than, equal to and longer
# than a block, forget gates, head sharing, head dims that are not powers of
# two; `scale = 1` makes the softmax peaked, so the running max moves a lot.
SELF_CASES = params({
    "dtype": list(DTYPES), "T": [1, 63, 64, 65, 200, 500],
    "causal": [True, False], "w": [0, 1, 17, 64, 100], "forget": [False, True],
    "heads": list(HEADS), "K": DIMS, "V": DIMS, "scale": [None, 1.0]})


@pytest.mark.parametrize("case", SELF_CASES)
def test_flash_self_attention(case, record_rel_rms):
    run_case(case, case["T"], case["T"], record_rel_rms)


# Keys longer and shorter than the queries (no forget gate: it needs S = T),
# with and without the causal mask (key j is masked when j > i).
CROSS_CASES = params({
    "dtype": list(DTYPES), "T": [1, 63, 65, 200], "S": [1, 17, 64, 130, 333],
    "causal": [False, True], "w": [0, 17, 100], "heads": list(HEADS),
    "K": DIMS, "V": DIMS})


@pytest.mark.parametrize("case", CROSS_CASES)
def test_flash_cross_attention(case, record_rel_rms):
    run_case(case, case["T"], case["S"], record_rel_rms)


@pytest.mark.parametrize("case", params({
    "dtype": ["f32", "bf16"], "causal": [True, False], "w": [0, 17, 100],
    "forget": [False, True], "heads": ["gqa", "mqa"], "K": [60, 128],
    "V": [64, 100]}))
def test_flash_agrees_with_reference_lowering(case, record_rel_rms):
    """The flash form and the per-row reference lowering on the same inputs."""
    t = 200
    _, _, _, _, flash = run_case(case, t, t, record_rel_rms)
    hq, hkv = HEADS[case["heads"]]
    rows = compiled(attention_source(hq, hkv, case["K"], case["V"], case["dtype"],
                                     case["causal"], case["w"], case["forget"]),
                    chunk_size=0)
    q, k, v, g = make_inputs(case, t, t)
    o = rows(q, k, v) if g is None else rows(q, k, v, g)
    limit = LIMIT_F32 if case["dtype"] == "f32" else HALF_LIMIT
    assert ref.rel_rms(o.astype(np.float64), flash) < limit


@pytest.mark.parametrize("causal", [True, False], ids=["causal", "nocausal"])
@pytest.mark.parametrize("w", [2, 63, 65, 66, 127, 128, 129])
def test_flash_window_block_edges(causal, w, record_rel_rms):
    """Windows whose first allowed key falls on, just before or just after a
    64-key block boundary: the first visited key block is computed, so an
    off-by-one there drops keys."""
    case = {"dtype": "f32", "heads": "gqa", "K": 64, "V": 60, "causal": causal,
            "w": w}
    run_case(case, 300, 300, record_rel_rms)


def test_flash_rows_without_keys_are_zero():
    """Causal attention onto fewer keys than queries: with S = 10 and a
    window of 4, query rows i >= S + 3 see no key at all and give 0, like
    the reference lowering."""
    fn = compiled(attention_source(2, 2, 64, 64, "f32", causal=True, window=4))
    rng = np.random.default_rng(0)
    q = rng.normal(size=(1, 100, 2, 64)).astype(np.float32)
    k = rng.normal(size=(1, 10, 2, 64)).astype(np.float32)
    v = rng.normal(size=(1, 10, 2, 64)).astype(np.float32)
    o = fn(q, k, v)
    want = ref.attention(q, k, v, causal=True, window=4)
    assert np.all(np.isfinite(o))
    assert np.all(o[:, 13:] == 0) and np.any(o[:, :13] != 0)
    assert ref.rel_rms(want, o) < LIMIT_F32


def test_flash_is_much_faster_than_reference_lowering(record_property):
    """B=1, T=4096, H=4, K=V=128, causal, f32: the flash form against the
    per-row reference lowering (both compiled from the same text)."""
    t, h, d = 4096, 4, 128
    src = attention_source(h, h, d, d, "f32", causal=True)
    rng = np.random.default_rng(0)
    q = rng.normal(size=(1, t, h, d)).astype(np.float32)
    k = rng.normal(size=(1, t, h, d)).astype(np.float32)
    v = rng.normal(size=(1, t, h, d)).astype(np.float32)
    times = {}
    outs = {}
    for chunk, reps in ((CHUNK, 3), (0, 1)):
        fn = compiled(src, chunk)
        fn(q[:, :128], k[:, :128], v[:, :128])  # warm up
        best = float("inf")
        for _ in range(reps):
            start = time.perf_counter()
            outs[chunk] = fn(q, k, v)
            best = min(best, time.perf_counter() - start)
        times[chunk] = best
    record_property("flash_ms", times[CHUNK] * 1e3)
    record_property("reference_lowering_ms", times[0] * 1e3)
    print(f"\nattention T={t}: flash {times[CHUNK] * 1e3:.1f} ms, "
          f"reference lowering {times[0] * 1e3:.1f} ms")
    assert ref.rel_rms(outs[0].astype(np.float64), outs[CHUNK]) < LIMIT_F32
    assert times[CHUNK] * 3 < times[0], times
