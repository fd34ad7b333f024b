"""Attention over a KV cache (``kv_lens`` on ``mix.attention``): decode
(T = 1 per row) and speculative verification (T drafted tokens), rows with
different numbers of cached keys, the queries at the cache's last T
positions for the causal mask and the window.

The reference here is float64 numpy, query by query over explicit key
masks, with no MixIR code. Bad key lengths are errors that name the rule and
leave the inputs intact, one compilation serves every set of lengths, and
FlashAttention's ``flash_attn_with_kvcache`` writes the new keys into the
cache before attending, as FlashAttention does.
"""

import ml_dtypes
import numpy as np
import pytest

import mixir
from test_packed import compilations, guarded

NP_DTYPE = {"f32": np.float32, "bf16": ml_dtypes.bfloat16}
LIMIT = {"f32": 1e-5, "bf16": 1e-2}


def reference(q, k, v, lens, causal=True, window=0, softcap=None,
              scale=None):
    """o [B, T, Hq, V] in float64: query i of row b sits at position
    lens[b] - T + i among that row's lens[b] keys."""
    q, k, v = (np.asarray(x, np.float64) for x in (q, k, v))
    B, T, hq, K = q.shape
    hk = k.shape[2]
    scale = K ** -0.5 if scale is None else scale
    o = np.zeros((B, T, hq, v.shape[3]))
    for b in range(B):
        L = int(lens[b])
        j = np.arange(L)
        for i in range(T):
            p = L - T + i
            keep = np.ones(L, bool)
            if causal:
                keep &= j <= p
            if window:
                keep &= j > p - window
            if not keep.any():
                continue
            for h in range(hq):
                kh = h // (hq // hk)
                s = scale * (k[b, :L, kh] @ q[b, i, h])
                if softcap:
                    s = softcap * np.tanh(s / softcap)
                s = np.where(keep, s, -np.inf)
                w = np.exp(s - s.max())
                o[b, i, h] = (w / w.sum()) @ v[b, :L, kh]
    return o


def rel_rms(got, want):
    got = np.asarray(got, np.float64)
    return np.sqrt(np.mean((got - want) ** 2) / max(np.mean(want ** 2), 1e-30))


def make(seed, B, T, S, hq, hk, K, V, dtype, full=False):
    rng = np.random.default_rng(seed)
    dt = NP_DTYPE[dtype]
    q = rng.standard_normal((B, T, hq, K)).astype(dt)
    k = rng.standard_normal((B, S, hk, K)).astype(dt)
    v = rng.standard_normal((B, S, hk, V)).astype(dt)
    lens = np.full(B, S, np.int32) if full else \
        rng.integers(T, S + 1, B).astype(np.int32)
    if B >= 2 and not full:  # the two extremes: only the queries, a full cache
        lens[0], lens[-1] = T, S
    return q, k, v, lens


# (B, T, S, Hq, Hkv, K, V, attrs)
CASES = [
    (1, 1, 1, 2, 2, 64, 64, dict(causal=True)),
    (7, 1, 300, 4, 2, 60, 60, dict(causal=True)),
    (256, 1, 33, 2, 1, 16, 16, dict(causal=True)),
    (5, 4, 129, 4, 1, 64, 48, dict(causal=True, window=37)),
    (3, 17, 200, 2, 2, 37, 37, dict(causal=False)),
    (4, 5, 90, 2, 1, 33, 17, dict(causal=True, softcap=5.0)),
    (3, 6, 80, 2, 2, 16, 16, dict(causal=False, window=9)),
]


def case_id(c):
    B, T, S, hq, hk, K, V, attrs = c
    name = "-".join(f"{a}{b}" for a, b in attrs.items())
    return f"B{B}-T{T}-S{S}-H{hq}x{hk}-K{K}-V{V}-{name}"


PARAMS = [(c, d, ch) for c in CASES for d in ("f32", "bf16")
          for ch in (None, 0)]


@pytest.mark.parametrize("case,dtype,chunk", PARAMS, ids=[
    f"{case_id(c)}-{d}-{'flash' if ch is None else 'rows'}"
    for c, d, ch in PARAMS])
def test_kv_cache_matches_reference(case, dtype, chunk, record_rel_rms):
    B, T, S, hq, hk, K, V, attrs = case
    q, k, v, lens = make(B + S + K, B, T, S, hq, hk, K, V, dtype)
    got = mixir.attention(q, k, v, chunk_size=chunk, kv_lens=lens, **attrs)
    assert got.dtype == NP_DTYPE[dtype] and got.shape == (B, T, hq, V)
    err = rel_rms(got, reference(q, k, v, lens, **attrs))
    record_rel_rms("attention kv cache", dtype, "o", err, LIMIT[dtype],
                   case_id(case))
    assert err <= LIMIT[dtype], f"rel-RMS {err:.2e}"


EMU = [(CASES[1], "bf16"), (CASES[3], "f32"), (CASES[5], "f32")]


@pytest.mark.parametrize("case,dtype", EMU,
                         ids=[f"{case_id(c)}-{d}" for c, d in EMU])
def test_kv_cache_cuda_emulation(case, dtype, record_rel_rms):
    """The CUDA pipeline: the flash tiles of the chunked form on thread
    blocks."""
    B, T, S, hq, hk, K, V, attrs = case
    q, k, v, lens = make(B + S + K, B, T, S, hq, hk, K, V, dtype)
    got = mixir.attention(q, k, v, kv_lens=lens, target="cuda-emulation",
                          **attrs)
    err = rel_rms(got, reference(q, k, v, lens, **attrs))
    record_rel_rms("attention kv cache (cuda-emulation)", dtype, "o", err,
                   LIMIT[dtype], case_id(case))
    assert err <= LIMIT[dtype], f"rel-RMS {err:.2e}"


def test_full_cache_is_bottom_right_attention():
    """kv_lens = S everywhere: the last T rows of causal attention over all
    S positions."""
    q, k, v, lens = make(3, 2, 9, 40, 2, 2, 16, 16, "f32", full=True)
    got = mixir.attention(q, k, v, causal=True, kv_lens=lens)
    rng = np.random.default_rng(0)
    full_q = rng.standard_normal((2, 40, 2, 16)).astype(np.float32)
    full_q[:, 31:] = q
    want = mixir.attention(full_q, k, v, causal=True)[:, 31:]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_one_compilation_serves_every_set_of_lengths():
    built = compilations
    rng = np.random.default_rng(4)
    before = built()
    for i in range(50):
        B = int(rng.integers(1, 65))
        S = int(rng.integers(1, 50))
        q, k, v, lens = make(i, B, 1, S, 2, 1, 8, 8, "f32")
        o = mixir.attention(q, k, v, causal=True, window=7, kv_lens=lens)
        if i % 10 == 0:
            assert rel_rms(o, reference(q, k, v, lens, window=7)) <= 1e-5
    assert built() - before == 1


BAD = [
    ("below-T", [4, 2, 9], r"'kv_lens' must lie between T .* \(got 1, "
     r"expected 3\)"),
    ("above-S", [4, 5, 11], r"'kv_lens' must lie between T .* \(got 2, "
     r"expected 3\)"),
    ("negative", [-1, 5, 6], r"'kv_lens' must lie between T .* \(got 0, "
     r"expected 3\)"),
    ("huge", [2**31 - 1, 5, 6], r"'kv_lens' must lie between T"),
    ("too-few", [4, 5], r"'kv_lens' dim 0 \(B\) does not match"),
    ("too-many", [4, 5, 6, 7], r"'kv_lens' dim 0 \(B\) does not match"),
]


@pytest.mark.parametrize("chunk", [None, 0], ids=["flash", "rows"])
@pytest.mark.parametrize("name,lens,message", BAD, ids=[b[0] for b in BAD])
def test_bad_lengths_are_errors(name, lens, message, chunk):
    rng = np.random.default_rng(5)
    q = rng.standard_normal((3, 3, 2, 8)).astype(np.float32)
    k, kbuf = guarded((3, 10, 2, 8), rng)
    v, vbuf = guarded((3, 10, 2, 8), rng)
    kept = [kbuf.copy(), vbuf.copy()]
    with pytest.raises(ValueError, match="mix.attention: " + message):
        mixir.attention(q, k, v, causal=True, chunk_size=chunk,
                        kv_lens=np.array(lens, np.int32))
    for got, want in zip([kbuf, vbuf], kept):
        np.testing.assert_array_equal(got, want)


def test_kv_lens_arguments_checked():
    q = np.zeros((2, 1, 2, 8), np.float32)
    k = np.zeros((2, 6, 2, 8), np.float32)
    lens = np.array([3, 6], np.int32)
    with pytest.raises(TypeError, match="kv_lens must be int32"):
        mixir.attention(q, k, k, kv_lens=lens.astype(np.int64))
    with pytest.raises(ValueError, match=r"kv_lens must have rank 1"):
        mixir.attention(q, k, k, kv_lens=lens[None])
    with pytest.raises(ValueError, match="takes no forget gate"):
        mixir.attention(q, k, k, np.zeros((2, 1, 2), np.float32),
                        kv_lens=lens)


def test_flash_attn_with_kvcache_appends_then_attends():
    torch = pytest.importorskip("torch")
    import mixir.torch as mt
    rng = np.random.default_rng(8)
    B, S, T, H, K = 3, 20, 2, 2, 16
    k_cache = torch.from_numpy(rng.standard_normal((B, S, 1, K)).astype(np.float32))
    v_cache = torch.from_numpy(rng.standard_normal((B, S, 1, K)).astype(np.float32))
    before = (k_cache.clone(), v_cache.clone())
    seqlens = torch.tensor([5, 0, 18], dtype=torch.int32)
    q = torch.randn(B, T, H, K)
    k_new, v_new = torch.randn(B, T, 1, K), torch.randn(B, T, 1, K)
    o = mt.flash_attn_with_kvcache(q, k_cache, v_cache, k_new, v_new,
                                   cache_seqlens=seqlens, causal=True)
    for b, at in enumerate(seqlens.tolist()):  # written at cache_seqlens
        torch.testing.assert_close(k_cache[b, at:at + T], k_new[b])
        torch.testing.assert_close(v_cache[b, at:at + T], v_new[b])
        torch.testing.assert_close(k_cache[b, :at], before[0][b, :at])
        torch.testing.assert_close(k_cache[b, at + T:], before[0][b, at + T:])
    want = reference(q, k_cache, v_cache, (seqlens + T).numpy())
    assert rel_rms(o, want) <= 1e-5
    # Without new keys the cache is read as it is; an int length for all.
    o2 = mt.flash_attn_with_kvcache(q, k_cache, v_cache, cache_seqlens=7,
                                    window_size=(3, 0))
    want2 = reference(q, k_cache, v_cache, [7] * B, window=4)
    assert rel_rms(o2, want2) <= 1e-5
    with pytest.raises(ValueError, match="must lie between"):
        mt.flash_attn_with_kvcache(q, k_cache, v_cache, k_new, v_new,
                                   cache_seqlens=19)
    with pytest.raises(NotImplementedError, match="block_table"):
        mt.flash_attn_with_kvcache(q, k_cache, v_cache, block_table=seqlens)
    with pytest.raises(NotImplementedError, match="forward only"):
        mt.attention(q.requires_grad_(True), k_cache, v_cache,
                     kv_lens=torch.full((B,), 9, dtype=torch.int32))


def test_static_decode_step_cuda_emulation():
    """A static T = 1 decode graph on the CUDA pipeline takes the flash tiles
    on thread blocks (never the per-row form, which would stay host code)."""
    B, S, hq, hk, K = 4, 37, 2, 1, 16
    q, k, v, lens = make(12, B, 1, S, hq, hk, K, K, "f32")
    text = (
        f"func.func @decode(%q: tensor<{B}x1x{hq}x{K}xf32>, "
        f"%k: tensor<{B}x{S}x{hk}x{K}xf32>, %v: tensor<{B}x{S}x{hk}x{K}xf32>,"
        f" %lens: tensor<{B}xi32>) -> tensor<{B}x1x{hq}x{K}xf32> {{\n"
        f"  %o = mix.attention %q, %k, %v kv_lens(%lens) causal : "
        f"(tensor<{B}x1x{hq}x{K}xf32>, tensor<{B}x{S}x{hk}x{K}xf32>, "
        f"tensor<{B}x{S}x{hk}x{K}xf32>, tensor<{B}xi32>) -> "
        f"tensor<{B}x1x{hq}x{K}xf32>\n"
        f"  return %o : tensor<{B}x1x{hq}x{K}xf32>\n}}\n")
    module = mixir.compile(text, target="cuda-emulation")
    got = module.decode(q, k, v, lens)
    assert rel_rms(got, reference(q, k, v, lens)) <= 1e-5
