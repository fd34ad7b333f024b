"""Helpers shared by the paper examples in examples/models/.

Each example module defines ``PAPER`` (its table label) and ``run(rng)``,
which builds one small layer of the paper with seeded weights and inputs,
runs it through MixIR (functional ops or ``mixir.compile``, in float32),
checks it against a float64 reference of the paper's equations written in
numpy in the same file (never through MixIR), and returns table rows made by
``row(...)``. ``examples/models/run_models.py`` runs them all.
"""

import os
import sys
import time

# numpy's BLAS threads busy-wait between calls and then compete with MixIR's
# worker threads for the cores; the glue matmuls are small, so one thread.
# (Set before numpy is imported: the examples import this module first.)
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

# docs/MIXERS.md, "How results are compared": f32 inputs 1e-5, 1e-4 for the
# non-linear or delta-rule recurrences over long sequences, f16/bf16 5e-3.
F32_TOL = 1e-5
LONG_TOL = 1e-4
HALF_TOL = 5e-3


def use_build(build):
    """Puts BUILD/python first on sys.path, so ``import mixir`` finds it."""
    p = os.path.join(os.path.abspath(build), "python")
    if os.path.isdir(p) and p not in sys.path:
        sys.path.insert(0, p)


def rel_rms(ref, out):
    """rms(ref - out) / rms(ref), in float64; inf if out is not finite."""
    ref = np.asarray(ref, np.float64)
    out = np.asarray(out, np.float64)
    if ref.shape != out.shape:
        raise ValueError(f"shape {out.shape} != reference shape {ref.shape}")
    if not np.all(np.isfinite(out)):
        return float("inf")
    return float(np.sqrt(np.mean((ref - out) ** 2) / np.mean(ref ** 2)))


def timed(fn, reps=5):
    """Calls fn once (compiles, warms up), then reps times; returns the first
    result and the median seconds of the timed calls."""
    out = fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return out, float(np.median(times))


def row(paper, ops, outside, err, tol, tokens, seconds):
    """One table row; ``err`` is the largest rel-RMS of the layer's outputs."""
    return dict(paper=paper, ops=ops, outside=outside, err=err, tol=tol,
                ok=bool(err <= tol), tokens_per_s=tokens / seconds)


def weight(rng, d_in, d_out):
    """A dense layer's weight [d_in, d_out], scaled like torch's default."""
    return (rng.uniform(-1.0, 1.0, (d_in, d_out)) / np.sqrt(d_in)).astype(np.float32)


def attention_weights(rng, dm, H, K, V, **extra):
    """The projections of an H-head layer of width dm: q and k to H * K, v to
    H * V and the output back to dm; ``extra`` adds more weights."""
    return dict(wq=weight(rng, dm, H * K), wk=weight(rng, dm, H * K),
                wv=weight(rng, dm, H * V), wo=weight(rng, H * V, dm), **extra)


def project(x, p, H, names=("wq", "wk", "wv")):
    """x @ p[name] for each name, split into H heads: [..., H, width / H]."""
    return tuple((x @ p[n]).reshape(x.shape[:-1] + (H, -1)) for n in names)


def merge_heads(o, w_o):
    """[B, T, H, V] -> [B, T, H V], then the output projection."""
    return o.reshape(o.shape[:2] + (-1,)) @ w_o


def as_f64(x, p):
    """The reference's copies of the input and of every weight array."""
    return x.astype(np.float64), {n: np.asarray(a, np.float64) for n, a in p.items()}


def check(paper, ops, outside, tol, tokens, layer_fn, reference_fn):
    """Times layer_fn, compares its result with reference_fn's: one row."""
    y, sec = timed(layer_fn)
    return row(paper, ops, outside, rel_rms(reference_fn(), y), tol, tokens, sec)


# Element-wise functions, for any float dtype (the layers use them in f32,
# the references in f64).
def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def silu(x):
    return x * sigmoid(x)


def logsigmoid(x):
    return -np.logaddexp(0.0, -x)


def rmsnorm(x, eps=1e-6):
    """RMSNorm over the last axis, without a learned scale."""
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps)


def softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def main(name):
    """Runs the example module ``name`` on its own (its ``__main__``):
    prints its rows, exits 1 on a failure."""
    import argparse
    module = sys.modules[name]
    ap = argparse.ArgumentParser(description=module.__doc__.split("\n\n")[0])
    ap.add_argument("--build", default=os.path.join(REPO, "build"))
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    use_build(args.build)
    rows = module.run(np.random.default_rng(args.seed))
    for r in rows:
        print(f"{r['paper']}: {r['ops']}; outside: {r['outside']}; rel-RMS "
              f"{r['err']:.2e} (tol {r['tol']:.0e}) {'PASS' if r['ok'] else 'FAIL'}; "
              f"{r['tokens_per_s']:,.0f} tokens/s")
    sys.exit(0 if all(r["ok"] for r in rows) else 1)
