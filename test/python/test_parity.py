"""Why negative eigenvalues matter (DeltaNet with negative eigenvalues,
state tracking): a one-dimensional delta rule with fixed weights tracks the
parity of a bit sequence exactly when beta may be doubled, and cannot at all
without it.

Weights: k = q = 1 (K = V = 1), v = 0, beta = bit (1 on a one, 0 on a zero),
initial state 1, scale 1. The transition is 1 - beta_eff k k^T = 1 - beta_eff.
With allow_neg_eigval (beta_eff = 2 beta) every one multiplies the state by
-1, so o_t = (-1)^(ones so far): the sign is the running parity. Without it
(beta_eff in [0, 1]) the transition is in [0, 1] and the state never changes
sign, whatever the weights: no beta in [0, 1] can represent parity.
"""

import numpy as np
import pytest

import mixir


def run_parity(bits, allow_neg_eigval, chunk_size, beta_on_one=1.0):
    t = len(bits)
    q = np.ones((1, t, 1, 1), np.float32)
    k = np.ones((1, t, 1, 1), np.float32)
    v = np.zeros((1, t, 1, 1), np.float32)
    beta = (np.asarray(bits, np.float32) * beta_on_one).reshape(1, t, 1)
    s0 = np.ones((1, 1, 1, 1), np.float32)
    o, s = mixir.delta_rule(q, k, v, beta, scale=1.0, initial_state=s0,
                            output_final_state=True,
                            allow_neg_eigval=allow_neg_eigval,
                            chunk_size=chunk_size)
    return o[0, :, 0, 0], s[0, 0, 0, 0]


@pytest.mark.parametrize("chunk_size", [0, 16])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_negative_eigenvalues_track_parity(seed, chunk_size):
    bits = np.random.default_rng(seed).integers(0, 2, size=70)
    o, s = run_parity(bits, allow_neg_eigval=True, chunk_size=chunk_size)
    parity = np.cumsum(bits) % 2
    np.testing.assert_array_equal(np.sign(o), np.where(parity == 1, -1.0, 1.0))
    np.testing.assert_allclose(np.abs(o), 1.0, atol=1e-5)
    assert np.sign(s) == (-1.0 if parity[-1] else 1.0)


@pytest.mark.parametrize("chunk_size", [0, 16])
@pytest.mark.parametrize("beta_on_one", [0.25, 0.5, 1.0])
def test_without_negative_eigenvalues_parity_is_lost(beta_on_one, chunk_size):
    bits = np.random.default_rng(3).integers(0, 2, size=70)
    assert bits.sum() % 2 == 1 or np.cumsum(bits).max() >= 1
    o, _ = run_parity(bits, allow_neg_eigval=False, chunk_size=chunk_size,
                      beta_on_one=beta_on_one)
    parity = np.cumsum(bits) % 2
    # The state never turns negative, so every odd prefix is read wrongly.
    assert (o >= -1e-6).all()
    odd = parity == 1
    assert odd.any()
    assert not np.array_equal(np.sign(o[odd]), -np.ones(odd.sum()))
