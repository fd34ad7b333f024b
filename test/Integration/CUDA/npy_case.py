"""Inputs and the check for mixir-run-scan.test: `make DIR` writes x.npy
(bf16) and g.npy (f32) [2, 777, 256]; `check DIR` compares DIR/out/out0.npy
and out1.npy with the f64 reference (rel-RMS below 5e-3) and exits 1 if not."""
import sys

import ml_dtypes
import numpy as np

from mixir import reference as ref

mode, d = sys.argv[1], sys.argv[2]
rng = np.random.default_rng(7)
x = rng.normal(size=(2, 777, 256)).astype(np.float32).astype(ml_dtypes.bfloat16)
g = np.maximum(-np.logaddexp(0.0, -rng.normal(1.5, 1.5, x.shape)), -3.0).astype(np.float32)
if mode == "make":
    np.save(f"{d}/x.npy", x)
    np.save(f"{d}/g.npy", g)
    sys.exit(0)
want = ref.scan(x, g)
bad = False
for what, w, i in (("o", want[0], 0), ("state", want[1], 1)):
    got = np.load(f"{d}/out/out{i}.npy")
    if got.dtype.kind == "V" and got.dtype.itemsize == 2:  # bf16 as saved
        got = got.view(ml_dtypes.bfloat16)
    if got.shape != w.shape:
        print(f"{what} shape {got.shape}, expected {w.shape}")
        bad = True
        continue
    err = ref.rel_rms(w, got.astype(np.float64))
    ok = err < 5e-3
    bad |= not ok
    print(f"{what} rel-rms {err:.2e} {'ok' if ok else 'FAIL (>= 5e-3)'}")
sys.exit(1 if bad else 0)
