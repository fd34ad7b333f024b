"""Gradients of the derived backward of mix.recurrence (and, through its
recurrence form, mix.delta_rule) against float64 torch autograd of the
recurrent form written here, with no MixIR code (MIXERS.md "Gradients").

Every gradient (q, k, v, the low-rank terms a and b, the log gate, the
initial state) is compared separately: rel-RMS 1e-4 for f32 inputs, 1e-2
for bf16. Lengths end in partial chunks (63, 200) or take the recurrent
branch (1); head dims are not powers of two; heads are shared both ways.
Inputs are model-like: unit keys, log gates in [-0.5, -0.01], low-rank terms
a_r orthonormal with b_r = -beta_r * d * a_r (a contraction).
"""

import numpy as np
import pytest

torch = pytest.importorskip("torch")  # set-up installs torch; see needs.py

import mixir  # noqa: E402
import mixir.torch as mt  # noqa: E402
from test_backward import (DTYPE, HEADS, LIMIT, _bf16, head_maps,  # noqa: E402
                           rel_rms)


def reference_recurrence(q, k, v, a, b, g, s0, gate, scale):
    """S_t = (D_t + sum_r b_tr a_tr^T) S_{t-1} + k_t v_t^T, o_t = S_t^T
    (scale q_t), float64, heads shared as MIXERS.md says."""
    B, T, _, K = q.shape
    hv, V = v.shape[2], v.shape[3]
    key_of, state_of, query_of = head_maps(q, k, v)
    # The decay per token, state head and key channel, [B, T, Hv, K].
    shape = {"none": (1, 1, 1, 1), "head": (1, 1, hv, 1),
             "scalar": (B, T, hv, 1), "vector": (B, T, hv, K)}[gate]
    d = (torch.exp(g) if g is not None else q.new_ones(())).reshape(shape)
    d = d.expand(B, T, hv, K)
    S = s0 if s0 is not None else q.new_zeros(B, hv, K, V)
    outs = []
    for t in range(T):
        new = d[:, t, ..., None] * S
        if a is not None:
            u = torch.einsum("bhrk,bhkv->bhrv", a[:, t], S)
            new = new + torch.einsum("bhrk,bhrv->bhkv", b[:, t], u)
        S = new + k[:, t, key_of][..., None] * v[:, t][:, :, None, :]
        outs.append(torch.einsum("bhkv,bhk->bhv", S[:, state_of],
                                 scale * q[:, t, query_of]))
    return torch.stack(outs, 1), S


def dplr_inputs(gate, heads, B, T, K, V, R, init, seed):
    gen = torch.Generator().manual_seed(seed)
    hq, hk, hv = HEADS[heads]
    f64 = torch.float64
    q = torch.randn(B, T, hq, K, generator=gen, dtype=f64)
    k = torch.randn(B, T, hk, K, generator=gen, dtype=f64)
    k = k / k.norm(dim=-1, keepdim=True)
    v = torch.randn(B, T, hv, V, generator=gen, dtype=f64)
    shape = {"head": (hv,), "scalar": (B, T, hv), "vector": (B, T, hv, K)}
    g = None
    if gate != "none":
        g = -0.01 - 0.49 * torch.rand(*shape[gate], generator=gen, dtype=f64)
    a = b = None
    if R:
        basis, _ = torch.linalg.qr(torch.randn(B, T, hv, K, R, generator=gen,
                                               dtype=f64))
        a = basis.transpose(-1, -2)
        beta = 0.05 + 0.9 * torch.rand(B, T, hv, R, 1, generator=gen, dtype=f64)
        b = -beta * a  # (the gate's decay is applied on the diagonal)
    s0 = (torch.randn(B, hv, K, V, generator=gen, dtype=f64) if init else None)
    return q, k, v, a, b, g, s0


def compare(op, names, got, want, dtype, case, record):
    for name, x, w in zip(names, got, want):
        assert x.shape == w.shape, (name, x.shape, w.shape)
        assert torch.isfinite(x.float()).all(), f"{case} {name} not finite"
        err = rel_rms(x, w)
        record(op, dtype, name, err, LIMIT[dtype], case)
        assert err <= LIMIT[dtype], f"{case} {name}: rel-RMS {err:.2e}"


def check_recurrence(gate, heads, T, K, V, R, init, dtype, chunk, record,
                     B=2, seed=0):
    q, k, v, a, b, g, s0 = dplr_inputs(gate, heads, B, T, K, V, R, init, seed)
    # Both sides see the same rounded inputs.
    q, k, v = (x.to(DTYPE[dtype]).double() for x in (q, k, v))
    a, b = (x.to(DTYPE[dtype]).double() if x is not None else None
            for x in (a, b))
    g, s0 = (x.float().double() if x is not None else None for x in (g, s0))
    scale = K ** -0.5
    leaves = [x.requires_grad_(True) for x in (q, k, v, a, b, g, s0)
              if x is not None]
    o, s = reference_recurrence(q, k, v, a, b, g, s0, gate, scale)
    gen = torch.Generator().manual_seed(seed + 1)
    do = torch.randn(o.shape, generator=gen).double()
    ds = torch.randn(s.shape, generator=gen).double()
    want = torch.autograd.grad((o * do).sum() + (s * ds).sum(), leaves)

    def mine(x, dt):
        return None if x is None else x.detach().to(dt).requires_grad_(True)
    ins = [mine(x, DTYPE[dtype]) for x in (q, k, v, a, b)] + \
        [mine(x, torch.float32) for x in (g, s0)]
    o2, s2 = mt.recurrence(*ins[:6], gate, None, ins[6], True,
                           chunk_size=chunk)
    assert o2.dtype == DTYPE[dtype] and s2.dtype == torch.float32
    got = torch.autograd.grad(
        (o2.float() * do.float()).sum() + (s2 * ds.float()).sum(),
        [x for x in ins if x is not None])
    names = [n for n, x in zip(["dq", "dk", "dv", "da", "db", "dg", "ds0"],
                               (q, k, v, a, b, g, s0)) if x is not None]
    case = f"{gate}-{heads}-T{T}-K{K}-V{V}-R{R}-{dtype}-C{chunk}"
    compare("recurrence backward", names, got, want, dtype, case, record)


# gate, heads, (K, V), R, init, dtype, chunk (None: the compiler's; 0:
# recurrent), lengths
REC_CASES = [
    ("vector", "mha", (12, 20), 1, True, "f32", 16, (1, 63, 200)),
    ("scalar", "gva", (60, 64), 2, True, "f32", None, (63, 200)),
    ("head", "gqa", (20, 12), 1, True, "f32", 16, (63, 200)),
    ("none", "mha", (12, 20), 3, False, "f32", 0, (1, 63)),
    ("vector", "gqa", (60, 64), 4, True, "f32", 16, (63,)),
    ("scalar", "mha", (12, 20), 0, True, "f32", 16, (63, 200)),
    ("vector", "gva", (20, 12), 2, False, "f32", 0, (63,)),
    ("head", "mha", (12, 20), 2, False, "f32", 0, (63,)),
    ("scalar", "gqa", (60, 64), 1, True, "bf16", 16, (63, 200)),
    ("vector", "mha", (12, 20), 1, True, "bf16", None, (63,)),
]


@pytest.mark.parametrize("case", REC_CASES, ids=lambda c: "-".join(
    map(str, c[:6])) + f"-C{c[6]}")
def test_recurrence_gradients(case, record_rel_rms):
    gate, heads, (K, V), R, init, dtype, chunk, lengths = case
    for T in lengths:
        check_recurrence(gate, heads, T, K, V, R, init, dtype, chunk,
                         record_rel_rms, seed=T)


@pytest.mark.parametrize("gate", ["none", "head", "scalar", "vector"])
def test_recurrence_gradcheck(gate):
    """torch.autograd.gradcheck with float64 tensors (computed in float32:
    finite differences with eps 1e-3 and float32 tolerances)."""
    q, k, v, a, b, g, s0 = dplr_inputs(gate, "gva", 1, 7, 6, 5, 2, True, 3)
    leaves = [x.requires_grad_(True) for x in (q, k, v, a, b, g, s0)
              if x is not None]

    def f(*xs):
        it = iter(xs)
        q, k, v, a, b = (next(it) for _ in range(5))
        g2 = next(it) if gate != "none" else None
        return mt.recurrence(q, k, v, a, b, g2, gate, None, next(it), True)

    assert torch.autograd.gradcheck(f, leaves, eps=1e-3, atol=2e-3, rtol=2e-3)


# --------------------------------------------------------------------------
# mix.delta_rule (through its mix.recurrence form)
# --------------------------------------------------------------------------

def reference_delta_rule(q, k, v, beta, g, s0, gate, scale, l2norm, neg):
    """MIXERS.md's recurrent delta rule, float64: decay, then
    S += k (beta (v - S^T k))^T, o = S^T (scale q)."""
    B, T, _, K = q.shape
    hv, V = v.shape[2], v.shape[3]
    if l2norm:
        q = q * torch.rsqrt((q * q).sum(-1, keepdim=True) + 1e-6)
        k = k * torch.rsqrt((k * k).sum(-1, keepdim=True) + 1e-6)
    if neg:
        beta = 2 * beta
    key_of, state_of, query_of = head_maps(q, k, v)
    S = s0 if s0 is not None else q.new_zeros(B, hv, K, V)
    outs = []
    for t in range(T):
        if gate == "scalar":
            S = torch.exp(g[:, t])[:, :, None, None] * S
        elif gate == "vector":
            S = torch.exp(g[:, t])[..., None] * S
        kt = k[:, t, key_of]
        u = beta[:, t][..., None] * (v[:, t] - torch.einsum("bhkv,bhk->bhv",
                                                            S, kt))
        S = S + kt[..., None] * u[:, :, None, :]
        outs.append(torch.einsum("bhkv,bhk->bhv", S[:, state_of],
                                 scale * q[:, t, query_of]))
    return torch.stack(outs, 1), S


def check_delta_rule(gate, heads, T, K, V, init, l2norm, neg, dtype, chunk,
                     record, B=2, seed=0, api="delta_rule"):
    q, k, v, _, _, g, s0 = dplr_inputs(gate, heads, B, T, K, V, 0, init, seed)
    gen = torch.Generator().manual_seed(seed + 2)
    hv = v.shape[2]
    beta = torch.rand(B, T, hv, generator=gen, dtype=torch.float64)
    if l2norm:  # keys of any norm; the op normalises them
        k = k * (0.5 + torch.rand(k.shape[:-1] + (1,), generator=gen,
                                  dtype=torch.float64))
    q, k, v = (x.to(DTYPE[dtype]).double() for x in (q, k, v))
    g, s0, beta = (x.float().double() if x is not None else None
                   for x in (g, s0, beta))
    scale = K ** -0.5
    leaves = [x.requires_grad_(True) for x in (q, k, v, beta, g, s0)
              if x is not None]
    o, s = reference_delta_rule(q, k, v, beta, g, s0, gate, scale, l2norm,
                                neg)
    do = torch.randn(o.shape, generator=gen).double()
    ds = torch.randn(s.shape, generator=gen).double()
    want = torch.autograd.grad((o * do).sum() + (s * ds).sum(), leaves)

    def mine(x, dt):
        return None if x is None else x.detach().to(dt).requires_grad_(True)
    ins = [mine(x, DTYPE[dtype]) for x in (q, k, v)] + \
        [mine(x, torch.float32) for x in (beta, g, s0)]
    if api == "delta_rule":
        o2, s2 = mt.delta_rule(*ins[:5], gate, None, ins[5], True,
                               qk_l2norm=l2norm, allow_neg_eigval=neg,
                               chunk_size=chunk)
    elif api == "chunk_gated_delta_rule":
        o2, s2 = mt.chunk_gated_delta_rule(
            ins[0], ins[1], ins[2], ins[4], ins[3], initial_state=ins[5],
            output_final_state=True, use_qk_l2norm_in_kernel=l2norm)
    else:
        o2, s2 = mt.chunk_delta_rule(
            *ins[:4], initial_state=ins[5], output_final_state=True,
            use_qk_l2norm_in_kernel=l2norm)
    got = torch.autograd.grad(
        (o2.float() * do.float()).sum() + (s2 * ds.float()).sum(),
        [x for x in ins if x is not None])
    names = [n for n, x in zip(["dq", "dk", "dv", "dbeta", "dg", "ds0"],
                               (q, k, v, beta, g, s0)) if x is not None]
    case = (f"{api}-{gate}-{heads}-T{T}-K{K}-V{V}-l2{l2norm}-neg{neg}-"
            f"{dtype}-C{chunk}")
    compare("delta_rule backward", names, got, want, dtype, case, record)


# gate, heads, (K, V), init, qk_l2norm, allow_neg_eigval, dtype, chunk,
# lengths
DR_CASES = [
    ("none", "mha", (12, 20), True, True, False, "f32", 16, (1, 63, 200)),
    ("scalar", "gva", (60, 64), True, False, True, "f32", None, (63, 200)),
    ("vector", "gqa", (20, 12), False, True, True, "f32", 16, (63,)),
    ("vector", "mha", (60, 64), True, False, False, "f32", 0, (63,)),
    ("scalar", "mha", (12, 20), True, True, False, "bf16", 16, (63, 200)),
]


@pytest.mark.parametrize("case", DR_CASES, ids=lambda c: "-".join(
    map(str, c[:7])) + f"-C{c[7]}")
def test_delta_rule_gradients(case, record_rel_rms):
    gate, heads, (K, V), init, l2norm, neg, dtype, chunk, lengths = case
    for T in lengths:
        check_delta_rule(gate, heads, T, K, V, init, l2norm, neg, dtype,
                         chunk, record_rel_rms, seed=T)


@pytest.mark.parametrize("api", ["chunk_gated_delta_rule", "chunk_delta_rule"])
def test_fla_delta_rule_gradients(api, record_rel_rms):
    """The fla-named functions train: their gradients match autograd of the
    recurrent form (they raised NotImplementedError before)."""
    gate = "scalar" if api == "chunk_gated_delta_rule" else "none"
    check_delta_rule(gate, "mha", 75, 60, 64, True, True, False, "f32", None,
                     record_rel_rms, seed=5, api=api)


def test_delta_rule_training_smoke():
    """A Gated DeltaNet layer (projections, qk_l2norm, sigmoid beta, log
    decay) fitted to random targets for 15 Adam steps with mixir.torch's
    delta rule follows the same layer trained through the float64 recurrent
    form above, step by step, and the loss goes down."""
    B, T, H, D, K = 2, 40, 2, 16, 12

    def train(mixer):
        torch.manual_seed(0)
        proj = torch.nn.Linear(D, H * (3 * K + 2)).double()
        opt = torch.optim.Adam(proj.parameters(), lr=3e-2)
        gen = torch.Generator().manual_seed(1)
        x = torch.randn(B, T, D, generator=gen, dtype=torch.float64)
        y = torch.randn(B, T, H, K, generator=gen, dtype=torch.float64)
        losses = []
        for _ in range(15):
            p = proj(x).view(B, T, H, 3 * K + 2)
            q, k, v = p[..., :K], p[..., K:2 * K], p[..., 2 * K:3 * K]
            beta = torch.sigmoid(p[..., -2])
            g = -torch.nn.functional.softplus(p[..., -1])
            loss = (mixer(q, k, v, beta, g) - y).square().mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        return losses

    def mine(q, k, v, beta, g):
        o, _ = mt.delta_rule(q.float(), k.float(), v.float(), beta.float(),
                             g.float(), "scalar", qk_l2norm=True)
        return o.double()

    def reference(q, k, v, beta, g):
        return reference_delta_rule(q, k, v, beta, g, None, "scalar",
                                    K ** -0.5, True, False)[0]

    got, want = train(mine), train(reference)
    assert got[-1] < 0.9 * got[0], got
    for step, (a, w) in enumerate(zip(got, want)):
        assert abs(a - w) <= 1e-4 * abs(w), (step, a, w)


@pytest.mark.parametrize("op", ["recurrence", "delta_rule"])
def test_gradients_cuda_emulation(op, record_rel_rms):
    """The derived backward compiled for CUDA (target cuda-emulation: the
    CUDA pipeline's kernels on CPU threads) with bf16 inputs: its
    recurrences, transposed reads included, take the chunked form mapped
    onto the GPU (convert-chunked-to-gpu). mix.recurrence with R = 2 and a
    scalar gate; the delta rule as KDA (vector gate, qk_l2norm)."""
    B, T, H, K, V = 2, 45, 2, 16, 16
    io, st = "tensor<?x?x2x16xbf16>", "tensor<?x2x16x16xf32>"
    if op == "recurrence":
        lr, g = "tensor<?x?x2x2x16xbf16>", "tensor<?x?x2xf32>"
        types = [io, io, io, lr, lr, g, st]
        text = ("mix.recurrence %a0, %a1, %a2 lowrank(%a3, %a4) "
                "gate scalar(%a5) init(%a6)")
        q, k, v, a, b, g, s0 = dplr_inputs("scalar", "mha", B, T, K, V, 2,
                                           True, 21)
        a, b = (x.to(torch.bfloat16).double() for x in (a, b))
        extra = [a, b]
    else:
        types = [io, io, io, "tensor<?x?x2xf32>", "tensor<?x?x2x16xf32>", st]
        text = ("mix.delta_rule %a0, %a1, %a2, %a3 gate vector(%a4) init(%a5)"
                " qk_l2norm")
        q, k, v, _, _, g, s0 = dplr_inputs("vector", "mha", B, T, K, V, 0,
                                           True, 22)
        gen = torch.Generator().manual_seed(23)
        extra = [torch.rand(B, T, H, generator=gen, dtype=torch.float64)]
        extra[0] = extra[0].float().double()
    params = ", ".join(f"%a{i}: {t}" for i, t in enumerate(types))
    src = f"""func.func @mixer({params}) -> ({io}, {st})
    attributes {{mix.derive_backward}} {{
  %o, %s = {text} : ({', '.join(types)}) -> ({io}, {st})
  return %o, %s : {io}, {st}
}}"""
    module = mixir.compile(src, target="cuda-emulation")
    q, k, v = (x.to(torch.bfloat16).double() for x in (q, k, v))
    g, s0 = g.float().double(), s0.float().double()
    leaves = [x.requires_grad_(True) for x in [q, k, v] + extra + [g, s0]]
    if op == "recurrence":
        o, s = reference_recurrence(q, k, v, *extra, g, s0, "scalar",
                                    K ** -0.5)
    else:
        o, s = reference_delta_rule(q, k, v, extra[0], g, s0, "vector",
                                    K ** -0.5, True, False)
    gen = torch.Generator().manual_seed(24)
    do = torch.randn(o.shape, generator=gen).to(torch.bfloat16).double()
    ds = torch.randn(s.shape, generator=gen).double()
    want = torch.autograd.grad((o * do).sum() + (s * ds).sum(), leaves)
    args = [_bf16(x) for x in (q, k, v)]
    args += [_bf16(x) if op == "recurrence" else x.detach().float().numpy()
             for x in extra]
    args += [g.detach().float().numpy(), s0.detach().float().numpy()]
    got = module.mixer_backward(*args, _bf16(do), ds.float().numpy())
    for i, (x, w) in enumerate(zip(got, want)):
        err = rel_rms(torch.tensor(np.asarray(x, dtype=np.float64)), w)
        record_rel_rms(f"{op} backward (cuda-emulation)", "bf16", f"grad {i}",
                       err, 1e-2, op)
        assert err <= 1e-2, f"{op} gradient {i}: rel-RMS {err:.2e}"
