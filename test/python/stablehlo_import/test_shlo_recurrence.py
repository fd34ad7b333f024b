"""Recurrences written with jax.lax.scan that are none of the specialised mix
ops (RWKV-7, Gated DeltaProduct, signed decays) import as mix.recurrence
(docs/MIXERS.md), run chunked, and match a float64 evaluation of the
recurrence written here in numpy."""

from needs import need

need("jax")
import re
import subprocess

import numpy as np
import pytest

import jax_mixers as jm
import mixir
from mixir._tools import tool_path
from shlo_helpers import check_refs, randn, rng, unit_keys

TOL = 1e-4  # f32 limit for mix.recurrence (docs/MIXERS.md)


def _f64(*xs):
    return [np.asarray(x, np.float64) for x in xs]


def ref_rwkv7(r, w, k, v, kappa, a):
    """RWKV-7 on a [V, K] state, float64, from its definition."""
    r, w, k, v, kappa, a = _f64(r, w, k, v, kappa, a)
    B, T, H, K = r.shape
    S = np.zeros((B, H, v.shape[-1], K))
    o = np.zeros(v.shape)
    for t in range(T):
        kk = kappa[:, t] / np.sqrt((kappa[:, t] ** 2).sum(-1, keepdims=True) + 1e-6)
        sa = np.einsum("bhvk,bhk->bhv", S, -kk)
        S = (S * w[:, t, :, None, :] + sa[..., None] * (kk * a[:, t])[:, :, None, :]
             + v[:, t, :, :, None] * k[:, t, :, None, :])
        o[:, t] = np.einsum("bhvk,bhk->bhv", S, r[:, t])
    return o, S


def ref_deltaproduct(q, k, v, beta, g):
    q, k, v, beta, g = _f64(q, k, v, beta, g)
    B, T, H, K = q.shape
    S = np.zeros((B, H, K, v.shape[-1]))
    o = np.zeros((B, T, H, v.shape[-1]))
    for t in range(T):
        S = S * np.exp(g[:, t])[:, :, None, None]
        for j in range(k.shape[3]):
            kj, vj, bj = k[:, t, :, j], v[:, t, :, j], beta[:, t, :, j]
            u = vj - np.einsum("bhk,bhkv->bhv", kj, S)
            S = S + bj[:, :, None, None] * kj[..., None] * u[:, :, None, :]
        o[:, t] = np.einsum("bhk,bhkv->bhv", q[:, t] * K ** -0.5, S)
    return o, S


def ref_signed(q, k, v, d):
    q, k, v, d = _f64(q, k, v, d)
    B, T, H, K = q.shape
    S = np.zeros((B, H, K, v.shape[-1]))
    o = np.zeros((B, T, H, v.shape[-1]))
    for t in range(T):
        S = S * d[:, t, :, None, None] + k[:, t, :, :, None] * v[:, t, :, None, :]
        o[:, t] = np.einsum("bhk,bhkv->bhv", q[:, t], S)
    return o, S


def imported(fn, args):
    text = mixir.from_jax(fn, *args)
    assert "mix.recurrence" in text, text[:4000]
    return text


def chunk_sizes(text):
    """The chunk lengths mix-select-algorithm gives the mix.recurrence ops
    when asked for chunks of 64 (without the option its cost model may keep
    the recurrent form at these small K and V)."""
    opt = tool_path("mixir-opt", "MIXIR_OPT")
    assert opt, "mixir-opt not found (build tree bin/, PATH or $MIXIR_OPT)"
    r = subprocess.run([opt, "--mix-select-algorithm=chunk-size=64", "-"],
                       input=text, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    ops = [l for l in r.stdout.splitlines() if "mix.recurrence" in l]
    assert ops, r.stdout[:4000]
    return [int(m.group(1)) if (m := re.search(r"chunk_size = (\d+)", l)) else 0
            for l in ops]


def rwkv7_inputs(seed, B, T, H, K, V, log_decay):
    r = rng(seed)
    w = r.uniform(0.6, 0.999, (B, T, H, K)).astype(np.float32)
    args = [randn(r, B, T, H, K, scale=0.5), np.log(w) if log_decay else w,
            randn(r, B, T, H, K, scale=0.3), randn(r, B, T, H, V),
            randn(r, B, T, H, K), r.uniform(0.0, 1.0, (B, T, H, K)).astype(np.float32)]
    return args, w


@pytest.mark.parametrize("log_decay", [False, True])
@pytest.mark.parametrize("T,K,V", [(1, 12, 12), (63, 20, 12), (150, 16, 24),
                                   (1500, 60, 64)])
def test_rwkv7_scan_raised(log_decay, T, K, V):
    """RWKV-7 (R = 1, vector decay, [V, K] state): w given as the decay
    (decay signed) or as its log with exp in the body (decay log)."""
    B, H = 2, 2
    args, w = rwkv7_inputs(T + K, B, T, H, K, V, log_decay)

    def fn(*xs):
        return jm.rwkv7_scan(*xs, log_decay=log_decay)
    text = imported(fn, args)
    assert ("decay signed" in text) != log_decay
    o, S = ref_rwkv7(args[0], w, *args[2:])
    check_refs(text, args, [o, S], tol=TOL)
    if T > 64:  # shorter sequences than one chunk run the recurrent form
        assert all(c > 0 for c in chunk_sizes(text))


@pytest.mark.parametrize("n", [2, 3])
@pytest.mark.parametrize("T", [1, 63, 101])
def test_gated_deltaproduct_scan_raised(n, T):
    """n Householder steps per token become n sub-steps of one
    mix.recurrence over T * n steps."""
    B, H, K, V = 1, 3, 20, 12
    r = rng(100 + n * T)
    q = randn(r, B, T, H, K)
    k = unit_keys(r, B, T, H, n, K)
    v = randn(r, B, T, H, n, V)
    beta = r.uniform(0.1, 0.9, (B, T, H, n)).astype(np.float32)
    g = (-np.abs(r.standard_normal((B, T, H))) * 0.1).astype(np.float32)
    args = [q, k, v, beta, g]
    text = imported(jm.gated_deltaproduct_scan, args)
    assert re.search(rf"-> \(tensor<1x{T * n}x{H}x{V}xf32>", text), text[:4000]
    check_refs(text, args, list(ref_deltaproduct(*args)), tol=TOL)
    if T >= 63:
        assert all(c > 0 for c in chunk_sizes(text))


@pytest.mark.parametrize("T", [1, 63, 257])
def test_signed_decay_scan_raised(T):
    """A per-token decay in [-1, 1] read as is: decay signed, scalar gate."""
    B, H, K, V = 2, 2, 12, 20
    r = rng(7 + T)
    q, k, v = randn(r, B, T, H, K), randn(r, B, T, H, K, scale=0.3), randn(r, B, T, H, V)
    d = r.uniform(-1.0, 1.0, (B, T, H)).astype(np.float32)
    args = [q, k, v, d]
    text = imported(jm.signed_decay_scan, args)
    assert "decay signed" in text and "gate scalar" in text
    check_refs(text, args, list(ref_signed(*args)), tol=TOL)


@pytest.mark.parametrize("T", [63, 150])
def test_reverse_scan_raised(T):
    """lax.scan(reverse=True) reads token T - 1 - i at step i and writes its
    output there: the mix op runs on the reversed sequence (a signed decay
    keeps it off the specialised ops, so this goes through mix.recurrence
    and its loop fission)."""
    import jax.numpy as jnp
    from jax import lax
    B, H, K, V = 2, 2, 12, 20
    r = rng(11 + T)
    q, k, v = randn(r, B, T, H, K), randn(r, B, T, H, K, scale=0.3), randn(r, B, T, H, V)
    d = r.uniform(-1.0, 1.0, (B, T, H)).astype(np.float32)

    def backwards(q, k, v, d):
        def step(S, xs):
            qt, kt, vt, dt = xs
            S = S * dt[:, :, None, None] + jnp.einsum("bhk,bhv->bhkv", kt, vt)
            return S, jnp.einsum("bhk,bhkv->bhv", qt, S)
        xs = [jnp.swapaxes(x, 0, 1) for x in (q, k, v, d)]
        S0 = jnp.zeros((q.shape[0], q.shape[2], q.shape[3], v.shape[3]), q.dtype)
        S, o = lax.scan(step, S0, xs, reverse=True)
        return jnp.swapaxes(o, 0, 1), S

    args = [q, k, v, d]
    text = imported(backwards, args)
    assert "decay signed" in text
    o, S = ref_signed(*[x[:, ::-1] for x in args])
    check_refs(text, args, [o[:, ::-1], S], tol=TOL)


def test_nonlinear_scan_not_raised():
    """tanh of the state is not a linear recurrence: the loop stays a loop,
    and still computes the same numbers."""
    B, T, H, K, V = 1, 9, 2, 8, 6
    r = rng(3)
    q, k, v = randn(r, B, T, H, K), randn(r, B, T, H, K), randn(r, B, T, H, V)
    text = mixir.from_jax(jm.nonlinear_scan, q, k, v)
    assert "mix." not in text
    S = np.zeros((B, H, K, V))
    o = np.zeros((B, T, H, V))
    for t in range(T):
        S = np.tanh(S) + k[:, t, :, :, None].astype(np.float64) * v[:, t, :, None, :]
        o[:, t] = np.einsum("bhk,bhkv->bhv", q[:, t], S)
    check_refs(text, [q, k, v], [o], tol=1e-5)


def test_negative_output_factor_not_raised_wrongly():
    """o = -(S^T q): mix ops take a positive scale, so the loop is either
    raised with the sign inside an operand or left as a loop; either way the
    import succeeds and the numbers are right."""
    import jax.numpy as jnp
    from jax import lax

    def fn(q, k, v, d):
        def step(S, xs):
            qt, kt, vt, dt = xs
            S = S * dt[:, :, None, None] + jnp.einsum("bhk,bhv->bhkv", kt, vt)
            return S, -jnp.einsum("bhk,bhkv->bhv", qt, S)
        xs = tuple(jnp.swapaxes(x, 0, 1) for x in (q, k, v, d))
        S0 = jnp.zeros(q.shape[:1] + q.shape[2:] + v.shape[-1:], jnp.float32)
        S, o = lax.scan(step, S0, xs)
        return jnp.swapaxes(o, 0, 1), S

    B, T, H, K, V = 1, 33, 2, 8, 6
    r = rng(11)
    q, k, v = randn(r, B, T, H, K), randn(r, B, T, H, K, scale=0.3), randn(r, B, T, H, V)
    d = r.uniform(-1.0, 1.0, (B, T, H)).astype(np.float32)
    text = mixir.from_jax(fn, q, k, v, d)
    o, S = ref_signed(q, k, v, d)
    check_refs(text, [q, k, v, d], [-o, S], tol=TOL)
