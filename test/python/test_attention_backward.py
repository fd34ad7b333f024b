"""Gradients of softmax attention (the flash-attention backward the compiler
derives, ``mix.attention_grad``) against float64 torch autograd of an
independent softmax-attention reference written here with no MixIR code.

Every gradient (q, k, v and the forget gate) is compared separately with
rel-RMS limits of 1e-4 for f32 inputs and 1e-2 for bf16 (MIXERS.md
"Gradients"), at lengths that end in a partial flash block, head dims that
are not powers of two, GQA, sliding windows, block masks, the soft-cap,
causal and non-causal, on the CPU and on the emulated GPU.
"""

import numpy as np
import pytest

torch = pytest.importorskip("torch")  # set-up installs torch; see needs.py

import mixir  # noqa: E402
import mixir.torch as mt  # noqa: E402
from test_backward import rel_rms  # noqa: E402

LIMIT = {"f32": 1e-4, "bf16": 1e-2}
DTYPE = {"f32": torch.float32, "bf16": torch.bfloat16}


def reference_attention(q, k, v, g=None, scale=None, causal=True, window=0,
                        block=0, softcap=None):
    """Softmax attention as MIXERS.md defines it, in the inputs' precision
    (float64 here): query head h reads key head h // (Hq / Hkv); rows with no
    allowed key are 0."""
    B, T, hq, K = q.shape
    S, hk = k.shape[1], k.shape[2]
    scale = K ** -0.5 if scale is None else scale
    kk = k.repeat_interleave(hq // hk, dim=2)
    vv = v.repeat_interleave(hq // hk, dim=2)
    x = scale * torch.einsum("bthk,bshk->bhts", q, kk)
    if softcap:
        x = softcap * torch.tanh(x / softcap)
    if g is not None:
        G = torch.cumsum(g, dim=1).transpose(1, 2)  # [B, H, T]
        x = x + G[..., :, None] - G[..., None, :]
    i = torch.arange(T)[:, None]
    j = torch.arange(S)[None, :]
    allowed = torch.ones(T, S, dtype=torch.bool)
    if causal:
        allowed &= j <= i
    if window:
        allowed &= j > i - window
    if block:
        allowed &= (j // block) == (i // block)
    any_key = allowed.any(-1, keepdim=True)
    x = x.masked_fill(~allowed, float("-inf"))
    x = torch.where(any_key, x, torch.zeros_like(x))
    p = torch.softmax(x, dim=-1) * any_key
    return torch.einsum("bhts,bshv->bthv", p, vv)


def make_inputs(B, T, S, hq, hk, K, V, gate, seed, magnitude=1.0):
    gen = torch.Generator().manual_seed(seed)
    q = magnitude * torch.randn(B, T, hq, K, generator=gen, dtype=torch.float64)
    k = magnitude * torch.randn(B, S, hk, K, generator=gen, dtype=torch.float64)
    v = magnitude * torch.randn(B, S, hk, V, generator=gen, dtype=torch.float64)
    g = None
    if gate:
        # Forgetting Transformer: log forget gates log(sigmoid(.)) <= 0.
        g = torch.nn.functional.logsigmoid(
            2.0 + torch.randn(B, T, hq, generator=gen, dtype=torch.float64))
    do = torch.randn(B, T, hq, V, generator=gen, dtype=torch.float64)
    return q, k, v, g, do


def reference_grads(q, k, v, g, do, **attrs):
    leaves = [x.detach().clone().requires_grad_(True)
              for x in (q, k, v, g) if x is not None]
    it = iter(leaves)
    q2, k2, v2 = next(it), next(it), next(it)
    g2 = next(it) if g is not None else None
    o = reference_attention(q2, k2, v2, g2, **attrs)
    return o, torch.autograd.grad((o * do).sum(), leaves)


def mixir_grads(q, k, v, g, do, dtype, **attrs):
    ins = [x.detach().to(DTYPE[dtype]).requires_grad_(True) for x in (q, k, v)]
    gt = g.detach().float().requires_grad_(True) if g is not None else None
    o = mt.attention(*ins, gt, **attrs)
    assert o.dtype == DTYPE[dtype]
    leaves = ins + ([gt] if gt is not None else [])
    return o, torch.autograd.grad(o, leaves, do.to(DTYPE[dtype]))


# (T, S, Hq, Hkv, K, V, attrs, gate): lengths 1, 63, 500 (1500 once, causal),
# head dims 60, 64 and odd, GQA, windows, blocks and the soft-cap.
CASES = [
    (1, 1, 2, 2, 64, 64, dict(causal=True), False),
    (63, 63, 4, 2, 60, 60, dict(causal=True), True),
    (63, 63, 2, 2, 33, 17, dict(causal=False), False),
    (63, 40, 4, 1, 64, 64, dict(causal=False, window=9), False),
    (500, 500, 4, 2, 64, 64, dict(causal=True), False),
    (500, 500, 2, 1, 60, 60, dict(causal=True, window=77), True),
    (500, 500, 2, 2, 37, 37, dict(causal=False, window=100), False),
    (500, 500, 2, 2, 64, 48, dict(causal=True, block=96), True),
    (500, 500, 2, 1, 64, 64, dict(causal=False, softcap=5.0), False),
    (1500, 1500, 2, 1, 64, 64, dict(causal=True), True),
]


def case_id(c):
    T, S, hq, hk, K, V, attrs, gate = c
    name = "-".join(f"{a}{b}" for a, b in attrs.items())
    return f"T{T}-S{S}-H{hq}x{hk}-K{K}-V{V}-{name}" + ("-forget" if gate else "")


# Every case in f32 and bf16 but the long one (f32 only: its cost).
PARAMS = [(c, d) for c in CASES for d in ("f32", "bf16")
          if d == "f32" or c[0] < 1500]


@pytest.mark.parametrize("case,dtype", PARAMS,
                         ids=[f"{case_id(c)}-{d}" for c, d in PARAMS])
def test_attention_gradients(case, dtype, record_rel_rms):
    T, S, hq, hk, K, V, attrs, gate = case
    q, k, v, g, do = make_inputs(2, T, S, hq, hk, K, V, gate, seed=T + K)
    # Both sides see the same rounded inputs (the gate is f32 in the op).
    q, k, v, do = (x.to(DTYPE[dtype]).double() for x in (q, k, v, do))
    g = g.float().double() if g is not None else None
    want_o, want = reference_grads(q, k, v, g, do, **attrs)
    o, got = mixir_grads(q, k, v, g, do, dtype, **attrs)
    assert rel_rms(o, want_o) <= (1e-5 if dtype == "f32" else 1e-2)
    names = ["dq", "dk", "dv", "dg"]
    for name, a, w in zip(names, got, want):
        assert torch.isfinite(a).all(), f"{name} has NaN/Inf"
        err = rel_rms(a, w)
        record_rel_rms("attention backward", dtype, name, err, LIMIT[dtype],
                       case_id(case))
        assert err <= LIMIT[dtype], f"{name}: rel-RMS {err:.2e}"


@pytest.mark.parametrize("attrs", [dict(causal=True), dict(causal=False,
                                                           window=4),
                                   dict(causal=True, softcap=2.0, block=5)],
                         ids=["causal", "window", "softcap-block"])
def test_gradcheck(attrs):
    """torch.autograd.gradcheck with float64 tensors (computed in float32:
    finite differences with eps 1e-3 and float32 tolerances), GQA and a
    forget gate."""
    q, k, v, g, _ = make_inputs(1, 11, 11, 4, 2, 6, 5, True, seed=5)
    leaves = [x.requires_grad_(True) for x in (q, k, v, g)]
    assert torch.autograd.gradcheck(
        lambda *xs: mt.attention(*xs, **attrs), leaves, eps=1e-3, atol=2e-3,
        rtol=2e-3)


def test_large_logits_stay_finite():
    """Inputs of norm ~1e3 (scores ~1e5: each softmax row is nearly one-hot)
    and forget gates of -30: every gradient is finite, and dv (P^T dO, well
    conditioned) matches the reference."""
    q, k, v, g, do = make_inputs(1, 300, 300, 2, 1, 64, 64, True, seed=9,
                                 magnitude=1e3 / 8)
    g = torch.full_like(g, -30.0)
    g[:, ::7] = -1e-3
    for attrs in (dict(causal=True), dict(causal=False, window=50)):
        _, want = reference_grads(q, k, v, g, do, **attrs)
        _, got = mixir_grads(q, k, v, g, do, "f32", **attrs)
        for name, a in zip(["dq", "dk", "dv", "dg"], got):
            assert torch.isfinite(a).all(), f"{attrs} {name} has NaN/Inf"
        assert rel_rms(got[2], want[2]) <= LIMIT["f32"]


def test_rows_with_no_key_have_zero_gradients():
    """A window without causal and fewer keys than queries leaves the last
    queries with no key: their o and dq are 0, and nothing is NaN."""
    q, k, v, _, do = make_inputs(1, 40, 20, 2, 2, 16, 16, False, seed=4)
    attrs = dict(causal=False, window=5)
    want_o, want = reference_grads(q, k, v, None, do, **attrs)
    o, got = mixir_grads(q, k, v, None, do, "f32", **attrs)
    assert rel_rms(o, want_o) <= 1e-5
    assert not got[0][:, 25:].any()
    for a, w in zip(got, want):
        assert rel_rms(a, w) <= LIMIT["f32"]


def test_fla_and_flash_attn_names():
    q, k, v, g, do = make_inputs(1, 30, 30, 4, 2, 16, 16, True, seed=2)
    q, k, v, g = (x.float() for x in (q, k, v, g))
    torch.testing.assert_close(mt.parallel_forgetting_attn(q, k, v, g),
                               mt.attention(q, k, v, g, causal=True))
    torch.testing.assert_close(
        mt.flash_attn_func(q, k, v, causal=True, window_size=(6, 0)),
        mt.attention(q, k, v, causal=True, window=7))
    torch.testing.assert_close(
        mt.flash_attn_func(q, k, v, softcap=3.0),
        mt.attention(q, k, v, causal=False, softcap=3.0))
    with pytest.raises(NotImplementedError, match="window_size right"):
        mt.flash_attn_func(q, k, v, window_size=(4, 4))
    with pytest.raises(NotImplementedError, match="dropout"):
        mt.flash_attn_func(q, k, v, dropout_p=0.1)
    # FlashAttention aligns causal and window masks to the last key when
    # S > T: the queries are keys S - T .. S - 1 (a KV cache, forward only).
    # The reference sees the same by running all S queries and keeping the
    # last T rows; S < T is refused.
    for kw, attrs in (({"causal": True}, dict(causal=True)),
                      ({"window_size": (3, -1)}, dict(causal=False,
                                                      window=4))):
        got = mt.flash_attn_func(q[:, 10:], k, v, **kw)
        want = reference_attention(*(x.double() for x in (q, k, v)),
                                   **attrs)[:, 10:]
        assert rel_rms(got, want) <= 1e-5
        with pytest.raises(NotImplementedError, match="seqlen_q > seqlen_k"):
            mt.flash_attn_func(q, k[:, :20], v[:, :20], **kw)
    with pytest.raises(NotImplementedError, match="forward only"):
        mt.flash_attn_func(q[:, 10:].requires_grad_(True), k, v, causal=True)


def test_torch_compile_traces_without_graph_breaks():
    q, k, v, g, _ = make_inputs(1, 20, 20, 2, 1, 8, 8, True, seed=7)
    q, k, v, g = (x.float().requires_grad_(True) for x in (q, k, v, g))

    def loss(q, k, v, g):
        return mt.attention(q, k, v, g, window=6).square().sum()

    compiled = torch.compile(loss, fullgraph=True, backend="aot_eager")
    got = torch.autograd.grad(compiled(q, k, v, g), (q, k, v, g))
    want = torch.autograd.grad(loss(q, k, v, g), (q, k, v, g))
    for a, b in zip(got, want):
        assert torch.allclose(a, b, rtol=1e-5, atol=1e-6)


def _bf16(x):
    import ml_dtypes
    return x.detach().float().numpy().astype(ml_dtypes.bfloat16)


def _arrays(xs, dtype):
    return [_bf16(x) if dtype == "bf16" else x.detach().float().numpy()
            for x in xs]


@pytest.mark.parametrize("T,attrs,gate", [
    (45, dict(causal=True), True),
    (70, dict(causal=False, window=13), False),
    (33, dict(causal=True, softcap=4.0, block=8), True),
], ids=["causal-forget", "window", "softcap-block-forget"])
def test_gradients_cuda_emulation(T, attrs, gate, record_rel_rms):
    """The derived backward compiled for CUDA (target cuda-emulation: the
    CUDA pipeline's kernels run on CPU threads), bf16 (the forward in the
    same module takes the tensor-core attention kernel, 16-bit only):
    mix.attention_grad takes the flash form the CPU uses, mapped onto the
    GPU by convert-chunked-to-gpu, with GQA (4 query heads on 2 key heads)
    and K = 24."""
    dtype = "bf16"
    io_q = "tensor<?x?x4x24xbf16>"
    io_k = "tensor<?x?x2x24xbf16>"
    types = [io_q, io_k, io_k] + (["tensor<?x?x4xf32>"] if gate else [])
    text = " forget(%a3)" if gate else ""
    text += " causal" if attrs.get("causal") else ""
    text += f" window = {attrs['window']}" if attrs.get("window") else ""
    text += f" block = {attrs['block']}" if attrs.get("block") else ""
    text += f" softcap = {attrs['softcap']}" if attrs.get("softcap") else ""
    params = ", ".join(f"%a{i}: {t}" for i, t in enumerate(types))
    src = f"""func.func @mixer({params}) -> {io_q}
    attributes {{mix.derive_backward}} {{
  %o = mix.attention %a0, %a1, %a2{text} : ({', '.join(types)}) -> {io_q}
  return %o : {io_q}
}}"""
    module = mixir.compile(src, target="cuda-emulation")
    q, k, v, g, do = make_inputs(2, T, T, 4, 2, 24, 24, gate, seed=T)
    q, k, v, do = (x.to(DTYPE[dtype]).double() for x in (q, k, v, do))
    g = g.float().double() if g is not None else None
    _, want = reference_grads(q, k, v, g, do, **attrs)
    args = _arrays((q, k, v), dtype) + \
        ([g.float().numpy()] if g is not None else [])
    got = module.mixer_backward(*args, *_arrays([do], dtype))
    for name, a, w in zip(["dq", "dk", "dv", "dg"], got, want):
        err = rel_rms(torch.tensor(np.asarray(a, dtype=np.float64)), w)
        record_rel_rms("attention backward (cuda-emulation)", dtype, name, err,
                       LIMIT[dtype], f"T{T}")
        assert err <= LIMIT[dtype], f"{name}: rel-RMS {err:.2e}"
