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

Softmax attention gathers the keys and values a rank's queries see instead:
all of those before it, or, with a sliding window, the last ``window - 1``
tokens before its slice; the backward sends their gradients back to the
ranks they came from.

Packed sequences (``cu_seqlens``, the offsets of the whole packed batch on
every rank) run packed on each rank's pieces of sequences; a rank's summary
is that of its last piece, and a sequence that began on an earlier rank
starts from the state carried to it (``_Plan``, ``_PackedCarry``).

A rank that fails before the collectives (bad input, a compile error) makes
every rank raise, so none waits for a collective that would never come.
"""

import torch
import torch.distributed as dist

from .torch import _needs_backward, _state_dtype


class ContextParallelError(RuntimeError):
    """Raised on every rank when one rank of the group failed."""


def _agree(ok, group, what, grad=False, options=0):
    """All ranks learn whether every rank got this far, whether any rank's
    call is differentiated (`grad`: then every rank's must be, so that every
    rank makes the backward's collectives), and whether every rank passed
    the same `options` (a small int: the flags that decide which
    collectives run). Returns whether any rank's call is differentiated."""
    flag = torch.tensor([1 if ok is None else 0, -int(grad), options,
                         -options], dtype=torch.int64, device=_device(group))
    dist.all_reduce(flag, op=dist.ReduceOp.MIN, group=group)
    if ok is not None:
        raise ok
    if flag[0].item() == 0:
        raise ContextParallelError(f"{what}: another rank of the context-"
                                   "parallel group failed (see its error)")
    if flag[2].item() != -flag[3].item():
        raise ValueError(f"{what}: the ranks of the context-parallel group "
                         "passed different options (output_final_state, "
                         "broadcast_final_state; attention: causal, window, "
                         "cu_seqlens or grad mode)")
    return flag[1].item() != 0


def _options(output_final_state, broadcast_final_state):
    return int(bool(output_final_state)) + 2 * int(bool(broadcast_final_state))


def _differentiable(init, grad):
    """`init`, made a leaf that requires grad when some rank's call is
    differentiated and it does not (its gradient is dropped): every rank's
    exchange is then in its autograd graph."""
    if grad and torch.is_grad_enabled() and not init.requires_grad:
        return init.detach().requires_grad_()
    return init


def _check_state(name, state, like):
    """Rank 0's initial state must have the shape of the states the op
    makes (`like`); it is made contiguous for the collectives."""
    if state is None:
        return None
    if tuple(state.shape) != tuple(like.shape):
        raise ValueError(f"{name} has shape {tuple(state.shape)}, expected "
                         f"{tuple(like.shape)}")
    return state.contiguous()


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


def _through_grad(m, state, d, matrix, m_shape):
    """The gradients of `m` and `state` in `_through(m, state, matrix)`
    given `d`, that of its result."""
    if matrix:
        return d @ state.transpose(-1, -2), m.transpose(-1, -2) @ d
    scaled = d * torch.exp(m)
    full = scaled * state
    # Sum over the dims the decay was broadcast along.
    dims = [i for i, n in enumerate(m_shape) if n == 1 and full.shape[i] != 1]
    return (full.sum(dims, keepdim=True) if dims else full), scaled


def _exchange_summaries(m, state, init, group):
    """Every rank's (M, C) summary, all-gathered, and rank 0's `init`."""
    world = dist.get_world_size(group)
    ms = [torch.empty_like(m) for _ in range(world)]
    states = [torch.empty_like(state) for _ in range(world)]
    dist.all_gather(ms, m.contiguous(), group=group)
    dist.all_gather(states, state.contiguous(), group=group)
    init = init.clone()
    dist.broadcast(init, _src(group, 0), group=group)
    return ms, states, init


class _Carry(torch.autograd.Function):
    """The state entering this rank: rank 0's initial state run through the
    (M, C) summaries of the ranks before this one, M a log decay or (with
    `matrix`) a [..., K, K] matrix. Forward and backward each make the same
    collectives on every rank, in the same order, so no rank waits on
    another's autograd schedule."""

    @staticmethod
    def forward(ctx, m, local_state, init, group, matrix):
        rank = dist.get_rank(group)
        ms, states, carried = _exchange_summaries(m, local_state, init, group)
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
            d_ms[r], d = _through_grad(ms[r], before[r], d, ctx.matrix,
                                       ctx.m_shape)
        dist.all_reduce(d_ms, group=group)
        dist.all_reduce(d_states, group=group)
        d_init = d.contiguous()
        dist.all_reduce(d_init, group=group)  # reaches rank 0's init
        if rank != 0:
            d_init = torch.zeros_like(d_init)
        return d_ms[rank], d_states[rank], d_init, None, None


class _LastToAll(torch.autograd.Function):
    """The last rank's tensor on every rank; its gradient is the sum of
    every rank's. `o` passes through, so that every rank whose output is
    used makes the backward's collective, whether or not it uses the
    state."""

    @staticmethod
    def forward(ctx, o, x, group):
        ctx.group = group
        out = x.clone()
        dist.broadcast(out, _src(group, dist.get_world_size(group) - 1),
                       group=group)
        return o.clone(), out

    @staticmethod
    def backward(ctx, d_o, d):
        d = d.contiguous().clone()
        dist.all_reduce(d, group=ctx.group)
        last = dist.get_rank(ctx.group) == dist.get_world_size(ctx.group) - 1
        return d_o, (d if last else torch.zeros_like(d)), None


def _carry(m, local_state, initial_state, group, matrix, grad):
    """Rank 0's initial state (zeros when it has none) carried in."""
    init = torch.zeros_like(local_state)
    if initial_state is not None:
        init = initial_state.to(local_state.dtype)
    return _Carry.apply(m, local_state, _differentiable(init, grad), group,
                        matrix)


def _final(o, state, broadcast, group):
    """(o, the final state on the last rank, or every rank's with
    `broadcast`)."""
    if broadcast:
        return _LastToAll.apply(o, state, group)
    last = dist.get_world_size(group) - 1
    return o, (state if dist.get_rank(group) == last else None)


def _split(what, run, zero_state, summary_of, initial_state,
           output_final_state, group, broadcast_final_state, matrix=False):
    """The context-parallel form of one op: `run(state)` runs it on this
    rank's slice from `state` and returns (o, final state); `zero_state()`
    is a zero state (given explicitly, so the summary and the apply share one
    compiled function); `summary_of(local)` is the slice's M: its summed log
    decay, shaped to broadcast against its state, or (`matrix`) its
    [B, H, K, K] transition."""
    error, local, m, grad = None, None, None, False
    if dist.get_rank(group) != 0:
        initial_state = None
    try:
        _, local = run(zero_state())
        m = summary_of(local)
        initial_state = _check_state("initial_state", initial_state, local)
        grad = _needs_backward(local, m, initial_state)
    except Exception as e:  # noqa: BLE001 - re-raised on this rank below
        error = e
    grad = _agree(error, group, what, grad,
                  _options(output_final_state, broadcast_final_state))
    carried = _carry(m.contiguous(), local, initial_state, group, matrix,
                     grad)
    o, state = run(carried)
    if not output_final_state:
        return o, None
    return _final(o, state, broadcast_final_state, group)


def _zero_state(q, v, n=None):
    """Zero states [B (or n), Hv, K, V] for q [B, T, Hq, K], v [B, T, Hv,
    V]."""
    return q.new_zeros((q.shape[0] if n is None else n, v.shape[2],
                        q.shape[3], v.shape[3]), dtype=_state_dtype(q))


def linear_attention(fn, q, k, v, g, gate, scale, initial_state,
                     output_final_state, chunk_size, group,
                     broadcast_final_state, cu_seqlens=None):
    """`fn` is mixir.torch.linear_attention (single process)."""

    def log_decay(x, B, hv, K):
        # Summed over T: the decay of a whole slice or piece, [B, hv, K|1, 1].
        if gate == "none":
            return x.new_zeros(B, hv, 1, 1, dtype=_state_dtype(q))
        return x.to(_state_dtype(q)).sum(1).view(
            B, hv, K if gate == "vector" else 1, 1)

    def log_decay_of(local):
        # The sizes are read here, inside _split's agreement: a rank with a
        # malformed q or v raises on every rank, never leaves them waiting.
        B, T, _, K = q.shape
        hv = v.shape[2]
        if gate == "head":
            return (T * g.to(_state_dtype(q))).view(1, hv, 1, 1).expand(
                B, hv, 1, 1)
        return log_decay(g if gate != "none" else local, B, hv, K)

    if cu_seqlens is not None:
        def piece_decay(local, lo, cu):
            T, K, hv = q.shape[1], q.shape[3], v.shape[2]
            if gate == "head":
                return ((T - lo) * g.to(_state_dtype(q))).view(hv, 1, 1)
            return log_decay(g[:, lo:] if gate != "none" else local, 1, hv,
                             K)[0]
        return _split_packed(
            "linear_attention",
            lambda state, cu: fn(q, k, v, g, gate, scale, state, True,
                                 chunk_size=chunk_size, cu_seqlens=cu),
            lambda n: _zero_state(q, v, n), piece_decay, initial_state,
            output_final_state, group, broadcast_final_state, cu_seqlens,
            lambda: q.shape[1])
    return _split("linear_attention",
                  lambda state: fn(q, k, v, g, gate, scale, state, True,
                                   chunk_size=chunk_size),
                  lambda: _zero_state(q, v), log_decay_of, initial_state,
                  output_final_state, group, broadcast_final_state)


def scan(fn, x, g, initial_state, output_final_state, chunk_size, group,
         broadcast_final_state, cu_seqlens=None):
    """`fn` is mixir.torch.scan (single process)."""
    def zeros(n=None):
        return x.new_zeros(x.shape[0] if n is None else n, x.shape[2],
                           dtype=_state_dtype(x))

    if cu_seqlens is not None:
        return _split_packed(
            "scan",
            lambda state, cu: fn(x, g, state, True, chunk_size=chunk_size,
                                 cu_seqlens=cu),
            zeros, lambda local, lo, cu: g[0, lo:].to(local.dtype).sum(0),
            initial_state, output_final_state, group, broadcast_final_state,
            cu_seqlens, lambda: x.shape[1])
    return _split("scan",
                  lambda state: fn(x, g, state, True, chunk_size=chunk_size),
                  zeros, lambda local: g.to(local.dtype).sum(1),
                  initial_state, output_final_state, group,
                  broadcast_final_state)


def _with_transition(what, run_from, q, v, initial_state,
                     output_final_state, group, broadcast_final_state,
                     cu_seqlens):
    """The delta rule's and mix.recurrence's form of `_split`:
    `run_from(q, v, state, cu)` runs the op on this rank's slice (packed by
    `cu`, or None). M is the op run on v = 0 (value dim K) from the
    identity, per batch (or sequence) and head: its final state is the
    product of the slice's (or last piece's) transitions."""
    def transition(local, cu=None):
        n, H, K = local.shape[:3]
        v0 = v.new_zeros(v.shape[:3] + (K,))
        eye = torch.eye(K, dtype=local.dtype,
                        device=local.device).expand(n, H, K, K)
        return run_from(q.detach(), v0, eye.contiguous(), cu)[1]

    if cu_seqlens is not None:
        return _split_packed(
            what, lambda state, cu: run_from(q, v, state, cu),
            lambda n: _zero_state(q, v, n),
            lambda local, lo, cu: transition(local, cu)[-1], initial_state,
            output_final_state, group, broadcast_final_state, cu_seqlens,
            lambda: q.shape[1], matrix=True)
    return _split(what, lambda state: run_from(q, v, state, None),
                  lambda: _zero_state(q, v), transition, initial_state,
                  output_final_state, group, broadcast_final_state,
                  matrix=True)


def delta_rule(fn, q, k, v, beta, g, gate, scale, initial_state,
               output_final_state, flags, group, broadcast_final_state,
               cu_seqlens=None):
    """`fn` is mixir.torch.delta_rule (single process); `flags` its keyword
    options (qk_l2norm, allow_neg_eigval, chunk_size)."""
    return _with_transition(
        "delta_rule",
        lambda qq, vv, state, cu: fn(qq, k, vv, beta, g, gate, scale, state,
                                     True, cu_seqlens=cu, **flags),
        q, v, initial_state, output_final_state, group, broadcast_final_state,
        cu_seqlens)


def recurrence(fn, q, k, v, a, b, g, gate, scale, initial_state,
               output_final_state, chunk_size, group, broadcast_final_state,
               cu_seqlens=None):
    """`fn` is mixir.torch.recurrence (single process)."""
    return _with_transition(
        "recurrence",
        lambda qq, vv, state, cu: fn(qq, k, vv, a, b, g, gate, scale, state,
                                     True, chunk_size=chunk_size,
                                     cu_seqlens=cu),
        q, v, initial_state, output_final_state, group, broadcast_final_state,
        cu_seqlens)


# --- packed sequences across ranks -----------------------------------------

class _Plan:
    """Where the packed sequences of `cu` (the offsets of the whole packed
    batch, the same on every rank) fall in each rank's slice.

    Each rank runs the op packed over its pieces of sequences: the
    sequences with tokens in its slice, cut to it, and the empty ones whose
    offset lies in it (on the last rank, also at its end). The first piece
    may continue a sequence begun on an earlier rank, and the last may go
    on into the next rank. A rank's summary is that of its last piece, and
    the chain of summaries restarts wherever a last piece begins its
    sequence (`resets`)."""

    def __init__(self, cu, lengths, rank):
        world = len(lengths)
        starts = [sum(lengths[:r]) for r in range(world)]
        self.ids, self.local, self.ends_here = [], [], []
        self.resets, self.last_ids, self.last_starts = [], [], []
        for r in range(world):
            start, end = starts[r], starts[r] + lengths[r]
            last = r == world - 1
            pieces = [s for s in range(len(cu) - 1)
                      if (cu[s] < end and cu[s + 1] > start) or
                      (cu[s] == cu[s + 1] and
                       (start <= cu[s] < end or (last and cu[s] == end)))]
            s = pieces[-1]
            self.resets.append(cu[s] >= start)
            self.last_ids.append(s)
            self.last_starts.append(max(cu[s], start) - start)
            if r == rank:
                self.ids = pieces
                self.local = [0] + [min(cu[p + 1], end) - start
                                    for p in pieces]
                self.continues = cu[pieces[0]] < start
                self.ends_here = [i for i, p in enumerate(pieces)
                                  if cu[p + 1] <= end]
        self.count = len(cu) - 1


class _PackedCarry(torch.autograd.Function):
    """The initial states of this rank's pieces: each sequence's own
    (rank 0's `init` [N, ...], broadcast), but for a first piece that
    continues a sequence, which starts from the state carried through the
    (M, C) summaries of the last pieces of the ranks before it, back to the
    rank where that sequence began. The collectives are the same on every
    rank, forward and backward, as for _Carry."""

    @staticmethod
    def forward(ctx, m, last_state, init, group, matrix, plan):
        rank = dist.get_rank(group)
        ms, states, init = _exchange_summaries(m, last_state, init, group)
        local = init[plan.ids].clone()
        first, before = rank, []
        if plan.continues:
            first = max(r for r in range(rank) if plan.resets[r])
            carried = init[plan.last_ids[first]]
            for r in range(first, rank):
                before.append(carried)
                carried = _through(ms[r], carried, matrix) + states[r]
            local[0] = carried
        ctx.group, ctx.matrix, ctx.plan, ctx.first = group, matrix, plan, first
        ctx.m_shape, ctx.init_shape = m.shape, init.shape
        ctx.save_for_backward(*ms[first:rank], *before)
        return local

    @staticmethod
    def backward(ctx, d_local):
        group, plan, first = ctx.group, ctx.plan, ctx.first
        world, rank = dist.get_world_size(group), dist.get_rank(group)
        saved = ctx.saved_tensors
        n = rank - first
        ms, before = saved[:n], saved[n:]
        d_ms = d_local.new_zeros((world,) + tuple(ctx.m_shape))
        d_states = d_local.new_zeros((world,) + tuple(d_local.shape[1:]))
        d_init = d_local.new_zeros(ctx.init_shape)
        own = list(range(1 if plan.continues else 0, len(plan.ids)))
        d_init.index_add_(0, torch.tensor([plan.ids[i] for i in own],
                                          dtype=torch.int64),
                          d_local[own])
        if plan.continues:
            d = d_local[0]
            for i in reversed(range(n)):
                r = first + i
                d_states[r] = d
                d_ms[r], d = _through_grad(ms[i], before[i], d, ctx.matrix,
                                           ctx.m_shape)
            d_init[plan.last_ids[first]] += d
        for x in (d_ms, d_states, d_init):
            dist.all_reduce(x, group=group)
        if rank != 0:
            d_init = torch.zeros_like(d_init)
        return d_ms[rank], d_states[rank], d_init, None, None, None


class _PackedFinals(torch.autograd.Function):
    """Every sequence's final state, [N, ...], from the ranks whose slices
    end them; `o` passes through, so that every rank whose output is used
    makes this exchange's backward collective too."""

    @staticmethod
    def forward(ctx, o, local_finals, group, plan):
        full = local_finals.new_zeros((plan.count,) +
                                      tuple(local_finals.shape[1:]))
        rows = plan.ends_here
        if rows:
            full[[plan.ids[i] for i in rows]] = local_finals[rows]
        dist.all_reduce(full, group=group)
        ctx.group, ctx.plan = group, plan
        ctx.local_shape = local_finals.shape
        return o.clone(), full

    @staticmethod
    def backward(ctx, d_o, d_full):
        d_full = d_full.contiguous().clone()
        dist.all_reduce(d_full, group=ctx.group)
        plan = ctx.plan
        d_local = d_full.new_zeros(ctx.local_shape)
        rows = plan.ends_here
        if rows:
            d_local[rows] = d_full[[plan.ids[i] for i in rows]]
        return d_o, d_local, None, None


def _offsets_of(cu_seqlens, T, group):
    """The global offsets as a list, the same on every rank, and every
    rank's slice length; a ValueError on every rank when they disagree."""
    world = dist.get_world_size(group)
    cu = [int(c) for c in cu_seqlens.tolist()]
    device = _device(group)
    sizes = torch.tensor([T, len(cu)], dtype=torch.int64, device=device)
    parts = [torch.empty_like(sizes) for _ in range(world)]
    dist.all_gather(parts, sizes, group=group)
    lengths = [int(p[0].item()) for p in parts]
    same = all(int(p[1].item()) == len(cu) for p in parts)
    if same:  # the same count everywhere: compare the offsets themselves
        mine = torch.tensor(cu, dtype=torch.int64, device=device)
        offsets = [torch.empty_like(mine) for _ in range(world)]
        dist.all_gather(offsets, mine, group=group)
        same = all(torch.equal(o, offsets[0]) for o in offsets)
    if not same:
        raise ValueError("with cp_group, cu_seqlens holds the offsets of the "
                         "whole packed batch, the same on every rank; the "
                         "ranks passed different offsets")
    if cu[-1] != sum(lengths):
        raise ValueError(f"cu_seqlens ends at {cu[-1]}, but the ranks' slices "
                         f"hold {sum(lengths)} tokens ({lengths})")
    if 0 in lengths:
        raise ValueError("with cu_seqlens and cp_group every rank's slice "
                         f"needs at least one token (slice lengths {lengths})")
    return cu, lengths


def _check_offsets(cu_seqlens):
    if not isinstance(cu_seqlens, torch.Tensor) or cu_seqlens.dim() != 1 or \
            cu_seqlens.dtype not in (torch.int32, torch.int64):
        raise TypeError("cu_seqlens must be a 1-D int32 or int64 torch.Tensor")
    cu = cu_seqlens.tolist()
    if len(cu) < 2 or cu[0] != 0 or any(b < a for a, b in zip(cu, cu[1:])):
        raise ValueError(f"cu_seqlens must start at 0, not decrease and name "
                         f"at least one sequence, got {cu}")


def _split_packed(what, run, zero_state, summary_of, initial_state,
                  output_final_state, group, broadcast_final_state, cu_seqlens,
                  length, matrix=False):
    """`_split` for packed sequences: `cu_seqlens` holds the offsets of the
    whole packed batch (every rank passes the same); `run(state, cu)` runs
    the op on this rank's slice packed by `cu` from `state` [n, ...];
    `zero_state(n)` is n zero states; `summary_of(final, lo, cu)` is the M
    of the last piece (from token `lo` of the slice), given the run from
    zero states' final states; `length()` the slice's token count."""
    error, T = None, 0
    if dist.get_rank(group) != 0:
        initial_state = None
    try:
        _check_offsets(cu_seqlens)
        T = int(length())
    except Exception as e:  # noqa: BLE001 - re-raised on this rank below
        error = e
    _agree(error, group, what)
    cu, lengths = _offsets_of(cu_seqlens, T, group)
    plan = _Plan(cu, lengths, dist.get_rank(group))
    local_cu = torch.tensor(plan.local, dtype=cu_seqlens.dtype)
    last, m, grad = None, None, False
    try:
        n = len(plan.ids)
        _, local = run(zero_state(n), local_cu)
        last = local[n - 1]
        m = summary_of(local, plan.local[-2], local_cu)
        init = zero_state(plan.count)
        initial_state = _check_state("initial_state", initial_state, init)
        grad = _needs_backward(local, m, initial_state)
    except Exception as e:  # noqa: BLE001 - re-raised on this rank below
        error = e
    grad = _agree(error, group, what, grad,
                  _options(output_final_state, broadcast_final_state))
    if initial_state is not None:
        init = initial_state.to(init.dtype)
    states = _PackedCarry.apply(m.contiguous(), last,
                                _differentiable(init, grad), group, matrix,
                                plan)
    o, finals = run(states, local_cu)
    if not output_final_state:
        return o, None
    o, full = _PackedFinals.apply(o, finals, group, plan)
    last_rank = dist.get_world_size(group) - 1
    keep = broadcast_final_state or dist.get_rank(group) == last_rank
    return o, (full if keep else None)


def _halo(gathered, tails, rank, state, need, own=None):
    """The conv state [B, D, need] before this rank's slice: `state` (the
    inputs before them), then the earlier ranks' last tokens (`gathered`,
    `tails[r]` of rank r's), of which only the last `own` when a sequence
    began `own` tokens before the slice. Of those, the last `need` are
    consecutive tokens: each rank's tail is its last min(length, need)."""
    tokens = torch.cat([state.transpose(1, 2)[:, :0]] +
                       [gathered[r][:, :tails[r]] for r in range(rank)], 1)
    if own is not None:
        tokens = tokens[:, max(0, tokens.shape[1] - own):]
    history = torch.cat([state.transpose(1, 2), tokens], 1)
    return history[:, history.shape[1] - need:].transpose(1, 2)


def _packed_conv(fn, x, w, bias, conv_state, activation, output_final_state,
                 cu_seqlens, group):
    """The conv over packed sequences (`cu_seqlens` of the whole batch, the
    same on every rank) that cross ranks: each rank runs its pieces
    (`_Plan`) packed, every piece from its sequence's row of rank 0's
    conv state [N, D, W - 1], but a first piece that continues a sequence,
    whose state is the W - 1 inputs before the slice: the tokens of that
    sequence on earlier ranks (gathered tails), and before its first token
    that sequence's conv state row."""
    error, rank = None, dist.get_rank(group)
    try:
        _check_offsets(cu_seqlens)
    except Exception as e:  # noqa: BLE001 - re-raised on this rank below
        error = e
    _agree(error, group, "causal_conv1d")
    cu, lengths = _offsets_of(cu_seqlens, x.shape[1], group)
    plan = _Plan(cu, lengths, rank)
    D, need = x.shape[2], w.shape[1] - 1
    init = x.new_zeros(plan.count, D, need)
    try:
        conv_state = _check_state("conv_state", conv_state, init)
    except Exception as e:  # noqa: BLE001 - re-raised on this rank below
        error = e
    _agree(error, group, "causal_conv1d")
    if conv_state is not None:  # a copy: the broadcast writes into it
        init = conv_state.to(x.dtype, copy=True).contiguous()
    dist.broadcast(init, _src(group, 0), group=group)
    local = init[plan.ids].clone()
    tails = [min(n, need) for n in lengths]
    gathered = _gather_tails(x, tails, group) if max(tails) > 0 else None
    start = sum(lengths[:rank])
    if plan.continues and need > 0:
        # The sequence's own tokens before the slice, after its conv state.
        seq = plan.ids[0]
        local[0] = _halo(gathered, tails, rank, init[seq:seq + 1], need,
                         own=start - cu[seq])[0]
    local_cu = torch.tensor(plan.local, dtype=cu_seqlens.dtype)
    y, finals = fn(x, w, bias, local.contiguous(), activation, True,
                   cu_seqlens=local_cu)
    full = None
    if output_final_state:
        full = x.new_zeros(plan.count, D, need)
        if plan.ends_here:
            full[[plan.ids[i] for i in plan.ends_here]] = \
                finals[plan.ends_here]
        dist.all_reduce(full, group=group)
    last = dist.get_world_size(group) - 1
    return y, (full if rank == last else None)


# --- softmax attention ------------------------------------------------------

def _gather_tails(x, tails, group):
    """Every rank's last `tails[r]` tokens of x [B, L, ...], as
    [world, B, max(tails), ...] (zero-padded)."""
    pad = x.new_zeros((x.shape[0], max(tails)) + tuple(x.shape[2:]))
    n = tails[dist.get_rank(group)]
    pad[:, :n] = x[:, x.shape[1] - n:]
    parts = [torch.empty_like(pad) for _ in tails]
    dist.all_gather(parts, pad, group=group)
    return torch.stack(parts)


def _slice_lengths(T, group):
    """Every rank's slice length, from this rank's T."""
    n = torch.tensor([T], dtype=torch.int64, device=_device(group))
    counts = [torch.empty_like(n) for _ in range(dist.get_world_size(group))]
    dist.all_gather(counts, n, group=group)
    return [int(c.item()) for c in counts]


class _Exchange(torch.autograd.Function):
    """Every rank's last `tails[r]` tokens of k and v, gathered
    ([world, B, max(tails), ...] each), with k and v passed through: every
    rank uses its own k and v, so every rank makes the backward's
    collectives, which send each gathered token's gradient back to its
    rank."""

    @staticmethod
    def forward(ctx, k, v, tails, group):
        ctx.group, ctx.tails = group, tails
        return (k.clone(), v.clone(), _gather_tails(k, tails, group),
                _gather_tails(v, tails, group))

    @staticmethod
    def backward(ctx, dk, dv, dk_parts, dv_parts):
        n = ctx.tails[dist.get_rank(ctx.group)]
        grads = []
        for d, d_parts in ((dk, dk_parts), (dv, dv_parts)):
            # Summed over the ranks in float32 (16-bit gradients too).
            summed = d_parts.float().contiguous()
            dist.all_reduce(summed, group=ctx.group)
            d = d.clone()
            d[:, d.shape[1] - n:] += \
                summed[dist.get_rank(ctx.group)][:, :n].to(d.dtype)
            grads.append(d)
        return grads[0], grads[1], None, None


def _exchange(k, v, tails, group):
    """(k, v, every rank's k tail, every rank's v tail) through _Exchange."""
    k, v, kp, vp = _Exchange.apply(k, v, tuple(tails), group)
    return (k, v, [kp[r][:, :n] for r, n in enumerate(tails)],
            [vp[r][:, :n] for r, n in enumerate(tails)])


def _tails_before(kt, vt, tails, rank, need):
    """The `need` tokens of k and v just before this rank's slice, from the
    last tokens of each earlier rank's slice (`kt`, `vt`: `tails[r]` of
    them; fewer where a slice is shorter, and then the rank before it
    provides the rest)."""
    ks, vs = [], []
    for r in reversed(range(rank)):
        take = min(need, tails[r])
        if take == 0:  # an empty slice: the ranks before it provide
            continue
        ks.insert(0, kt[r][:, tails[r] - take:])
        vs.insert(0, vt[r][:, tails[r] - take:])
        need -= take
    return ks, vs


def _check_attention(q, k, v):
    """What the exchange relies on, checked before it (a rank that fails
    later would leave the others waiting): q, k, v [B, L, H, D] tensors of
    one dtype holding the same L tokens, k and v with the same heads, which
    divide q's."""
    if not all(isinstance(x, torch.Tensor) and x.dim() == 4
               for x in (q, k, v)):
        raise ValueError("attention takes q, k and v as 4-D torch.Tensors "
                         "[B, L, H, D]")
    if q.shape[1] != k.shape[1] or k.shape[1] != v.shape[1]:
        raise ValueError("with cp_group, q, k and v hold this rank's "
                         "slice of the same tokens: their lengths "
                         f"differ ({q.shape[1]}, {k.shape[1]}, "
                         f"{v.shape[1]})")
    if q.dtype != k.dtype or k.dtype != v.dtype:
        raise ValueError(f"q, k and v must have one dtype, got {q.dtype}, "
                         f"{k.dtype}, {v.dtype}")
    if q.shape[0] != k.shape[0] or k.shape[:3] != v.shape[:3] or \
            q.shape[3] != k.shape[3] or q.shape[2] % k.shape[2]:
        raise ValueError("attention takes q [B, L, Hq, D], k [B, L, Hkv, D] "
                         "and v [B, L, Hkv, Dv] with Hq a multiple of Hkv; "
                         f"got {tuple(q.shape)}, {tuple(k.shape)}, "
                         f"{tuple(v.shape)}")


def attention(fn, q, k, v, g, causal, window, group, block=0,
              make_parts=None, cu_seqlens=None):
    """`fn(q, k, v, causal, window)` is single-process softmax attention
    (the other options bound); `make_parts()` gives its forward and
    backward on one block of keys with the row log-sum-exp (`_RingParts`),
    whose modules are compiled before the ranks agree to go on, so that a
    failure there raises on every rank instead of stalling the ring.

    Without a window, the keys and values go round the ring
    (`_RingAttention`): each rank holds one other rank's block at a time,
    attends to it (all of it from the ranks before it, its own causally, none
    from the ranks after it when causal) and merges the partial results
    through their log-sum-exp, so no rank ever holds more than two blocks.
    With a window, a rank needs only the last `window - 1` keys before its
    slice: those are gathered, `n` zero queries are put before the slice
    (`n` the number of earlier keys in the window, since the op compares
    positions from 0) and their outputs dropped.
    """
    error = None
    try:
        if g is not None:
            raise NotImplementedError(
                "attention with cp_group does not take a forget gate g (its "
                "cumulative sums would have to be carried across ranks)")
        if block:
            raise NotImplementedError(
                "attention with cp_group does not take block (its blocks "
                "would count positions from each rank's slice)")
        if cu_seqlens is not None and window:
            raise NotImplementedError(
                "attention with cp_group and cu_seqlens does not take a "
                "window (packed sequences go round the ring)")
        _check_attention(q, k, v)
        if cu_seqlens is not None:
            _check_offsets(cu_seqlens)
        grad = _needs_backward(q, k, v)
        parts = make_parts()
        if not window:
            parts.prepare(q, k, v, causal, cu_seqlens,
                          torch.is_grad_enabled())
    except Exception as e:  # noqa: BLE001 - re-raised on this rank below
        error, grad = e, False
    # The ranks must take the same path (ring or gather) and all make the
    # backward's exchanges: they agree on the packing, the masks and grad
    # mode.
    options = int(cu_seqlens is not None) + 2 * int(bool(window)) + \
        4 * int(bool(causal)) + 8 * int(torch.is_grad_enabled())
    if _agree(error, group, "attention", grad, options):
        k, v = _differentiable(k, True), _differentiable(v, True)
    rank = dist.get_rank(group)
    plan = None
    if cu_seqlens is not None:
        cu, lengths = _offsets_of(cu_seqlens, q.shape[1], group)
        plan = _RingPlan(cu, lengths, rank, cu_seqlens.dtype)
    else:
        lengths = _slice_lengths(q.shape[1], group)
    start = sum(lengths[:rank])
    if not window:
        return _RingAttention.apply(q, k, v, causal, parts, tuple(lengths),
                                    group, plan)
    if causal:
        tails = [min(n, window - 1) for n in lengths]
        ks, vs = [], []
        if max(tails) > 0:
            k, v, kt, vt = _exchange(k, v, tails, group)
            ks, vs = _tails_before(kt, vt, tails, rank, window - 1)
        keys, values = torch.cat(ks + [k], 1), torch.cat(vs + [v], 1)
        n = keys.shape[1] - q.shape[1]
    else:
        k, v, ks, vs = _exchange(k, v, lengths, group)
        keys = torch.cat(ks[:rank] + [k] + ks[rank + 1:], 1)
        values = torch.cat(vs[:rank] + [v] + vs[rank + 1:], 1)
        n = start - max(0, start - window + 1)
        keys, values = keys[:, start - n:], values[:, start - n:]
    padded = torch.cat([q.new_zeros((q.shape[0], n) + tuple(q.shape[2:])), q],
                       1)
    return fn(padded, keys, values, causal, window)[:, n:]


class _RingPlan:
    """Packed sequences on the ring: this rank's own block runs packed over
    its pieces (`_Plan`), and each other rank's block is seen only by the
    pieces whose sequence reaches into it, as (query rows, key rows) pairs
    of plain, unmasked attention (causal: only blocks before this rank's,
    which a sequence reaches only through this rank's first piece)."""

    def __init__(self, cu, lengths, rank, dtype):
        inner = _Plan(cu, lengths, rank)
        self.local_cu = torch.tensor(inner.local, dtype=dtype)
        starts = [sum(lengths[:r]) for r in range(len(lengths))]
        self.pairs = {}  # block origin -> [(q rows, key rows)]
        for i, seq in enumerate(inner.ids):
            rows = slice(inner.local[i], inner.local[i + 1])
            if rows.start == rows.stop:
                continue
            for r, first in enumerate(starts):
                if r == rank:
                    continue
                lo = max(cu[seq], first) - first
                hi = min(cu[seq + 1], first + lengths[r]) - first
                if lo < hi:
                    self.pairs.setdefault(r, []).append(
                        (rows, slice(lo, hi), r < rank))


class _RingParts:
    """Attention of this rank's queries on one block of keys, with the row
    log-sum-exp, forward (`(o, lse)`) and backward (`(dq, dk, dv)` from
    the cotangents of both), outside autograd: `_RingAttention` merges and
    differentiates the blocks itself. `prepare(q, k, v, causal, cu_seqlens,
    backward)` compiles every form the ring may run."""

    def __init__(self, forward, backward, prepare):
        self.forward, self.backward, self.prepare = forward, backward, prepare


def _pass_round(tensors, lengths, origin, group):
    """Sends `tensors` (the block of rank `origin`) to the next rank and
    returns the block the previous rank sends, that of rank origin - 1:
    [B, lengths[origin - 1], ...] each."""
    world, rank = dist.get_world_size(group), dist.get_rank(group)
    nxt, prev = _src(group, (rank + 1) % world), _src(group, (rank - 1) % world)
    incoming = (origin - 1) % world
    received = [x.new_empty((x.shape[0], lengths[incoming]) +
                            tuple(x.shape[2:])) for x in tensors]
    ops = [dist.P2POp(dist.isend, x.contiguous(), nxt, group)
           for x in tensors]
    ops += [dist.P2POp(dist.irecv, r, prev, group) for r in received]
    for request in dist.batch_isend_irecv(ops):
        request.wait()
    return received, incoming


def _share(lse_part, lse):
    """exp(lse_part - lse): a partial result's weight in a merged one, 0
    where either has no key (-inf)."""
    finite = torch.isfinite(lse_part) & torch.isfinite(lse)
    zero = torch.zeros_like(lse)
    return torch.where(finite,
                       torch.exp(lse_part - torch.where(finite, lse, zero)),
                       zero)


def _merge(o, lse, o_part, lse_part):
    """Two partial results over disjoint keys merged through their
    log-sum-exp (float32; -inf: no key yet)."""
    new = torch.logaddexp(lse, lse_part)
    return (_share(lse, new)[..., None] * o +
            _share(lse_part, new)[..., None] * o_part.float(), new)


class _RingAttention(torch.autograd.Function):
    """Softmax attention with the keys and values passed round the ring.

    At step t rank r holds the block of rank (r - t) mod P: all of its keys
    are visible to r's queries when it comes before r (or attention is not
    causal), its own block is causal, and later ranks' blocks are skipped
    when causal. Each step's (o_t, lse_t) is merged into the running result.

    The backward makes the same round: each block's dk and dv accumulate as
    they travel with it, and a last pass returns them to their rank. A
    block's share of the gradient is the block attention's backward with
    cotangents do_t = w_t do and dlse_t = w_t rowsum(do (o_t - o)), where
    w_t = exp(lse_t - lse) (the derivative of the merge); (o_t, lse_t) are
    recomputed rather than kept, so memory stays at two blocks."""

    @staticmethod
    def _tasks(q, block, origin, rank, causal, plan):
        """What this rank computes on the block of rank `origin`: (query
        rows, keys, values, causal, cu_seqlens) tuples."""
        every = slice(None)
        if not plan:
            if q.shape[1] and block[0].shape[1] and \
                    (not causal or origin <= rank):
                return [(every, every, causal and origin == rank, None)]
            return []
        if origin == rank:
            return [(every, every, causal, plan.local_cu)]
        return [(rows, keys, False, None)
                for rows, keys, before in plan.pairs.get(origin, [])
                if before or not causal]

    @staticmethod
    def forward(ctx, q, k, v, causal, parts, lengths, group, plan):
        world, rank = dist.get_world_size(group), dist.get_rank(group)
        B, T, H = q.shape[0], q.shape[1], q.shape[2]
        o = q.new_zeros((B, T, H, v.shape[3]), dtype=torch.float32)
        lse = q.new_full((B, T, H), float("-inf"), dtype=torch.float32)
        block, origin = [k, v], rank
        grad = any(ctx.needs_input_grad[:3])
        for step in range(world):
            if step:
                block, origin = _pass_round(block, lengths, origin, group)
            for rows, keys, masked, cu in _RingAttention._tasks(
                    q, block, origin, rank, causal, plan):
                o_t, lse_t = parts.forward(q[:, rows], block[0][:, keys],
                                           block[1][:, keys], masked, grad,
                                           cu)
                o[:, rows], lse[:, rows] = _merge(o[:, rows], lse[:, rows],
                                                  o_t, lse_t)
        ctx.save_for_backward(q, k, v, o, lse)
        ctx.causal, ctx.parts, ctx.lengths, ctx.group, ctx.plan = \
            causal, parts, lengths, group, plan
        return o.to(q.dtype)

    @staticmethod
    def backward(ctx, do):
        q, k, v, o, lse = ctx.saved_tensors
        group, lengths, causal = ctx.group, ctx.lengths, ctx.causal
        world, rank = dist.get_world_size(group), dist.get_rank(group)
        do = do.float()
        dq = torch.zeros_like(q, dtype=torch.float32)
        block = [k, v, torch.zeros_like(k, dtype=torch.float32),
                 torch.zeros_like(v, dtype=torch.float32)]
        origin = rank
        for step in range(world):
            if step:
                block, origin = _pass_round(block, lengths, origin, group)
            for rows, at, masked, cu in _RingAttention._tasks(
                    q, block, origin, rank, causal, ctx.plan):
                keys, values = block[0][:, at], block[1][:, at]
                qr, dor, lser, orr = q[:, rows], do[:, rows], lse[:, rows], \
                    o[:, rows]
                o_t, lse_t = ctx.parts.forward(qr, keys, values, masked, True,
                                               cu)
                w = _share(lse_t, lser)
                do_t = w[..., None] * dor
                dlse_t = w * (dor * (o_t.float() - orr)).sum(-1)
                dq_t, dk_t, dv_t = ctx.parts.backward(
                    qr, keys, values, masked, do_t.to(q.dtype), dlse_t, cu)
                dq[:, rows] += dq_t.float()
                block[2][:, at] += dk_t.float()
                block[3][:, at] += dv_t.float()
        # The accumulators of the block held now (rank + 1's) go home.
        if world > 1:
            block, origin = _pass_round(block[2:], lengths, origin, group)
            block = [None, None] + block
        assert origin == rank
        return (dq.to(q.dtype), block[2].to(k.dtype), block[3].to(v.dtype),
                None, None, None, None, None)


# --- the causal conv (forward only) ------------------------------------------

def causal_conv1d(fn, x, w, bias, conv_state, activation, output_final_state,
                  cu_seqlens, group):
    """`fn` is mixir.torch.causal_conv1d (single process). A rank's conv
    state is the last W - 1 inputs before its slice: rank 0's conv_state
    followed by the tokens of the ranks before it (a halo of W - 1 tokens,
    gathered from as many ranks as it takes)."""
    error, rank = None, dist.get_rank(group)
    if rank != 0:
        conv_state = None
    try:
        if _needs_backward(x, w, bias, conv_state):
            raise NotImplementedError(
                "mixir.torch.causal_conv1d runs the forward only (its "
                "backward is not derived yet); call it under torch.no_grad() "
                "or on tensors that do not require grad")
        if x.dim() != 3 or w.dim() != 2 or w.shape[0] != x.shape[2]:
            raise ValueError("causal_conv1d takes x [B, T, D] and w [D, W], "
                             f"got {tuple(x.shape)} and {tuple(w.shape)}")
        B, T, D = x.shape
        need = w.shape[1] - 1
        state = x.new_zeros(B, D, need)
        if cu_seqlens is None:  # packed: [N, D, W - 1], checked below
            conv_state = _check_state("conv_state", conv_state, state)
    except Exception as e:  # noqa: BLE001 - re-raised on this rank below
        error = e
    _agree(error, group, "causal_conv1d",
           options=int(output_final_state) + 2 * int(cu_seqlens is not None))
    if cu_seqlens is not None:
        return _packed_conv(fn, x, w, bias, conv_state, activation,
                            output_final_state, cu_seqlens, group)
    if conv_state is not None:
        state = conv_state.to(x.dtype, copy=True).contiguous()
    dist.broadcast(state, _src(group, 0), group=group)
    lengths = _slice_lengths(T, group)
    tails = [min(n, need) for n in lengths]
    if max(tails) > 0:
        state = _halo(_gather_tails(x, tails, group), tails, rank, state,
                      need)
    y, final = fn(x, w, bias, state.contiguous(), activation, True)
    last = dist.get_world_size(group) - 1
    return y, (final if output_final_state and rank == last else None)
