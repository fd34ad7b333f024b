"""Whole small blocks written in JAX (a Gated DeltaNet layer: RMSNorm, q/k/v
projections with short convolutions, beta/decay projections, the delta rule,
gated output norm, output projection + residual; and a GLA + sliding-window
attention stack), imported, compiled and run: weights as arguments (a pytree)
or as constants captured by the function."""

from needs import need

need("jax")
import jax
import numpy as np
import pytest

import jax_mixers as jm
from shlo_helpers import TOL_DELTA, check_jax, randn, rng

B, T, D, HEADS, DK, DV = 2, 37, 48, 2, 20, 12


@pytest.mark.parametrize("mixer", ["scan", "composite"])
def test_block_weights_as_arguments(mixer, record_rel_rms):
    r = rng(70)
    x = randn(r, B, T, D)
    params = jm.block_params(r, D, HEADS, DK, DV)

    def block(x, params):
        return jm.gated_deltanet_block(x, params, heads=HEADS, dk=DK, dv=DV, mixer=mixer)
    check_jax(block, (x, params), tol=TOL_DELTA, expect="mix.delta_rule",
              record=record_rel_rms, case=f"block ({mixer}, weight arguments)")


@pytest.mark.parametrize("mixer", ["scan", "composite"])
def test_block_weights_as_constants(mixer, record_rel_rms):
    r = rng(71)
    x = randn(r, B, T, D)
    params = jm.block_params(r, D, HEADS, DK, DV)

    def block(x):
        return jm.gated_deltanet_block(x, params, heads=HEADS, dk=DK, dv=DV, mixer=mixer)
    check_jax(block, (x,), tol=TOL_DELTA, expect="mix.delta_rule",
              record=record_rel_rms, case=f"block ({mixer}, constant weights)")


def test_two_layer_gla_stack(record_rel_rms):
    """Two pre-norm layers, quadratic GLA then sliding-window attention."""
    r = rng(72)
    x = randn(r, B, T, D)
    w = {n: (r.standard_normal((D, HEADS * DK)) / np.sqrt(D)).astype(np.float32)
         for n in ("q1", "k1", "g1", "q2", "k2")}
    w.update({n: (r.standard_normal((D, HEADS * DV)) / np.sqrt(D)).astype(np.float32)
              for n in ("v1", "v2")})
    w["o1"] = (r.standard_normal((HEADS * DV, D)) / np.sqrt(HEADS * DV)).astype(np.float32)
    w["o2"] = (r.standard_normal((HEADS * DV, D)) / np.sqrt(HEADS * DV)).astype(np.float32)
    norm = np.ones(D, np.float32)

    def stack(x, w):
        def heads(y, dim):
            return y.reshape(B, T, HEADS, dim)
        h = jm.rms_norm(x, norm)
        g = -0.05 * jax.nn.softplus(h @ w["g1"])
        o = jm.gla_quadratic(heads(h @ w["q1"], DK), heads(h @ w["k1"], DK),
                             heads(h @ w["v1"], DV), heads(g, DK))
        x = x + o.reshape(B, T, -1) @ w["o1"]
        h = jm.rms_norm(x, norm)
        o = jm.sliding_window_attention(heads(h @ w["q2"], DK), heads(h @ w["k2"], DK),
                                        heads(h @ w["v2"], DV), window=16)
        return x + o.reshape(B, T, -1) @ w["o2"]
    check_jax(stack, (x, w), expect=["mix.linear_attention", "mix.attention"],
              record=record_rel_rms, case="GLA + sliding-window stack")

