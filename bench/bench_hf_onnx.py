"""Speed of the Hugging Face `transformers` models of test/python/import_real/
(tiny random-weight decoders and linear-recurrent models, exported with
`torch.onnx.export(..., dynamo=True)`) imported with mixir-import-onnx
(raised) and compiled by MixIR for the CPU, against onnxruntime running the
same .onnx, on the same token ids, in one run. Prints a markdown table.

    PYTHONPATH=build/python python3 bench/bench_hf_onnx.py [--T 128] [--threads 2] [--reps 9] [--only llama,mamba2]

The models are the tests' (same configs and export recipe, hf_export.py's
cache in the build tree), exported for `--T` tokens (default 128; the
decoders' max_position_embeddings). Rows: every (family, attn_implementation,
opset) case of test_hf_decoders.py, then every family of
test_hf_recurrent.py. Both sides use `--threads` threads (MixIR through
OMP_NUM_THREADS, set before mixir is imported); times are medians of
`--reps` calls after one warm-up. The load average is printed before and
after.
"""

import argparse
import collections
import os
import pathlib
import platform
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
TESTS = ROOT / "test" / "python"
for sub in ("", "import_real", "onnx_import"):
    sys.path.insert(0, str(TESTS / sub))


def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def cases(only):
    """(label, export thunk) for every model row, filtered by family."""
    import test_hf_decoders as dec
    import test_hf_recurrent as rec
    out = []
    for family, impl, opset in dec.CASES:
        if not only or family in only:
            out.append((family, impl, opset or "default",
                        lambda t, f=family, i=impl, o=opset: dec.export(f, i, o, t),
                        dec.ids))
    for family in sorted(rec.EXPECTED):
        if not only or family in only:
            out.append((family, "torch", "default",
                        lambda t, f=family: rec.export(f, t), rec.ids))
    return out


def run_case(export, ids, t, threads, reps):
    """(MixIR ms, onnxruntime ms, rel-RMS between them, mix ops)."""
    import mixir
    import onnxruntime as ort
    from onnx_helpers import importer_path, rel_rms
    from timing import median_ms

    path, _ = export(t)
    text = subprocess.run([importer_path(), str(path)], check=True,
                          capture_output=True, text=True).stdout
    mix = collections.Counter(re.findall(r"\bmix\.[a-z_0-9]+", text))
    fn = next(iter(mixir.compile(text).functions.values()))
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    x = ids(t)
    feed = {sess.get_inputs()[0].name: x}

    def mixir_logits():
        out = fn(x)
        return out[0] if isinstance(out, tuple) else out

    err = rel_rms(sess.run(None, feed)[0], mixir_logits())
    tm = median_ms(mixir_logits, reps)
    to = median_ms(lambda: sess.run(None, feed), reps)
    ops = ", ".join(f"{n} {op}" for op, n in sorted(mix.items())) or "none"
    return tm, to, err, ops


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--T", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=9)
    ap.add_argument("--only", default="",
                    help="comma-separated families (llama, ..., mamba2)")
    args = ap.parse_args()
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    import onnxruntime as ort
    import torch
    import transformers

    only = {f for f in args.only.split(",") if f}
    print(f"T={args.T}, B=1, f32, {args.threads} threads each, median of "
          f"{args.reps}; {cpu_model()}, {os.cpu_count()} cores; "
          f"onnxruntime {ort.__version__}, torch {torch.__version__}, "
          f"transformers {transformers.__version__}")
    print("load average at start: %.2f %.2f %.2f\n" % os.getloadavg())
    print("| model | attn | opset | MixIR ms | onnxruntime ms | ort/MixIR "
          "| rel-RMS vs ort | mix ops |")
    print("|---|---|---|---:|---:|---:|---:|---|")
    for family, impl, opset, export, ids in cases(only):
        try:
            tm, to, err, ops = run_case(export, ids, args.T, args.threads,
                                        args.reps)
        except Exception as e:  # one model's failure must not hide the rest
            msg = " ".join(str(e).split())[:160]
            print(f"| {family} | {impl} | {opset} | n/a | | | | failed: {msg} |",
                  flush=True)
            continue
        print(f"| {family} | {impl} | {opset} | {tm:.2f} | {to:.2f} | "
              f"{to / tm:.2f} | {err:.1e} | {ops} |", flush=True)
    print("\nload average at end: %.2f %.2f %.2f" % os.getloadavg())


if __name__ == "__main__":
    main()
