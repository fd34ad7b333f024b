"""mix.attention's logit soft-cap (MIXERS.md: x = softcap * tanh(x / softcap)
on the scaled scores, before the masks; Gemma 2) in both CPU lowerings: the
flash form (chunk_size 64) and the per-row reference form (chunk_size 0),
against a float64 evaluation written here, at odd lengths and head dims."""

import numpy as np
import pytest

from test_flash_attention import attention_source, compiled

HQ, HKV = 4, 2
CAP = 5.0
SCALE = 1.0  # scores of about N(0, K): the cap bends most of them


def attention_f64(q, k, v, scale, softcap, causal, window):
    """o[b, i, h] = softmax_j(cap(scale q_i . k_j) over allowed j) v_j."""
    q, k, v = (np.asarray(x, np.float64) for x in (q, k, v))
    bsz, t, hq, _ = q.shape
    s, hkv = k.shape[1], k.shape[2]
    o = np.zeros((bsz, t, hq, v.shape[3]))
    for b in range(bsz):
        for h in range(hq):
            kh, vh = k[b, :, h // (hq // hkv)], v[b, :, h // (hq // hkv)]
            for i in range(t):
                x = scale * (kh @ q[b, i, h])
                if softcap:
                    x = softcap * np.tanh(x / softcap)
                j = np.arange(s)
                allowed = np.ones(s, bool)
                if causal:
                    allowed &= j <= i
                if window:
                    allowed &= j > i - window
                if not allowed.any():
                    continue
                p = np.exp(x[allowed] - x[allowed].max())
                o[b, i, h] = (p / p.sum()) @ vh[allowed]
    return o


def rel_rms(want, got):
    want, got = np.asarray(want, np.float64), np.asarray(got, np.float64)
    return float(np.sqrt(np.mean((want - got) ** 2) / np.mean(want ** 2)))


def inputs(t, d, seed):
    rng = np.random.default_rng(seed)
    q = rng.normal(size=(2, t, HQ, d)).astype(np.float32)
    k = rng.normal(size=(2, t, HKV, d)).astype(np.float32)
    v = rng.normal(size=(2, t, HKV, d)).astype(np.float32)
    return q, k, v


@pytest.mark.parametrize("chunk", [64, 0], ids=["flash", "reference"])
@pytest.mark.parametrize("causal,window", [(True, 0), (True, 8), (False, 0)],
                         ids=["causal", "causal-window8", "full"])
@pytest.mark.parametrize("t,d", [(1, 60), (63, 64), (75, 60), (500, 64)])
def test_softcap_matches_f64(chunk, causal, window, t, d):
    fn = compiled(attention_source(HQ, HKV, d, d, "f32", causal, window,
                                   scale=SCALE, softcap=CAP), chunk)
    q, k, v = inputs(t, d, seed=t * 1000 + d)
    out = np.asarray(fn(q, k, v))
    want = attention_f64(q, k, v, SCALE, CAP, causal, window)
    err = rel_rms(want, out)
    assert err <= 1e-5, f"rel-RMS {err:.3e}"
    if t > 1:  # the cap matters at these scores: without it the result differs
        uncapped = attention_f64(q, k, v, SCALE, 0.0, causal, window)
        assert rel_rms(uncapped, out) > 1e-2


@pytest.mark.parametrize("t,d,window", [(75, 64, 0), (130, 60, 40)])
def test_softcap_cuda_kernels_emulated(t, d, window):
    """The CUDA kernels with a soft-cap, run by the cuda-emulation target;
    16-bit inputs, MIXERS.md's 5e-3 limit."""
    import ml_dtypes
    import mixir
    bf16 = ml_dtypes.bfloat16
    q, k, v = (x.astype(bf16) for x in inputs(t, d, seed=t + d))
    src = attention_source(HQ, HKV, d, d, "bf16", True, window, scale=SCALE,
                           softcap=CAP)
    out = mixir.compile(src, target="cuda-emulation")
    o = np.asarray(out.attn(q, k, v)).astype(np.float32)
    want = attention_f64(q, k, v, SCALE, CAP, True, window)
    assert np.isfinite(o).all()
    assert rel_rms(want, o) < 5e-3
    assert rel_rms(attention_f64(q, k, v, SCALE, 0.0, True, window), o) > 1e-2


@pytest.mark.parametrize("chunk", [64, 0], ids=["flash", "reference"])
def test_softcap_in_the_python_op(chunk):
    """mixir.attention(..., softcap=) against the f64 evaluation above; a
    cap that is not positive and finite is refused."""
    import mixir
    q, k, v = inputs(63, 60, seed=5)
    o = mixir.attention(q, k, v, scale=SCALE, window=8, softcap=CAP,
                        chunk_size=chunk)
    want = attention_f64(q, k, v, SCALE, CAP, True, 8)
    assert rel_rms(want, o) <= 1e-5
    for bad in (0.0, -1.0, float("inf")):
        with pytest.raises(ValueError, match="softcap must be positive"):
            mixir.attention(q, k, v, softcap=bad)


def test_softcap_in_the_reference():
    """mixir.reference.attention(..., softcap=) is the evaluation above."""
    from mixir import reference
    q, k, v = inputs(75, 64, seed=6)
    want = attention_f64(q, k, v, SCALE, CAP, True, 0)
    assert rel_rms(want, reference.attention(q, k, v, scale=SCALE,
                                             softcap=CAP)) < 1e-12
