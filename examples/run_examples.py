#!/usr/bin/env python3
"""Runs the example mixer layers in examples/ through mixir-run and checks them.

    python3 examples/run_examples.py --build build [--bench N] [--only NAME]

For every example: generate seeded, model-like inputs (gates in the natural-log
form the models use), write them as .npy files, run

    BUILD/bin/mixir-run EXAMPLE.mlir --entry=NAME --input=... --output-dir=...
                        --bench=N

load the outputs and compare every one of them (o and the final state) with the
float64 recurrent reference of docs/MIXERS.md (mixir.reference), by rel-RMS
``rms(ref - out) / rms(ref)``. Tolerances are MIXERS.md's: f32 inputs 1e-5
(1e-4 for mix.delta_rule), f16/bf16 inputs 5e-3, for o and the state alike.

Prints one table row per example and exits non-zero if any example fails its
tolerance or mixir-run reports an error (whose one-line message is printed).
"""

import argparse
import importlib.util
import os
import re
import subprocess
import sys
import tempfile
import time

import numpy as np

try:
    import ml_dtypes
except ImportError:  # pragma: no cover - ml_dtypes is a setup requirement
    sys.exit("run_examples.py: needs the ml_dtypes package (pip install ml_dtypes)")

BF16 = ml_dtypes.bfloat16
EXAMPLES_DIR = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(EXAMPLES_DIR)

# MIXERS.md, "How results are compared".
F32_TOL = 1e-5
F32_TOL_DELTA = 1e-4
HALF_TOL = 5e-3


def load_reference(build):
    """``mixir.reference`` from BUILD/python, else from the repo's python/.

    reference.py is pure numpy; if importing the ``mixir`` package fails (for
    instance because its __init__ needs a native extension that is not built),
    the module is loaded from its file instead.
    """
    paths = [os.path.join(build, "python"), os.path.join(REPO, "python")]
    for p in reversed(paths):
        if os.path.isdir(p) and p not in sys.path:
            sys.path.insert(0, p)
    try:
        from mixir import reference  # noqa: WPS433
        return reference
    except Exception:  # noqa: BLE001 - any import failure: use the file
        pass
    for p in paths:
        f = os.path.join(p, "mixir", "reference.py")
        if os.path.isfile(f):
            spec = importlib.util.spec_from_file_location("mixir_reference", f)
            mod = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(mod)
            return mod
    sys.exit("run_examples.py: cannot find mixir/reference.py under "
             + " or ".join(paths))


# --------------------------------------------------------------------------
# Input generators, one per example. Each returns (inputs, reference_fn,
# info) where inputs is the ordered list of arrays for the function's
# arguments and reference_fn(ref) returns the float64 expected outputs.
# --------------------------------------------------------------------------

def _normal(rng, shape, dtype):
    return rng.standard_normal(shape).astype(dtype)


def _logsigmoid(x):
    return -np.logaddexp(0.0, -x)


def _softplus(x):
    return np.logaddexp(0.0, x)


def make_gla(rng, B=2, T=1024, H=4, K=64, V=64):
    q = _normal(rng, (B, T, H, K), BF16)
    k = _normal(rng, (B, T, H, K), BF16)
    v = _normal(rng, (B, T, H, V), BF16)
    # GLA: g = logsigmoid(gk_proj(x)) / gate_logit_normalizer (16).
    g = (_logsigmoid(rng.standard_normal((B, T, H, K))) / 16.0).astype(np.float32)
    s0 = rng.standard_normal((B, H, K, V)).astype(np.float32)

    def ref(r):
        return r.linear_attention(q, k, v, g, gate="vector", scale=0.125,
                                  initial_state=s0, output_final_state=True)
    return [q, k, v, g, s0], ref


def make_gated_deltanet(rng, B=2, T=1024, H=4, K=64, V=64):
    q = _normal(rng, (B, T, H, K), BF16)
    k = _normal(rng, (B, T, H, K), BF16)
    v = _normal(rng, (B, T, H, V), BF16)
    b = _normal(rng, (B, T, H), BF16)   # b_proj output (beta logits)
    a = _normal(rng, (B, T, H), BF16)   # a_proj output (decay logits)
    # fla GatedDeltaNet initialisation: A ~ U(0, 16), A_log = log(A);
    # dt ~ logU(1e-3, 1e-1), dt_bias = softplus^-1(dt).
    a_log = np.log(rng.uniform(1.0, 16.0, H)).astype(np.float32)
    dt = np.exp(rng.uniform(np.log(1e-3), np.log(1e-1), H))
    dt = np.maximum(dt, 1e-4)
    dt_bias = (dt + np.log(-np.expm1(-dt))).astype(np.float32)

    def ref(r):
        b64, a64 = b.astype(np.float64), a.astype(np.float64)
        beta = 1.0 / (1.0 + np.exp(-b64))
        g = -np.exp(a_log.astype(np.float64)) * _softplus(a64 + dt_bias.astype(np.float64))
        return r.delta_rule(q, k, v, beta, g, gate="scalar",
                            output_final_state=True, qk_l2norm=True)
    return [q, k, v, b, a, a_log, dt_bias], ref


# ln(1 - 2^(-5 - h)) rounded to f32: the constant in examples/retnet.mlir.
RETNET_G = np.array([-0.031748697, -0.015748357, -0.007843178, -0.0039138994],
                    dtype=np.float32)


def make_retnet(rng, B=2, T=1024, H=4, K=64, V=128):
    assert np.array_equal(RETNET_G, np.log1p(-2.0 ** (-5.0 - np.arange(H))).astype(np.float32))
    q = _normal(rng, (B, T, H, K), np.float16)
    k = _normal(rng, (B, T, H, K), np.float16)
    v = _normal(rng, (B, T, H, V), np.float16)

    def ref(r):
        return r.linear_attention(q, k, v, RETNET_G, gate="head",
                                  output_final_state=True)
    return [q, k, v], ref


def make_swa(rng, B=2, T=1024, HQ=8, HKV=2, K=64, V=64, window=256):
    q = _normal(rng, (B, T, HQ, K), BF16)
    k = _normal(rng, (B, T, HKV, K), BF16)
    v = _normal(rng, (B, T, HKV, V), BF16)

    def ref(r):
        return (r.attention(q, k, v, causal=True, window=window),)
    return [q, k, v], ref


def make_hgrn(rng, B=2, T=1024, D=1024):
    i = rng.standard_normal((B, T, D)).astype(np.float32)
    # Forget-gate logits biased towards remembering (f = sigmoid ~ 0.7..0.95).
    f = (rng.standard_normal((B, T, D)) + 2.0).astype(np.float32)
    h0 = rng.standard_normal((B, D)).astype(np.float32)

    def ref(r):
        i64, f64 = i.astype(np.float64), f.astype(np.float64)
        x = i64 / (1.0 + np.exp(-i64)) * (1.0 / (1.0 + np.exp(f64)))
        g = _logsigmoid(f64)
        return r.scan(x, g, initial_state=h0)
    return [i, f, h0], ref


def _unit(x):
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def make_rwkv7(rng, B=2, T=1000, H=4, K=64, V=64):
    r = _normal(rng, (B, T, H, K), BF16)
    k = _normal(rng, (B, T, H, K), BF16)
    v = _normal(rng, (B, T, H, V), BF16)
    kk = _unit(rng.standard_normal((B, T, H, K))).astype(BF16)   # kappa_hat
    w_logit = _normal(rng, (B, T, H, K), BF16)
    a_logit = _normal(rng, (B, T, H, K), BF16)
    s0 = (0.5 * rng.standard_normal((B, H, K, V))).astype(np.float32)

    def ref(rr):
        # The recurrence definition: d = w, a = kappa_hat,
        # b = -(kappa_hat * a_rwkv), scale 1; ln w = -exp(-0.5) sigmoid(w_logit).
        log_w = -np.exp(-0.5) * _sigmoid(w_logit.astype(np.float64))
        kh = kk.astype(np.float64)
        b = -(kh * _sigmoid(a_logit.astype(np.float64)))
        return rr.recurrence(r, k, v, kh[:, :, :, None, :], b[:, :, :, None, :],
                             log_w, gate="vector", scale=1.0, initial_state=s0,
                             output_final_state=True)
    return [r, k, v, kk, w_logit, a_logit, s0], ref


def make_gated_deltaproduct(rng, B=2, T=500, H=4, K=64, V=64, n=2):
    q = _normal(rng, (B, T, H, K), BF16)
    k = _unit(rng.standard_normal((B, n * T, H, K))).astype(BF16)
    v = _normal(rng, (B, n * T, H, V), BF16)
    b = _normal(rng, (B, n * T, H), BF16)   # beta logits
    # Gated DeltaNet-like log decays, -exp(A_log) softplus(x + dt_bias) < 0.
    a_log = np.log(rng.uniform(1.0, 16.0, H))
    dt_bias = np.log(np.expm1(np.exp(rng.uniform(np.log(1e-3), np.log(1e-1), H))))
    g = (-np.exp(a_log) * _softplus(rng.standard_normal((B, T, H)) + dt_bias)).astype(np.float32)

    def ref(rr):
        # n sub-steps per token, each a rank-one step of the recurrence:
        # d = exp(g_t) on the first and 1 on the others, a = d k,
        # b = -beta k, v -> beta v; q on the last sub-step, o read there.
        beta = _sigmoid(b.astype(np.float64))[..., None]
        k64 = k.astype(np.float64)
        g_steps = np.zeros((B, T, n, H))
        g_steps[:, :, 0] = g
        g_steps = g_steps.reshape(B, n * T, H)
        q_steps = np.zeros((B, T, n, H, K))
        q_steps[:, :, n - 1] = q.astype(np.float64)
        a = np.exp(g_steps)[..., None] * k64
        o, s = rr.recurrence(q_steps.reshape(B, n * T, H, K), k64,
                             beta * v.astype(np.float64), a[:, :, :, None, :],
                             (-beta * k64)[:, :, :, None, :], g_steps,
                             gate="scalar", output_final_state=True)
        return o.reshape(B, T, n, H, V)[:, :, n - 1], s
    return [q, k, v, b, g], ref


def make_mamba2_negeig(rng, B=2, T=1000, H=4, N=64, P=64):
    x = _normal(rng, (B, T, H, P), BF16)
    bm = (0.5 * rng.standard_normal((B, T, H, N))).astype(BF16)
    cm = (0.5 * rng.standard_normal((B, T, H, N))).astype(BF16)
    dt_raw = rng.standard_normal((B, T, H)).astype(np.float32)
    # Mamba2's initialisation: A in [1, 16], dt in [1e-3, 1e-1] (as softplus).
    a_log = np.log(rng.uniform(1.0, 16.0, H)).astype(np.float32)
    dt_bias = np.log(np.expm1(np.exp(rng.uniform(np.log(1e-3), np.log(1e-1), H)))).astype(np.float32)

    def ref(rr):
        # S_t = d_t S_{t-1} + (dt_t B_t) x_t^T, y_t = S_t^T C_t, with
        # d = 2 exp(-dt exp(A_log)) - 1 in (-1, 1): the decay read as is.
        dt = _softplus(dt_raw.astype(np.float64) + dt_bias.astype(np.float64))
        d = 2.0 * np.exp(-dt * np.exp(a_log.astype(np.float64))) - 1.0
        k = bm.astype(np.float64) * dt[..., None]
        return rr.recurrence(cm.astype(np.float64), k, x.astype(np.float64),
                             None, None, d, gate="scalar", decay="signed",
                             scale=1.0, output_final_state=True)
    return [x, bm, cm, dt_raw, a_log, dt_bias], ref


def make_mom(rng, B=2, T=1000, H=3, M=5, topk=2, K=60, V=48):
    q = _normal(rng, (B, T, H, K), BF16)
    k = _normal(rng, (B, T, H, M, K), BF16)   # one key and value per memory
    v = _normal(rng, (B, T, H, M, V), BF16)
    b = _normal(rng, (B, T, H), BF16)         # beta logits
    g = rng.uniform(-0.5, -0.01, (B, T, H)).astype(np.float32)
    r = rng.standard_normal((B, T, M)).astype(np.float32)   # router logits
    s0 = (0.5 * rng.standard_normal((B, H, M, K, V))).astype(np.float32)

    def ref(rr):
        # The gathered form, not the example's masking: each memory runs the
        # gated delta rule over the tokens routed to it alone, and the outputs
        # are scattered back and summed with the router weights. Top-k ties go
        # to the lower memory index (a stable sort).
        r64 = r.astype(np.float64)
        order = np.argsort(-r64, axis=-1, kind="stable")[..., :topk]
        sel = np.zeros((B, T, M), bool)
        np.put_along_axis(sel, order, True, axis=-1)
        w = np.where(sel, np.exp(r64 - r64.max(-1, keepdims=True)), 0.0)
        w = w / w.sum(-1, keepdims=True)
        beta = _sigmoid(b.astype(np.float64))
        o = np.zeros((B, T, H, V))
        s = s0.astype(np.float64).copy()
        for bi in range(B):
            for m in range(M):
                idx = np.flatnonzero(sel[bi, :, m])
                if idx.size == 0:
                    continue
                tokens = lambda x: x[bi, idx][None]  # noqa: E731  [1, n, ...]
                o_m, s_m = rr.delta_rule(tokens(q), tokens(k)[:, :, :, m],
                                         tokens(v)[:, :, :, m], tokens(beta), tokens(g),
                                         gate="scalar", qk_l2norm=True,
                                         initial_state=s0[bi:bi + 1, :, m],
                                         output_final_state=True)
                o[bi, idx] += w[bi, idx, m, None, None] * o_m[0]
                s[bi, :, m] = s_m[0]
        return o, s
    return [q, k, v, b, g, r, s0], ref


def make_lstm_heads(rng, B=6, T=1000, H=4, D=64):
    bound = 1.0 / np.sqrt(D)   # torch's LSTM initialisation
    wx = _normal(rng, (B, T, H, 4, D), BF16)
    r = rng.uniform(-bound, bound, (H, 4, D, D)).astype(BF16)
    b = rng.uniform(-bound, bound, (H, 4, D)).astype(BF16)
    h0 = (0.5 * rng.standard_normal((B, H, D))).astype(np.float32)
    c0 = rng.standard_normal((B, H, D)).astype(np.float32)

    def ref(rr):
        h, (h_t, c_t) = rr.rnn(wx, r, b, cell="lstm", initial_state=(h0, c0))
        return h, h_t, c_t
    return [wx, r, b, h0, c0], ref


# One entry per example: the .mlir file and its function, the table labels,
# the generator (called with the B and T of `shape`) and the rel-RMS tolerance
# for every output. Some sequence lengths are deliberately not multiples of
# the chunk length (64) so partial last chunks are exercised.
EXAMPLES = [
    dict(name="gla", file="gla.mlir", entry="gla",
         op="linear_attention/vector", dtype="bf16",
         shape=(2, 1024, 4, 64, 64), make=make_gla, tol=HALF_TOL),
    dict(name="gated_deltanet", file="gated_deltanet.mlir", entry="gated_deltanet",
         op="delta_rule/scalar+l2", dtype="bf16",
         shape=(2, 1000, 4, 64, 64), make=make_gated_deltanet, tol=HALF_TOL),
    dict(name="retnet", file="retnet.mlir", entry="retnet",
         op="linear_attention/head", dtype="f16",
         shape=(2, 1024, 4, 64, 128), make=make_retnet, tol=HALF_TOL),
    dict(name="sliding_window_attention", file="sliding_window_attention.mlir",
         entry="sliding_window_attention", op="attention/causal,w=256,gqa",
         dtype="bf16", shape=(2, 1000, "8/2", 64, 64), make=make_swa, tol=HALF_TOL),
    dict(name="hgrn_scan", file="hgrn_scan.mlir", entry="hgrn",
         op="scan", dtype="f32", shape=(2, 1024, "D=1024", "-", "-"),
         make=make_hgrn, tol=F32_TOL),
    dict(name="rwkv7", file="rwkv7.mlir", entry="rwkv7",
         op="recurrence/vector,R=1", dtype="bf16",
         shape=(2, 1000, 4, 64, 64), make=make_rwkv7, tol=HALF_TOL),
    dict(name="gated_deltaproduct", file="gated_deltaproduct.mlir",
         entry="gated_deltaproduct", op="recurrence/scalar,R=1,n=2",
         dtype="bf16", shape=(2, 500, 4, 64, 64), make=make_gated_deltaproduct,
         tol=HALF_TOL),
    dict(name="mamba2_negeig", file="mamba2_negeig.mlir", entry="mamba2_negeig",
         op="recurrence/scalar,signed", dtype="bf16",
         shape=(2, 1000, 4, 64, 64), make=make_mamba2_negeig, tol=HALF_TOL),
    dict(name="mom", file="mom.mlir", entry="mom",
         op="delta_rule/scalar+l2,top-2 of 5", dtype="bf16",
         shape=(2, 1000, "3x5", 60, 48), make=make_mom, tol=HALF_TOL),
    dict(name="lstm_heads", file="lstm_heads.mlir", entry="lstm_heads",
         op="rnn/lstm", dtype="bf16", shape=(6, 1000, 4, 64, 64),
         make=make_lstm_heads, tol=HALF_TOL),
]


def kwargs_for(ex):
    """Generator keyword arguments matching the shape shown in the table."""
    b, t = ex["shape"][:2]
    return dict(B=b, T=t)


def load_output(path):
    """Loads an output .npy; bf16 arrays come back from numpy as '<V2'."""
    a = np.load(path)
    if a.dtype.kind == "V" and a.dtype.itemsize == 2:
        a = a.view(BF16)
    return a


def run_one(ex, runner, reference, bench, workdir, seed):
    rng = np.random.default_rng(seed)
    inputs, ref_fn = ex["make"](rng, **kwargs_for(ex))
    d = os.path.join(workdir, ex["name"])
    out_dir = os.path.join(d, "out")
    os.makedirs(out_dir, exist_ok=True)
    in_paths = []
    for n, arr in enumerate(inputs):
        p = os.path.join(d, f"in{n}.npy")
        np.save(p, arr)
        in_paths.append(p)
    cmd = [runner, os.path.join(EXAMPLES_DIR, ex["file"]), f"--entry={ex['entry']}"]
    cmd += [f"--input={p}" for p in in_paths]
    cmd += [f"--output-dir={out_dir}", f"--bench={bench}"]
    res = dict(o=None, state=None, ms=None, ok=False, error=None)
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    except subprocess.TimeoutExpired:
        res["error"] = "mixir-run timed out after 600 s"
        return res
    if proc.returncode != 0:
        lines = [l for l in proc.stderr.strip().splitlines() if l.strip()]
        res["error"] = (lines[-1] if lines else
                        f"mixir-run exited with code {proc.returncode} and no message")
        return res
    m = re.search(r"median ([0-9.]+) ms", proc.stdout)
    if bench > 0 and m:
        res["ms"] = float(m.group(1))
    expected = ref_fn(reference)
    errs = []
    for n, exp in enumerate(expected):
        p = os.path.join(out_dir, f"out{n}.npy")
        if not os.path.isfile(p):
            res["error"] = f"mixir-run wrote no out{n}.npy"
            return res
        got = load_output(p)
        if got.shape != exp.shape:
            res["error"] = f"out{n} has shape {got.shape}, expected {exp.shape}"
            return res
        if not np.all(np.isfinite(got.astype(np.float64))):
            errs.append(float("inf"))
        else:
            errs.append(reference.rel_rms(exp, got))
    res["o"] = errs[0]
    res["state"] = errs[1] if len(errs) > 1 else None
    res["ok"] = all(e <= ex["tol"] for e in errs)
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default="build", help="build directory (default: build)")
    ap.add_argument("--bench", type=int, default=5, help="timed runs per example (default 5)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--only", action="append", default=[],
                    help="run only this example (repeatable)")
    ap.add_argument("--keep", action="store_true",
                    help="keep the .npy inputs and outputs (prints their directory)")
    args = ap.parse_args()

    build = os.path.abspath(args.build)
    runner = os.path.join(build, "bin", "mixir-run")
    if not os.access(runner, os.X_OK):
        sys.exit(f"run_examples.py: no mixir-run at {runner} (build first: make build)")
    reference = load_reference(build)

    examples = [e for e in EXAMPLES if not args.only or e["name"] in args.only]
    if not examples:
        sys.exit(f"run_examples.py: no example named {args.only}; have "
                 + ", ".join(e["name"] for e in EXAMPLES))

    header = ["example", "op/gate", "dtype", "shape (B,T,H,K,V)", "rel-RMS o",
              "rel-RMS state", "tol", "result", "median ms", "tokens/s"]
    rows, failures = [], []
    workdir = tempfile.mkdtemp(prefix="mixir-examples-")
    try:
        for n, ex in enumerate(examples):
            t0 = time.time()
            res = run_one(ex, runner, reference, args.bench, workdir, args.seed + n)
            b, t = ex["shape"][:2]
            fmt = lambda e: "-" if e is None else f"{e:.2e}"  # noqa: E731
            status = "PASS" if res["ok"] else ("ERROR" if res["error"] else "FAIL")
            rows.append([ex["name"], ex["op"], ex["dtype"],
                         "(" + ",".join(str(s) for s in ex["shape"]) + ")",
                         fmt(res["o"]), fmt(res["state"]), f"{ex['tol']:.0e}", status,
                         "-" if res["ms"] is None else f"{res['ms']:.2f}",
                         "-" if not res["ms"] else f"{b * t / (res['ms'] / 1e3):,.0f}"])
            if not res["ok"]:
                why = res["error"] or "rel-RMS above tolerance {:.0e}: o {}, state {}".format(
                    ex["tol"], fmt(res["o"]), fmt(res["state"]))
                failures.append((ex["name"], why))
            print(f"  {ex['name']}: {status} ({time.time() - t0:.1f} s)", file=sys.stderr)
    finally:
        if args.keep:
            print(f"inputs and outputs kept in {workdir}", file=sys.stderr)
        else:
            import shutil
            shutil.rmtree(workdir, ignore_errors=True)

    widths = [max(len(str(r[c])) for r in [header] + rows) for c in range(len(header))]
    line = lambda r: "  ".join(str(x).ljust(w) for x, w in zip(r, widths)).rstrip()  # noqa: E731
    print(line(header))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print(line(r))
    for name, why in failures:
        print(f"{name}: {why}")
    if failures:
        print(f"{len(failures)} of {len(rows)} examples failed")
        return 1
    print(f"all {len(rows)} examples passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
