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
from shlo_helpers import check_jax, check_refs, compile_and_run, randn, rng


def ref_diag(a, b, h0=None):
    """h = a[t] * h + b[t] over dim 1 of [B, T, D] float64 arrays."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    h = np.zeros((a.shape[0],) + a.shape[2:]) if h0 is None else np.asarray(h0, np.float64)
    o = np.zeros(b.shape)
    for t in range(a.shape[1]):
        h = a[:, t] * h + b[:, t]
        o[:, t] = h
    return o, h


def time_major(*xs):
    return tuple(jnp.swapaxes(x, 0, 1) for x in xs)


def run_scan(step, h0, *xs):
    """lax.scan over dim 1 of [B, T, ...] inputs; returns (ys [B, T, ...], h)."""
    h, ys = jax.lax.scan(step, h0, time_major(*xs))
    return jnp.swapaxes(ys, 0, 1), h


def exp_decay(lg, x):
    """h = exp(lg) * h + x, state [B, D], outputs h."""
    def step(h, inp):
        l, xt = inp
        h = jnp.exp(l) * h + xt
        return h, h
    return run_scan(step, jnp.zeros((lg.shape[0],) + lg.shape[2:], lg.dtype), lg, x)


def hgrn_like(h0, lg, x):
    """HGRN-style: b = (1 - exp(lg)) * x computed in the body, a given
    initial state, output 2 h."""
    def step(h, inp):
        l, xt = inp
        a = jnp.exp(l)
        h = a * h + (1.0 - a) * xt
        return h, 2.0 * h
    return run_scan(step, h0, lg, x)


def per_head_decay(lg, x):
    """State [B, H, D]; one log decay per (batch, head), broadcast over D."""
    def step(h, inp):
        l, xt = inp
        h = jnp.exp(l)[..., None] * h + xt
        return h, h
    return run_scan(step, jnp.zeros(x.shape[:1] + x.shape[2:], x.dtype), lg, x)


def raw_decay(a, x):
    """The decay given as is (not as exp of a value)."""
    def step(h, inp):
        at, xt = inp
        h = at * h + xt
        return h, h
    return run_scan(step, jnp.zeros((a.shape[0],) + a.shape[2:], a.dtype), a, x)


def exclusive(lg, x):
    """The output read before the update: h_{t-1}, not a multiple of h_t."""
    def step(h, inp):
        l, xt = inp
        return jnp.exp(l) * h + xt, h
    return run_scan(step, jnp.zeros((lg.shape[0],) + lg.shape[2:], lg.dtype), lg, x)


def vector_state(lg, x):
    """State [D], inputs [T, D] scanned as they are (no batch dim)."""
    def step(h, inp):
        l, xt = inp
        h = xt + h * jnp.exp(l)
        return h, h
    h, ys = jax.lax.scan(step, jnp.zeros(lg.shape[1:], lg.dtype), (lg, x))
    return ys, h


def nonlinear(lg, x):
    def step(h, inp):
        l, xt = inp
        h = jnp.tanh(jnp.exp(l) * h) + xt
        return h, h
    return run_scan(step, jnp.zeros((lg.shape[0],) + lg.shape[2:], lg.dtype), lg, x)


def diag_inputs(seed, *shape):
    r = rng(seed)
    lg = np.log(r.uniform(0.5, 0.999, shape)).astype(np.float32)
    return r, lg, randn(r, *shape)


@pytest.mark.parametrize("T,D", [(1, 5), (63, 7), (300, 33)])
def test_exp_decay_raised(T, D):
    B = 3
    _, lg, x = diag_inputs(T * D, B, T, D)
    text = mixir.from_jax(exp_decay, lg, x)
    assert "mix.scan" in text, text[:4000]
    check_refs(text, [lg, x], list(ref_diag(np.exp(lg.astype(np.float64)), x)))


@pytest.mark.parametrize("T,D", [(1, 3), (63, 9), (300, 17)])
def test_computed_input_initial_state_and_scale(T, D):
    B = 2
    r, lg, x = diag_inputs(T + D, B, T, D)
    h0 = randn(r, B, D)
    text = mixir.from_jax(hgrn_like, h0, lg, x)
    assert "mix.scan" in text and "init(" in text, text[:4000]
    a = np.exp(lg.astype(np.float64))
    o, h = ref_diag(a, (1.0 - a) * x, h0)
    check_refs(text, [h0, lg, x], [2.0 * o, h])


@pytest.mark.parametrize("T", [1, 63, 300])
def test_per_head_decay_rank3_state(T):
    B, H, D = 2, 3, 5
    r = rng(T)
    lg = np.log(r.uniform(0.5, 0.999, (B, T, H))).astype(np.float32)
    x = randn(r, B, T, H, D)
    text = mixir.from_jax(per_head_decay, lg, x)
    assert "mix.scan" in text, text[:4000]
    a = np.broadcast_to(np.exp(lg.astype(np.float64))[..., None], x.shape)
    check_refs(text, [lg, x], list(ref_diag(a, x)))


@pytest.mark.parametrize("T,D", [(1, 1), (63, 7), (300, 5)])
def test_vector_state_raised(T, D):
    _, lg, x = diag_inputs(T - D, T, D)
    text = mixir.from_jax(vector_state, lg, x)
    assert "mix.scan" in text, text[:4000]
    o, h = ref_diag(np.exp(lg.astype(np.float64))[None], x[None])
    check_refs(text, [lg, x], [o[0], h[0]])


@pytest.mark.parametrize("fn", [raw_decay, nonlinear, exclusive])
def test_not_raised_still_correct(fn):
    """A decay given as is (log(a) is valid only for a > 0, which random
    probes cannot promise), a body nonlinear in h and an output read before
    the update stay loops, and still compute the recurrence."""
    B, T, D = 2, 63, 7
    r, lg, x = diag_inputs(5, B, T, D)
    a = np.exp(lg.astype(np.float64))
    first = a if fn is raw_decay else lg
    first = np.asarray(first, np.float32)
    text = mixir.from_jax(fn, first, x)
    assert "mix." not in text and "scf.while" in text, text[:4000]
    h = np.zeros((B, D))
    o = np.zeros((B, T, D))
    for t in range(T):
        lin = a[:, t] * h
        o[:, t] = h
        h = (np.tanh(lin) if fn is nonlinear else lin) + x[:, t]
        if fn is not exclusive:
            o[:, t] = h
    check_refs(text, [first, x], [o, h])


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
    check_refs(text, [a, b], [o])


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
