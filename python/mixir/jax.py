"""jax.grad through MixIR's mixers on the CPU.

``linear_attention`` and ``scan`` are ``jax.custom_vjp`` functions whose
forward and backward are the compiled ``@mixer`` and the derived
``@mixer_backward`` of the same op (``mix-derive-backward``), called through
``jax.pure_callback`` on host numpy arrays. They compose with ``jax.jit``
and ``jax.grad``; shapes, dtypes, the gate kind and the chunk size are
static (a new signature compiles once, then comes from ``mixir.cache``).
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np

from . import _ops

__all__ = ["linear_attention", "scan"]


def _host(x):
    return None if x is None else np.asarray(x)


def _shape(x, dtype=None):
    return jax.ShapeDtypeStruct(x.shape, dtype or x.dtype)


# --- mix.linear_attention -------------------------------------------------

def _la_call(options, q, k, v, g, s0):
    gate, scale, chunk = options
    return _ops._recurrence_call("linear_attention", _host(q), _host(k),
                                 _host(v), _host(g), gate, scale, _host(s0),
                                 [], "", _ops._chunk_size(chunk))


def _la_out_shapes(q, v):
    B, T, hq, K = q.shape
    hv, V = v.shape[2], v.shape[3]
    return (jax.ShapeDtypeStruct((B, T, max(hq, hv), V), q.dtype),
            jax.ShapeDtypeStruct((B, hv, K, V), jnp.float32))


@functools.partial(jax.custom_vjp, nondiff_argnums=(0,))
def _la(options, q, k, v, g, s0):
    def host(q, k, v, g, s0):
        call = _la_call(options, q, k, v, g, s0)
        return tuple(call.module(True).functions["mixer"](*call.args))
    return jax.pure_callback(host, _la_out_shapes(q, v), q, k, v, g, s0)


def _la_fwd(options, q, k, v, g, s0):
    return _la(options, q, k, v, g, s0), (q, k, v, g, s0)


def _la_bwd(options, saved, cot):
    q, k, v, g, s0 = saved
    do, ds = cot
    present = [x for x in (q, k, v, g, s0) if x is not None]

    def host(q, k, v, g, s0, do, ds):
        call = _la_call(options, q, k, v, g, s0)
        grads = call.module(True).functions["mixer_backward"](
            *call.args, np.asarray(do), np.asarray(ds))
        return tuple(grads)
    grads = iter(jax.pure_callback(host, tuple(_shape(x) for x in present),
                                   q, k, v, g, s0, do.astype(q.dtype),
                                   ds.astype(jnp.float32)))
    return tuple(next(grads) if x is not None else None
                 for x in (q, k, v, g, s0))


_la.defvjp(_la_fwd, _la_bwd)


def linear_attention(q, k, v, g=None, gate="none", scale=None,
                     initial_state=None, *, chunk_size=None):
    """`mixir.linear_attention` as a differentiable JAX function of q, k, v,
    g and initial_state (float32 gates and state). Returns (o,
    final_state)."""
    if g is not None:
        g = jnp.asarray(g, jnp.float32)
    if initial_state is not None:
        initial_state = jnp.asarray(initial_state, jnp.float32)
    scale = float(q.shape[-1] ** -0.5 if scale is None else scale)
    return _la((gate, scale, chunk_size), q, k, v, g, initial_state)


# --- mix.scan -------------------------------------------------------------

def _scan_call(chunk, x, g, h0):
    return _ops._scan_call(_host(x), _host(g), _host(h0),
                           _ops._chunk_size(chunk))


@functools.partial(jax.custom_vjp, nondiff_argnums=(0,))
def _scan(chunk, x, g, h0):
    def host(x, g, h0):
        call = _scan_call(chunk, x, g, h0)
        return tuple(call.module(True).functions["mixer"](*call.args))
    shapes = (_shape(x), jax.ShapeDtypeStruct((x.shape[0], x.shape[2]),
                                              jnp.float32))
    return jax.pure_callback(host, shapes, x, g, h0)


def _scan_fwd(chunk, x, g, h0):
    return _scan(chunk, x, g, h0), (x, g, h0)


def _scan_bwd(chunk, saved, cot):
    x, g, h0 = saved
    do, dh = cot
    present = [t for t in (x, g, h0) if t is not None]

    def host(x, g, h0, do, dh):
        call = _scan_call(chunk, x, g, h0)
        return tuple(call.module(True).functions["mixer_backward"](
            *call.args, np.asarray(do), np.asarray(dh)))
    grads = iter(jax.pure_callback(host, tuple(_shape(t) for t in present),
                                   x, g, h0, do.astype(x.dtype),
                                   dh.astype(jnp.float32)))
    return tuple(next(grads) if t is not None else None for t in (x, g, h0))


_scan.defvjp(_scan_fwd, _scan_bwd)


def scan(x, g, initial_state=None, *, chunk_size=None):
    """`mixir.scan` (h = exp(g) * h + x) as a differentiable JAX function of
    x, g and initial_state. Returns (o, final_state)."""
    g = jnp.asarray(g, jnp.float32)
    if initial_state is not None:
        initial_state = jnp.asarray(initial_state, jnp.float32)
    return _scan(chunk_size, x, g, initial_state)
