"""mix-split-segments: the two-pass (segment-parallel) schedule of linear
attention and the delta rule, against the float64 recurrence.

The pass rewrites each op into the op packed over P segments of every
sequence (their state contributions from zero states), the segments'
decays or transition products, a scan over the segments and the op packed
again from the states entering them. The rewritten module is compiled for
the CPU and for cuda-emulation (where the packed ops take the chunked form
on thread blocks, the sm_90a variant's products on wgmma). Lengths are odd,
and P is chosen so that some segments are shorter, and some empty (P > T).
"""

import pathlib
import subprocess

import ml_dtypes
import numpy as np
import pytest

import mixir
from mixer_inputs import recurrent_inputs
from mixir import reference

BF16 = ml_dtypes.bfloat16
BUILD = pathlib.Path(mixir.__file__).resolve().parents[2]
TOL = {np.dtype(np.float32): 1e-4, np.dtype(BF16): 5e-3}


def _type(shape, dtype, dynamic=()):
    dims = ["?" if i in dynamic else str(d) for i, d in enumerate(shape)]
    name = {np.dtype(BF16): "bf16", np.dtype(np.float32): "f32"}[
        np.dtype(dtype)]
    return "tensor<" + "x".join(dims + [name]) + ">"


def _source(op, args, o_shape, s_shape, dtype, dynamic):
    dyn = (0, 1) if dynamic else ()
    types = []
    for name, a in args:
        d = dyn if name in ("q", "k", "v", "beta") or (
            name == "g" and a.ndim >= 3) else ((0,) if dynamic and
                                                name == "s0" else ())
        types.append(_type(a.shape, a.dtype, d))
    o_type = _type(o_shape, dtype, dyn)
    s_type = _type(s_shape, np.float32, (0,) if dynamic else ())
    params = ", ".join(f"%{n}: {t}" for (n, _), t in zip(args, types))
    return (f"func.func @f({params}) -> ({o_type}, {s_type}) {{\n"
            f"  %o, %s = {op} : ({', '.join(types)}) -> ({o_type}, "
            f"{s_type})\n  return %o, %s : {o_type}, {s_type}\n}}\n")


def _split(src, segments):
    r = subprocess.run([str(BUILD / "bin" / "mixir-opt"), "-",
                        f"--mix-split-segments=segments={segments}"],
                       input=src, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    assert "varlen" in r.stdout
    return r.stdout


CASES = [
    # op, gate, B, T, Hq, Hv, K, V, dtype, init, segments, dynamic
    ("linear_attention", "none", 2, 77, 1, 1, 16, 24, np.float32, True, 3,
     True),
    ("linear_attention", "scalar", 2, 131, 2, 2, 32, 16, np.float32, False,
     4, True),
    ("linear_attention", "vector", 1, 90, 1, 1, 24, 16, np.float32, True, 5,
     False),
    ("linear_attention", "head", 2, 65, 2, 2, 16, 16, np.float32, True, 2,
     True),
    ("linear_attention", "scalar", 1, 5, 1, 1, 16, 16, np.float32, True, 8,
     True),
    ("linear_attention", "vector", 2, 150, 2, 2, 64, 64, BF16, True, 4,
     True),
    ("delta_rule", "none", 2, 77, 1, 1, 16, 24, np.float32, True, 3, True),
    ("delta_rule", "scalar", 2, 131, 2, 2, 32, 16, np.float32, False, 4,
     True),
    ("delta_rule", "vector", 1, 90, 1, 1, 24, 16, np.float32, True, 5,
     False),
    ("delta_rule", "scalar", 1, 6, 1, 1, 16, 16, np.float32, True, 8, True),
    ("delta_rule", "scalar", 2, 150, 2, 2, 64, 64, BF16, True, 4, True),
    # The gate in the inputs' 16-bit type; grouped values (Hv = 2 Hq), a
    # scale, negative eigenvalues.
    ("linear_attention", "scalar", 2, 99, 1, 2, 32, 16, BF16, True, 3, True,
     dict(gate_dtype=BF16, attrs=" scale = 0.3")),
    ("linear_attention", "head", 1, 70, 1, 1, 16, 16, BF16, False, 4, True,
     dict(gate_dtype=BF16)),
    ("delta_rule", "vector", 1, 83, 1, 2, 16, 24, np.float32, True, 3, True,
     dict(attrs=" scale = 0.3 qk_l2norm allow_neg_eigval")),
]


def _run(case, target, rng):
    (op, gate, B, T, Hq, Hv, K, V, dtype, init, segments, dynamic) = case[:12]
    extra = case[12] if len(case) > 12 else {}
    q, k, v, g, s0 = recurrent_inputs(rng, op == "linear_attention", gate, B,
                                      T, Hq, Hv, K, V, dtype, init)
    if g is not None and "gate_dtype" in extra:
        g = g.astype(extra["gate_dtype"])
    attrs = extra.get("attrs", " qk_l2norm" if op == "delta_rule" else "")
    scale = 0.3 if "scale" in attrs else None
    neg = "allow_neg_eigval" in attrs
    args = [("q", q), ("k", k), ("v", v)]
    text = f"mix.{op} %q, %k, %v"
    beta = None
    if op == "delta_rule":
        beta = rng.uniform(0.0, 2.0 if neg else 1.0,
                           (B, T, Hv)).astype(dtype)
        args.append(("beta", beta))
        text += ", %beta"
    text += " gate " + gate
    if g is not None:
        args.append(("g", g))
        text += "(%g)"
    if s0 is not None:
        args.append(("s0", s0))
        text += " init(%s0)"
    text += attrs
    src = _source(text, args, (B, T, max(Hq, Hv), V), (B, Hv, K, V), dtype,
                  dynamic)
    split = _split(src, segments)
    kw = dict(target=target)
    if target == "cuda-emulation-sm90a":
        kw = dict(target="cuda-emulation", chip="sm_90a", chunk_size=64)
    o, s = mixir.compile(split, **kw).f(*[a for _, a in args])
    if op == "delta_rule":
        ro, rs = reference.delta_rule(q, k, v, beta, g=g, gate=gate,
                                      scale=scale, initial_state=s0,
                                      output_final_state=True,
                                      qk_l2norm="qk_l2norm" in attrs,
                                      allow_neg_eigval=neg)
    else:
        ro, rs = reference.linear_attention(q, k, v, g=g, gate=gate,
                                            scale=scale, initial_state=s0,
                                            output_final_state=True)
    return o, s, ro, rs


@pytest.mark.parametrize("case", CASES,
                         ids=[f"{c[0]}-{c[1]}-T{c[3]}-P{c[10]}-"
                              f"{np.dtype(c[8]).name}" for c in CASES])
def test_split_matches_the_recurrence_on_the_cpu(case, record_rel_rms):
    rng = np.random.default_rng(case[3] * 7 + case[10])
    o, s, ro, rs = _run(case, "cpu", rng)
    tol = TOL[np.dtype(case[8])]
    name = f"{case[0]}/split-segments-cpu"
    dt = np.dtype(case[8]).name
    record_rel_rms(name, dt, "o", reference.rel_rms(o, ro), tol, case[1])
    record_rel_rms(name, dt, "state", reference.rel_rms(s, rs), tol, case[1])
    assert reference.rel_rms(o, ro) < tol
    assert reference.rel_rms(s, rs) < tol


GPU_CASES = [c for c in CASES if c[8] is BF16]


@pytest.mark.parametrize("target", ["cuda-emulation", "cuda-emulation-sm90a"])
@pytest.mark.parametrize("case", GPU_CASES,
                         ids=[f"{c[0]}-{c[1]}" for c in GPU_CASES])
def test_split_matches_the_recurrence_on_the_emulated_gpu(case, target,
                                                          record_rel_rms):
    rng = np.random.default_rng(case[3] * 7 + case[10])
    o, s, ro, rs = _run(case, target, rng)
    tol = TOL[np.dtype(case[8])]
    name = f"{case[0]}/split-segments-{target}"
    record_rel_rms(name, "bfloat16", "o", reference.rel_rms(o, ro), tol,
                   case[1])
    record_rel_rms(name, "bfloat16", "state", reference.rel_rms(s, rs), tol,
                   case[1])
    assert reference.rel_rms(o, ro) < tol
    assert reference.rel_rms(s, rs) < tol


def test_segments_must_be_positive():
    src = _source("mix.linear_attention %q, %k, %v gate none",
                  [("q", np.zeros((1, 4, 1, 8), np.float32)),
                   ("k", np.zeros((1, 4, 1, 8), np.float32)),
                   ("v", np.zeros((1, 4, 1, 8), np.float32))],
                  (1, 4, 1, 8), (1, 1, 8, 8), np.float32, False)
    r = subprocess.run([str(BUILD / "bin" / "mixir-opt"), "-",
                        "--mix-split-segments=segments=0"],
                       input=src, capture_output=True, text=True, timeout=60)
    assert r.returncode != 0
    assert "segments must be at least 1 and sm-count at least 0, got 0" \
        in r.stderr


@pytest.mark.parametrize("B,T", [(1, 1100), (1, 300), (3, 1100)],
                         ids=["split", "short-fused", "wide-fused"])
def test_run_time_choice_is_exact_both_ways(B, T, record_rel_rms):
    """sm-count=8 with 2 state heads: 4 segments, taken when B x 2 <= 4 and
    T >= 1024 (the guard test/Conversion/MixToLoops/split-segments.mlir
    checks). The same compiled function serves the three calls: the first
    takes the split, the others the fused op; all match the recurrence."""
    src = ("func.func @f(%q: tensor<?x?x2x16xf32>, %k: tensor<?x?x2x16xf32>,"
           " %v: tensor<?x?x2x8xf32>, %g: tensor<?x?x2xf32>)"
           " -> (tensor<?x?x2x8xf32>, tensor<?x2x16x8xf32>) {\n"
           "  %o, %s = mix.linear_attention %q, %k, %v gate scalar(%g)"
           " : (tensor<?x?x2x16xf32>, tensor<?x?x2x16xf32>,"
           " tensor<?x?x2x8xf32>, tensor<?x?x2xf32>)"
           " -> (tensor<?x?x2x8xf32>, tensor<?x2x16x8xf32>)\n"
           "  return %o, %s : tensor<?x?x2x8xf32>, tensor<?x2x16x8xf32>\n}\n")
    r = subprocess.run([str(BUILD / "bin" / "mixir-opt"), "-",
                        "--mix-split-segments=sm-count=8"],
                       input=src, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "scf.if" in r.stdout and "varlen" in r.stdout
    fn = _compiled(r.stdout)
    rng = np.random.default_rng(B * T)
    q = rng.standard_normal((B, T, 2, 16)).astype(np.float32)
    k = (rng.standard_normal((B, T, 2, 16)) / 4).astype(np.float32)
    v = rng.standard_normal((B, T, 2, 8)).astype(np.float32)
    g = -rng.uniform(0.0, 0.1, (B, T, 2)).astype(np.float32)
    o, s = fn.f(q, k, v, g)
    ro, rs = reference.linear_attention(q, k, v, g=g, gate="scalar",
                                        output_final_state=True)
    assert reference.rel_rms(o, ro) < 1e-4
    assert reference.rel_rms(s, rs) < 1e-4


_COMPILED = {}


def _compiled(text):
    if text not in _COMPILED:
        _COMPILED[text] = mixir.compile(text, target="cpu")
    return _COMPILED[text]
