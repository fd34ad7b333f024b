"""Context parallelism (mixir.torch, cp_group=): a sequence split across 2
and 4 processes with the gloo backend gives the outputs, final state and
gradients of the single-process run and of float64 torch autograd through
the recurrent forms written here (rel-RMS 1e-5 for linear attention and
the scan, 1e-4 for the delta rule and mix.recurrence, f32), at uneven
slices including one shorter than a chunk and one of a single token;
softmax attention's outputs and gradients match float64 torch autograd of
a softmax written here. Packed sequences (cu_seqlens, the same offsets on
every rank) cross the ranks' slices: a sequence spanning four ranks, one
ending exactly at a slice's end, empty and one-token sequences, and
slices and packings drawn at random. A rank that fails makes every rank
raise instead of hanging.

The workers are spawned with torch.multiprocessing; compiled modules are
shared through MIXIR_CACHE_DIR, filled by the parent's single-process run.
"""

import os
import random
import socket

import pytest

torch = pytest.importorskip("torch")
import torch.distributed as dist  # noqa: E402
import torch.multiprocessing as mp  # noqa: E402

import mixir.torch as mt  # noqa: E402

B, H, K, V = 2, 2, 16, 8


def random_case(name, op, gate, world, T, sequences, seed):
    """A packed case split at random points: `world` non-empty slices of T
    tokens and `sequences` packed sequences (empty ones possible), drawn
    from `seed`."""
    rng = random.Random(seed)
    cuts = sorted(rng.sample(range(1, T), world - 1))
    lengths = tuple(b - a for a, b in zip([0] + cuts, cuts + [T]))
    offsets = sorted(rng.choices(range(T + 1), k=sequences - 1))
    return (name, op, gate, True, world, lengths, (0, *offsets, T))


# The delta rule and mix.recurrence use V = K but in one case: their
# transition M then comes from the same compiled function as the rest.
# name, op, gate (attention: causal, window), initial state, world size,
# slice lengths. The delta rule's names say its flags (l2: qk_l2norm, neg:
# allow_neg_eigval, v8: V = 8); "dr-scalar-l2-v8" goes through fla's
# chunk_gated_delta_rule.
# "dr-none" runs the chunked form (chunk 64, slices shorter than a chunk)
# and "dr-scalar-l2-v8" the form the compiler picks; the other delta rule
# and mix.recurrence cases run the recurrent form (chunk_size=0), whose
# backward compiles in a fraction of the chunked one's time: the exchange
# does not depend on the form, and the chunked forms have tests of their
# own.
CASES = [
    ("la-none", "la", "none", True, 2, (70, 29)),
    ("la-head", "la", "head", False, 2, (5, 94)),
    ("la-scalar", "la", "scalar", True, 4, (40, 1, 33, 25)),
    ("la-vector", "la", "vector", True, 4, (20, 30, 9, 40)),
    ("scan", "scan", None, True, 2, (64, 35)),
    ("dr-scalar-l2-v8", "dr", "scalar", True, 2, (70, 29)),
    ("dr-none", "dr", "none", True, 4, (40, 1, 33, 25)),
    ("dr-vector-l2-neg", "dr", "vector", True, 4, (20, 50, 9, 1)),
    ("rec-vector", "rec", "vector", True, 2, (1, 74)),  # broadcast S_T
    ("attn-causal", "attn", (True, 0), False, 4, (40, 1, 33, 25)),
    ("attn-window", "attn", (True, 8), False, 4, (3, 20, 2, 30)),
    # An empty slice between two short ones: the window reaches past it.
    ("attn-window-empty", "attn", (True, 8), False, 4, (5, 0, 3, 30)),
    ("attn-window-noncausal", "attn", (False, 6), False, 2, (30, 41)),
    # The ring (no window): non-causal over uneven slices, and causal with
    # an empty slice and a one-token one.
    ("attn-noncausal", "attn", (False, 0), False, 2, (30, 41)),
    ("attn-causal-empty", "attn", (True, 0), False, 4, (12, 0, 1, 30)),
    # Packed sequences on the ring: one over all four ranks (two of them
    # wholly inside it), causal; non-causal with an empty and a one-token
    # sequence, one crossing the boundary.
    ("pk-attn-causal", "attn", (True, 0), False, 4, (10, 12, 1, 20),
     (0, 5, 38, 43)),
    ("pk-attn", "attn", (False, 0), False, 2, (30, 21),
     (0, 7, 7, 40, 41, 51)),
    # A group of one: the ring makes no pass at all.
    ("attn-one-rank", "attn", (True, 0), False, 1, (37,)),
    ("pk-attn-one-rank", "attn", (False, 0), False, 1, (37,), (0, 12, 37)),
    # Cases that must raise on every rank: rank 1 passes a q of the wrong
    # shape and dtype; attention's forget gate is refused with cp_group.
    ("bad-rank", "la", "none", True, 2, (70, 29)),
    ("attn-forget-gate", "attn", (True, 0), False, 2, (10, 11)),
    # Packed sequences (B = 1; the last element is cu_seqlens over the whole
    # batch). One sequence crossing the boundary, an empty and a one-token
    # one; a sequence over all four ranks (two of them wholly inside it);
    # a boundary exactly at a slice's end and an empty last sequence; an
    # empty first sequence; the delta rule chunked with a piece longer
    # than its chunk.
    ("pk-la-scalar", "la", "scalar", True, 2, (30, 21), (0, 7, 7, 40, 41, 51)),
    ("pk-la-vector", "la", "vector", True, 4, (10, 12, 1, 20), (0, 5, 38, 43)),
    ("pk-la-head", "la", "head", True, 2, (9, 14), (0, 4, 23)),
    ("pk-scan", "scan", None, True, 2, (20, 20), (0, 20, 40, 40)),
    ("pk-dr-scalar-l2", "dr", "scalar", True, 4, (16, 9, 30, 8),
     (0, 3, 50, 50, 63)),
    ("pk-rec-vector", "rec", "vector", True, 2, (25, 26), (0, 0, 26, 51)),
    # Split and packed at random points (the compiled functions of the
    # cases above).
    random_case("rand-la-vector", "la", "vector", 4, 71, 5, 1),
    random_case("rand-dr-scalar-l2", "dr", "scalar", 4, 67, 4, 2),
    random_case("rand-scan", "scan", None, 2, 45, 6, 3),
    # Only rank 0's initial state requires grad (q, k, v frozen): every
    # rank must still make the backward's exchange.
    ("frozen-la-scalar", "la", "scalar", True, 2, (30, 21)),
    ("frozen-pk-dr-scalar-l2", "dr", "scalar", True, 2, (20, 21),
     (0, 30, 41)),
    # The causal conv (forward only; gate: W, activation): slices shorter
    # than its halo of W - 1 tokens, which then reaches back over several
    # ranks and into rank 0's conv state.
    ("conv-silu", "conv", (4, "silu"), True, 4, (2, 1, 30, 7)),
    ("conv", "conv", (3, None), False, 2, (10, 13)),
    # Packed: a sequence that starts 1 token before rank 1's slice (the rest
    # of its halo from its own conv state) and one over three ranks whose
    # short middle slice makes the halo reach back two ranks; an empty
    # sequence and one without a conv state row of its own (zeros).
    ("pk-conv", "conv", (4, "silu"), True, 2, (10, 13), (0, 9, 9, 15, 23)),
    ("pk-conv-4", "conv", (3, None), False, 4, (6, 1, 9, 5),
     (0, 4, 4, 16, 21)),
    # Refused on every rank: rank 1 passes other offsets; block attention.
    ("pk-disagree", "la", "none", True, 2, (10, 11), (0, 5, 21)),
    ("attn-block", "attn", (True, 0), False, 2, (10, 11)),
    # Rank 1 asks for no final state; rank 0's conv state requires grad.
    ("opts-disagree", "la", "none", True, 2, (10, 11)),
    ("conv-grad", "conv", (3, None), True, 2, (10, 11)),
    # Rank 1 calls the ring under torch.no_grad(): its backward would never
    # make the ring's exchanges, so every rank refuses.
    ("attn-grad-disagree", "attn", (True, 0), False, 2, (10, 11)),
]
REFUSED = ("bad-rank", "attn-forget-gate", "pk-disagree", "attn-block",
           "opts-disagree", "conv-grad", "attn-grad-disagree")
TOL = {"la": 1e-5, "scan": 1e-5, "dr": 1e-4, "rec": 1e-4}
RANK_R = 2  # mix.recurrence's low-rank terms
HQ = 4  # attention's query heads (GQA over H key/value heads)
CONV_D = 12  # the causal conv's channels


def value_dim(case):
    return K if case[1] in ("dr", "rec") and "-v8" not in case[0] else V


def packing(case):
    """The case's cu_seqlens (a tuple), or None."""
    return case[6] if len(case) > 6 else None


def batch(case):
    return 1 if packing(case) else B


def state_rows(case):
    """The number of states: the batch, or the packed sequences."""
    cu = packing(case)
    return len(cu) - 1 if cu else B


def inputs(case):
    name, op, gate, init, world, lengths = case[:6]
    T = sum(lengths)
    B, N = batch(case), state_rows(case)
    gen = torch.Generator().manual_seed(len(name) * 7 + T)
    if op == "scan":
        x = torch.randn(B, T, 24, generator=gen)
        g = -torch.rand(B, T, 24, generator=gen)
        h0 = torch.randn(N, 24, generator=gen) if init else None
        return [x, g, h0]
    if op == "attn":
        return [torch.randn(B, T, h, d, generator=gen)
                for h, d in ((HQ, K), (H, K), (H, V))]
    if op == "conv":
        W = gate[0]
        return [torch.randn(B, T, CONV_D, generator=gen),
                torch.randn(CONV_D, W, generator=gen),
                torch.randn(CONV_D, generator=gen),
                torch.randn(N, CONV_D, W - 1, generator=gen) if init
                else None]
    Vc = value_dim(case)
    q, k, v = (torch.randn(B, T, H, d, generator=gen) for d in (K, K, Vc))
    shape = {"head": (H,), "scalar": (B, T, H), "vector": (B, T, H, K)}
    # Weak decays for the delta rule and mix.recurrence, so that the
    # transition of a whole slice stays far from 0.
    decay = 0.5 if op == "la" else 0.05
    g = -decay * torch.rand(*shape[gate], generator=gen) \
        if gate != "none" else None
    s0 = torch.randn(N, H, K, Vc, generator=gen) if init else None
    if op == "la":
        return [q, k, v, g, s0]
    k = k / k.norm(dim=-1, keepdim=True)  # a contraction without qk_l2norm
    if op == "dr":
        return [q, k, v, 0.5 * torch.rand(B, T, H, generator=gen), g, s0]
    a, b = (0.3 * torch.randn(B, T, H, RANK_R, K, generator=gen) / K ** 0.5
            for _ in range(2))
    return [q, k, v, a, b, g, s0]


def run(case, xs, cp_group=None, rank=0):
    name, op, gate = case[:3]
    cu = packing(case)
    if cu is not None:
        if name == "pk-disagree" and rank == 1:
            cu = (0, 6, 21)
        cu = torch.tensor(cu, dtype=torch.int32)
    if op == "scan":
        return mt.scan(*xs, output_final_state=True, cu_seqlens=cu,
                       cp_group=cp_group)
    if op == "la":
        final = not (name == "opts-disagree" and rank == 1)
        return mt.linear_attention(*xs[:4], gate, None, xs[4], final,
                                   cu_seqlens=cu, cp_group=cp_group)
    if name == "dr-scalar-l2-v8":
        q, k, v, beta, g, s0 = xs
        return mt.chunk_gated_delta_rule(
            q, k, v, g, beta, initial_state=s0, output_final_state=True,
            use_qk_l2norm_in_kernel=True, cp_group=cp_group)
    if op == "dr":
        return mt.delta_rule(*xs[:5], gate, None, xs[5], True,
                             qk_l2norm="-l2" in name,
                             allow_neg_eigval="-neg" in name,
                             chunk_size=64 if name == "dr-none" else 0,
                             cu_seqlens=cu, cp_group=cp_group)
    if op == "rec":
        return mt.recurrence(*xs[:6], gate, None, xs[6], True,
                             chunk_size=0, cu_seqlens=cu, cp_group=cp_group,
                             broadcast_final_state=cp_group is not None)
    if op == "conv":
        if name == "conv-grad":  # grad mode on: refused, the conv has none
            return mt.causal_conv1d(*xs, gate[1], True, cp_group=cp_group)
        with torch.no_grad():
            return mt.causal_conv1d(*xs, gate[1], True, cu_seqlens=cu,
                                    cp_group=cp_group)
    causal, window = gate
    g = torch.zeros(B, xs[0].shape[1], HQ) if name == "attn-forget-gate" \
        else None
    return mt.attention(*xs, g, causal=causal, window=window,
                        block=4 if name == "attn-block" else 0,
                        cu_seqlens=cu, cp_group=cp_group), None


def scan_f64(xs):
    """h = exp(g) h + x in float64, token by token: (o, final state)."""
    x, g, h = xs
    h = h.clone() if h is not None else x.new_zeros(x.shape[0], x.shape[2])
    outs = []
    for t in range(x.shape[1]):
        h = torch.exp(g[:, t]) * h + x[:, t]
        outs.append(h)
    return (torch.stack(outs, 1) if outs else x.new_zeros(x.shape)), h


def recurrent_f64(case, xs):
    """The recurrent definitions (docs/MIXERS.md) of linear attention, the
    delta rule, mix.recurrence and the scan in float64, token by token:
    (o, final state)."""
    name, op, gate = case[:3]
    xs = [x.double() if x is not None else None for x in xs]
    if op == "scan":
        return scan_f64(xs)
    q, k, v = xs[:3]
    g, s0 = xs[-2], xs[-1]
    if op == "dr" and "-l2" in name:
        q, k = (x * torch.rsqrt(x.square().sum(-1, keepdim=True) + 1e-6)
                for x in (q, k))
    S = s0.clone() if s0 is not None else \
        torch.zeros(q.shape[0], H, K, v.shape[-1], dtype=torch.float64)
    if q.shape[1] == 0:
        return q.new_zeros(q.shape[:3] + v.shape[-1:]), S
    outs = []
    for t in range(q.shape[1]):
        S_prev = S
        if gate == "scalar":
            S = torch.exp(g[:, t])[..., None, None] * S
        elif gate == "vector":
            S = torch.exp(g[:, t])[..., None] * S
        elif gate == "head":
            S = torch.exp(g)[None, :, None, None] * S
        if op == "la":
            S = S + k[:, t, ..., None] * v[:, t, :, None, :]
        elif op == "dr":
            beta = xs[3][:, t] * (2 if "-neg" in name else 1)
            u = beta[..., None] * (v[:, t] - torch.einsum("bhkv,bhk->bhv", S,
                                                          k[:, t]))
            S = S + k[:, t, ..., None] * u[..., None, :]
        else:
            a, b = xs[3][:, t], xs[4][:, t]
            # The low-rank reads take the state before the decay.
            u = torch.einsum("bhkv,bhrk->bhrv", S_prev, a)
            S = S + torch.einsum("bhrk,bhrv->bhkv", b, u) + \
                k[:, t, ..., None] * v[:, t, :, None, :]
        outs.append(torch.einsum("bhkv,bhk->bhv", S, q[:, t] * K ** -0.5))
    return torch.stack(outs, 1), S


def attention_f64(case, xs):
    """Softmax attention in float64 with the masks of docs/MIXERS.md (and,
    packed, only keys of the query's own sequence)."""
    causal, window = case[2]
    q, k, v = xs
    k, v = (x.repeat_interleave(HQ // H, 2) for x in (k, v))
    T = q.shape[1]
    i, j = torch.arange(T)[:, None], torch.arange(T)[None, :]
    allowed = torch.ones(T, T, dtype=torch.bool)
    if causal:
        allowed &= j <= i
    if window:
        allowed &= j > i - window
    if packing(case):
        seq = torch.bucketize(torch.arange(T), torch.tensor(packing(case)),
                              right=True)
        allowed &= seq[:, None] == seq[None, :]
    x = torch.einsum("bihd,bjhd->bhij", q, k) * K ** -0.5
    p = torch.softmax(x.masked_fill(~allowed, float("-inf")), -1)
    return torch.einsum("bhij,bjhd->bihd", p, v)


def sliced(case, xs, rank):
    """This rank's slice: time-major tensors cut along T; the head gate and
    the initial state (the last input of the recurrent ops) are whole."""
    lengths = case[5]
    start = sum(lengths[:rank])
    end = start + lengths[rank]
    out = []
    for i, x in enumerate(xs):
        time_major = x is not None and x.dim() >= 3 and \
            (case[1] == "attn" or i != len(xs) - 1)
        out.append(x[:, start:end] if time_major else x)
    return out


def cotangents(case):
    gen = torch.Generator().manual_seed(99)
    T = sum(case[5])
    B, N = batch(case), state_rows(case)
    if case[1] == "scan":
        return torch.randn(B, T, 24, generator=gen), \
            torch.randn(N, 24, generator=gen)
    if case[1] == "attn":
        return torch.randn(B, T, HQ, V, generator=gen), None
    Vc = value_dim(case)
    return torch.randn(B, T, H, Vc, generator=gen), \
        torch.randn(N, H, K, Vc, generator=gen)


def worker(rank, world, port, out_dir, cases):
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}",
                            rank=rank, world_size=world,
                            timeout=__import__("datetime").timedelta(seconds=60))
    try:
        for case in cases:
            xs = inputs(case)
            grad = case[1] != "conv"  # forward only
            mine = [x.clone().requires_grad_(grad) if x is not None else None
                    for x in sliced(case, xs, rank)]
            if case[0].startswith("frozen"):
                mine = [x.detach() for x in mine[:-1]] + \
                    [mine[-1].detach().requires_grad_(rank == 0)]
            if case[0] == "conv-grad" and rank == 0:
                mine[-1].requires_grad_()
            if case[0] == "bad-rank" and rank == 1:
                mine[0] = mine[0].double()[..., 0]  # a wrong rank and dtype
            try:
                if case[0] == "attn-grad-disagree" and rank == 1:
                    with torch.no_grad():
                        o, s = run(case, mine, dist.group.WORLD, rank)
                else:
                    o, s = run(case, mine, dist.group.WORLD, rank)
            except Exception as e:  # noqa: BLE001 - reported to the parent
                torch.save({"error": f"{type(e).__name__}: {e}"},
                           os.path.join(out_dir, f"{case[0]}-{rank}.pt"))
                continue
            if not grad:
                torch.save({"o": o, "s": s},
                           os.path.join(out_dir, f"{case[0]}-{rank}.pt"))
                continue
            do, ds = cotangents(case)
            start = sum(case[5][:rank])
            loss = (o * do[:, start:start + o.shape[1]]).sum()
            if s is not None:
                # A broadcast final state: each rank takes a share of dS
                # (shares summing to 1, so the loss is the reference's).
                share = 1.0 if case[1] != "rec" else \
                    2 * (rank + 1) / (world * (world + 1))
                loss = loss + share * (s * ds).sum()
            leaves = [x for x in mine if x is not None and x.requires_grad]
            if leaves:
                # Only rank 0 reads its initial state.
                grads = torch.autograd.grad(loss, leaves, allow_unused=True)
                grads = [torch.zeros_like(x) if d is None else d.detach()
                         for x, d in zip(leaves, grads)]
            else:  # frozen inputs: the exchange's backward still runs
                loss.backward()
                grads = []
            torch.save({"o": o.detach(), "s": None if s is None else s.detach(),
                        "grads": grads},
                       os.path.join(out_dir, f"{case[0]}-{rank}.pt"))
    finally:
        dist.destroy_process_group()
    # Leave without the interpreter's teardown: once (CI, a whole-suite run)
    # a worker aborted after its work was saved, in "terminate called
    # without an active exception" at exit, cause not found yet. The results
    # are checked from the files the worker wrote, so a failure during the
    # work still shows as a missing or error file.
    os._exit(0)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rel_rms(a, b):
    return float((a - b).square().mean().sqrt() / b.square().mean().sqrt())


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("mixir-cache")
    old = os.environ.get("MIXIR_CACHE_DIR")
    os.environ["MIXIR_CACHE_DIR"] = str(d)
    yield d
    if old is None:
        del os.environ["MIXIR_CACHE_DIR"]
    else:
        os.environ["MIXIR_CACHE_DIR"] = old


def precompile(case, xs):
    """Compiles (into MIXIR_CACHE_DIR) the forms the workers run besides
    the single-process one: the summary from an explicit zero state, the
    delta rule's and mix.recurrence's transition (v = 0 with K value
    channels, from the identity), attention's shifted masks."""
    # Inputs that require grad: the workers' calls are differentiated, so
    # they run the modules compiled with the backward.
    op = case[1]
    xs = [x.detach().requires_grad_(op != "conv") if x is not None else None
          for x in xs]
    if op == "attn":
        causal, window = case[2]
        mt.attention(*xs, causal=causal and window > 0,
                     window=window if window else int(causal))
        return
    if op == "conv":
        x, w = xs[:2]
        run(case, xs[:3] + [x.new_zeros(state_rows(case), x.shape[2],
                                        w.shape[1] - 1)])
        return
    state = xs[-1] if xs[-1] is not None else torch.zeros_like(
        cotangents(case)[1]).requires_grad_()
    run(case, xs[:-1] + [state])
    if op in ("dr", "rec"):
        n, b = state_rows(case), batch(case)
        eye = torch.eye(K).expand(n, H, K, K).contiguous()
        run(case, [xs[0], xs[1], torch.zeros(b, xs[0].shape[1], H, K)] +
            xs[3:-1] + [eye])


def reference(case):
    """Single process: outputs, final state, and the gradients of the loss
    the workers sum (each rank's slice of o . do, plus S_T . dS)."""
    xs = [x.clone().requires_grad_(True) if x is not None else None
          for x in inputs(case)]
    precompile(case, xs)
    if case[1] in ("attn", "conv"):
        return None
    o, s = run(case, xs)
    do, ds = cotangents(case)
    leaves = [x for x in xs if x is not None]
    grads = torch.autograd.grad((o * do).sum() + (s * ds).sum(), leaves)
    return o.detach(), s.detach(), grads


def packed_f64(case, xs):
    """recurrent_f64 sequence by sequence over the case's packing (each
    sequence from its own row of the initial state)."""
    cu = packing(case)
    os_, ss = [], []
    for n in range(len(cu) - 1):
        one = [x[n:n + 1] if i == len(xs) - 1 else
               x[:, cu[n]:cu[n + 1]] if x is not None and x.dim() >= 3 else x
               for i, x in enumerate(xs)]
        o, s = recurrent_f64(case, one)
        os_.append(o)
        ss.append(s)
    return torch.cat(os_, 1), torch.cat(ss, 0)


def reference_f64(case):
    """The same from the float64 recurrent form."""
    xs = [x.double().requires_grad_(True) if x is not None else None
          for x in inputs(case)]
    o, s = (packed_f64 if packing(case) else recurrent_f64)(case, xs)
    do, ds = (x.double() for x in cotangents(case))
    leaves = [x for x in xs if x is not None]
    grads = torch.autograd.grad((o * do).sum() + (s * ds).sum(), leaves)
    return o.detach(), s.detach(), grads


def conv_reference(case):
    """The causal conv in float64: y[t] = act(bias + sum_i w[:, i]
    x[t - W + 1 + i]) over the conv state followed by x; the new state is
    the last W - 1 inputs."""
    W, act = case[2]
    x, w, bias, state = (None if t is None else t.double()
                         for t in inputs(case))
    cu = packing(case) or (0, x.shape[1])
    if state is None:
        state = x.new_zeros(state_rows(case), x.shape[2], W - 1)
    ys, finals = [], []
    for n in range(len(cu) - 1):  # each sequence on its own
        row = slice(n, n + 1) if packing(case) else slice(None)
        seq = x[:, cu[n]:cu[n + 1]]
        history = torch.cat([state[row].transpose(1, 2), seq], 1)
        y = bias + sum(w[:, i] * history[:, i:i + seq.shape[1]]
                       for i in range(W))
        ys.append(y * torch.sigmoid(y) if act == "silu" else y)
        finals.append(history[:, history.shape[1] - (W - 1):].transpose(1, 2))
    return torch.cat(ys, 1), torch.cat(finals, 0)


def attention_reference(case):
    """Attention's outputs and input gradients from float64 torch autograd
    of attention_f64 (no state)."""
    xs = [x.double().requires_grad_(True) for x in inputs(case)]
    o = attention_f64(case, xs)
    grads = torch.autograd.grad((o * cotangents(case)[0].double()).sum(), xs)
    return o.detach(), None, grads


def check_against(case, parts, want_o, want_s, want_grads, tol):
    o = torch.cat([p["o"] for p in parts], 1)
    assert rel_rms(o, want_o) < tol, (case[0], rel_rms(o, want_o))
    if want_s is not None:
        # The last rank returns the final state (every rank with
        # broadcast_final_state, whose gradient is then the sum of theirs).
        everywhere = case[1] == "rec"
        for p in parts if everywhere else parts[-1:]:
            assert p["s"] is not None and rel_rms(p["s"], want_s) < tol, \
                case[0]
        if not everywhere:
            assert all(p["s"] is None for p in parts[:-1])
    # Gradients: time-major ones concatenate over ranks; the head gate's
    # sums over ranks; the initial state's lives on rank 0.
    inputs_full = [x for x in inputs(case) if x is not None]
    for i, (x, want) in enumerate(zip(inputs_full, want_grads)):
        pieces = [p["grads"][i] for p in parts]
        is_state = i == len(inputs_full) - 1 and case[3] and \
            case[1] != "attn"
        if is_state:
            got = pieces[0]
        elif x.dim() >= 3:
            got = torch.cat(pieces, 1)
        else:
            got = sum(pieces)
        assert rel_rms(got, want.to(got.dtype)) < tol, (case[0], i,
                                                       rel_rms(got, want))


@pytest.fixture(scope="module")
def spawned(cache_dir, tmp_path_factory):
    """`spawned(world)` runs every case of that world size in one group of
    worker processes, once, and returns (the folder of their results, the
    single-process references)."""
    done = {}

    def get(world):
        if world not in done:
            cases = [c for c in CASES if c[4] == world]
            refs = {c[0]: reference(c) for c in cases if c[0] not in REFUSED}
            out = tmp_path_factory.mktemp(f"world{world}")
            mp.spawn(worker, args=(world, free_port(), str(out), cases),
                     nprocs=world, join=True)
            done[world] = (out, refs)
        return done[world]
    return get


def errors(out, name, world):
    return [torch.load(out / f"{name}-{r}.pt").get("error")
            for r in range(world)]


@pytest.mark.parametrize("world", [1, 2, 4])
def test_context_parallel_matches_one_process(world, spawned):
    out, refs = spawned(world)
    for case in CASES:
        if case[4] != world or case[0] in REFUSED:
            continue
        parts = [torch.load(out / f"{case[0]}-{r}.pt") for r in range(world)]
        for p in parts:
            assert "error" not in p, p.get("error")
        if case[1] == "attn":
            check_against(case, parts, *attention_reference(case), 1e-5)
            continue
        if case[1] == "conv":
            want_y, want_s = conv_reference(case)
            y = torch.cat([p["o"] for p in parts], 1)
            assert rel_rms(y, want_y) < 1e-6, (case[0], rel_rms(y, want_y))
            assert all(p["s"] is None for p in parts[:-1])
            assert rel_rms(parts[-1]["s"], want_s) < 1e-6, case[0]
            continue
        if case[0].startswith("frozen"):
            want_o, want_s, want_grads = reference_f64(case)
            o = torch.cat([p["o"] for p in parts], 1)
            assert rel_rms(o, want_o) < TOL[case[1]], case[0]
            assert rel_rms(parts[-1]["s"], want_s) < TOL[case[1]], case[0]
            got = parts[0]["grads"][0]  # rank 0's initial state
            assert rel_rms(got, want_grads[-1]) < TOL[case[1]], case[0]
            continue
        check_against(case, parts, *refs[case[0]], TOL[case[1]])
        check_against(case, parts, *reference_f64(case), TOL[case[1]])


def test_a_failing_rank_raises_on_every_rank(spawned):
    got = errors(spawned(2)[0], "bad-rank", 2)
    assert got[1] is not None and "ContextParallelError" not in got[1]
    assert got[0] is not None and "ContextParallelError" in got[0], got


def test_attention_refuses_a_forget_gate_with_cp_group(spawned):
    got = errors(spawned(2)[0], "attn-forget-gate", 2)
    assert all(e is not None and e.startswith("NotImplementedError") and
               "forget gate" in e for e in got), got


def test_ranks_with_different_offsets_raise_on_every_rank(spawned):
    got = errors(spawned(2)[0], "pk-disagree", 2)
    assert all(e is not None and e.startswith("ValueError") and
               "the ranks passed different offsets" in e for e in got), got


def test_different_final_state_options_raise_on_every_rank(spawned):
    got = errors(spawned(2)[0], "opts-disagree", 2)
    assert all(e is not None and e.startswith("ValueError") and
               "output_final_state" in e for e in got), got


def test_conv_refusal_on_one_rank_raises_on_every_rank(spawned):
    """Rank 0's conv state requires grad (the conv is forward only): rank 0
    says why, the other rank raises too instead of waiting."""
    got = errors(spawned(2)[0], "conv-grad", 2)
    assert got[0] is not None and got[0].startswith("NotImplementedError") \
        and "forward only" in got[0], got
    assert got[1] is not None and "ContextParallelError" in got[1], got


def test_attention_refuses_block_with_cp_group(spawned):
    got = errors(spawned(2)[0], "attn-block", 2)
    assert all(e is not None and e.startswith("NotImplementedError") and
               "block" in e for e in got), got


def test_ranks_in_different_grad_modes_raise_on_every_rank(spawned):
    got = errors(spawned(2)[0], "attn-grad-disagree", 2)
    assert all(e is not None and e.startswith("ValueError") and
               "grad mode" in e for e in got), got


def test_cp_group_needs_torch_distributed():
    if dist.is_initialized():
        pytest.skip("a process group exists in this process")
    q = torch.randn(1, 4, 1, 8)
    # (dist.group.WORLD is None before init_process_group: any group object
    # stands for one made without it.)
    with pytest.raises(RuntimeError, match="not initialised"):
        mt.chunk_linear_attn(q, q, q, cp_group=object())
