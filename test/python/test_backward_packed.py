"""Gradients of the derived backward of packed sequences (``cu_seqlens``,
MIXERS.md "Packed sequences" and "Gradients") through ``mixir.torch``.

The oracle is float64 torch autograd of the recurrent forms written in
test_backward.py and test_backward_dplr.py (no MixIR code), run on each
sequence alone with its own initial state; the packed outputs are those
sequences' outputs end to end and the packed final states theirs stacked.
Every gradient (q, k, v, the gate, beta or the low-rank terms, the initial
states) is compared separately with rel-RMS limits of 1e-4 for f32 (1e-3
for the delta rule's gate and beta, whose gradients sum long cancelling
series) and 1e-2 for bf16. Each compiled function serves the packings
N = 1, 3 and 9 with one-token, odd and empty lengths (empty first and
last sequences too), some longer than a chunk. A NaN in one sequence's
input leaves the other sequences' gradients bit for bit as they are
without it.
"""

import numpy as np
import pytest

torch = pytest.importorskip("torch")  # set-up installs torch; see needs.py

import mixir  # noqa: E402
import mixir.torch as mt  # noqa: E402
from test_backward import (DTYPE, HEADS, LIMIT, _bf16,  # noqa: E402
                           reference_linear_attention, reference_scan,
                           rel_rms)
from test_backward_dplr import (reference_delta_rule,  # noqa: E402
                                reference_recurrence)

# Sequence lengths of the packings: one sequence; three with a one-token
# one; nine with empty ones first, in the middle and last, one-token ones
# and two longer than a chunk of 64 (odd lengths throughout).
PACKINGS = {1: [37], 3: [1, 29, 17], 9: [0, 5, 1, 0, 71, 3, 65, 9, 0]}


def offsets(lengths):
    return torch.tensor(np.concatenate([[0], np.cumsum(lengths)]),
                        dtype=torch.int32)


def per_sequence(run, cu, timed, s0, state_shape):
    """`run(slices of timed, s0 row)` -> (o, state) on each sequence alone
    (a batch of one); the outputs end to end along T and the states stacked
    (an empty sequence's state is its initial state, or zeros)."""
    outs, states = [], []
    for n in range(len(cu) - 1):
        a, b = int(cu[n]), int(cu[n + 1])
        s = s0[n:n + 1] if s0 is not None else None
        if a == b:
            states.append(s if s is not None else
                          torch.zeros((1,) + state_shape, dtype=torch.float64))
            continue
        o, S = run([None if x is None else x[:, a:b] for x in timed], s)
        outs.append(o)
        states.append(S)
    return torch.cat(outs, 1), torch.cat(states, 0)


def cotangents(o, s, seed, dtype):
    gen = torch.Generator().manual_seed(seed)
    do = torch.randn(o.shape, generator=gen, dtype=torch.float64)
    ds = torch.randn(s.shape, generator=gen, dtype=torch.float64)
    return do.to(DTYPE[dtype]).double(), ds.float().double()


def compare(op, names, got, want, limits, case, record):
    for name, x, w in zip(names, got, want):
        assert x.shape == w.shape, (case, name, x.shape, w.shape)
        assert torch.isfinite(x.float()).all(), f"{case} {name} not finite"
        err = rel_rms(x, w)
        record(op + " packed backward", case.split("-")[0], name, err,
               limits[name], case)
        assert err <= limits[name], f"{case} {name}: rel-RMS {err:.2e}"


def random_inputs(gen, T, N, heads, K, V, gate, init, dtype):
    """Packed model-like inputs (unit keys, log gates in [-0.5, -0.01]) as
    float64 leaves holding values the op sees exactly."""
    hq, hk, hv = HEADS[heads]
    f64 = torch.float64

    def randn(*shape):
        return torch.randn(*shape, generator=gen, dtype=f64)
    q, k, v = randn(1, T, hq, K), randn(1, T, hk, K), randn(1, T, hv, V)
    k = k / k.norm(dim=-1, keepdim=True)
    q, k, v = (x.to(DTYPE[dtype]).double() for x in (q, k, v))
    shape = {"head": (hv,), "scalar": (1, T, hv), "vector": (1, T, hv, K)}
    g = None
    if gate != "none":
        g = -0.01 - 0.49 * torch.rand(*shape[gate], generator=gen, dtype=f64)
        g = g.float().double()
    s0 = randn(N, hv, K, V).float().double() if init else None
    return q, k, v, g, s0


def torch_args(xs, dtype, low_precision):
    """Leaves for mixir.torch: the first `low_precision` in `dtype`, the
    rest (gates, beta, states) in f32."""
    out = []
    for i, x in enumerate(xs):
        if x is None:
            out.append(None)
            continue
        t = DTYPE[dtype] if i < low_precision else torch.float32
        out.append(x.detach().to(t).requires_grad_(True))
    return out


def grads_of(o, s, do, ds, leaves):
    return torch.autograd.grad((o.double() * do).sum() +
                               (s.double() * ds).sum(), leaves)


# --------------------------------------------------------------------------
# mix.linear_attention (every gate kind)
# --------------------------------------------------------------------------

def check_linear_attention(gate, heads, K, V, init, dtype, chunk, record):
    for N, lengths in PACKINGS.items():
        cu = offsets(lengths)
        T = int(cu[-1])
        gen = torch.Generator().manual_seed(100 * N + K)
        q, k, v, g, s0 = random_inputs(gen, T, N, heads, K, V, gate, init,
                                       dtype)
        leaves = [x.requires_grad_(True) for x in (q, k, v, g, s0)
                  if x is not None]
        timed = [q, k, v, g if gate not in ("none", "head") else None]
        hv = v.shape[2]

        def run(x, s):
            gx = g if gate == "head" else x[3]
            return reference_linear_attention(*x[:3], gx, s, gate, K ** -0.5)
        o, s = per_sequence(run, cu, timed, s0, (hv, K, V))
        do, ds = cotangents(o, s, N, dtype)
        want = grads_of(o, s, do, ds, leaves)

        mine = torch_args([q, k, v, g, s0], dtype, 3)
        o2, s2 = mt.linear_attention(*mine[:4], gate, None, mine[4], True,
                                     chunk_size=chunk, cu_seqlens=cu)
        assert o2.dtype == DTYPE[dtype] and s2.shape == (N, hv, K, V)
        got = grads_of(o2, s2, do, ds, [x for x in mine if x is not None])
        names = ["dq", "dk", "dv"] + (["dg"] if g is not None else []) + \
            (["ds0"] if init else [])
        compare("linear_attention", names, got, want,
                dict.fromkeys(names, LIMIT[dtype]),
                f"{dtype}-{gate}-{heads}-N{N}-K{K}-V{V}-C{chunk}", record)


# gate, heads, (K, V), init, dtype, chunk (None: the compiler's; 0: the
# recurrent form)
LA_CASES = [
    ("none", "mha", (13, 11), True, "f32", None),
    ("head", "gqa", (16, 12), True, "f32", 16),
    ("scalar", "gva", (12, 13), True, "f32", None),
    ("scalar", "mha", (12, 12), False, "f32", 0),
    ("vector", "mha", (13, 12), True, "f32", 16),
    ("vector", "gva", (12, 12), True, "f32", None),
    ("scalar", "gqa", (16, 16), True, "bf16", None),
]


@pytest.mark.parametrize("case", LA_CASES, ids=lambda c: "-".join(
    map(str, c[:2] + c[4:5])) + f"-C{c[5]}" + ("-init" if c[3] else ""))
def test_linear_attention_packed_gradients(case, record_rel_rms):
    gate, heads, (K, V), init, dtype, chunk = case
    check_linear_attention(gate, heads, K, V, init, dtype, chunk,
                           record_rel_rms)


# --------------------------------------------------------------------------
# mix.delta_rule and mix.recurrence
# --------------------------------------------------------------------------

DR_CASES = [  # gate, heads, qk_l2norm, allow_neg_eigval, dtype, chunk
    ("scalar", "gva", True, False, "f32", None),
    ("vector", "mha", False, True, "f32", 16),
    ("none", "gqa", True, False, "f32", 0),
    ("scalar", "mha", True, False, "bf16", None),
]


@pytest.mark.parametrize("case", DR_CASES, ids=lambda c: "-".join(
    map(str, c[:2] + c[4:5])) + f"-C{c[5]}" + ("-l2" if c[2] else "") +
    ("-neg" if c[3] else ""))
def test_delta_rule_packed_gradients(case, record_rel_rms):
    gate, heads, l2norm, neg, dtype, chunk = case
    K, V = 12, 11
    for N, lengths in PACKINGS.items():
        cu = offsets(lengths)
        T = int(cu[-1])
        gen = torch.Generator().manual_seed(200 + N)
        q, k, v, g, s0 = random_inputs(gen, T, N, heads, K, V, gate, True,
                                       dtype)
        hv = v.shape[2]
        beta = torch.rand(1, T, hv, generator=gen,
                          dtype=torch.float64).float().double()
        leaves = [x.requires_grad_(True) for x in (q, k, v, beta, g, s0)
                  if x is not None]

        def run(x, s):
            return reference_delta_rule(*x[:4], x[4], s, gate, K ** -0.5,
                                        l2norm, neg)
        o, s = per_sequence(run, cu, [q, k, v, beta, g], s0, (hv, K, V))
        do, ds = cotangents(o, s, N, dtype)
        want = grads_of(o, s, do, ds, leaves)

        mine = torch_args([q, k, v, beta, g, s0], dtype, 3)
        o2, s2 = mt.delta_rule(*mine[:5], gate, None, mine[5], True,
                               qk_l2norm=l2norm, allow_neg_eigval=neg,
                               chunk_size=chunk, cu_seqlens=cu)
        got = grads_of(o2, s2, do, ds, [x for x in mine if x is not None])
        names = ["dq", "dk", "dv", "dbeta"] + \
            (["dg"] if g is not None else []) + ["ds0"]
        limits = dict.fromkeys(names, LIMIT[dtype])
        if dtype == "f32":
            limits["dbeta"] = limits["dg"] = 1e-3
        compare("delta_rule", names, got, want, limits,
                f"{dtype}-{gate}-{heads}-N{N}-C{chunk}", record_rel_rms)


def low_rank_terms(gen, T, hv, K, R):
    """a_r orthonormal, b_r = -beta_r a_r: a contraction (as
    test_backward_dplr.py builds them)."""
    f64 = torch.float64
    basis, _ = torch.linalg.qr(torch.randn(1, T, hv, K, R, generator=gen,
                                           dtype=f64))
    a = basis.transpose(-1, -2)
    beta = 0.05 + 0.9 * torch.rand(1, T, hv, R, 1, generator=gen, dtype=f64)
    return a.float().double(), (-beta * a).float().double()


REC_CASES = [  # gate, heads, R, chunk
    ("scalar", "gva", 1, None),
    ("vector", "mha", 2, 16),
    ("head", "gqa", 1, 0),
]


@pytest.mark.parametrize("case", REC_CASES, ids=lambda c: "-".join(
    map(str, c)))
def test_recurrence_packed_gradients(case, record_rel_rms):
    gate, heads, R, chunk = case
    K, V = 12, 13
    for N, lengths in PACKINGS.items():
        cu = offsets(lengths)
        T = int(cu[-1])
        gen = torch.Generator().manual_seed(300 + N)
        q, k, v, g, s0 = random_inputs(gen, T, N, heads, K, V, gate, True,
                                       "f32")
        hv = v.shape[2]
        a, b = low_rank_terms(gen, T, hv, K, R)
        leaves = [x.requires_grad_(True) for x in (q, k, v, a, b, g, s0)]
        timed = [q, k, v, a, b, g if gate != "head" else None]

        def run(x, s):
            gx = g if gate == "head" else x[5]
            return reference_recurrence(*x[:5], gx, s, gate, K ** -0.5)
        o, s = per_sequence(run, cu, timed, s0, (hv, K, V))
        do, ds = cotangents(o, s, N, "f32")
        want = grads_of(o, s, do, ds, leaves)

        mine = torch_args([q, k, v, a, b, g, s0], "f32", 3)
        o2, s2 = mt.recurrence(*mine[:6], gate, None, mine[6], True,
                               chunk_size=chunk, cu_seqlens=cu)
        got = grads_of(o2, s2, do, ds, mine)
        names = ["dq", "dk", "dv", "da", "db", "dg", "ds0"]
        compare("recurrence", names, got, want,
                dict.fromkeys(names, LIMIT["f32"]),
                f"f32-{gate}-{heads}-R{R}-N{N}-C{chunk}", record_rel_rms)


# --------------------------------------------------------------------------
# mix.scan
# --------------------------------------------------------------------------

@pytest.mark.parametrize("init", [False, True])
@pytest.mark.parametrize("chunk", [None, 0])
def test_scan_packed_gradients(init, chunk, record_rel_rms):
    D = 21
    for N, lengths in PACKINGS.items():
        cu = offsets(lengths)
        T = int(cu[-1])
        gen = torch.Generator().manual_seed(400 + N)
        x = torch.randn(1, T, D, generator=gen, dtype=torch.float64)
        g = -0.01 - torch.rand(1, T, D, generator=gen, dtype=torch.float64)
        h0 = torch.randn(N, D, generator=gen, dtype=torch.float64) \
            if init else None
        x, g = x.float().double(), g.float().double()
        leaves = [t.requires_grad_(True) for t in (x, g, h0) if t is not None]
        o, h = per_sequence(lambda xs, s: reference_scan(*xs, s), cu, [x, g],
                            h0, (D,))
        do, dh = cotangents(o, h, N, "f32")
        want = grads_of(o, h, do, dh, leaves)
        mine = torch_args([x, g, h0], "f32", 0)
        o2, h2 = mt.scan(mine[0], mine[1], mine[2], True, chunk_size=chunk,
                         cu_seqlens=cu)
        got = grads_of(o2, h2, do, dh, [t for t in mine if t is not None])
        names = ["dx", "dg"] + (["dh0"] if init else [])
        compare("scan", names, got, want, dict.fromkeys(names, LIMIT["f32"]),
                f"f32-N{N}-C{chunk}-init{init}", record_rel_rms)


# --------------------------------------------------------------------------
# gradcheck, fla names, NaN isolation, what is refused
# --------------------------------------------------------------------------

@pytest.mark.parametrize("op", ["linear_attention", "delta_rule", "scan"])
def test_gradcheck_packed(op):
    """torch.autograd.gradcheck with float64 tensors (computed in float32:
    finite differences with eps 1e-3 and float32 tolerances) on a packing
    of 1, 0, 4 and 2 tokens."""
    cu = offsets([1, 0, 4, 2])
    gen = torch.Generator().manual_seed(7)
    if op == "scan":
        x = torch.randn(1, 7, 3, generator=gen, dtype=torch.float64)
        g = -torch.rand(1, 7, 3, generator=gen, dtype=torch.float64)
        h0 = torch.randn(4, 3, generator=gen, dtype=torch.float64)
        leaves = [t.requires_grad_(True) for t in (x, g, h0)]
        assert torch.autograd.gradcheck(
            lambda *a: mt.scan(*a, True, cu_seqlens=cu), leaves, eps=1e-3,
            atol=2e-3, rtol=2e-3)
        return
    q, k, v, g, s0 = random_inputs(gen, 7, 4, "mha", 5, 3, "vector", True,
                                   "f32")
    if op == "linear_attention":
        leaves = [x.requires_grad_(True) for x in (q, k, v, g, s0)]

        def f(q, k, v, g, s0):
            return mt.chunk_gla(q, k, v, g, initial_state=s0,
                                output_final_state=True, cu_seqlens=cu)
    else:
        beta = torch.rand(1, 7, 2, generator=gen, dtype=torch.float64)
        gs = g[..., 0]
        leaves = [x.requires_grad_(True) for x in (q, k, v, gs, beta, s0)]

        def f(q, k, v, g, beta, s0):
            return mt.chunk_gated_delta_rule(
                q, k, v, g, beta, initial_state=s0, output_final_state=True,
                cu_seqlens=cu, use_qk_l2norm_in_kernel=True)
    assert torch.autograd.gradcheck(f, leaves, eps=1e-3, atol=2e-3,
                                    rtol=2e-3)


@pytest.mark.parametrize("op", ["chunk_simple_gla", "chunk_gated_delta_rule",
                                "fused_recurrent_hgrn"])
def test_nan_in_one_sequence_stays_there(op):
    """A NaN in one token of sequence 1 leaves every gradient of sequences
    0 and 2 (their tokens and initial states) exactly as without it."""
    cu = offsets([23, 40, 19])
    gen = torch.Generator().manual_seed(9)
    T, H, K = 82, 2, 8
    nan_at = 30  # in sequence 1 (tokens 23 to 62)

    def grads(poison):
        x = torch.randn(1, T, H, K, generator=torch.Generator().manual_seed(1))
        if poison:
            x = x.clone()
            x[0, nan_at, 0, 3] = float("nan")
        g = -0.5 * torch.rand(1, T, H, generator=torch.Generator()
                              .manual_seed(2))
        s0 = torch.randn(3, H, K, K,
                         generator=torch.Generator().manual_seed(3))
        if op == "fused_recurrent_hgrn":
            xs = [x.reshape(1, T, H * K), g.repeat_interleave(K, -1),
                  s0[:, :, 0].reshape(3, H * K)]
            xs = [t.detach().requires_grad_(True) for t in xs]
            o, s = mt.fused_recurrent_hgrn(*xs, output_final_state=True,
                                           cu_seqlens=cu)
        else:
            k = x / (x.norm(dim=-1, keepdim=True) + 1)
            xs = [t.detach().requires_grad_(True)
                  for t in (x.flip(-1), k, x, g, s0)]
            if op == "chunk_simple_gla":
                o, s = mt.chunk_simple_gla(*xs[:4], initial_state=xs[4],
                                           output_final_state=True,
                                           cu_seqlens=cu)
            else:
                beta = torch.sigmoid(g).detach().requires_grad_(True)
                xs.append(beta)
                o, s = mt.chunk_gated_delta_rule(
                    *xs[:4], beta, initial_state=xs[4],
                    output_final_state=True, cu_seqlens=cu,
                    use_qk_l2norm_in_kernel=True)
        return torch.autograd.grad(o.sum() + s.square().sum(), xs)

    clean, poisoned = grads(False), grads(True)
    assert any(not torch.isfinite(d).all() for d in poisoned)
    for d, c in zip(poisoned, clean):
        if d.shape[0] == 3:  # initial states
            kept = [0, 2]
            assert torch.equal(d[kept], c[kept])
        else:  # per token: sequences 0 and 2
            for a, b in ((0, 23), (63, 82)):
                assert torch.equal(d[:, a:b], c[:, a:b]), (a, b)


def test_torch_compile_traces_packed_without_graph_breaks():
    cu = offsets([3, 0, 8])
    gen = torch.Generator().manual_seed(5)
    q, k, v, g, s0 = (x.float().requires_grad_(True) for x in random_inputs(
        gen, 11, 3, "mha", 8, 8, "scalar", True, "f32"))

    def loss(q, k, v, g, s0):
        o, s = mt.chunk_simple_gla(q, k, v, g, initial_state=s0,
                                   output_final_state=True, cu_seqlens=cu)
        return o.square().sum() + s.sum()

    compiled = torch.compile(loss, fullgraph=True, backend="aot_eager")
    got = torch.autograd.grad(compiled(q, k, v, g, s0), (q, k, v, g, s0))
    want = torch.autograd.grad(loss(q, k, v, g, s0), (q, k, v, g, s0))
    for a, b in zip(got, want):
        assert torch.allclose(a, b, rtol=1e-5, atol=1e-6)


def test_state_pool_backward_is_refused():
    t = "tensor<?x?x2x8xf32>"
    src = f"""
func.func @mixer(%q: {t}, %pool: tensor<?x2x8x8xf32>, %idx: tensor<?xi32>)
    -> {t} attributes {{mix.derive_backward}} {{
  %o, %s = mix.linear_attention %q, %q, %q gate none init(%pool) indices(%idx)
      : ({t}, {t}, {t}, tensor<?x2x8x8xf32>, tensor<?xi32>)
      -> ({t}, tensor<?x2x8x8xf32>)
  return %o : {t}
}}"""
    with pytest.raises(mixir.CompileError, match="state pool.*not derived"):
        mixir.compile(src)


# --------------------------------------------------------------------------
# cuda-emulation: the backward's packed recurrences through the CUDA pipeline
# --------------------------------------------------------------------------

def _f32(x):
    return x.detach().float().numpy()


def _packed_source(op_text, types, results):
    params = ", ".join(f"%a{i}: {t}" for i, t in enumerate(types))
    res = ", ".join(results)
    return (f"func.func @mixer({params}) -> ({res}) attributes "
            f"{{mix.derive_backward}} {{\n  %o, %s = {op_text} : "
            f"({', '.join(types)}) -> ({res})\n  return %o, %s : {res}\n}}\n")


@pytest.mark.parametrize("op", ["linear_attention", "delta_rule",
                                "recurrence", "scan"])
def test_packed_gradients_cuda_emulation(op, record_rel_rms):
    """The packed backward compiled for target cuda-emulation (the CUDA
    pipeline's kernels on CPU threads; packed recurrences take the chunked
    form mapped by convert-chunked-to-gpu), bf16 inputs (f32 for the scan)."""
    lengths = [5, 1, 0, 33, 20]
    cu = offsets(lengths)
    T, N, K, H = int(cu[-1]), len(lengths), 16, 2
    gen = torch.Generator().manual_seed(31)
    io = f"tensor<?x?x{H}x{K}xbf16>"
    st = f"tensor<?x{H}x{K}x{K}xf32>"
    gt = f"tensor<?x?x{H}xf32>"
    cut = "tensor<?xi32>"
    q, k, v, g, s0 = random_inputs(gen, T, N, "mha", K, K, "scalar", True,
                                   "bf16")
    if op == "scan":
        x = torch.randn(1, T, K, generator=gen, dtype=torch.float64)
        g = (-0.01 - 0.49 * torch.rand(1, T, K, generator=gen,
                                       dtype=torch.float64)).float().double()
        x, h0 = x.float().double(), s0[:, 0, 0, :].clone()
        leaves = [t.requires_grad_(True) for t in (x, g, h0)]
        o, s = per_sequence(lambda xs, s: reference_scan(*xs, s), cu, [x, g],
                            h0, (K,))
        f3, f2 = f"tensor<?x?x{K}xf32>", f"tensor<?x{K}xf32>"
        src = _packed_source("mix.scan %a0, %a1 init(%a2) varlen(%a3) "
                             "{chunk_size = 16 : i64}",
                             [f3, f3, f2, cut], [f3, f2])
        args = [_f32(x), _f32(g), _f32(h0)]
        names, limit = ["dx", "dg", "dh0"], 1e-4
    else:
        leaves = [q, k, v]
        extra, extra_types, names = [], [], ["dq", "dk", "dv"]
        if op == "delta_rule":
            beta = torch.rand(1, T, H, generator=gen,
                              dtype=torch.float64).float().double()
            extra, extra_types, names = [beta], [gt], names + ["dbeta"]
            text = "mix.delta_rule %a0, %a1, %a2, %a3 gate scalar(%a4)"
        elif op == "recurrence":
            a, b = low_rank_terms(gen, T, H, K, 1)
            rt = f"tensor<?x?x{H}x1x{K}xf32>"
            extra, extra_types = [a, b], [rt, rt]
            names = names + ["da", "db"]
            text = "mix.recurrence %a0, %a1, %a2 lowrank(%a3, %a4) " \
                "gate scalar(%a5)"
        else:
            text = "mix.linear_attention %a0, %a1, %a2 gate scalar(%a3)"
        leaves = [x.requires_grad_(True) for x in leaves + extra + [g, s0]]
        names = names + ["dg", "ds0"]
        n = len(leaves)
        text += f" init(%a{n - 1}) varlen(%a{n}) {{chunk_size = 16 : i64}}"
        src = _packed_source(text, [io] * 3 + extra_types + [gt, st, cut],
                             [io, st])

        def run(xs, s):
            if op == "delta_rule":
                return reference_delta_rule(*xs[:4], xs[4], s, "scalar",
                                            K ** -0.5, False, False)
            if op == "recurrence":
                return reference_recurrence(*xs, s, "scalar", K ** -0.5)
            return reference_linear_attention(*xs, s, "scalar", K ** -0.5)
        o, s = per_sequence(run, cu, leaves[:-1], s0, (H, K, K))
        args = [_bf16(x) for x in (q, k, v)] + [_f32(x) for x in leaves[3:]]
        limit = 1e-2
    do, ds = cotangents(o, s, 32, "bf16" if op != "scan" else "f32")
    want = grads_of(o, s, do, ds, leaves)
    module = mixir.compile(src, target="cuda-emulation")
    do_np = _bf16(do) if op != "scan" else _f32(do)
    got = module.mixer_backward(*args, cu.numpy(), do_np, _f32(ds))
    for name, a, w in zip(names, got, want):
        err = rel_rms(torch.tensor(np.asarray(a, dtype=np.float64)), w)
        record_rel_rms(f"{op} packed backward (cuda-emulation)",
                       "f32" if op == "scan" else "bf16", name, err, limit,
                       "N5")
        assert err <= limit, f"{op} {name}: rel-RMS {err:.2e}"


@pytest.mark.parametrize("cu", [[0], []])
def test_packing_without_sequences_is_an_error(cu):
    """Offsets naming no sequence over T > 0 tokens: the compiled backward
    reports the bad packing (its per-sequence reads stay inside the [0, ...]
    states rather than reading row 0 of them)."""
    H, K, T = 2, 8, 7
    io, st = f"tensor<?x?x{H}x{K}xf32>", f"tensor<?x{H}x{K}x{K}xf32>"
    gt, cut = f"tensor<?x?x{H}xf32>", "tensor<?xi32>"
    src = _packed_source("mix.linear_attention %a0, %a1, %a2 gate scalar(%a3)"
                         " init(%a4) varlen(%a5)",
                         [io, io, io, gt, st, cut], [io, st])
    module = mixir.compile(src)
    rng = np.random.default_rng(5)
    x = rng.standard_normal((1, T, H, K)).astype(np.float32)
    g = -rng.random((1, T, H)).astype(np.float32)
    s0 = np.zeros((0, H, K, K), np.float32)
    with pytest.raises(ValueError, match="cu_seqlens"):
        module.mixer_backward(x, x, x, g, s0, np.array(cu, np.int32), x,
                              np.zeros((0, H, K, K), np.float32))
