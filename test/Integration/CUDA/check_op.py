"""Runs one mix op kind with target="cuda" on a few shapes and compares the
outputs with the float64 recurrent reference (python/mixir/reference.py) by
rel-RMS, as MIXERS.md prescribes (bf16/f16 inputs: below 5e-3 for o and the
final state; f32: 1e-5, 1e-4 for the delta rule).

    check_op.py OP [--gate G] [--qk-l2norm] [--dtype bf16|f16|f32] [--quick]
                   [--target cuda|cpu|cuda-emulation]

OP: linear_attention, delta_rule, attention, scan. Prints one line per case:
    PASS|FAIL <case>: o <err> (limit), state <err> ...
    COMPILE-FAIL <case>: <first diagnostic>     (the GPU pipeline refused it)
    RUNTIME-FAIL <case>: <CUDA error>
then "SUMMARY op: N passed, M failed"; exit status 1 if anything failed.
Inputs are random but seeded from the case, so reruns are identical.
"""

import argparse
import sys
import zlib

import numpy as np

import mixir
from mixir import reference as ref

try:
    import ml_dtypes
    BF16 = np.dtype(ml_dtypes.bfloat16)
except ImportError:  # pragma: no cover
    BF16 = None

DTYPES = {"bf16": BF16, "f16": np.dtype(np.float16), "f32": np.dtype(np.float32)}
F32_LIMIT = {"linear_attention": 1e-5, "delta_rule": 1e-4, "attention": 1e-5,
             "scan": 1e-5}
HALF_LIMIT = 5e-3
TARGET = "cuda"

# (B, T, H, K, V, with initial state): lengths that are not multiples of the
# chunk, a sequence shorter than a chunk, head dims that are not powers of two.
SHAPES = [(2, 63, 2, 64, 64, False), (1, 500, 4, 128, 128, True),
          (1, 1500, 2, 64, 64, False), (1, 300, 2, 60, 100, True)]
QUICK_SHAPES = SHAPES[:2]


def rng_for(name):
    return np.random.default_rng(zlib.crc32(name.encode()))


def normal(rng, shape, dtype, scale=1.0):
    return (rng.normal(size=shape) * scale).astype(np.float32).astype(dtype)


def log_sigmoid(x):
    return -np.logaddexp(0.0, -x)


def make_gate(rng, gate, b, t, h, k):
    if gate == "none":
        return None
    if gate == "head":   # RetNet decays ln(1 - 2^(-5-h))
        return np.log1p(-(2.0 ** (-5.0 - np.arange(h)))).astype(np.float32)
    if gate == "scalar":  # data-dependent, roughly [-3, 0)
        return np.maximum(log_sigmoid(rng.normal(1.5, 1.5, (b, t, h))),
                          -3.0).astype(np.float32)
    # vector: -softplus(x)/16 per channel (GLA-like)
    return (-np.logaddexp(0.0, rng.normal(size=(b, t, h, k))) / 16).astype(np.float32)


def run_case(op, args, shape):
    b, t, h, k, v_dim, init = shape
    dtype = DTYPES[args.dtype]
    gated = op in ("linear_attention", "delta_rule")
    name = (f"{op}{f' gate={args.gate}' if gated else ''}"
            f"{' qk_l2norm' if args.qk_l2norm else ''} "
            f"{args.dtype} B={b} T={t} H={h} K={k} V={v_dim}"
            f"{' init' if init else ''}")
    rng = rng_for(name)
    limit = HALF_LIMIT if args.dtype != "f32" else F32_LIMIT[op]
    s0 = None
    if op == "scan":
        x = normal(rng, (b, t, h * k), dtype)
        g = make_gate(rng, "scalar", b, t, h * k, 1)
        if init:
            s0 = rng.normal(size=(b, h * k)).astype(np.float32)
        call = lambda: mixir.scan(x, g, s0, target=TARGET)
        want = ref.scan(x, g, s0)
    elif op == "attention":
        q = normal(rng, (b, t, h, k), dtype)
        kk = normal(rng, (b, t, h, k), dtype)
        vv = normal(rng, (b, t, h, v_dim), dtype)
        call = lambda: (mixir.attention(q, kk, vv, causal=True, target=TARGET),)
        want = (ref.attention(q, kk, vv, causal=True),)
    else:
        q = normal(rng, (b, t, h, k), dtype)
        kk = normal(rng, (b, t, h, k), dtype, k ** -0.5)
        vv = normal(rng, (b, t, h, v_dim), dtype)
        g = make_gate(rng, args.gate, b, t, h, k)
        if init:
            s0 = rng.normal(size=(b, h, k, v_dim)).astype(np.float32)
        kw = dict(g=g, gate=args.gate, initial_state=s0, output_final_state=True)
        if op == "linear_attention":
            call = lambda: mixir.linear_attention(q, kk, vv, target=TARGET, **kw)
            want = ref.linear_attention(q, kk, vv, **kw)
        else:
            beta = (1.0 / (1.0 + np.exp(-rng.normal(size=(b, t, h))))).astype(np.float32)
            kw["qk_l2norm"] = args.qk_l2norm
            call = lambda: mixir.delta_rule(q, kk, vv, beta, target=TARGET, **kw)
            want = ref.delta_rule(q, kk, vv, beta, **kw)
    try:
        got = call()
    except mixir.CompileError as e:
        return "COMPILE-FAIL", name, str(e).splitlines()[0]
    except RuntimeError as e:
        return "RUNTIME-FAIL", name, str(e)
    except ValueError as e:  # the ops turn compile errors into ValueError
        return "COMPILE-FAIL", name, str(e).splitlines()[0]
    parts, ok = [], True
    for what, w, o in zip(("o", "state"), want, got):
        if w is None:
            continue
        if o is None or o.shape != w.shape:
            return "FAIL", name, f"{what} shape {None if o is None else o.shape}, " \
                                 f"expected {w.shape}"
        err = ref.rel_rms(w, o)
        good = err < limit  # NaN fails
        ok &= bool(good)
        parts.append(f"{what} {err:.2e} ({'<' if good else '>='} {limit:.0e})")
    return ("PASS" if ok else "FAIL"), name, ", ".join(parts)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("op", choices=["linear_attention", "delta_rule", "attention", "scan"])
    p.add_argument("--gate", default="none", choices=["none", "head", "scalar", "vector"])
    p.add_argument("--qk-l2norm", action="store_true")
    p.add_argument("--dtype", default="bf16", choices=sorted(DTYPES))
    p.add_argument("--quick", action="store_true", help="the first two shapes only")
    p.add_argument("--target", default="cuda", choices=["cuda", "cpu", "cuda-emulation"],
                   help="cpu checks this script itself where there is no GPU; "
                        "cuda-emulation runs the CUDA kernels' IR on CPU threads")
    args = p.parse_args()
    global TARGET
    TARGET = args.target
    if TARGET == "cuda":
        ok, why = mixir.cuda_status()
        if not ok:
            print(f"NO-DEVICE: {why}")
            return 1
        print(f"device: {why}")
    passed = failed = 0
    for shape in (QUICK_SHAPES if args.quick else SHAPES):
        status, name, detail = run_case(args.op, args, shape)
        print(f"{status} {name}: {detail}", flush=True)
        if status == "PASS":
            passed += 1
        else:
            failed += 1
    print(f"SUMMARY {args.op}: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
