"""Context parallelism for mixir.torch: a sequence split across the ranks of
a torch.distributed process group (docs/MIXERS.md, "Segment summaries").

Each rank holds a contiguous slice of the tokens. A slice is an affine map of
the state that enters it, ``S_out = M S_in + C``, with ``C`` the state the
slice builds from zero (the compiled op's final state). For linear attention
and the scan ``M`` is the slice's total decay, a diagonal kept as its summed
log; for the delta rule and mix.recurrence it is the ``K x K`` product of
the slice's transitions, which the op itself computes when run on the slice
with ``v = 0`` and the identity as initial state. The ranks all-gather their
``(M, C)``, each combines those of the ranks before it (an exclusive scan)
with rank 0's initial state, and runs its slice from the state carried in.
The op runs are differentiable (the compiled op's derived backward) and the
exchange is a custom autograd Function, so the backward passes state
gradients from right to left.

Softmax attention (forward only, for prefill) gathers the keys and values a
rank's queries see instead: all of those before it, or, with a sliding
window, the last ``window - 1`` tokens before its slice.

A rank that fails before the collectives (bad input, a compile error) makes
every rank raise, so none waits for a collective that would never come.
"""

import torch
import torch.distributed as dist

from .torch import _state_dtype


class ContextParallelError(RuntimeError):
    """Raised on every rank when one rank of the group failed."""


def _agree(ok, group, what):
    """All ranks learn whether every rank got this far."""
    flag = torch.tensor([1 if ok is None else 0], dtype=torch.int32,
                        device=_device(group))
    dist.all_reduce(flag, op=dist.ReduceOp.MIN, group=group)
    if ok is not None:
        raise ok
    if flag.item() == 0:
        raise ContextParallelError(f"{what}: another rank of the context-"
                                   "parallel group failed (see its error)")


def _device(group):
    """Where the group's backend takes tensors: the current CUDA device for
    NCCL, the CPU otherwise (gloo)."""
    if dist.get_backend(group) == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def _src(group, rank):
    return dist.get_global_rank(group, rank) if group is not None else rank


def _through(m, state, matrix):
    """One slice's transition applied to `state`: the matrix `m` on the key
    axis, or the diagonal decay whose log is `m`."""
    return m @ state if matrix else torch.exp(m) * state


class _Carry(torch.autograd.Function):
    """The state entering this rank: rank 0's initial state run through the
    (M, C) summaries of the ranks before this one, M a log decay or (with
    `matrix`) a [..., K, K] matrix. Forward and backward each make the same
    collectives on every rank, in the same order, so no rank waits on
    another's autograd schedule."""

    @staticmethod
    def forward(ctx, m, local_state, init, group, matrix):
        world, rank = dist.get_world_size(group), dist.get_rank(group)
        ms = [torch.empty_like(m) for _ in range(world)]
        states = [torch.empty_like(local_state) for _ in range(world)]
        dist.all_gather(ms, m.contiguous(), group=group)
        dist.all_gather(states, local_state.contiguous(), group=group)
        carried = init.clone()
        dist.broadcast(carried, _src(group, 0), group=group)
        before = [carried]
        for r in range(rank):
            carried = _through(ms[r], carried, matrix) + states[r]
            before.append(carried)
        ctx.group, ctx.matrix = group, matrix
        ctx.save_for_backward(*ms[:rank], *before[:rank])
        ctx.m_shape = m.shape
        return carried

    @staticmethod
    def backward(ctx, d_carried):
        group = ctx.group
        world, rank = dist.get_world_size(group), dist.get_rank(group)
        saved = ctx.saved_tensors
        ms, before = saved[:rank], saved[rank:]
        d_ms = d_carried.new_zeros((world,) + tuple(ctx.m_shape))
        d_states = d_carried.new_zeros((world,) + tuple(d_carried.shape))
        d = d_carried
        for r in reversed(range(rank)):
            d_states[r] = d
            if ctx.matrix:
                d_ms[r] = d @ before[r].transpose(-1, -2)
                d = ms[r].transpose(-1, -2) @ d
                continue
            scaled = d * torch.exp(ms[r])
            full = scaled * before[r]
            # Sum over the dims the decay was broadcast along.
            dims = [i for i, n in enumerate(ctx.m_shape) if n == 1 and
                    full.shape[i] != 1]
            d_ms[r] = full.sum(dims, keepdim=True) if dims else full
            d = scaled
        dist.all_reduce(d_ms, group=group)
        dist.all_reduce(d_states, group=group)
        d_init = d.contiguous()
        dist.all_reduce(d_init, group=group)  # reaches rank 0's init
        if rank != 0:
            d_init = torch.zeros_like(d_init)
        return d_ms[rank], d_states[rank], d_init, None, None


class _LastToAll(torch.autograd.Function):
    """The last rank's tensor on every rank; its gradient is the sum of
    every rank's."""

    @staticmethod
    def forward(ctx, x, group):
        ctx.group = group
        out = x.clone()
        dist.broadcast(out, _src(group, dist.get_world_size(group) - 1),
                       group=group)
        return out

    @staticmethod
    def backward(ctx, d):
        d = d.contiguous().clone()
        dist.all_reduce(d, group=ctx.group)
        last = dist.get_rank(ctx.group) == dist.get_world_size(ctx.group) - 1
        return (d if last else torch.zeros_like(d)), None


def _carry(m, local_state, initial_state, group, matrix):
    """Rank 0's initial state (zeros when it has none) carried in."""
    init = torch.zeros_like(local_state)
    if initial_state is not None:
        init = initial_state.to(local_state.dtype)
    return _Carry.apply(m, local_state, init, group, matrix)


def _final(state, broadcast, group):
    if broadcast:
        return _LastToAll.apply(state, group)
    last = dist.get_world_size(group) - 1
    return state if dist.get_rank(group) == last else None


def _split(what, run, zero_state, summary_of, initial_state,
           output_final_state, group, broadcast_final_state, matrix=False):
    """The context-parallel form of one op: `run(state)` runs it on this
    rank's slice from `state` and returns (o, final state); `zero_state()`
    is a zero state (given explicitly, so the summary and the apply share one
    compiled function); `summary_of(local)` is the slice's M: its summed log
    decay, shaped to broadcast against its state, or (`matrix`) its
    [B, H, K, K] transition."""
    error, local, m = None, None, None
    try:
        _, local = run(zero_state())
        m = summary_of(local)
    except Exception as e:  # noqa: BLE001 - re-raised on this rank below
        error = e
    _agree(error, group, what)
    if dist.get_rank(group) != 0:
        initial_state = None
    carried = _carry(m.contiguous(), local, initial_state, group, matrix)
    o, state = run(carried)
    return o, (_final(state, broadcast_final_state, group)
               if output_final_state else None)


def _zero_state(q, v):
    """A zero state [B, Hv, K, V] for q [B, T, Hq, K], v [B, T, Hv, V]."""
    return q.new_zeros((q.shape[0], v.shape[2], q.shape[3], v.shape[3]),
                       dtype=_state_dtype(q))


def linear_attention(fn, q, k, v, g, gate, scale, initial_state,
                     output_final_state, chunk_size, group,
                     broadcast_final_state):
    """`fn` is mixir.torch.linear_attention (single process)."""

    def log_decay_of(local):
        # The sizes are read here, inside _split's agreement: a rank with a
        # malformed q or v raises on every rank, never leaves them waiting.
        B, T, _, K = q.shape
        hv = v.shape[2]
        if gate == "none":
            return local.new_zeros(B, hv, 1, 1)
        if gate == "head":
            return (T * g.float()).view(1, hv, 1, 1).expand(B, hv, 1, 1)
        if gate == "scalar":
            return g.float().sum(1).view(B, hv, 1, 1)
        return g.float().sum(1).view(B, hv, K, 1)

    return _split("linear_attention",
                  lambda state: fn(q, k, v, g, gate, scale, state, True,
                                   chunk_size=chunk_size),
                  lambda: _zero_state(q, v), log_decay_of, initial_state,
                  output_final_state, group, broadcast_final_state)


def scan(fn, x, g, initial_state, output_final_state, chunk_size, group,
         broadcast_final_state):
    """`fn` is mixir.torch.scan (single process)."""
    return _split("scan",
                  lambda state: fn(x, g, state, True, chunk_size=chunk_size),
                  lambda: x.new_zeros(x.shape[0], x.shape[2],
                                      dtype=_state_dtype(x)),
                  lambda local: g.to(local.dtype).sum(1), initial_state,
                  output_final_state, group, broadcast_final_state)


def _with_transition(what, run_from, q, v, initial_state,
                     output_final_state, group, broadcast_final_state):
    """The delta rule's and mix.recurrence's form of `_split`:
    `run_from(q, v, state)` runs the op on this rank's slice. M is the op
    run on v = 0 (value dim K) from the identity, per batch and head: its
    final state is the product of the slice's transitions."""
    def transition(local):
        B, H, K = local.shape[:3]
        v0 = v.new_zeros(v.shape[:3] + (K,))
        eye = torch.eye(K, dtype=local.dtype,
                        device=local.device).expand(B, H, K, K)
        return run_from(q.detach(), v0, eye.contiguous())[1]

    return _split(what, lambda state: run_from(q, v, state),
                  lambda: _zero_state(q, v), transition, initial_state,
                  output_final_state, group, broadcast_final_state,
                  matrix=True)


def delta_rule(fn, q, k, v, beta, g, gate, scale, initial_state,
               output_final_state, flags, group, broadcast_final_state):
    """`fn` is mixir.torch.delta_rule (single process); `flags` its keyword
    options (qk_l2norm, allow_neg_eigval, chunk_size)."""
    return _with_transition(
        "delta_rule", lambda qq, vv, state: fn(qq, k, vv, beta, g, gate, scale,
                                               state, True, **flags),
        q, v, initial_state, output_final_state, group, broadcast_final_state)


def recurrence(fn, q, k, v, a, b, g, gate, scale, initial_state,
               output_final_state, chunk_size, group, broadcast_final_state):
    """`fn` is mixir.torch.recurrence (single process)."""
    return _with_transition(
        "recurrence", lambda qq, vv, state: fn(qq, k, vv, a, b, g, gate, scale,
                                               state, True,
                                               chunk_size=chunk_size),
        q, v, initial_state, output_final_state, group, broadcast_final_state)


# --- softmax attention (forward only) ---------------------------------------

def _gather_tokens(x, lengths, group):
    """Every rank's `x` [B, L_r, ...] (L_r = lengths[r]), padded to the
    longest for the all-gather and cut back."""
    longest = max(lengths)
    pad = x.new_zeros((x.shape[0], longest) + tuple(x.shape[2:]))
    pad[:, :x.shape[1]] = x
    parts = [torch.empty_like(pad) for _ in lengths]
    dist.all_gather(parts, pad, group=group)
    return [p[:, :n] for p, n in zip(parts, lengths)]


def _tails_before(k, v, lengths, rank, need, group):
    """The `need` tokens of k and v just before this rank's slice, from the
    last `need` tokens of each earlier rank's slice (fewer where a slice is
    shorter; then the rank before it provides the rest)."""
    if need == 0:
        return [], []
    tails = [min(n, need) for n in lengths]
    kt, vt = (_gather_tokens(x[:, x.shape[1] - tails[rank]:], tails, group)
              for x in (k, v))
    ks, vs = [], []
    for r in reversed(range(rank)):
        take = min(need, tails[r])
        if take == 0:  # an empty slice: the ranks before it provide
            continue
        ks.insert(0, kt[r][:, tails[r] - take:])
        vs.insert(0, vt[r][:, tails[r] - take:])
        need -= take
    return ks, vs


def attention(fn, q, k, v, g, causal, window, group):
    """`fn(q, k, v, causal, window)` is single-process softmax attention
    (the other options bound). This rank's queries see the keys of
    the ranks before it; the op compares query and key positions as plain
    indices from 0, so the masks are shifted by the slice's start:

    - causal, no window: queries and keys reversed in time, unmasked but
      for window 1 (keys j' >= i' in reversed positions, i.e. j <= start + i);
    - a window: `n` zero queries put before the slice, where `n` is the
      number of earlier keys in the window, and their outputs dropped;
    - neither: every key, no mask.
    """
    error = None
    try:
        if g is not None:
            raise NotImplementedError(
                "attention with cp_group does not take a forget gate g (its "
                "cumulative sums would have to be carried across ranks)")
        if q.shape[1] != k.shape[1] or k.shape[1] != v.shape[1]:
            raise ValueError("with cp_group, q, k and v hold this rank's "
                             "slice of the same tokens: their lengths "
                             f"differ ({q.shape[1]}, {k.shape[1]}, "
                             f"{v.shape[1]})")
    except Exception as e:  # noqa: BLE001 - re-raised on this rank below
        error = e
    _agree(error, group, "attention")
    world, rank = dist.get_world_size(group), dist.get_rank(group)
    n_local = torch.tensor([q.shape[1]], dtype=torch.int64,
                           device=_device(group))
    counts = [torch.empty_like(n_local) for _ in range(world)]
    dist.all_gather(counts, n_local, group=group)
    lengths = [int(c.item()) for c in counts]
    start = sum(lengths[:rank])
    if causal and not window:
        ks, vs = (_gather_tokens(x, lengths, group)[:rank]
                  for x in (k, v))
        keys, values = torch.cat(ks + [k], 1), torch.cat(vs + [v], 1)
        o = fn(q.flip(1), keys.flip(1), values.flip(1), False, 1)
        return o.flip(1)
    if causal:
        ks, vs = _tails_before(k, v, lengths, rank, window - 1, group)
        keys, values = torch.cat(ks + [k], 1), torch.cat(vs + [v], 1)
        n = keys.shape[1] - q.shape[1]
    else:
        keys, values = (torch.cat(_gather_tokens(x, lengths, group), 1)
                        for x in (k, v))
        if not window:
            return fn(q, keys, values, False, 0)
        n = start - max(0, start - window + 1)
        keys, values = keys[:, start - n:], values[:, start - n:]
    padded = torch.cat([q.new_zeros((q.shape[0], n) + tuple(q.shape[2:])), q],
                       1)
    return fn(padded, keys, values, causal, window)[:, n:]
