"""One small JAX function per StableHLO op family (elementwise, compare and
select, iota, broadcast, reshape/transpose, slices, concatenate, pad,
dot_general with batch dims, reduce, convert, while, gather, cumulative
sums, depthwise 1-D convolution), imported, compiled and
compared with JAX."""

import numpy as np
import pytest

import jax_ops as ops
from shlo_helpers import TOL, check_jax, randn, rng


def f32(r, *shape):
    return randn(r, *shape)


CASES = [
    ("elementwise", ops.elementwise, lambda r: (f32(r, 3, 5), f32(r, 3, 5))),
    ("compare_select", ops.compare_select, lambda r: (f32(r, 3, 5), f32(r, 3, 5))),
    ("iota_broadcast", ops.iota_broadcast, lambda r: (f32(r, 2, 7, 3),)),
    ("reshape_transpose", ops.reshape_transpose, lambda r: (f32(r, 2, 6, 4),)),
    ("slices", ops.slices, lambda r: (f32(r, 2, 20, 3), np.array(6, np.int32))),
    ("concat_pad", ops.concat_pad, lambda r: (f32(r, 2, 4, 3), f32(r, 2, 5, 3))),
    ("dot_general", ops.dot_general, lambda r: (f32(r, 2, 3, 4), f32(r, 2, 4, 4))),
    ("reduce", ops.reduce, lambda r: (f32(r, 2, 7, 5),)),
    ("convert", ops.convert, lambda r: (f32(r, 4, 6),)),
    ("while", ops.fori, lambda r: (f32(r, 4, 6),)),
    ("gather", ops.gather, lambda r: (f32(r, 8, 3), np.array([3, 0, -1, 3], np.int32))),
    ("cumsum_cummax", ops.cumsum, lambda r: (f32(r, 2, 37, 5),)),
    ("short_conv", ops.short_conv, lambda r: (f32(r, 2, 37, 6), f32(r, 4, 1, 6))),
]


@pytest.mark.parametrize("name,fn,make", CASES, ids=[c[0] for c in CASES])
def test_op_family(name, fn, make, record_rel_rms):
    args = make(rng(80))
    check_jax(fn, args, tol=TOL, record=record_rel_rms, case=f"op {name}")


def test_unused_argument_is_kept(record_rel_rms):
    """from_jax keeps arguments the function ignores (jax drops them by
    default), so the compiled function takes what the JAX one takes."""
    r = rng(81)
    check_jax(lambda x, unused, y: x * 2 + y, (f32(r, 3, 4), f32(r, 5), f32(r, 3, 4)),
              record=record_rel_rms, case="unused argument")
