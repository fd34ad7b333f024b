"""The CUDA lowering's kernels, run on CPU threads (target "cuda-emulation",
the test plugin that conftest.py names in MIXIR_TEST_PLUGIN).

`mix-emulate-gpu` executes the generated kernel IR with one OpenMP thread per
GPU thread and emulates gpu.barrier, ldmatrix and mma.sync with the PTX
fragment layouts, so these tests check the GPU kernels' indexing, masks,
gates, tiling and state pass against the float64 recurrent reference on a
machine without a GPU. (Speed and the PTX itself are checked elsewhere:
test/Pipelines/cuda-*.mlir, bench/gpu.)
"""
import os
import re
import subprocess
import sys

import ml_dtypes
import numpy as np
import pytest

import mixir
from mixer_inputs import recurrent_inputs
from mixir import reference

BF16 = ml_dtypes.bfloat16
# MIXERS.md: 16-bit inputs within 5e-3 rel-RMS for o and the final state.
# Outputs are rounded to the input type and Q multiplies a 16-bit copy of
# the state; the state accumulates in f32 on the tensor cores, but with a
# gate its values are decay-weighted and rounded to 16 bits first (as fla's
# kernels do), ~1e-3.
TOL = 5e-3
# The CUDA kernels: every op in the chunked form mapped onto thread blocks
# (convert-chunked-to-gpu), with mma.sync for the tile products ("chunked",
# the default chip) ...
KERNELS = pytest.mark.parametrize("kernels", ["chunked"])
# ... and on sm_90a, where the tile products with M a multiple of 64 run as
# warpgroup MMAs (wgmma) on operands staged in shared memory; chunks of 64
# give them that M.
WITH_HOPPER = pytest.mark.parametrize("kernels", ["chunked", "hopper"])


def _compile(src, kernels, chunk=None):
    if kernels == "hopper":
        return mixir.compile(src, target="cuda-emulation", chunk_size=64,
                             chip="sm_90a")
    return mixir.compile(src, target="cuda-emulation", chunk_size=chunk)


def _type(shape, dtype, dynamic=()):
    dims = ["?" if i in dynamic else str(d) for i, d in enumerate(shape)]
    name = {np.dtype(BF16): "bf16", np.dtype(np.float16): "f16",
            np.dtype(np.float32): "f32"}[np.dtype(dtype)]
    return "tensor<" + "x".join(dims + [name]) + ">"


def _source(q, k, v, g, gate, init, scale, dynamic):
    B, T, Hq, K = q.shape
    Hv, V = v.shape[2], v.shape[3]
    Ho = max(Hq, Hv)
    dyn_bt = (0, 1) if dynamic else ()
    args = [("q", q, dyn_bt), ("k", k, dyn_bt), ("v", v, dyn_bt)]
    op = "mix.linear_attention %q, %k, %v gate " + gate
    if g is not None:
        args.append(("g", g, dyn_bt if gate in ("scalar", "vector") else ()))
        op += "(%g)"
    if init is not None:
        args.append(("s0", init, (0,) if dynamic else ()))
        op += " init(%s0)"
    if scale is not None:
        op += f" scale = {scale!r}"
    in_types = [_type(a.shape, a.dtype, d) for _, a, d in args]
    o_type = _type((B, T, Ho, V), q.dtype, dyn_bt)
    s_type = _type((B, Hv, K, V), np.float32, (0,) if dynamic else ())
    params = ", ".join(f"%{n}: {t}" for (n, _, _), t in zip(args, in_types))
    return (f"func.func @la({params}) -> ({o_type}, {s_type}) {{\n"
            f"  %o, %s = {op} : ({', '.join(in_types)}) -> ({o_type}, {s_type})\n"
            f"  return %o, %s : {o_type}, {s_type}\n}}\n"), [a for _, a, _ in args]


CASES = [
    # id, B, T, Hq, Hk, Hv, K, V, dtype, gate, init, dynamic, chunk
    ("none-two-chunks", 1, 70, 1, 1, 1, 32, 32, BF16, "none", False, False, 64),
    ("scalar-init-dynamic-two-value-tiles", 2, 130, 2, 2, 2, 64, 64, BF16,
     "scalar", True, True, 64),
    ("head-f16-partial-value-tile", 1, 64, 2, 2, 2, 48, 40, np.float16,
     "head", False, False, 64),
    ("head-one-token", 1, 1, 1, 1, 1, 32, 32, BF16, "head", True, False, 64),
    ("gqa-odd-dims", 1, 33, 4, 1, 2, 100, 60, BF16, "none", True, False, 64),
    ("gva", 1, 40, 1, 1, 2, 32, 32, BF16, "scalar", False, False, 64),
    # chunk None: the target's chunk (16); wide keys' tiles beyond shared
    # memory live in the block's global scratch slice.
    ("wide-keys-chunk-32", 1, 45, 1, 1, 1, 256, 32, BF16, "scalar", False,
     False, None),
    ("chunk-16-one-warp", 1, 50, 1, 1, 1, 32, 32, np.float16, "scalar", True,
     False, 16),
    ("gla-vector-gate", 1, 70, 1, 1, 1, 32, 32, BF16, "vector", False, False,
     64),
    ("gla-vector-gate-k128-init-dynamic", 1, 100, 2, 2, 2, 128, 64, BF16,
     "vector", True, True, None),
    ("gla-vector-gate-f16-gqa-odd", 1, 37, 2, 1, 1, 60, 40, np.float16,
     "vector", False, False, 64),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
@WITH_HOPPER
def test_linear_attention_kernel_matches_reference(case, record_rel_rms, kernels):
    _, B, T, Hq, Hk, Hv, K, V, dtype, gate, with_init, dynamic, chunk = case
    rng = np.random.default_rng(T * 131 + K)
    q = rng.standard_normal((B, T, Hq, K)).astype(dtype)
    k = (rng.standard_normal((B, T, Hk, K)) / np.sqrt(K)).astype(dtype)
    v = rng.standard_normal((B, T, Hv, V)).astype(dtype)
    g = None
    if gate == "scalar":
        g = -rng.uniform(0.0, 0.3, (B, T, Hv)).astype(np.float32)
        g[:, ::7] = 0.0
    elif gate == "vector":
        g = -rng.uniform(0.0, 0.3, (B, T, Hv, K)).astype(np.float32)
        g[:, ::5, :, ::3] = 0.0
    elif gate == "head":
        g = np.log(1 - 2.0 ** (-5 - np.arange(Hv))).astype(np.float32)
    init = rng.standard_normal((B, Hv, K, V)).astype(np.float32) \
        if with_init else None
    scale = 0.3 if gate == "none" else None
    src, args = _source(q, k, v, g, gate, init, scale, dynamic)
    module = _compile(src, kernels, chunk)
    o, s = module.la(*args)
    ro, rs = reference.linear_attention(
        q, k, v, g=g, gate=gate, scale=scale, initial_state=init,
        output_final_state=True)
    assert o.dtype == np.dtype(dtype) and o.shape == ro.shape
    assert np.isfinite(o.astype(np.float32)).all()
    name = f"linear_attention/cuda-emu-{kernels}"
    dt = np.dtype(dtype).name
    record_rel_rms(name, dt, "o", reference.rel_rms(o, ro), TOL, case[0])
    record_rel_rms(name, dt, "state", reference.rel_rms(s, rs), TOL, case[0])
    assert reference.rel_rms(o, ro) < TOL
    assert reference.rel_rms(s, rs) < TOL


@pytest.mark.parametrize("gate", ["scalar", "vector"])
def test_strong_decay_stays_finite(gate):
    # Gates down to -30 per token: exp(G_i - G_j) underflows to 0, never
    # overflows (only j <= i is computed into the result; the vector gate's
    # sub-chunk factors are all <= 1).
    rng = np.random.default_rng(5)
    B, T, H, K, V = 1, 96, 1, 32, 32
    q = rng.standard_normal((B, T, H, K)).astype(BF16)
    k = rng.standard_normal((B, T, H, K)).astype(BF16)
    v = rng.standard_normal((B, T, H, V)).astype(BF16)
    shape = (B, T, H) if gate == "scalar" else (B, T, H, K)
    g = -rng.uniform(0.0, 30.0, shape).astype(np.float32)
    src, args = _source(q, k, v, g, gate, None, None, False)
    o, s = mixir.compile(src, target="cuda-emulation").la(*args)
    ro, rs = reference.linear_attention(q, k, v, g=g, gate=gate,
                                        output_final_state=True)
    assert np.isfinite(o.astype(np.float32)).all() and np.isfinite(s).all()
    assert reference.rel_rms(o, ro) < TOL
    assert reference.rel_rms(s, rs) < TOL


def _wide_keys(chunk_attr=None):
    q = np.zeros((1, 45, 1, 256), BF16)
    v = np.zeros((1, 45, 1, 32), BF16)
    src, _ = _source(q, q, v, None, "none", None, None, False)
    if chunk_attr is not None:
        src = src.replace("gate none", f"gate none {{chunk_size = {chunk_attr} : i64}}")
    return src


def test_op_chunk_size_is_honoured_not_ignored():
    # The op's chunk_size wins over the option, on the GPU as on the CPU,
    # and is checked against what the kernels run like the option.
    with pytest.raises(mixir.CompileError, match=re.escape(
            "'mix.linear_attention' op target cuda runs chunks of 16 to 64 "
            "tokens, got chunk_size 0 (the recurrent form, which its kernels "
            "do not have)")):
        mixir.compile(_wide_keys(0), target="cuda-emulation", chunk_size=16)
    with pytest.raises(mixir.CompileError, match=re.escape(
            "'mix.linear_attention' op target cuda runs chunks of 16 to 64 "
            "tokens, got chunk_size 128")):
        mixir.compile(_wide_keys(128), target="cuda-emulation")
    mixir.compile(_wide_keys(16), target="cuda-emulation", chunk_size=64)


def test_recurrent_form_is_refused_not_turned_into_64():
    with pytest.raises(mixir.CompileError, match=re.escape(
            "target cuda-emulation runs chunks of 16 to 64 tokens, got "
            "chunk_size 0 (the recurrent form, which its kernels do not have)")):
        mixir.compile(_wide_keys(), target="cuda-emulation", chunk_size=0)
    with pytest.raises(mixir.CompileError, match=re.escape(
            "target cuda-emulation runs chunks of 16 to 64 tokens, got "
            "chunk_size 128")):
        mixir.compile(_wide_keys(), target="cuda-emulation", chunk_size=128)


def test_without_the_plugin_the_test_target_is_refused():
    env = {k: v for k, v in os.environ.items() if k != "MIXIR_TEST_PLUGIN"}
    code = ("import mixir\n"
            "try:\n"
            "    mixir.compile('func.func @f() { return }', target='cuda-emulation')\n"
            "except mixir.CompileError as e:\n"
            "    print(e)\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True,
                       text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == (
        "target cuda-emulation is a test target: its code is not part of this "
        "build's libraries; set MIXIR_TEST_PLUGIN to the test plugin of a "
        "build with tests (lib/libmixir-gpu-emulation.so)")


@pytest.mark.parametrize("gate", ["none", "scalar", "vector"])
def test_f32_inputs_run_in_the_chunked_form(gate, record_rel_rms):
    """The chunked form computes in f32 and takes f32 inputs on the GPU
    too."""
    rng = np.random.default_rng(5)
    B, T, H, K, V = 1, 75, 2, 20, 12
    q = rng.standard_normal((B, T, H, K)).astype(np.float32)
    k = (rng.standard_normal((B, T, H, K)) / np.sqrt(K)).astype(np.float32)
    v = rng.standard_normal((B, T, H, V)).astype(np.float32)
    g = {"none": None,
         "scalar": -rng.uniform(0.0, 0.3, (B, T, H)).astype(np.float32),
         "vector": -rng.uniform(0.0, 0.3, (B, T, H, K)).astype(np.float32)}[gate]
    init = rng.standard_normal((B, H, K, V)).astype(np.float32)
    src, args = _source(q, k, v, g, gate, init, None, True)
    o, s = mixir.compile(src, target="cuda-emulation",
                         chunk_size=32).la(*args)
    ro, rs = reference.linear_attention(q, k, v, g=g, gate=gate,
                                        initial_state=init,
                                        output_final_state=True)
    name = "linear_attention/cuda-emu-chunked"
    record_rel_rms(name, "float32", "o", reference.rel_rms(o, ro), 1e-5, gate)
    record_rel_rms(name, "float32", "state", reference.rel_rms(s, rs), 1e-5,
                   gate)
    assert reference.rel_rms(o, ro) < 1e-5
    assert reference.rel_rms(s, rs) < 1e-5


ATTENTION_CASES = [
    # id, B, T, S, Hq, Hkv, K, V, dtype, causal, window
    ("causal-odd-length", 1, 75, 75, 1, 1, 32, 32, BF16, True, 0),
    ("causal-gqa-f16", 2, 40, 40, 4, 2, 64, 48, np.float16, True, 0),
    ("full-cross-lengths", 1, 33, 100, 2, 2, 100, 60, BF16, False, 0),
    ("sliding-window", 1, 150, 150, 1, 1, 32, 32, BF16, True, 20),
    ("one-query", 1, 1, 1, 1, 1, 16, 16, BF16, True, 0),
    ("forget-gate", 1, 300, 300, 2, 1, 32, 32, BF16, True, 0),
    ("forget-gate-window-f16", 1, 130, 130, 1, 1, 64, 32, np.float16, True,
     40),
]


@pytest.mark.parametrize("case", ATTENTION_CASES,
                         ids=[c[0] for c in ATTENTION_CASES])
@WITH_HOPPER
def test_attention_kernel_matches_reference(case, record_rel_rms, kernels):
    _, B, T, S, Hq, Hkv, K, V, dtype, causal, window = case
    rng = np.random.default_rng(T + 7 * S)
    q = rng.standard_normal((B, T, Hq, K)).astype(dtype)
    k = rng.standard_normal((B, S, Hkv, K)).astype(dtype)
    v = rng.standard_normal((B, S, Hkv, V)).astype(dtype)
    forget = case[0].startswith("forget")
    g = (-rng.uniform(0.0, 0.2, (B, T, Hq))).astype(np.float32) \
        if forget else None
    arrays = (q, k, v) + ((g,) if forget else ())
    types = [_type(a.shape, a.dtype) for a in arrays]
    o_type = _type((B, T, Hq, V), dtype)
    attrs = (" forget(%g)" if forget else "") + \
        (" causal" if causal else "") + \
        (f" window = {window}" if window else "")
    params = ", ".join(f"%{n}: {t}" for n, t in zip("qkvg", types))
    src = (f"func.func @at({params}) -> {o_type} {{\n"
           f"  %o = mix.attention %q, %k, %v{attrs} : ({', '.join(types)})"
           f" -> {o_type}\n  return %o : {o_type}\n}}\n")
    o = _compile(src, kernels).at(*arrays)
    ro = reference.attention(q, k, v, g=g, causal=causal, window=window)
    err = reference.rel_rms(o, ro)
    record_rel_rms(f"attention/cuda-emu-{kernels}", np.dtype(dtype).name, "o", err, TOL,
                   case[0])
    assert np.isfinite(o.astype(np.float32)).all()
    assert err < TOL


DELTA_CASES = [
    # id, B, T, Hq, Hk, Hv, K, V, dtype, gate, l2norm, neg, init, dynamic
    ("deltanet", 1, 70, 1, 1, 1, 32, 32, BF16, "none", True, False, False,
     False),
    ("gated-deltanet-k128-init-dynamic", 1, 75, 2, 2, 2, 128, 64, BF16,
     "scalar", True, False, True, True),
    ("negative-eigenvalues", 1, 50, 1, 1, 1, 64, 32, BF16, "scalar", True,
     True, False, False),
    ("f16-gva-odd-dims", 1, 41, 1, 1, 2, 60, 40, np.float16, "scalar", True,
     False, False, False),
    ("no-l2norm-small-keys", 1, 40, 1, 1, 1, 32, 32, BF16, "none", False,
     False, True, False),
    ("kda-vector-gate", 1, 70, 1, 1, 1, 32, 32, BF16, "vector", True,
     False, True, False),
    ("kda-vector-gate-k64-f16-gqa", 1, 45, 2, 1, 1, 64, 32, np.float16,
     "vector", True, False, False, False),
    # Reflections (beta up to 2) carry rounding errors along the sequence.
    ("negative-eigenvalues-long", 1, 300, 1, 1, 1, 64, 32, BF16, "none",
     True, True, False, False),
]


@pytest.mark.parametrize("case", DELTA_CASES, ids=[c[0] for c in DELTA_CASES])
@WITH_HOPPER
def test_delta_rule_kernel_matches_reference(case, record_rel_rms, kernels):
    (_, B, T, Hq, Hk, Hv, K, V, dtype, gate, l2norm, neg, with_init,
     dynamic) = case
    rng = np.random.default_rng(T * 17 + K)
    q = rng.standard_normal((B, T, Hq, K)).astype(dtype)
    k = rng.standard_normal((B, T, Hk, K))
    if not l2norm:  # keep the transition contractive without normalising
        k /= np.linalg.norm(k, axis=-1, keepdims=True) * 1.5
    k = k.astype(dtype)
    v = rng.standard_normal((B, T, Hv, V)).astype(dtype)
    beta = rng.uniform(0.0, 1.0, (B, T, Hv)).astype(dtype)
    g = None
    if gate == "scalar":
        g = -rng.uniform(0.0, 0.3, (B, T, Hv)).astype(np.float32)
    elif gate == "vector":
        g = -rng.uniform(0.0, 0.3, (B, T, Hv, K)).astype(np.float32)
    init = rng.standard_normal((B, Hv, K, V)).astype(np.float32) \
        if with_init else None
    dyn_bt = (0, 1) if dynamic else ()
    args = [("q", q, dyn_bt), ("k", k, dyn_bt), ("v", v, dyn_bt),
            ("beta", beta, dyn_bt)]
    op = "mix.delta_rule %q, %k, %v, %beta gate " + gate
    if g is not None:
        args.append(("g", g, dyn_bt))
        op += "(%g)"
    if init is not None:
        args.append(("s0", init, (0,) if dynamic else ()))
        op += " init(%s0)"
    if l2norm:
        op += " qk_l2norm"
    if neg:
        op += " allow_neg_eigval"
    in_types = [_type(a.shape, a.dtype, d) for _, a, d in args]
    o_type = _type((B, T, max(Hq, Hv), V), dtype, dyn_bt)
    s_type = _type((B, Hv, K, V), np.float32, (0,) if dynamic else ())
    params = ", ".join(f"%{n}: {t}" for (n, _, _), t in zip(args, in_types))
    src = (f"func.func @dr({params}) -> ({o_type}, {s_type}) {{\n"
           f"  %o, %s = {op} : ({', '.join(in_types)}) -> ({o_type}, {s_type})\n"
           f"  return %o, %s : {o_type}, {s_type}\n}}\n")
    o, s = _compile(src, kernels).dr(
        *[a for _, a, _ in args])
    ro, rs = reference.delta_rule(
        q, k, v, beta, g=g, gate=gate, initial_state=init,
        output_final_state=True, qk_l2norm=l2norm, allow_neg_eigval=neg)
    name = f"delta_rule/cuda-emu-{kernels}"
    dt = np.dtype(dtype).name
    record_rel_rms(name, dt, "o", reference.rel_rms(o, ro), TOL, case[0])
    record_rel_rms(name, dt, "state", reference.rel_rms(s, rs), TOL, case[0])
    assert np.isfinite(o.astype(np.float32)).all() and np.isfinite(s).all()
    assert reference.rel_rms(o, ro) < TOL
    assert reference.rel_rms(s, rs) < TOL


@pytest.mark.parametrize("dtype", [BF16, np.float32], ids=["bf16", "f32"])
@KERNELS
def test_scan_kernel_matches_reference(dtype, record_rel_rms, kernels):
    # One thread per (batch, channel); 300 channels spread over 3 blocks.
    rng = np.random.default_rng(11)
    B, T, D = 2, 33, 150
    x = rng.standard_normal((B, T, D)).astype(dtype)
    g = -rng.uniform(0.0, 1.0, (B, T, D)).astype(dtype)
    h0 = rng.standard_normal((B, D)).astype(np.float32)
    t = lambda shape: _type(shape, dtype, (1,))
    st = _type((B, D), np.float32)
    src = (f"func.func @scan(%x: {t(x.shape)}, %g: {t(g.shape)}, %h: {st}) -> "
           f"({t(x.shape)}, {st}) {{\n"
           f"  %o, %s = mix.scan %x, %g init(%h) : ({t(x.shape)}, "
           f"{t(g.shape)}, {st}) -> ({t(x.shape)}, {st})\n"
           f"  return %o, %s : {t(x.shape)}, {st}\n}}\n")
    o, s = _compile(src, kernels).scan(x, g, h0)
    ro, rs = reference.scan(x, g, initial_state=h0)
    limit = TOL if dtype == BF16 else 1e-5
    record_rel_rms(f"scan/cuda-emu-{kernels}", np.dtype(dtype).name, "o",
                   reference.rel_rms(o, ro), limit, "2x33x150")
    assert reference.rel_rms(o, ro) < limit
    assert reference.rel_rms(s, rs) < limit


TWO_PASS_CASES = [
    # Few blocks (batch x heads x value tiles) and >= 8 chunks: the states
    # pass, then all chunks' outputs in parallel.
    ("linear-scalar", "linear", "scalar", 1, 600, 1, 64, 64, BF16),
    ("gla-vector", "linear", "vector", 1, 330, 1, 128, 32, BF16),
    ("gated-deltanet", "delta", "scalar", 1, 520, 1, 64, 32, BF16),
    ("deltanet-f16-gqa", "delta", "none", 1, 530, 2, 32, 32, np.float16),
]


@pytest.mark.parametrize("case", TWO_PASS_CASES,
                         ids=[c[0] for c in TWO_PASS_CASES])
def test_two_pass_variant_matches_reference(case, record_rel_rms):
    name, kind, gate, B, T, H, K, V, dtype = case
    rng = np.random.default_rng(T)
    q, k, v, g, init = recurrent_inputs(rng, kind == "linear", gate, B, T, H,
                                        H, K, V, dtype, True, decay=0.2)
    args = [("q", q), ("k", k), ("v", v)]
    if kind == "delta":
        beta = rng.uniform(0.0, 1.0, (B, T, H)).astype(dtype)
        args.append(("beta", beta))
        op = "mix.delta_rule %q, %k, %v, %beta gate " + gate
    else:
        op = "mix.linear_attention %q, %k, %v gate " + gate
    if g is not None:
        args.append(("g", g))
        op += "(%g)"
    args.append(("s0", init))
    op += " init(%s0)"
    if kind == "delta":
        op += " qk_l2norm"
    types = [_type(a.shape, a.dtype) for _, a in args]
    o_type = _type((B, T, H, V), dtype)
    s_type = _type((B, H, K, V), np.float32)
    params = ", ".join(f"%{n}: {t}" for (n, _), t in zip(args, types))
    src = (f"func.func @f({params}) -> ({o_type}, {s_type}) {{\n"
           f"  %o, %s = {op} : ({', '.join(types)}) -> ({o_type}, {s_type})\n"
           f"  return %o, %s : {o_type}, {s_type}\n}}\n")
    o, s = mixir.compile(src, target="cuda-emulation").f(*[a for _, a in args])
    if kind == "delta":
        ro, rs = reference.delta_rule(q, k, v, beta, g=g, gate=gate,
                                      initial_state=init, qk_l2norm=True,
                                      output_final_state=True)
    else:
        ro, rs = reference.linear_attention(q, k, v, g=g, gate=gate,
                                            initial_state=init,
                                            output_final_state=True)
    dt = np.dtype(dtype).name
    record_rel_rms(f"{kind}/cuda-emu-2pass", dt, "o",
                   reference.rel_rms(o, ro), TOL, name)
    assert reference.rel_rms(o, ro) < TOL
    assert reference.rel_rms(s, rs) < TOL


@pytest.mark.parametrize("kernels", ["chunked", "hopper"])
def test_gated_deltanet_gate_prologue_runs_in_the_kernel(kernels,
                                                         record_rel_rms):
    """examples/gated_deltanet.mlir computes beta = sigmoid(b) and
    g = -exp(A_log) softplus(a + dt_bias) beside mix.delta_rule; on CUDA
    both are computed inside the kernel where it reads them
    (mix-fuse-elementwise-into-extracts; test/Pipelines/
    gate-prologue-in-kernel.mlir checks where). The result still matches
    the float64 reference of the whole layer, at an odd length."""
    repo = os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))
    sys.path.insert(0, os.path.join(repo, "examples"))
    try:
        import run_examples
    finally:
        sys.path.pop(0)
    rng = np.random.default_rng(5)
    args, ref = run_examples.make_gated_deltanet(rng, B=1, T=131)
    with open(os.path.join(repo, "examples", "gated_deltanet.mlir")) as f:
        src = f.read()
    o, s = _compile(src, kernels).gated_deltanet(*args)
    ro, rs = ref(reference)
    name = f"gated_deltanet example/cuda-emu-{kernels}"
    record_rel_rms(name, "bfloat16", "o", reference.rel_rms(o, ro), TOL,
                   "T131")
    record_rel_rms(name, "bfloat16", "state", reference.rel_rms(s, rs), TOL,
                   "T131")
    assert reference.rel_rms(o, ro) < TOL
    assert reference.rel_rms(s, rs) < TOL
