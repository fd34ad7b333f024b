"""Diagonal (per-channel) linear recurrences written in JAX: `lax.scan`
loops with a vector state raise to mix.scan, `lax.associative_scan` over
the linear-recurrence combiner imports (its interior padding included) and
computes the same numbers. References are float64 numpy recurrences."""

from needs import need

need("jax")
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import mixir
from shlo_helpers import TOL, check_jax, compile_and_run, randn, rel_rms, rng


def ref_diag(a, b, h0=None):
    """h = a[t] * h + b[t] over dim 1 of [B, T, D] float64 arrays."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    h = np.zeros((a.shape[0],) + a.shape[2:]) if h0 is None else np.asarray(h0, np.float64)
    o = np.zeros(b.shape)
    for t in range(a.shape[1]):
        h = a[:, t] * h + b[:, t]
        o[:, t] = h
    return o, h


def check(text, args, refs, tol=TOL):
    outs = compile_and_run(text, args)
    assert len(outs) == len(refs)
    for i, (ref, out) in enumerate(zip(refs, outs)):
        err = rel_rms(ref, np.asarray(out, np.float64))
        assert err <= tol, f"output {i}: rel-RMS {err:.3e} > {tol:.0e}"


def combine(x, y):
    (a1, b1), (a2, b2) = x, y
    return a1 * a2, a2 * b1 + b2


def assoc_scan(a, b):
    """h[t] = a[t] h[t-1] + b[t] along dim 1 by an associative scan."""
    return jax.lax.associative_scan(combine, (a, b), axis=1)[1]


@pytest.mark.parametrize("T,D", [(1, 5), (63, 7), (300, 33)])
def test_associative_scan_imports(T, D):
    """The combiner's scan pads with interior padding; imported and run it
    matches the recurrence (and jax.jit)."""
    B = 2
    r = rng(T + D)
    a = r.uniform(0.5, 1.0, (B, T, D)).astype(np.float32)
    b = randn(r, B, T, D)
    text = check_jax(assoc_scan, (a, b))
    o, _ = ref_diag(a, b)
    check(text, [a, b], [o])


@pytest.mark.parametrize("shape,lo,hi,interior", [
    ((5,), (0,), (0,), (1,)),
    ((3, 7), (1, -2), (-1, 2), (2, 1)),
    ((1, 4), (2, 0), (0, -3), (3, 2)),
])
def test_interior_padding(shape, lo, hi, interior):
    """lax.pad with interior (and negative edge) padding, against a numpy
    construction: dilate, then pad or cut the edges."""
    r = rng(sum(shape))
    x = randn(r, *shape)
    cfg = list(zip(lo, hi, interior))

    def fn(x):
        return jax.lax.pad(x, jnp.float32(7.5), cfg)
    text = check_jax(fn, (x,))
    want = x.astype(np.float64)
    for d, (l, h, i) in enumerate(cfg):
        n = want.shape[d]
        shp = list(want.shape)
        shp[d] = n + (n - 1) * i if n else 0
        dil = np.full(shp, 7.5)
        idx = [slice(None)] * want.ndim
        idx[d] = slice(None, None, i + 1)
        dil[tuple(idx)] = want
        pad = [(0, 0)] * want.ndim
        pad[d] = (max(l, 0), max(h, 0))
        dil = np.pad(dil, pad, constant_values=7.5)
        idx[d] = slice(max(-l, 0), dil.shape[d] - max(-h, 0))
        want = dil[tuple(idx)]
    out = compile_and_run(text, [x])[0]
    np.testing.assert_allclose(out, want, rtol=0, atol=0)
