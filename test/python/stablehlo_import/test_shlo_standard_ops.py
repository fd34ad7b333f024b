"""One small JAX function per StableHLO op family (elementwise, compare and
select, iota, broadcast, reshape/transpose, slices, concatenate, pad,
dot_general with batch dims, reduce, convert, while), imported, compiled and
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
]


@pytest.mark.parametrize("name,fn,make", CASES, ids=[c[0] for c in CASES])
def test_op_family(name, fn, make, record_rel_rms):
    args = make(rng(80))
    check_jax(fn, args, tol=TOL, record=record_rel_rms, case=f"op {name}")
