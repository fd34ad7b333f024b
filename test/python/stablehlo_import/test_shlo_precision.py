"""Low-precision products: MIXERS.md asks for f32 accumulation everywhere.
A bf16 / f16 dot_general that stays a linalg contraction accumulates in f32
and rounds once (test_raise_and_errors.py checks that mix-raise still
recognises such products). The reference is a float64 product of the
rounded inputs."""

import ml_dtypes
import numpy as np
import pytest

import mixir
from shlo_helpers import compile_and_run, rel_rms, rng

# MIXERS.md limit for 16-bit inputs.
TOL_16 = 5e-3


@pytest.mark.parametrize("dtype", [ml_dtypes.bfloat16, np.float16])
def test_long_contraction_accumulates_in_f32(dtype, record_rel_rms):
    r = rng(3)
    x = (r.standard_normal((48, 4096)) * 0.5).astype(dtype)
    w = (r.standard_normal((4096, 40)) * 0.5).astype(dtype)
    text = mixir.from_jax(lambda a, b: a @ b, x, w)
    (out,) = compile_and_run(text, [x, w])
    ref = x.astype(np.float64) @ w.astype(np.float64)
    err = rel_rms(ref, np.asarray(out).astype(np.float64))
    record_rel_rms(f"jax matmul K=4096 ({np.dtype(dtype).name})", np.dtype(dtype).name,
                   "out0", err, TOL_16, "f64")
    # Accumulating 4096 products in 16 bits gives about 7e-2 here.
    assert err <= TOL_16
