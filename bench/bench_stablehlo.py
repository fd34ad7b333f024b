"""Speed of JAX mixers imported through StableHLO (mixir.from_jax: raised to
mix ops, compiled by MixIR) against jax.jit of the same functions on the CPU,
same machine and inputs. Prints a markdown table.

    PYTHONPATH=build/python python3 bench/bench_stablehlo.py [--reps N] [--lengths 256 1024] [--only dot_product,Flax]

Rows: the gated DeltaNet written with lax.scan over T (raised to
mix.delta_rule) and GLA written in its quadratic (parallel) form (raised to
mix.linear_attention, which MixIR computes chunkwise); then both through
jax.lax.composite (`mixir.delta_rule`, `mixir.linear_attention` gate vector),
whose JAX side runs the decomposition (a lax.scan reference); then softmax
attention as JAX users call it (T <= 1024): `jax.nn.dot_product_attention`
with `is_causal=True`, with a causal `local_window_size` of 127 (128 keys), and
Flax NNX `MultiHeadAttention` (d_model H*K, projections included) with
`nnx.make_causal_mask` (when flax is installed), all raised to mix.attention.
"""

import argparse
import os
import pathlib
import sys

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "test" / "python"))
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


def attention_inputs(r, b, t, h, dk, dv):
    return tuple(r.standard_normal((b, t, h, dk)).astype(np.float32)
                 for _ in range(3))


def _dpa_causal(q, k, v):
    return jax.nn.dot_product_attention(q, k, v, is_causal=True)


def _dpa_local(q, k, v):
    return jax.nn.dot_product_attention(q, k, v, is_causal=True,
                                        local_window_size=(127, 0))


def flax_mha_case(h, dk):
    """(fn, make_inputs) for nnx.MultiHeadAttention over d_model = h * dk
    with a causal mask, or None without flax."""
    try:
        from flax import nnx
    except ImportError:
        return None
    d = h * dk
    mha = nnx.MultiHeadAttention(num_heads=h, in_features=d, qkv_features=d,
                                 decode=False, rngs=nnx.Rngs(0))
    graphdef, state = nnx.split(mha)

    def fn(x):
        return nnx.merge(graphdef, state)(x, mask=nnx.make_causal_mask(x[..., 0]))

    def make(r, b, t, h_, dk_, dv_):
        return (r.standard_normal((b, t, d)).astype(np.float32),)

    return fn, make


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--lengths", type=int, nargs="*", default=[256, 1024, 4096])
    ap.add_argument("--only", default="",
                    help="comma-separated words; rows whose label has one")
    args = ap.parse_args()
    b, h, dk, dv = 1, 4, 64, 64
    cases = [("gated DeltaNet, lax.scan", jm.gated_deltanet_scan, deltanet_inputs,
              "mix.delta_rule", t) for t in args.lengths]
    cases += [("GLA, quadratic form", jm.gla_quadratic, gla_inputs,
               "mix.linear_attention", t) for t in args.lengths if t >= 1024]
    cases += [("gated DeltaNet, composite", _deltanet_composite, deltanet_inputs,
               "mix.delta_rule", t) for t in args.lengths]
    cases += [("GLA, composite", _gla_composite, gla_inputs,
               "mix.linear_attention", t) for t in args.lengths if t >= 1024]
    short = [t for t in args.lengths if t <= 1024]
    cases += [("`jax.nn.dot_product_attention`, is_causal", _dpa_causal,
               attention_inputs, "mix.attention", t) for t in short]
    cases += [("`jax.nn.dot_product_attention`, is_causal, local_window_size (127, 0)",
               _dpa_local, attention_inputs, "mix.attention", t) for t in short]
    mha = flax_mha_case(h, dk)
    if mha is not None:
        cases += [("Flax NNX `MultiHeadAttention`, causal mask", mha[0], mha[1],
                   "mix.attention", t) for t in short]
    if args.only:
        words = args.only.split(",")
        cases = [c for c in cases if any(w in c[0] for w in words)]
    print(f"B={b} H={h} K={dk} V={dv}, f32, CPU (jax {jax.__version__}, "
          f"{jax.devices()[0].platform}); load average %.2f %.2f %.2f"
          % os.getloadavg())
    if mha is None:
        print("flax is not installed: no Flax NNX MultiHeadAttention rows")
    print()
    print("| mixer (as written in JAX) | T | MixIR ms | jax.jit ms | JAX/MixIR "
          "| rel-RMS | raised to |")
    print("|---|---:|---:|---:|---:|---:|---|")
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
        print(f"| {label} | {t} | {tm:.2f} | {tj:.2f} | {tj / tm:.2f} | {err:.1e} | {raised} |",
              flush=True)
    print("\nload average at end: %.2f %.2f %.2f" % os.getloadavg())


if __name__ == "__main__":
    main()
