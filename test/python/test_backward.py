"""Gradients of the derived backward (``mix-derive-backward``) against float64
torch autograd of the recurrent form, written here with no MixIR code.

The compiler derives ``@mixer_backward`` for ``mix.linear_attention`` and
``mix.scan`` as mix ops run in reverse time; ``mixir.torch`` exposes them
through ``torch.autograd``. Every gradient (q, k, v, the gate, the initial
state) is compared separately with rel-RMS limits of 1e-4 for f32 inputs and
1e-2 for bf16 (MIXERS.md "Gradients"), at lengths that end in a partial
chunk, head dims that are not powers of two, and shared heads in both
directions (GQA: more query heads; GVA: more value heads).
"""

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")  # set-up installs torch; see needs.py

import mixir  # noqa: E402
import mixir.torch as mt  # noqa: E402

LIMIT = {"f32": 1e-4, "bf16": 1e-2}
DTYPE = {"f32": torch.float32, "bf16": torch.bfloat16}
HEADS = {"mha": (2, 2, 2), "gqa": (4, 1, 2), "gva": (2, 1, 4)}


def head_maps(q, k, v):
    """(key head of each state, state of each output head, query head of
    each output head) for q [.., Hq, K], k [.., Hk, K], v [.., Hv, V]."""
    hq, hk, hv = q.shape[2], k.shape[2], v.shape[2]
    ho = max(hq, hv)
    return (torch.arange(hv) // (hv // hk), torch.arange(ho) // (ho // hv),
            torch.arange(ho) // (ho // hq))


def reference_linear_attention(q, k, v, g, s0, gate, scale):
    """The recurrent form of MIXERS.md, float64, per head as the spec
    shares them: output head h reads query h // (Ho/Hq) and state
    h // (Ho/Hv); state s reads key s // (Hv/Hk)."""
    B, T, _, K = q.shape
    hv, V = v.shape[2], v.shape[3]
    key_of, state_of, query_of = head_maps(q, k, v)
    S = s0 if s0 is not None else q.new_zeros(B, hv, K, V)
    outs = []
    for t in range(T):
        if gate == "head":
            S = torch.exp(g)[None, :, None, None] * S
        elif gate == "scalar":
            S = torch.exp(g[:, t])[:, :, None, None] * S
        elif gate == "vector":
            S = torch.exp(g[:, t])[:, :, :, None] * S
        S = S + k[:, t, key_of][..., None] * v[:, t][:, :, None, :]
        outs.append(torch.einsum("bhkv,bhk->bhv", S[:, state_of],
                                 scale * q[:, t, query_of]))
    return torch.stack(outs, 1), S


def reference_scan(x, g, h0):
    h = h0 if h0 is not None else x.new_zeros(x.shape[0], x.shape[2])
    outs = []
    for t in range(x.shape[1]):
        h = torch.exp(g[:, t]) * h + x[:, t]
        outs.append(h)
    return torch.stack(outs, 1), h


def rel_rms(got, want):
    """rms(got - want) / rms(want); the rms of got when want is all zero."""
    got, want = got.double(), want.double()
    if not want.any():
        return torch.sqrt(torch.mean(got ** 2)).item()
    return (torch.sqrt(torch.mean((got - want) ** 2)) /
            torch.sqrt(torch.mean(want ** 2))).item()


def inputs(gate, heads, B, T, K, V, init, seed):
    """Model-like inputs: unit-norm keys, log gates in [-0.5, -0.01]."""
    gen = torch.Generator().manual_seed(seed)
    hq, hk, hv = HEADS[heads]
    q = torch.randn(B, T, hq, K, generator=gen, dtype=torch.float64)
    k = torch.randn(B, T, hk, K, generator=gen, dtype=torch.float64)
    k = k / k.norm(dim=-1, keepdim=True)
    v = torch.randn(B, T, hv, V, generator=gen, dtype=torch.float64)
    shape = {"head": (hv,), "scalar": (B, T, hv), "vector": (B, T, hv, K)}
    g = None
    if gate != "none":
        g = -0.01 - 0.49 * torch.rand(*shape[gate], generator=gen,
                                      dtype=torch.float64)
    s0 = (torch.randn(B, hv, K, V, generator=gen, dtype=torch.float64)
          if init else None)
    return q, k, v, g, s0


def check_linear_attention(gate, heads, T, K, V, init, dtype, chunk,
                           record_rel_rms, B=2, seed=0):
    q, k, v, g, s0 = inputs(gate, heads, B, T, K, V, init, seed)
    # Both sides see the same rounded inputs (gates, states and cotangents
    # are f32 in the op).
    q, k, v = (x.to(DTYPE[dtype]).double() for x in (q, k, v))
    g, s0 = (x.float().double() if x is not None else None for x in (g, s0))
    scale = K ** -0.5
    leaves = [x for x in (q, k, v, g, s0) if x is not None]
    for x in leaves:
        x.requires_grad_(True)
    o, s = reference_linear_attention(q, k, v, g, s0, gate, scale)
    gen = torch.Generator().manual_seed(seed + 1)
    do = torch.randn(o.shape, generator=gen).double()
    ds = torch.randn(s.shape, generator=gen).double()
    want = torch.autograd.grad((o * do).sum() + (s * ds).sum(), leaves)

    ins = [x.detach() for x in (q, k, v)]
    ins = [x.to(DTYPE[dtype]).requires_grad_(True) for x in ins]
    gt = g.detach().float().requires_grad_(True) if g is not None else None
    st = s0.detach().float().requires_grad_(True) if s0 is not None else None
    o2, s2 = mt.linear_attention(*ins, gt, gate, None, st, True,
                                 chunk_size=chunk)
    assert o2.dtype == DTYPE[dtype] and s2.dtype == torch.float32
    mine = [x for x in ins + [gt, st] if x is not None]
    got = torch.autograd.grad(
        (o2.float() * do.float()).sum() + (s2 * ds.float()).sum(), mine)
    names = ["dq", "dk", "dv"] + (["dg"] if g is not None else []) + \
        (["ds0"] if s0 is not None else [])
    case = f"{gate}-{heads}-T{T}-K{K}-V{V}-{dtype}-C{chunk}"
    for name, a, w in zip(names, got, want):
        assert a.shape == w.shape, (name, a.shape, w.shape)
        assert torch.isfinite(a.float()).all(), f"{case} {name} not finite"
        err = rel_rms(a, w)
        record_rel_rms("linear_attention backward", dtype, name, err,
                       LIMIT[dtype], case)
        assert err <= LIMIT[dtype], f"{case} {name}: rel-RMS {err:.2e}"


# gate, heads, (K, V), init, dtype, chunk (None: the compiler's 64; 0:
# recurrent), lengths
LA_CASES = [
    ("none", "mha", (60, 60), True, "f32", None, (1, 63, 500)),
    ("head", "gqa", (64, 64), True, "f32", 16, (63, 500)),
    ("head", "mha", (60, 64), False, "f32", 0, (63,)),
    ("scalar", "gva", (60, 60), True, "f32", None, (1, 63, 500)),
    ("scalar", "mha", (64, 64), True, "f32", 0, (63, 500)),
    ("scalar", "gqa", (64, 60), False, "bf16", None, (63, 500)),
    ("vector", "mha", (60, 64), True, "f32", None, (1, 63, 500)),
    ("vector", "gva", (64, 60), True, "f32", 16, (63,)),
    ("vector", "gqa", (64, 64), False, "bf16", 0, (63,)),
    ("none", "gva", (64, 64), False, "bf16", 16, (63, 500)),
]


@pytest.mark.parametrize("case", LA_CASES, ids=lambda c: "-".join(
    map(str, c[:5])) + f"-C{c[5]}")
def test_linear_attention_gradients(case, record_rel_rms):
    gate, heads, (K, V), init, dtype, chunk, lengths = case
    for T in lengths:
        check_linear_attention(gate, heads, T, K, V, init, dtype, chunk,
                               record_rel_rms, seed=T)


@pytest.mark.parametrize("init", [False, True])
@pytest.mark.parametrize("chunk", [None, 0])
@pytest.mark.parametrize("T", [1, 75, 1500])  # 1500: many chunks
def test_scan_gradients(init, chunk, T, record_rel_rms):
    gen = torch.Generator().manual_seed(T)
    B, D = 2, 100
    x = torch.randn(B, T, D, generator=gen, dtype=torch.float64)
    g = -0.01 - torch.rand(B, T, D, generator=gen, dtype=torch.float64)
    h0 = torch.randn(B, D, generator=gen, dtype=torch.float64) if init else None
    leaves = [t for t in (x, g, h0) if t is not None]
    for t in leaves:
        t.requires_grad_(True)
    o, h = reference_scan(x, g, h0)
    do = torch.randn(o.shape, generator=gen, dtype=torch.float64)
    dh = torch.randn(h.shape, generator=gen, dtype=torch.float64)
    want = torch.autograd.grad((o * do).sum() + (h * dh).sum(), leaves)
    mine = [t.detach().float().requires_grad_(True) for t in leaves]
    o2, h2 = mt.scan(mine[0], mine[1], mine[2] if init else None, True,
                     chunk_size=chunk)
    got = torch.autograd.grad((o2 * do.float()).sum() + (h2 * dh.float()).sum(),
                              mine)
    for name, a, w in zip(["dx", "dg", "dh0"], got, want):
        err = rel_rms(a, w)
        record_rel_rms("scan backward", "f32", name, err, 1e-5,
                       f"T{T}-init{init}-C{chunk}")
        assert err <= 1e-5, f"{name}: rel-RMS {err:.2e}"


@pytest.mark.parametrize("gate", ["none", "head", "scalar", "vector"])
def test_gradcheck(gate):
    """torch.autograd.gradcheck with float64 tensors (computed in float32:
    finite differences with eps 1e-3 and float32 tolerances)."""
    q, k, v, g, s0 = inputs(gate, "gva", 1, 11, 6, 5, True, seed=3)
    leaves = [x.requires_grad_(True) for x in (q, k, v, g, s0) if x is not None]

    def f(*xs):
        it = iter(xs)
        q, k, v = next(it), next(it), next(it)
        g2 = next(it) if gate != "none" else None
        return mt.linear_attention(q, k, v, g2, gate, None, next(it), True)

    assert torch.autograd.gradcheck(f, leaves, eps=1e-3, atol=2e-3, rtol=2e-3)


def test_gradcheck_scan():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(2, 9, 5, generator=gen, dtype=torch.float64)
    g = -torch.rand(2, 9, 5, generator=gen, dtype=torch.float64)
    h0 = torch.randn(2, 5, generator=gen, dtype=torch.float64)
    leaves = [t.requires_grad_(True) for t in (x, g, h0)]
    assert torch.autograd.gradcheck(lambda *a: mt.scan(*a, True), leaves,
                                    eps=1e-3, atol=2e-3, rtol=2e-3)


@pytest.mark.parametrize("gate", ["scalar", "vector"])
def test_strong_decay_and_long_sequence_stay_finite(gate):
    """Gates near -30 (decay ~1e-13 per step) over T = 16384: every gradient
    finite, and the state gradient decays instead of overflowing."""
    B, T, H, K, V = 1, 16384, 1, 16, 16
    gen = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(B, T, H, d, generator=gen).requires_grad_(True)
               for d in (K, K, V))
    shape = (B, T, H) if gate == "scalar" else (B, T, H, K)
    g = (-30 + torch.rand(*shape, generator=gen)).requires_grad_(True)
    s0 = torch.randn(B, H, K, V, generator=gen).requires_grad_(True)
    o, s = mt.linear_attention(q, k, v, g, gate, None, s0, True)
    grads = torch.autograd.grad(o.sum() + s.sum(), (q, k, v, g, s0))
    for name, d in zip(("dq", "dk", "dv", "dg", "ds0"), grads):
        assert torch.isfinite(d).all(), name
    # ds0 only sees the first step: exp(g_0) * (scale * q_0 + ...) is tiny.
    assert grads[4].abs().max() < 1e-6


def test_fla_names_match_the_generic_function():
    """chunk_simple_gla / chunk_gla / chunk_linear_attn are the same op."""
    q, k, v, g, s0 = inputs("scalar", "mha", 1, 40, 8, 8, True, seed=5)
    q, k, v, g, s0 = (x.float() for x in (q, k, v, g, s0))
    a, sa = mt.chunk_simple_gla(q, k, v, g, initial_state=s0,
                                output_final_state=True)
    b, sb = mt.linear_attention(q, k, v, g, "scalar", None, s0, True)
    assert torch.equal(a, b) and torch.equal(sa, sb)
    want, _ = reference_linear_attention(q.double(), k.double(), v.double(),
                                         None, None, "none", 8 ** -0.5)
    got, none = mt.chunk_linear_attn(q, k, v)
    assert none is None and rel_rms(got, want) < 1e-5
    # One packed sequence of all 40 tokens is the unpacked call.
    gv = g[..., None].expand(1, 40, 2, 8)
    packed, sp = mt.chunk_gla(q, k, v, gv, initial_state=s0,
                              output_final_state=True,
                              cu_seqlens=torch.tensor([0, 40]))
    whole, sw = mt.chunk_gla(q, k, v, gv, initial_state=s0,
                             output_final_state=True)
    assert rel_rms(packed, whole) < 1e-6 and rel_rms(sp, sw) < 1e-6
    with pytest.raises(ValueError, match="g or g_gamma"):
        mt.chunk_simple_gla(q, k, v, g, g_gamma=g[0, 0])


def test_torch_compile_traces_without_graph_breaks():
    q, k, v, g, _ = inputs("vector", "mha", 1, 20, 8, 8, False, seed=7)
    q, k, v, g = (x.float().requires_grad_(True) for x in (q, k, v, g))

    def loss(q, k, v, g):
        return mt.chunk_gla(q, k, v, g)[0].square().sum()

    compiled = torch.compile(loss, fullgraph=True, backend="aot_eager")
    got = torch.autograd.grad(compiled(q, k, v, g), (q, k, v, g))
    want = torch.autograd.grad(loss(q, k, v, g), (q, k, v, g))
    for a, b in zip(got, want):
        assert torch.allclose(a, b, rtol=1e-5, atol=1e-6)


def test_backward_of_an_op_not_derived_is_an_error():
    src = """
func.func @mixer(%wx: tensor<?x?x2x4x16xf32>, %r: tensor<2x4x16x16xf32>)
    -> tensor<?x?x2x16xf32> attributes {mix.derive_backward} {
  %h, %s:2 = mix.rnn lstm %wx, %r
      : (tensor<?x?x2x4x16xf32>, tensor<2x4x16x16xf32>)
      -> (tensor<?x?x2x16xf32>, tensor<?x2x16xf32>, tensor<?x2x16xf32>)
  return %h : tensor<?x?x2x16xf32>
}"""
    with pytest.raises(mixir.CompileError, match="mix.rnn.*not derived"):
        mixir.compile(src)


def test_argument_used_twice_gets_both_gradients():
    """q = k = v = x: the gradient of x is the sum of the three."""
    src = """
func.func @mixer(%x: tensor<?x?x1x6xf32>) -> tensor<?x?x1x6xf32>
    attributes {mix.derive_backward} {
  %o, %s = mix.linear_attention %x, %x, %x gate none
      : (tensor<?x?x1x6xf32>, tensor<?x?x1x6xf32>, tensor<?x?x1x6xf32>)
      -> (tensor<?x?x1x6xf32>, tensor<?x1x6x6xf32>)
  return %o : tensor<?x?x1x6xf32>
}"""
    m = mixir.compile(src)
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(2, 13, 1, 6, generator=gen, dtype=torch.float64,
                    requires_grad=True)
    do = torch.randn(2, 13, 1, 6, generator=gen, dtype=torch.float64)
    o, _ = reference_linear_attention(x, x, x, None, None, "none", 6 ** -0.5)
    (want,) = torch.autograd.grad((o * do).sum(), (x,))
    got = m.mixer_backward(x.detach().float().numpy(), do.float().numpy())
    assert rel_rms(torch.from_numpy(got), want) < 1e-5


@pytest.mark.parametrize("gate", ["scalar", "vector"])
def test_jax_grad_through_the_derived_backward(gate):
    """mixir.jax: jax.grad (under jit) of a loss through linear attention
    and scan, against float64 torch autograd of the recurrent form."""
    jax = pytest.importorskip("jax")
    import mixir.jax as mj
    B, T, H, K, V = 2, 37, 2, 6, 5
    rng = np.random.default_rng(0)
    q, k, v = (rng.standard_normal((B, T, H, d)).astype(np.float32)
               for d in (K, K, V))
    shape = (B, T, H, K) if gate == "vector" else (B, T, H)
    g = (-rng.random(shape) * 0.5).astype(np.float32)
    s0 = rng.standard_normal((B, H, K, V)).astype(np.float32)

    def loss(o, s):
        return (o ** 2).sum() + (s ** 3).sum()

    mine = jax.jit(jax.grad(lambda *a: loss(*mj.linear_attention(
        *a[:4], gate, None, a[4])), argnums=tuple(range(5))))(q, k, v, g, s0)
    xs = [torch.tensor(x, dtype=torch.float64, requires_grad=True)
          for x in (q, k, v, g, s0)]
    want = torch.autograd.grad(loss(*reference_linear_attention(
        *xs, gate, K ** -0.5)), xs)
    for a, w in zip(mine, want):
        assert rel_rms(torch.tensor(np.asarray(a)), w) < 1e-5

    x = rng.standard_normal((2, 50, 7)).astype(np.float32)
    gx = (-rng.random((2, 50, 7))).astype(np.float32)
    mine = jax.grad(lambda x, g: loss(*mj.scan(x, g)), argnums=(0, 1))(x, gx)
    xs = [torch.tensor(t, dtype=torch.float64, requires_grad=True)
          for t in (x, gx)]
    want = torch.autograd.grad(loss(*reference_scan(*xs, None)), xs)
    for a, w in zip(mine, want):
        assert rel_rms(torch.tensor(np.asarray(a)), w) < 1e-5


def _bf16(x):
    import ml_dtypes
    return x.detach().float().numpy().astype(ml_dtypes.bfloat16)


@pytest.mark.parametrize("gate", ["none", "head", "scalar", "vector"])
def test_gradients_cuda_emulation(gate, record_rel_rms):
    """The derived backward compiled for CUDA (target cuda-emulation: the
    CUDA pipeline's kernels run on CPU threads) with bf16 inputs: the
    forward through its tensor-core kernel, the backward's recurrences
    through the chunked form mapped onto the GPU (convert-chunked-to-gpu)."""
    B, T, H, K, V = 2, 45, 2, 16, 16
    gtype = {"head": "tensor<2xf32>", "scalar": "tensor<?x?x2xf32>",
             "vector": "tensor<?x?x2x16xf32>"}
    io = "tensor<?x?x2x16xbf16>"
    st = "tensor<?x2x16x16xf32>"
    types = [io, io, io] + ([gtype[gate]] if gate != "none" else []) + [st]
    gate_txt = f"gate {gate}" + ("(%a3)" if gate != "none" else "")
    params = ", ".join(f"%a{i}: {t}" for i, t in enumerate(types))
    src = f"""func.func @mixer({params}) -> ({io}, {st})
    attributes {{mix.derive_backward}} {{
  %o, %s = mix.linear_attention %a0, %a1, %a2 {gate_txt} init(%a{len(types) - 1})
      : ({', '.join(types)}) -> ({io}, {st})
  return %o, %s : {io}, {st}
}}"""
    module = mixir.compile(src, target="cuda-emulation")
    q, k, v, g, s0 = inputs(gate, "mha", B, T, K, V, True, seed=11)
    q, k, v = (x.to(torch.bfloat16).double() for x in (q, k, v))
    g, s0 = (x.float().double() if x is not None else None for x in (g, s0))
    leaves = [x.requires_grad_(True) for x in (q, k, v, g, s0) if x is not None]
    o, s = reference_linear_attention(q, k, v, g, s0, gate, K ** -0.5)
    gen = torch.Generator().manual_seed(12)
    do = torch.randn(o.shape, generator=gen).to(torch.bfloat16).double()
    ds = torch.randn(s.shape, generator=gen).double()
    want = torch.autograd.grad((o * do).sum() + (s * ds).sum(), leaves)
    args = [_bf16(x) for x in (q, k, v)] + \
        [x.detach().float().numpy() for x in (g, s0) if x is not None]
    got = module.mixer_backward(*args, _bf16(do), ds.float().numpy())
    names = ["dq", "dk", "dv"] + (["dg"] if g is not None else []) + ["ds0"]
    for name, a, w in zip(names, got, want):
        err = rel_rms(torch.tensor(np.asarray(a, dtype=np.float64)), w)
        record_rel_rms("linear_attention backward (cuda-emulation)", "bf16",
                       name, err, 1e-2, gate)
        assert err <= 1e-2, f"{gate} {name}: rel-RMS {err:.2e}"


def test_gated_delta_rule_forward():
    """chunk_gated_delta_rule matches the f64 recurrent delta rule forward
    (its gradients: test_backward_dplr.py)."""
    gen = torch.Generator().manual_seed(0)
    B, T, H, K, V = 1, 45, 2, 16, 8
    q, k, v = (torch.randn(B, T, H, d, generator=gen) for d in (K, K, V))
    g = -0.5 * torch.rand(B, T, H, generator=gen)
    beta = torch.rand(B, T, H, generator=gen)
    o, s = mt.chunk_gated_delta_rule(q, k, v, g, beta, output_final_state=True,
                                     use_qk_l2norm_in_kernel=True)
    qd, kd = (x.double() / x.double().norm(dim=-1, keepdim=True)
              for x in (q, k))
    S = torch.zeros(B, H, K, V, dtype=torch.float64)
    want = []
    for t in range(T):
        S = torch.exp(g[:, t].double())[..., None, None] * S
        kt, bt = kd[:, t], beta[:, t].double()[..., None]
        err = v[:, t].double() - torch.einsum("bhkv,bhk->bhv", S, kt)
        S = S + kt[..., None] * (bt * err)[..., None, :]
        want.append(torch.einsum("bhkv,bhk->bhv", S, qd[:, t] * K ** -0.5))
    assert rel_rms(o, torch.stack(want, 1)) < 1e-4
    assert rel_rms(s, S) < 1e-4


def test_static_length_backward_compiles_and_matches():
    """A function with a static length of 150 (its time reversals used to be
    generics with an input map 149 - t, which the CPU pipeline's tiling
    failed to verify at this size): the derived backward compiles and its
    gradients match float64 autograd."""
    T, K = 150, 12
    t = f"tensor<1x{T}x2x{K}xf32>"
    gt = f"tensor<1x{T}x2xf32>"
    src = (f"func.func @f(%q: {t}, %k: {t}, %v: {t}, %g: {gt}) -> {t} "
           f"attributes {{mix.derive_backward}} {{\n"
           f"  %o, %s = mix.linear_attention %q, %k, %v gate scalar(%g) : "
           f"({t}, {t}, {t}, {gt}) -> ({t}, tensor<1x2x{K}x{K}xf32>)\n"
           f"  return %o : {t}\n}}\n")
    q, k, v, g, _ = inputs("scalar", "mha", 1, T, K, K, False, seed=3)
    q, k, v, g = (x.float().double().requires_grad_(True)
                  for x in (q, k, v, g))
    o, _ = reference_linear_attention(q, k, v, g, None, "scalar", K ** -0.5)
    do = torch.randn(o.shape, generator=torch.Generator().manual_seed(4),
                     dtype=torch.float64)
    want = torch.autograd.grad((o * do).sum(), (q, k, v, g))
    module = mixir.compile(src)
    args = [x.detach().float().numpy() for x in (q, k, v, g)]
    got = module.f_backward(*args, do.float().numpy())
    for name, a, w in zip(["dq", "dk", "dv", "dg"], got, want):
        err = rel_rms(torch.from_numpy(np.asarray(a)), w)
        assert err <= LIMIT["f32"], f"{name}: rel-RMS {err:.2e}"


@pytest.mark.parametrize("op", ["delta_rule", "attention"])
def test_no_grad_calls_compile_the_forward_alone(op):
    """Under torch.no_grad() (or with no input requiring grad) the forward
    compiles without the derived backward: the first differentiable call
    then compiles a module of its own (forward and backward), and its
    backward compiles nothing more. The scale makes the module unique to
    this test."""
    gen = torch.Generator().manual_seed(5)
    q, k, v = (torch.randn(1, 19, 2, 8, generator=gen) for _ in range(3))

    def call():
        if op == "attention":
            return mt.attention(q, k, v, scale=0.4127)
        beta = torch.rand(1, 19, 2, generator=gen)
        return mt.delta_rule(q, k, v, beta, scale=0.4127)[0]

    def compiles():  # a module found in a disk cache counts too
        stats = mixir.cache.stats()
        return stats["compiles"] + stats["disk_hits"]

    before = compiles()
    with torch.no_grad():
        call()
    assert compiles() == before + 1
    call()  # nothing requires grad: the forward alone again
    assert compiles() == before + 1
    q.requires_grad_()
    out = call()
    assert compiles() == before + 2
    out.square().sum().backward()
    assert compiles() == before + 2 and q.grad is not None
