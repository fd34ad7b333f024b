"""mix.attention's block mask (MIXERS.md: key j is masked for query i when
i // block != j // block), alone and with causal, window, GQA and the
soft-cap, in the CPU lowerings (flash form and per-row reference form) and
the CUDA kernels under cuda-emulation, against a float64 evaluation written
here, at odd lengths and head dims."""

import ml_dtypes
import numpy as np
import pytest

import mixir

BF16 = ml_dtypes.bfloat16
HQ, HKV = 4, 2


def block_attention_f64(q, k, v, block, causal=False, window=0, softcap=0.0):
    """o[b, :, h] = softmax(scale Q K^T, masked) V per (batch, head), with
    the allowed (query, key) pairs as a boolean [T, T] matrix."""
    q, k, v = (np.asarray(x, np.float64) for x in (q, k, v))
    t, hq, d = q.shape[1:]
    rows, cols = np.meshgrid(np.arange(t), np.arange(t), indexing="ij")
    allowed = np.ones((t, t), bool)
    if block:
        allowed &= rows // block == cols // block
    if causal:
        allowed &= cols <= rows
    if window:
        allowed &= cols > rows - window
    o = np.zeros(q.shape[:3] + (v.shape[3],))
    for b in range(q.shape[0]):
        for h in range(hq):
            kv = h // (hq // k.shape[2])
            x = d ** -0.5 * (q[b, :, h] @ k[b, :, kv].T)
            if softcap:
                x = softcap * np.tanh(x / softcap)
            x = np.where(allowed, x, -np.inf)
            p = np.exp(x - x.max(axis=1, keepdims=True))  # j = i is allowed
            o[b, :, h] = (p / p.sum(axis=1, keepdims=True)) @ v[b, :, kv]
    return o


def rel_rms(want, got):
    want, got = np.asarray(want, np.float64), np.asarray(got, np.float64)
    return float(np.sqrt(np.mean((want - got) ** 2) / np.mean(want ** 2)))


def inputs(t, d, seed, dtype=np.float32):
    rng = np.random.default_rng(seed)
    return tuple(rng.normal(size=(2, t, h, d)).astype(dtype)
                 for h in (HQ, HKV, HKV))


def source(d, dtype, block, causal=False, window=0, softcap=0.0):
    ty = [f"tensor<?x?x{h}x{d}x{dtype}>" for h in (HQ, HKV, HKV, HQ)]
    attrs = (" causal" if causal else "") + \
        (f" window = {window}" if window else "") + f" block = {block}" + \
        (f" softcap = {softcap!r}" if softcap else "")
    return (f"func.func @attn(%q: {ty[0]}, %k: {ty[1]}, %v: {ty[2]}) -> {ty[3]} {{\n"
            f"  %o = mix.attention %q, %k, %v{attrs} : ({', '.join(ty[:3])}) -> {ty[3]}\n"
            f"  return %o : {ty[3]}\n}}\n")


# (T, head dim, block, causal, window, softcap): blocks that are not a
# multiple of the 64-row tiles, a block longer than T, a window inside the
# block, and the soft-cap.
CASES = [(1, 60, 16, False, 0, 0.0), (63, 64, 20, False, 0, 0.0),
         (75, 60, 24, True, 0, 0.0), (150, 64, 100, True, 7, 5.0),
         (75, 64, 128, False, 0, 0.0)]


@pytest.mark.parametrize("chunk", [64, 0], ids=["flash", "reference"])
@pytest.mark.parametrize("dtype", ["f32", "bf16"])
@pytest.mark.parametrize("t,d,block,causal,window,cap", CASES)
def test_block_cpu(chunk, dtype, t, d, block, causal, window, cap):
    np_type = np.float32 if dtype == "f32" else BF16
    q, k, v = inputs(t, d, seed=t * 7 + d, dtype=np_type)
    o = mixir.attention(q, k, v, causal=causal, window=window, block=block,
                        softcap=cap or None, chunk_size=chunk)
    assert o.dtype == np_type and o.shape == (2, t, HQ, d)
    want = block_attention_f64(q, k, v, block, causal, window, cap)
    err = rel_rms(want, o)
    assert err <= (1e-5 if dtype == "f32" else 5e-3), f"rel-RMS {err:.3e}"
    if t > block:  # the mask matters: without it the result differs
        assert rel_rms(block_attention_f64(q, k, v, 0, causal, window, cap),
                       o) > 1e-2


EMULATED = [(75, 64, 24, False, 0, 0.0), (150, 60, 100, True, 7, 5.0)]


@pytest.mark.parametrize("dtype,case", [
    ("bf16", EMULATED[0]), ("bf16", EMULATED[1]), ("f32", EMULATED[1])])
def test_block_cuda_emulated(dtype, case):
    """The CUDA kernels under the cuda-emulation target."""
    t, d, block, causal, window, cap = case
    np_type = np.float32 if dtype == "f32" else BF16
    q, k, v = inputs(t, d, seed=t + d, dtype=np_type)
    mod = mixir.compile(source(d, dtype, block, causal, window, cap),
                        target="cuda-emulation")
    o = np.asarray(mod.attn(q, k, v)).astype(np.float32)
    want = block_attention_f64(q, k, v, block, causal, window, cap)
    assert np.isfinite(o).all()
    assert rel_rms(want, o) <= (1e-5 if dtype == "f32" else 5e-3)
    assert rel_rms(block_attention_f64(q, k, v, 0, causal, window, cap),
                   o) > 1e-2


def test_block_bad_arguments():
    """A negative block, or keys not at the query positions, is refused
    before anything is compiled; at run time a key length that differs from
    the compiled query length is a shape error."""
    q, k, v = inputs(8, 16, seed=1)
    with pytest.raises(ValueError, match="block must be >= 0"):
        mixir.attention(q, k, v, block=-1)
    with pytest.raises(ValueError, match=r"S == T"):
        mixir.attention(q, k[:, :6], v[:, :6], block=4)
    mod = mixir.compile(source(16, "f32", 4))
    with pytest.raises(ValueError, match="'k' dim 1 .T."):
        mod.attn(q, k[:, :6], v[:, :6])


def test_block_in_the_reference():
    """mixir.reference.attention(..., block=) is the evaluation above."""
    from mixir import reference
    q, k, v = inputs(75, 60, seed=9)
    want = block_attention_f64(q, k, v, 24, True, 10)
    got = reference.attention(q, k, v, causal=True, window=10, block=24)
    assert rel_rms(want, got) < 1e-12
