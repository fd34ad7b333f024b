"""Softmax attention as JAX users call it, imported through StableHLO
(mixir.from_jax) and raised to `mix.attention`: `jax.nn.dot_product_attention`
(XLA implementation) with `is_causal=True`, with a causal
`local_window_size` and with grouped key/value heads (Hq a multiple of Hkv,
raised to one mix.attention on the shared heads), and Flax NNX `MultiHeadAttention` with `nnx.make_causal_mask` (flax is
installed by `scripts/setup.sh --tests`). Each is compared with jax.jit and
with an independent float64 numpy reference."""

from needs import need

need("jax")
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import mixir
from shlo_helpers import TOL, check_jax, compile_and_run, randn, rel_rms, rng

# Odd sizes (MIXERS.md): not multiples of a tile, not powers of 2.
B, T, H, D = 2, 37, 3, 13


def ref_attention(q, k, v, *, scale, window=0):
    """float64 causal softmax attention, [B, T, H, D]; `window` (0: none)
    keeps the keys i - window < j <= i. K and V may have fewer heads (each
    serves H / Hkv consecutive query heads)."""
    q, k, v = (np.asarray(x, np.float64) for x in (q, k, v))
    rep = q.shape[2] // k.shape[2]
    k, v = np.repeat(k, rep, axis=2), np.repeat(v, rep, axis=2)
    s = np.einsum("bthd,bshd->bhts", q, k) * scale
    i, j = np.arange(q.shape[1])[:, None], np.arange(k.shape[1])[None, :]
    keep = j <= i
    if window:
        keep &= i - j < window
    s = np.where(keep, s, -np.inf)
    p = np.exp(s - s.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    return np.einsum("bhts,bshd->bthd", p, v)


def attention_line(text):
    lines = [l for l in text.splitlines() if "mix.attention" in l]
    assert len(lines) == 1, text[:4000]
    assert "linalg.softmax" not in text, text[:4000]
    return lines[0]


def check_against_numpy(text, args, want):
    out = compile_and_run(text, args)[0]
    err = rel_rms(want, np.asarray(out, np.float64))
    assert err <= TOL, f"rel-RMS {err:.3e} against float64 numpy"


def qkv(seed, hkv=H):
    r = rng(seed)
    return randn(r, B, T, H, D), randn(r, B, T, hkv, D), randn(r, B, T, hkv, D)


@pytest.mark.parametrize("window", [None, 8, (5, 0)],
                         ids=["causal", "local8", "local5-0"])
def test_dot_product_attention_causal(window):
    """is_causal=True, and with local_window_size: an int w is the symmetric
    window (w, w), which after the causal mask keeps the w keys before i
    and i itself (mix window w + 1)."""
    q, k, v = qkv(11)

    def fn(q, k, v):
        return jax.nn.dot_product_attention(q, k, v, is_causal=True,
                                            local_window_size=window)

    text = check_jax(fn, (q, k, v), expect="mix.attention")
    line = attention_line(text)
    assert " causal" in line, line
    left = window if isinstance(window, int) else (window[0] if window else None)
    if left is not None:
        assert f"window = {left + 1} " in line, line
    else:
        assert "window" not in line, line
    check_against_numpy(text, (q, k, v),
                        ref_attention(q, k, v, scale=D ** -0.5,
                                      window=0 if left is None else left + 1))


@pytest.mark.parametrize("hq,hkv,window", [(6, 2, None), (6, 3, None),
                                            (4, 1, None), (6, 2, 7)],
                         ids=["6over2", "6over3", "4over1", "6over2-local7"])
def test_dot_product_attention_gqa(hq, hkv, window):
    """Grouped key/value heads: JAX groups the query heads (q reshaped to
    [B, T, Hkv, G, D], vmap over the group, 'BTKGH,BSKH->BKGTS'), so the
    (token, group) pairs are the rows of Q K^T; mix-raise follows each dim
    through the reshapes and transposes and raises one mix.attention on q
    as it is and the Hkv shared key/value heads (query head h reads kv head
    h / G), causal, with the window local_window_size gives."""
    r = rng(12)
    q = randn(r, B, T, hq, D)
    k, v = randn(r, B, T, hkv, D), randn(r, B, T, hkv, D)

    def fn(q, k, v):
        return jax.nn.dot_product_attention(q, k, v, is_causal=True, scale=0.3,
                                            local_window_size=window)

    text = check_jax(fn, (q, k, v), expect="mix.attention")
    line = attention_line(text)
    assert " causal" in line, line
    # No copy of K and V per query head: the op reads Hkv heads.
    assert f"tensor<{B}x{T}x{hkv}x{D}xf32>, tensor<{B}x{T}x{hkv}x{D}xf32>) -> " \
        f"tensor<{B}x{T}x{hq}x{D}xf32>" in line, line
    if window is not None:
        assert f"window = {window + 1} " in line, line
    else:
        assert "window" not in line, line
    check_against_numpy(text, (q, k, v),
                        ref_attention(q, k, v, scale=0.3,
                                      window=0 if window is None else window + 1))


def test_flax_nnx_multihead_attention_causal():
    """nnx.MultiHeadAttention (projections, attention, output projection)
    called with nnx.make_causal_mask: the attention in the middle is raised;
    the reference recomputes the projections in float64 from the module's
    own parameters."""
    nnx = need("flax.nnx", "flax")
    features, heads = 3 * D, H
    mha = nnx.MultiHeadAttention(num_heads=heads, in_features=features,
                                 qkv_features=features, decode=False,
                                 rngs=nnx.Rngs(0))
    graphdef, state = nnx.split(mha)

    def fn(x):
        m = nnx.merge(graphdef, state)
        return m(x, mask=nnx.make_causal_mask(x[..., 0]))

    x = randn(rng(13), B, T, features)
    text = check_jax(fn, (x,), expect="mix.attention")
    line = attention_line(text)
    assert " causal" in line, line

    def dense(name, y, axes):
        p = getattr(mha, name)
        w = np.asarray(p.kernel[...], np.float64)
        b = np.asarray(p.bias[...], np.float64)
        return np.tensordot(y, w, axes=axes) + b

    x64 = x.astype(np.float64)
    q, k, v = (dense(n, x64, 1) for n in ("query", "key", "value"))
    o = ref_attention(q, k, v, scale=(features // heads) ** -0.5)
    want = dense("out", o, 2)
    check_against_numpy(text, (x,), want)
