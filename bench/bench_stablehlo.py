"""Speed of JAX mixers imported through StableHLO (mixir.from_jax: raised to
mix ops, compiled by MixIR) against jax.jit of the same functions on the CPU,
same machine and inputs. Prints a markdown table.

    PYTHONPATH=build/python python3 bench/bench_stablehlo.py [--reps N]

Rows: the gated DeltaNet written with lax.scan over T (raised to
mix.delta_rule) and GLA written in its quadratic (parallel) form (raised to
mix.linear_attention, which MixIR computes chunkwise); then both through
jax.lax.composite (`mixir.delta_rule`, `mixir.linear_attention` gate vector),
whose JAX side runs the decomposition (a lax.scan reference).
"""

import argparse
import pathlib
import sys

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "test" / "python" / "stablehlo_import"))

import jax  # noqa: E402

import mixir  # noqa: E402
from timing import median_ms  # noqa: E402
import jax_mixers as jm  # noqa: E402
from shlo_helpers import rel_rms  # noqa: E402


def deltanet_inputs(r, b, t, h, dk, dv):
    q = r.standard_normal((b, t, h, dk)).astype(np.float32)
    k = r.standard_normal((b, t, h, dk))
    k = (k / np.linalg.norm(k, axis=-1, keepdims=True)).astype(np.float32)
    v = r.standard_normal((b, t, h, dv)).astype(np.float32)
    beta = r.uniform(0.1, 0.9, (b, t, h)).astype(np.float32)
    g = (-np.abs(r.standard_normal((b, t, h))) * 0.05).astype(np.float32)
    return q, k, v, beta, g


def gla_inputs(r, b, t, h, dk, dv):
    q = r.standard_normal((b, t, h, dk)).astype(np.float32)
    k = (r.standard_normal((b, t, h, dk)) * 0.5).astype(np.float32)
    v = r.standard_normal((b, t, h, dv)).astype(np.float32)
    # Small per-channel decays keep exp(-G) of the quadratic form finite in f32.
    g = (-np.abs(r.standard_normal((b, t, h, dk))) * (2.0 / t)).astype(np.float32)
    return q, k, v, g


def _deltanet_composite(q, k, v, beta, g):
    return jm.composite_delta_rule(q, k, v, beta, g, gate="scalar")


def _gla_composite(q, k, v, g):
    return jm.composite_linear_attention(q, k, v, g, gate="vector")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--lengths", type=int, nargs="*", default=[256, 1024, 4096])
    args = ap.parse_args()
    b, h, dk, dv = 1, 4, 64, 64
    print(f"B={b} H={h} K={dk} V={dv}, f32, CPU (jax {jax.__version__}, "
          f"{jax.devices()[0].platform})\n")
    print("| mixer (as written in JAX) | T | MixIR ms | jax.jit ms | JAX/MixIR "
          "| rel-RMS | raised to |")
    print("|---|---:|---:|---:|---:|---:|---|")
    cases = [("gated DeltaNet, lax.scan", jm.gated_deltanet_scan, deltanet_inputs,
              "mix.delta_rule", t) for t in args.lengths]
    cases += [("GLA, quadratic form", jm.gla_quadratic, gla_inputs,
               "mix.linear_attention", t) for t in args.lengths if t >= 1024]
    cases += [("gated DeltaNet, composite", _deltanet_composite, deltanet_inputs,
               "mix.delta_rule", t) for t in args.lengths]
    cases += [("GLA, composite", _gla_composite, gla_inputs,
               "mix.linear_attention", t) for t in args.lengths if t >= 1024]
    for label, fn, make, op, t in cases:
        xs = make(np.random.default_rng(t), b, t, h, dk, dv)
        try:
            text = mixir.from_jax(fn, *xs)
        except mixir.CompileError as e:
            print(f"| {label} | {t} | n/a | | | | import failed: {str(e)[:120]} |")
            continue
        raised = op if op in text else "not raised"
        compiled = mixir.compile(text)
        mfn = compiled["main"] if "main" in compiled.functions else \
            next(iter(compiled.functions.values()))
        jfn = jax.jit(fn)
        ref = np.asarray(jfn(*xs))
        err = rel_rms(ref, mfn(*xs))
        tm = median_ms(lambda: mfn(*xs), args.reps)
        tj = median_ms(lambda: jfn(*xs).block_until_ready(), args.reps)
        print(f"| {label} | {t} | {tm:.2f} | {tj:.2f} | {tj / tm:.2f} | {err:.1e} | {raised} |")


if __name__ == "__main__":
    main()
