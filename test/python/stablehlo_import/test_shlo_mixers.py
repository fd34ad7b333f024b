"""Mixers written in JAX, imported with mixir.from_jax, compiled by MixIR and
compared with JAX's own outputs: the written-out forms mix-raise must
recognise (quadratic GLA, lax.scan loops, sliding-window softmax attention)
and every mixer through jax.lax.composite."""

from needs import need

need("jax")
import jax.numpy as jnp
import ml_dtypes
import numpy as np
import pytest
from jax import lax

import jax_mixers as jm
import mixir
from mixir import reference
from shlo_helpers import (TOL, TOL_DELTA, check_jax, compile_and_run, log_gate, randn,
                          rel_rms, rng, unit_keys)

# Odd sizes on purpose (MIXERS.md: not multiples of the chunk, not powers of 2).
B, T, H, K, V = 2, 37, 2, 20, 12


def qkv(seed, t=T, unit_k=False):
    r = rng(seed)
    q = randn(r, B, t, H, K)
    k = unit_keys(r, B, t, H, K) if unit_k else randn(r, B, t, H, K, scale=0.5)
    v = randn(r, B, t, H, V)
    return r, q, k, v


# --- raised written-out forms ----------------------------------------------------------------
def test_gla_quadratic_raised(record_rel_rms):
    r, q, k, v = qkv(1)
    g = log_gate(r, B, T, H, K, scale=0.05)
    check_jax(jm.gla_quadratic, (q, k, v, g), expect="mix.linear_attention",
              record=record_rel_rms, case="GLA quadratic (raised)")


def test_gated_deltanet_scan_raised(record_rel_rms):
    r, q, k, v = qkv(2, unit_k=True)
    beta = r.uniform(0.1, 0.9, (B, T, H)).astype(np.float32)
    g = log_gate(r, B, T, H)
    check_jax(jm.gated_deltanet_scan, (q, k, v, beta, g), tol=TOL_DELTA,
              expect="mix.delta_rule", record=record_rel_rms,
              case="gated DeltaNet lax.scan (raised)")


@pytest.mark.parametrize("gate", ["none", "scalar"])
def test_linear_attention_scan_raised(gate, record_rel_rms):
    r, q, k, v = qkv(3)
    if gate == "none":
        fn, args = jm.linear_attention_scan, (q, k, v)
    else:
        def fn(q, k, v, g):
            return jm.linear_attention_scan(q, k, v, g)
        args = (q, k, v, log_gate(r, B, T, H))
    check_jax(fn, args, expect="mix.linear_attention", record=record_rel_rms,
              case=f"linear attention lax.scan gate {gate} (raised)")


def test_deltanet_neg_eigval_scan_raised(record_rel_rms):
    """beta doubled and q/k normalised inside the body: raised with
    qk_l2norm and allow_neg_eigval, final state included."""
    r, q, k, v = qkv(6)
    beta = r.uniform(0.0, 1.0, (B, T, H)).astype(np.float32)
    text = check_jax(jm.deltanet_neg_eigval_scan, (q, k, v, beta), tol=TOL_DELTA,
                     expect=["mix.delta_rule", "qk_l2norm", "allow_neg_eigval"],
                     record=record_rel_rms, case="DeltaNet neg. eigenvalues lax.scan (raised)")
    assert "scf.while" not in text


def test_sliding_window_attention_raised(record_rel_rms):
    _, q, k, v = qkv(4)
    check_jax(jm.sliding_window_attention, (q, k, v), expect="mix.attention",
              record=record_rel_rms, case="sliding-window softmax (raised)")


def test_not_raised_when_asked(record_rel_rms):
    """raise_=False: the same loop, converted op by op, same numbers."""
    _, q, k, v = qkv(5)
    text = check_jax(jm.linear_attention_scan, (q, k, v), raise_=False,
                     record=record_rel_rms, case="linear attention lax.scan (not raised)")
    assert "mix." not in text


# --- jax.lax.composite ------------------------------------------------------------------------
@pytest.mark.parametrize("gate", ["none", "scalar", "vector"])
def test_composite_linear_attention(gate, record_rel_rms):
    r, q, k, v = qkv(10)
    g = {"none": None, "scalar": log_gate(r, B, T, H),
         "vector": log_gate(r, B, T, H, K)}[gate]

    def fn(q, k, v, *g):
        return jm.composite_linear_attention(q, k, v, *g, gate=gate)
    args = (q, k, v) + (() if g is None else (g,))
    check_jax(fn, args, expect="mix.linear_attention", record=record_rel_rms,
              case=f"composite linear_attention gate {gate}")


def test_composite_linear_attention_state(record_rel_rms):
    r, q, k, v = qkv(11)
    g = log_gate(r, B, T, H)
    s0 = randn(r, B, H, K, V, scale=0.1)

    def fn(q, k, v, g, s0):
        return jm.composite_linear_attention(q, k, v, g, s0, gate="scalar", scale=0.3,
                                             final_state=True)
    check_jax(fn, (q, k, v, g, s0), expect="mix.linear_attention",
              record=record_rel_rms, case="composite linear_attention state")


@pytest.mark.parametrize("qk_l2norm,allow_neg_eigval,gate",
                         [(False, False, "none"), (True, False, "scalar"),
                          (True, True, "none"), (False, True, "vector")])
def test_composite_delta_rule(qk_l2norm, allow_neg_eigval, gate, record_rel_rms):
    r, q, k, v = qkv(12, unit_k=not qk_l2norm)
    beta = r.uniform(0.1, 0.45 if allow_neg_eigval else 0.9, (B, T, H)).astype(np.float32)
    g = {"none": None, "scalar": log_gate(r, B, T, H),
         "vector": log_gate(r, B, T, H, K)}[gate]

    def fn(q, k, v, beta, *g):
        return jm.composite_delta_rule(q, k, v, beta, *g, gate=gate, qk_l2norm=qk_l2norm,
                                       allow_neg_eigval=allow_neg_eigval)
    args = (q, k, v, beta) + (() if g is None else (g,))
    check_jax(fn, args, tol=TOL_DELTA, expect="mix.delta_rule", record=record_rel_rms,
              case=f"composite delta_rule l2={qk_l2norm} neg={allow_neg_eigval} {gate}")


def test_composite_delta_rule_state(record_rel_rms):
    r, q, k, v = qkv(13, unit_k=True)
    beta = r.uniform(0.1, 0.9, (B, T, H)).astype(np.float32)
    g = log_gate(r, B, T, H)
    s0 = randn(r, B, H, K, V, scale=0.1)

    def fn(q, k, v, beta, g, s0):
        return jm.composite_delta_rule(q, k, v, beta, g, s0, gate="scalar",
                                       final_state=True)
    check_jax(fn, (q, k, v, beta, g, s0), tol=TOL_DELTA, expect="mix.delta_rule",
              record=record_rel_rms, case="composite delta_rule state")


@pytest.mark.parametrize("causal,window,gated", [(True, 0, False), (True, 9, False),
                                                  (False, 0, False), (True, 0, True)])
def test_composite_attention(causal, window, gated, record_rel_rms):
    r, q, k, v = qkv(14)
    g = log_gate(r, B, T, H) if gated else None

    def fn(q, k, v, *g):
        return jm.composite_attention(q, k, v, *g, causal=causal, window=window)
    args = (q, k, v) + ((g,) if gated else ())
    check_jax(fn, args, tol=TOL, expect="mix.attention", record=record_rel_rms,
              case=f"composite attention causal={causal} window={window} gated={gated}")


@pytest.mark.parametrize("with_state", [False, True])
def test_composite_scan(with_state, record_rel_rms):
    r = rng(15)
    x = randn(r, B, T, 24)
    g = log_gate(r, B, T, 24)
    if with_state:
        h0 = randn(r, B, 24)

        def fn(x, g, h0):
            return jm.composite_scan(x, g, h0, final_state=True)
        args = (x, g, h0)
    else:
        def fn(x, g):
            return jm.composite_scan(x, g)
        args = (x, g)
    check_jax(fn, args, expect="mix.scan", record=record_rel_rms,
              case=f"composite scan state={with_state}")


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_composite_half_precision(dtype, record_rel_rms):
    """bf16/f16 q, k, v through the composites: compared with the f64
    reference of the rounded inputs (MIXERS.md: 5e-3), since JAX's own
    half-precision decomposition is no better than MixIR's f32 accumulation."""
    half = np.dtype(ml_dtypes.bfloat16) if dtype == "bfloat16" else np.dtype(np.float16)
    r, q, k, v = qkv(16, unit_k=True)
    q, k, v = (a.astype(half) for a in (q, k, v))
    beta = r.uniform(0.1, 0.9, (B, T, H)).astype(np.float32)
    g = log_gate(r, B, T, H)

    def fn(q, k, v, beta, g):
        return (jm.composite_delta_rule(q, k, v, beta, g, gate="scalar"),
                jm.composite_linear_attention(q, k, v, g, gate="scalar"))
    text = mixir.from_jax(fn, q, k, v, beta, g)
    assert "mix.delta_rule" in text and "mix.linear_attention" in text
    o_delta, o_la = compile_and_run(text, [q, k, v, beta, g])
    assert o_delta.dtype == half and o_la.dtype == half
    want_delta = reference.delta_rule(q, k, v, beta, g, gate="scalar")
    want_la = reference.linear_attention(q, k, v, g, gate="scalar")
    for name, want, got in (("delta_rule", want_delta, o_delta),
                            ("linear_attention", want_la, o_la)):
        want = want[0] if isinstance(want, tuple) else want
        err = rel_rms(want, got.astype(np.float64))
        record_rel_rms(f"jax composite {name}", dtype, "o", err, 5e-3, "half precision")
        assert err <= 5e-3, f"{name}: rel-RMS {err:.2e}"


def _repeat_heads(x, ho):
    return jnp.repeat(x, ho // x.shape[2], axis=2)


@pytest.mark.parametrize("hq,hk,hv", [(4, 2, 2), (2, 2, 4)], ids=["gqa", "gva"])
def test_composite_head_sharing(hq, hk, hv, record_rel_rms):
    """MIXERS.md head sharing: more query heads sharing each state (GQA) or
    more value heads than q/k heads (GVA). The decomposition repeats heads."""
    r = rng(17)
    q = randn(r, B, T, hq, K)
    k = unit_keys(r, B, T, hk, K)
    v = randn(r, B, T, hv, V)
    beta = r.uniform(0.1, 0.9, (B, T, hv)).astype(np.float32)
    g = log_gate(r, B, T, hv)
    ho = max(hq, hv)

    def delta(q, k, v, beta, g, *, gate, scale, qk_l2norm, allow_neg_eigval):
        rep = [_repeat_heads(x, ho) for x in (q, k, v, beta, g)]
        return jm.ref_delta_rule(*rep, gate=gate, scale=scale)[0]

    def linear(q, k, v, g, *, gate, scale):
        rep = [_repeat_heads(x, ho) for x in (q, k, v, g)]
        return jm.ref_linear_attention(*rep, gate=gate, scale=scale)[0]

    def fn(q, k, v, beta, g):
        scale = K ** -0.5
        o1 = lax.composite(delta, name="mixir.delta_rule")(
            q, k, v, beta, g, gate="scalar", scale=scale, qk_l2norm=False,
            allow_neg_eigval=False)
        o2 = lax.composite(linear, name="mixir.linear_attention")(
            q, k, v, g, gate="scalar", scale=scale)
        return o1, o2
    check_jax(fn, (q, k, v, beta, g), tol=TOL_DELTA,
              expect=["mix.delta_rule", "mix.linear_attention"],
              record=record_rel_rms, case=f"composite head sharing {hq}/{hk}/{hv}")


def test_composite_attention_gqa(record_rel_rms):
    r = rng(18)
    q = randn(r, B, T, 4, K)
    k = randn(r, B, T, 2, K)
    v = randn(r, B, T, 2, V)

    def attn(q, k, v, *, scale, causal, window):
        return jm.ref_attention(q, _repeat_heads(k, 4), _repeat_heads(v, 4), scale=scale,
                                causal=causal, window=window)

    def fn(q, k, v):
        return lax.composite(attn, name="mixir.attention")(
            q, k, v, scale=0.3, causal=True, window=11)
    check_jax(fn, (q, k, v), expect="mix.attention", record=record_rel_rms,
              case="composite attention GQA")
