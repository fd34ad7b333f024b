"""Context parallelism for mixir.torch: a sequence split across the ranks of
a torch.distributed process group (docs/MIXERS.md, "Segment summaries").

Each rank holds a contiguous slice of the tokens. A slice is an affine map of
the state that enters it, ``S_out = M * S_in + C``: for linear attention and
the scan ``M`` is the slice's total decay (a diagonal, never a matrix) and
``C`` the state the slice builds from zero, which the compiled op returns as
its final state. The ranks all-gather their ``(M, C)``, each combines those
of the ranks before it (an exclusive scan) with rank 0's initial state, and
runs its slice from the state carried in. Every step is differentiable
(the compiled op's derived backward, and torch.distributed.nn's collectives),
so the backward passes state gradients from right to left by itself.

A rank that fails before the collectives (bad input, a compile error) makes
every rank raise, so none waits for a collective that would never come.
"""

import torch
import torch.distributed as dist


class ContextParallelError(RuntimeError):
    """Raised on every rank when one rank of the group failed."""


def _agree(ok, group, what):
    """All ranks learn whether every rank got this far."""
    flag = torch.tensor([1 if ok is None else 0], dtype=torch.int32)
    dist.all_reduce(flag, op=dist.ReduceOp.MIN, group=group)
    if ok is not None:
        raise ok
    if flag.item() == 0:
        raise ContextParallelError(f"{what}: another rank of the context-"
                                   "parallel group failed (see its error)")


def _src(group, rank):
    return dist.get_global_rank(group, rank) if group is not None else rank


class _Carry(torch.autograd.Function):
    """The state entering this rank: rank 0's initial state run through the
    (log decay, state) summaries of the ranks before this one. Forward and
    backward each make the same collectives on every rank, in the same
    order, so no rank waits on another's autograd schedule."""

    @staticmethod
    def forward(ctx, log_decay, local_state, init, group):
        world, rank = dist.get_world_size(group), dist.get_rank(group)
        decays = [torch.empty_like(log_decay) for _ in range(world)]
        states = [torch.empty_like(local_state) for _ in range(world)]
        dist.all_gather(decays, log_decay.contiguous(), group=group)
        dist.all_gather(states, local_state.contiguous(), group=group)
        carried = init.clone()
        dist.broadcast(carried, _src(group, 0), group=group)
        before = [carried]
        for r in range(rank):
            carried = torch.exp(decays[r]) * carried + states[r]
            before.append(carried)
        ctx.group = group
        ctx.save_for_backward(*decays[:rank], *before[:rank])
        ctx.decay_shape = log_decay.shape
        return carried

    @staticmethod
    def backward(ctx, d_carried):
        group = ctx.group
        world, rank = dist.get_world_size(group), dist.get_rank(group)
        saved = ctx.saved_tensors
        decays, before = saved[:rank], saved[rank:]
        d_decays = d_carried.new_zeros((world,) + tuple(ctx.decay_shape))
        d_states = d_carried.new_zeros((world,) + tuple(d_carried.shape))
        d = d_carried
        for r in reversed(range(rank)):
            d_states[r] = d
            scaled = d * torch.exp(decays[r])
            full = scaled * before[r]
            # Sum over the dims the decay was broadcast along.
            dims = [i for i, n in enumerate(ctx.decay_shape) if n == 1 and
                    full.shape[i] != 1]
            d_decays[r] = full.sum(dims, keepdim=True) if dims else full
            d = scaled
        dist.all_reduce(d_decays, group=group)
        dist.all_reduce(d_states, group=group)
        d_init = d.contiguous()
        dist.all_reduce(d_init, group=group)  # reaches rank 0's init
        if rank != 0:
            d_init = torch.zeros_like(d_init)
        return d_decays[rank], d_states[rank], d_init, None


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


def _carry(log_decay, local_state, initial_state, group):
    """Rank 0's initial state (zeros when it has none) carried in."""
    init = torch.zeros_like(local_state)
    if initial_state is not None:
        init = initial_state.to(local_state.dtype)
    return _Carry.apply(log_decay, local_state, init, group)


def _final(state, broadcast, group):
    if broadcast:
        return _LastToAll.apply(state, group)
    last = dist.get_world_size(group) - 1
    return state if dist.get_rank(group) == last else None


def _split(what, run, log_decay_of, initial_state, output_final_state,
           group, broadcast_final_state):
    """The context-parallel form of one op: `run(state)` runs it on this
    rank's slice from `state` (None: zeros) and returns (o, final state);
    `log_decay_of(local)` is the slice's summed log decay, shaped to
    broadcast against its state."""
    error, local = None, None
    try:
        _, local = run(None)
    except Exception as e:  # noqa: BLE001 - re-raised on this rank below
        error = e
    _agree(error, group, what)
    if dist.get_rank(group) != 0:
        initial_state = None
    carried = _carry(log_decay_of(local).contiguous(), local, initial_state,
                     group)
    o, state = run(carried)
    return o, (_final(state, broadcast_final_state, group)
               if output_final_state else None)


def linear_attention(fn, q, k, v, g, gate, scale, initial_state,
                     output_final_state, chunk_size, group,
                     broadcast_final_state):
    """`fn` is mixir.torch.linear_attention (single process)."""
    B, T, _, K = q.shape
    hv = v.shape[2]

    def log_decay_of(local):
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
                  log_decay_of, initial_state, output_final_state, group,
                  broadcast_final_state)


def scan(fn, x, g, initial_state, output_final_state, chunk_size, group,
         broadcast_final_state):
    """`fn` is mixir.torch.scan (single process)."""
    return _split("scan",
                  lambda state: fn(x, g, state, True, chunk_size=chunk_size),
                  lambda local: g.to(local.dtype).sum(1), initial_state,
                  output_final_state, group, broadcast_final_state)
