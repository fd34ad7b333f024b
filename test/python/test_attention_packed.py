"""Packed softmax attention (``cu_seqlens`` on ``mix.attention``): N
sequences along T of a batch of one, each query seeing only its own
sequence's keys, with the causal mask, the window, the block mask and the
forget gate counted from the sequence's start.

Outputs are compared with float64 softmax attention run sequence by sequence
on slices (``reference_attention``, written in torch with no MixIR code), and
gradients with float64 torch autograd of the same, on random packings that
include empty and length-1 sequences, at odd head dims and lengths, with
shared key heads (GQA), on the CPU and on the emulated GPU. Bad packings are
errors that name the broken rule and leave the inputs intact, and one
compilation serves every packing.
"""

import numpy as np
import pytest

torch = pytest.importorskip("torch")  # set-up installs torch; see needs.py

import ml_dtypes  # noqa: E402

import mixir  # noqa: E402
import mixir.torch as mt  # noqa: E402
from test_attention_backward import make_inputs as unpacked_inputs  # noqa: E402
from test_attention_backward import mixir_grads  # noqa: E402
from test_attention_backward import reference_attention  # noqa: E402
from test_backward import rel_rms  # noqa: E402
from test_packed import compilations, guarded, packing  # noqa: E402

NP_DTYPE = {"f32": np.float32, "bf16": ml_dtypes.bfloat16}
TORCH_DTYPE = {"f32": torch.float32, "bf16": torch.bfloat16}
OUT_LIMIT = {"f32": 1e-5, "bf16": 1e-2}
GRAD_LIMIT = {"f32": 1e-4, "bf16": 1e-2}


def packed_reference(cu, q, k, v, g=None, **attrs):
    """Float64 attention of each packed sequence on its own (torch tensors
    [1, T, H, D]); rows of empty sequences do not exist, so every row is
    some sequence's."""
    o = q.new_zeros(q.shape[:3] + (v.shape[3],))
    for a, b in zip(cu[:-1].tolist(), cu[1:].tolist()):
        if b > a:
            o[:, a:b] = reference_attention(
                q[:, a:b], k[:, a:b], v[:, a:b],
                None if g is None else g[:, a:b], **attrs)
    return o


def make_inputs(seed, n, total, hq, hk, K, V, gate, max_len=None):
    """A random packing of n sequences of about `total` tokens, and
    test_attention_backward's inputs over it (a batch of one)."""
    rng = np.random.default_rng(seed)
    cu = packing(rng, n, total=total, max_len=max_len or max(2, total // n))
    T = int(cu[-1])
    return (cu, *unpacked_inputs(1, T, T, hq, hk, K, V, gate, seed))


# (sequences, about how many tokens, Hq, Hkv, K, V, attrs, forget gate)
CASES = [
    (5, 63, 4, 2, 60, 60, dict(causal=True), False),
    (7, 500, 2, 1, 64, 48, dict(causal=True, window=77), True),
    (4, 500, 2, 2, 37, 37, dict(causal=False), False),
    (6, 300, 4, 1, 64, 64, dict(causal=True, block=48), True),
    (3, 300, 2, 2, 33, 17, dict(causal=True, softcap=5.0), False),
    (3, 1500, 2, 1, 64, 64, dict(causal=True), False),
]


def case_id(c):
    n, total, hq, hk, K, V, attrs, gate = c
    name = "-".join(f"{a}{b}" for a, b in attrs.items())
    return f"N{n}-T{total}-H{hq}x{hk}-K{K}-V{V}-{name}" + (
        "-forget" if gate else "")


def rounded(x, dtype):
    return x.to(TORCH_DTYPE[dtype]).double()


def run_forward(case, dtype, chunk, target, seed):
    n, total, hq, hk, K, V, attrs, gate = case
    cu, q, k, v, g, _ = make_inputs(seed, n, total, hq, hk, K, V, gate)
    q, k, v = (rounded(x, dtype) for x in (q, k, v))
    g = g.float().double() if g is not None else None
    want = packed_reference(cu, q, k, v, g, **attrs)
    arrays = [x[0:1].numpy().astype(NP_DTYPE[dtype]) for x in (q, k, v)]
    got = mixir.attention(*arrays,
                          None if g is None else g.numpy().astype(np.float32),
                          chunk_size=chunk, target=target, cu_seqlens=cu,
                          **attrs)
    assert got.dtype == NP_DTYPE[dtype]
    return rel_rms(torch.from_numpy(np.asarray(got, np.float64)), want)


FWD = [(c, d, chunk) for c in CASES for d in ("f32", "bf16")
       for chunk in (None, 0) if (d == "f32" or c[1] < 1500)
       and (chunk is None or c[1] <= 300)]


@pytest.mark.parametrize("case,dtype,chunk", FWD, ids=[
    f"{case_id(c)}-{d}-{'flash' if ch is None else 'rows'}"
    for c, d, ch in FWD])
def test_packed_attention_matches_reference(case, dtype, chunk,
                                            record_rel_rms):
    err = run_forward(case, dtype, chunk, "cpu", seed=case[1] + case[4])
    record_rel_rms("attention packed", dtype, "o", err, OUT_LIMIT[dtype],
                   case_id(case))
    assert err <= OUT_LIMIT[dtype], f"rel-RMS {err:.2e}"


EMU = [(CASES[0], "f32"), (CASES[3], "bf16"), (CASES[4], "f32")]


@pytest.mark.parametrize("case,dtype", EMU,
                         ids=[f"{case_id(c)}-{d}" for c, d in EMU])
def test_packed_attention_cuda_emulation(case, dtype, record_rel_rms):
    """The CUDA pipeline: packed attention takes the chunked form's flash
    tiles mapped onto thread blocks (convert-chunked-to-gpu)."""
    err = run_forward(case, dtype, None, "cuda-emulation",
                      seed=case[1] + case[4])
    record_rel_rms("attention packed (cuda-emulation)", dtype, "o", err,
                   OUT_LIMIT[dtype], case_id(case))
    assert err <= OUT_LIMIT[dtype], f"rel-RMS {err:.2e}"


def reference_grads(cu, q, k, v, g, do, **attrs):
    leaves = [x.detach().clone().requires_grad_(True)
              for x in (q, k, v, g) if x is not None]
    g2 = leaves[3] if g is not None else None
    o = packed_reference(cu, *leaves[:3], g2, **attrs)
    return o, torch.autograd.grad((o * do).sum(), leaves)


GRAD = [(c, d) for c in CASES[:5] for d in ("f32", "bf16")]


@pytest.mark.parametrize("case,dtype", GRAD,
                         ids=[f"{case_id(c)}-{d}" for c, d in GRAD])
def test_packed_attention_gradients(case, dtype, record_rel_rms):
    n, total, hq, hk, K, V, attrs, gate = case
    cu, q, k, v, g, do = make_inputs(total + K + 1, n, total, hq, hk, K, V,
                                     gate)
    q, k, v, do = (rounded(x, dtype) for x in (q, k, v, do))
    g = g.float().double() if g is not None else None
    want_o, want = reference_grads(cu, q, k, v, g, do, **attrs)
    o, got = mixir_grads(q, k, v, g, do, dtype,
                         cu_seqlens=torch.from_numpy(cu), **attrs)
    assert rel_rms(o, want_o) <= OUT_LIMIT[dtype]
    for name, a, w in zip(["dq", "dk", "dv", "dg"], got, want):
        assert torch.isfinite(a).all(), f"{name} has NaN/Inf"
        err = rel_rms(a, w)
        record_rel_rms("attention packed backward", dtype, name, err,
                       GRAD_LIMIT[dtype], case_id(case))
        assert err <= GRAD_LIMIT[dtype], f"{name}: rel-RMS {err:.2e}"


def test_packed_attention_gradients_cuda_emulation(record_rel_rms):
    """The derived backward (mix.attention_grad with the offsets) compiled
    for cuda-emulation, against float64 autograd."""
    attrs = dict(causal=True, window=77)
    cu, q, k, v, g, do = make_inputs(7, 4, 90, 2, 1, 24, 20, True)
    q, k, v, do = (x.float().double() for x in (q, k, v, do))
    g = g.float().double()
    _, want = reference_grads(cu, q, k, v, g, do, **attrs)
    text = (
        "func.func @f(%q: tensor<1x?x2x24xf32>, %k: tensor<1x?x1x24xf32>, "
        "%v: tensor<1x?x1x20xf32>, %g: tensor<1x?x2xf32>, %cu: tensor<?xi32>)"
        " -> tensor<1x?x2x20xf32> attributes {mix.derive_backward} {\n"
        "  %o = mix.attention %q, %k, %v forget(%g) varlen(%cu) causal "
        "window = 77 : (tensor<1x?x2x24xf32>, tensor<1x?x1x24xf32>, "
        "tensor<1x?x1x20xf32>, tensor<1x?x2xf32>, tensor<?xi32>) -> "
        "tensor<1x?x2x20xf32>\n"
        "  return %o : tensor<1x?x2x20xf32>\n}\n")
    module = mixir.compile(text, target="cuda-emulation")
    args = [x.float().numpy() for x in (q, k, v, g)] + [cu]
    grads = module.f_backward(*args, do.float().numpy())
    for name, a, w in zip(["dq", "dk", "dv", "dg"], grads, want):
        err = rel_rms(torch.from_numpy(np.asarray(a, np.float64)), w)
        record_rel_rms("attention packed backward (cuda-emulation)", "f32",
                       name, err, GRAD_LIMIT["f32"], "N4-T90-window77-forget")
        assert err <= GRAD_LIMIT["f32"], f"{name}: rel-RMS {err:.2e}"


def test_gradcheck_packed():
    """torch.autograd.gradcheck in float64 (computed in float32: eps 1e-3
    and float32 tolerances) over a packing with an empty and a length-1
    sequence, GQA, a window and a forget gate."""
    cu = np.array([0, 4, 4, 5, 11], np.int32)
    gen = torch.Generator().manual_seed(3)
    q, k, v = (torch.randn(1, 11, h, d, generator=gen, dtype=torch.float64)
               for h, d in ((4, 6), (2, 6), (2, 5)))
    g = torch.nn.functional.logsigmoid(
        2.0 + torch.randn(1, 11, 4, generator=gen, dtype=torch.float64))
    leaves = [x.requires_grad_(True) for x in (q, k, v, g)]
    assert torch.autograd.gradcheck(
        lambda *xs: mt.attention(*xs, causal=True, window=3,
                                 cu_seqlens=torch.from_numpy(cu)),
        leaves, eps=1e-3, atol=2e-3, rtol=2e-3)


def test_no_gradient_crosses_a_boundary():
    """The gradient of one sequence's output reaches only its own tokens."""
    cu = np.array([0, 7, 19, 30], np.int32)
    leaves = [torch.randn(1, 30, 2, 8).requires_grad_(True) for _ in range(3)]
    o = mt.attention(*leaves, causal=False, cu_seqlens=torch.from_numpy(cu))
    grads = torch.autograd.grad(o[:, 7:19].sum(), leaves)
    for grad in grads:
        assert not grad[:, :7].any() and not grad[:, 19:].any()
        assert grad[:, 7:19].abs().sum() > 0


def test_one_compilation_serves_every_packing():
    rng = np.random.default_rng(21)
    built = compilations
    before = built()
    for i in range(100):
        n = int(rng.integers(1, 65))
        cu = packing(rng, n, max_len=6)
        T = int(cu[-1])
        q = rng.standard_normal((1, T, 2, 16)).astype(np.float32)
        o = mixir.attention(q, q, q, causal=True, window=5, cu_seqlens=cu)
        assert o.shape == (1, T, 2, 16)
        if i % 25 == 0:  # spot-check the numerics
            t = torch.from_numpy(q).double()
            want = packed_reference(cu, t, t, t, causal=True, window=5)
            assert rel_rms(torch.from_numpy(o).double(), want) <= 1e-5
    assert built() - before == 1


T_BAD = 12
BAD = [
    ("first-not-zero", [1, 4, 8, 12], r"'cu_seqlens'\[0\] must be 0 \(got 1"),
    ("decreasing", [0, 8, 4, 12], r"non-decreasing.*\(got 2, expected 4\)"),
    ("negative-middle", [0, -3, 8, 12], r"non-decreasing.*\(got 1"),
    ("last-short", [0, 4, 8, 11], r"must be T.*\(got 11, expected 12\)"),
    ("last-long", [0, 4, 8, 13], r"must be T.*\(got 13, expected 12\)"),
    ("middle-beyond-T", [0, 4, 100, 12], r"non-decreasing"),
    ("all-zero", [0, 0, 0, 0], r"must be T.*\(got 0, expected 12\)"),
    ("no-offsets", [], r"must hold N \+ 1 >= 1 offsets"),
    ("i64-beyond-i32", np.array([0, 4, 2**40, 12], np.int64), r"non-decreasing"),
    ("i64-last-long", np.array([0, 4, 8, 2**40], np.int64), r"must be T"),
]


@pytest.mark.parametrize("chunk", [None, 0], ids=["flash", "rows"])
@pytest.mark.parametrize("name,cu,message", BAD, ids=[b[0] for b in BAD])
def test_bad_packing_is_an_error(name, cu, message, chunk):
    rng = np.random.default_rng(5)
    cu = np.asarray(cu, np.int32) if isinstance(cu, list) else cu
    q, qbuf = guarded((1, T_BAD, 2, 8), rng)
    v, vbuf = guarded((1, T_BAD, 2, 8), rng)
    kept = [qbuf.copy(), vbuf.copy()]
    with pytest.raises(ValueError, match="mix.attention: .*" + message):
        mixir.attention(q, q, v, causal=True, chunk_size=chunk,
                        cu_seqlens=cu)
    for got, want in zip([qbuf, vbuf], kept):
        np.testing.assert_array_equal(got, want)


def test_packing_arguments_checked():
    q = np.zeros((1, 12, 2, 8), np.float32)
    cu = np.array([0, 5, 12], np.int32)
    with pytest.raises(ValueError, match=r"B == 1, S == T\), got B = 2"):
        mixir.attention(np.zeros((2, 12, 2, 8), np.float32),
                        np.zeros((2, 12, 2, 8), np.float32),
                        np.zeros((2, 12, 2, 8), np.float32), cu_seqlens=cu)
    with pytest.raises(ValueError, match=r"S = 10, T = 12"):
        k = np.zeros((1, 10, 2, 8), np.float32)
        mixir.attention(q, k, k, causal=False, cu_seqlens=cu)
    with pytest.raises(TypeError, match="cu_seqlens must be int32 or int64"):
        mixir.attention(q, q, q, cu_seqlens=cu.astype(np.float32))


def test_flash_attn_varlen_func():
    """FlashAttention's varlen name: q, k, v [total, H, D] and one packing
    for queries and keys."""
    cu, q, k, v, _, _ = make_inputs(8, 4, 60, 4, 2, 16, 16, False)
    q, k, v = (x[0].float() for x in (q, k, v))
    cu_t = torch.from_numpy(cu)
    got = mt.flash_attn_varlen_func(q, k, v, cu_t, cu_t, 60, 60, causal=True,
                                    window_size=(5, 0))
    want = mt.attention(q[None], k[None], v[None], causal=True, window=6,
                        cu_seqlens=cu_t)[0]
    torch.testing.assert_close(got, want)
    ref = packed_reference(cu, q[None].double(), k[None].double(),
                           v[None].double(), causal=True, window=6)[0]
    assert rel_rms(got, ref) <= 1e-5
    with pytest.raises(NotImplementedError, match="cu_seqlens_k must equal"):
        mt.flash_attn_varlen_func(q, k, v, cu_t, cu_t.flip(0), 60, 60)
    with pytest.raises(NotImplementedError, match="block_table"):
        mt.flash_attn_varlen_func(q, k, v, cu_t, cu_t, 60, 60,
                                  block_table=cu_t)
    with pytest.raises(ValueError, match="3-D"):
        mt.flash_attn_varlen_func(q[None], k, v, cu_t, cu_t, 60, 60)


def test_parallel_forgetting_attn_packed():
    cu, q, k, v, g, _ = make_inputs(9, 3, 40, 2, 2, 8, 8, True)
    q, k, v, g = (x.float() for x in (q, k, v, g))
    got = mt.parallel_forgetting_attn(q, k, v, g, cu_seqlens=torch.from_numpy(cu))
    want = packed_reference(cu, q.double(), k.double(), v.double(),
                            g.double(), causal=True)
    assert rel_rms(got, want) <= 1e-5
