"""Speed of imported gated-DeltaNet and GLA blocks (ONNX graph: projections, short
convolutions, norms, gates, LinearAttention, output projection) compiled by
MixIR against onnxruntime on the same machine and inputs. Prints a table.

    PYTHONPATH=build/python python3 bench/bench_onnx.py [--threads N]
"""

import argparse
import pathlib
import subprocess
import sys
import tempfile

import numpy as np
import onnx
import onnxruntime as ort

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "test" / "python" / "onnx_import"))

import mixir  # noqa: E402
from timing import median_ms  # noqa: E402
from onnx_blocks import gated_deltanet_block, gla_block  # noqa: E402
from onnx_helpers import importer_path, rel_rms  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=5)
    args = ap.parse_args()
    dm, hh, dk, dv, b = 512, 4, 128, 128, 1
    print(f"blocks: B={b} d_model={dm} H={hh} d_k={dk} d_v={dv}, f32, "
          f"{args.threads} threads")
    print(f"{'block':<15} {'T':>6} {'mixir ms':>10} {'ort ms':>10} {'ort/mixir':>10} "
          f"{'rel-RMS':>9}")
    cases = [("gated DeltaNet", gated_deltanet_block, t) for t in (256, 1024, 4096)]
    cases += [("GLA", gla_block, t) for t in (1024, 4096)]
    for label, make, t in cases:
        model = make(b, t, dm, hh, dk, dv, seed=3)
        with tempfile.TemporaryDirectory() as d:
            path = pathlib.Path(d) / "gdn.onnx"
            onnx.save(model, str(path))
            text = subprocess.run([importer_path(), str(path)], check=True,
                                  capture_output=True, text=True).stdout
        fn = next(iter(mixir.compile(text).functions.values()))
        so = ort.SessionOptions()
        so.intra_op_num_threads = args.threads
        so.inter_op_num_threads = 1
        sess = ort.InferenceSession(model.SerializeToString(), so,
                                    providers=["CPUExecutionProvider"])
        x = np.random.default_rng(t).standard_normal((b, t, dm)).astype(np.float32)
        err = rel_rms(sess.run(None, {"x": x})[0], fn(x))
        tm = median_ms(lambda: fn(x), args.reps)
        to = median_ms(lambda: sess.run(None, {"x": x}), args.reps)
        print(f"{label:<15} {t:>6} {tm:>10.2f} {to:>10.2f} {to / tm:>10.2f} {err:>9.1e}")


if __name__ == "__main__":
    main()
