"""torch.autograd for MixIR's mixers.

Each function takes torch tensors, runs the compiled forward, and registers a
backward that runs the compiled ``@mixer_backward`` the compiler derives from
the same op (``mix-derive-backward``: the recurrence run in reverse time,
chunked like the forward). The ops are ``torch.library`` custom ops
(``mixir::linear_attention``, ``mixir::scan``, ``mixir::recurrence``,
``mixir::delta_rule``, ``mixir::attention`` and their ``_backward``) with
fake implementations, so ``torch.compile`` traces them without graph breaks.

The fla-named functions take fla's arguments, so a model that imports
``chunk_simple_gla`` / ``chunk_gla`` from ``fla.ops`` can import them from
here instead. Differences from fla:

- tensors are on the CPU (float32, float16, bfloat16; float64 is computed in
  float32 and returned as float64, which is enough for ``gradcheck`` with
  float32 tolerances);
- ``cu_seqlens`` (packed sequences, an int32 or int64 CPU tensor [N + 1]
  with a batch of one) is supported by every function here except
  ``attention`` and is differentiable like the rest: the initial and final
  states are then [N, ...], one per sequence, and the backward the compiler
  derives for packed sequences keeps each sequence's gradients to itself
  (with ``cp_group``, sequences may cross the ranks' slices);
- ``recurrence`` (``mix.recurrence``) and the delta rule
  (``chunk_gated_delta_rule``, ``chunk_delta_rule``) are differentiable
  with log decays; softmax ``attention`` (``parallel_forgetting_attn``,
  ``flash_attn_func``) through the flash-attention backward the compiler
  derives (with ``cp_group`` too).

``cp_group=`` (context parallel) splits the sequence across the ranks of a
torch.distributed process group (see ``mixir._cp``).
"""

import math
from typing import List, Optional, Tuple

import numpy as np
import torch

from . import _ops
from ._runtime import _BF16

__all__ = ["linear_attention", "scan", "recurrence", "delta_rule",
           "attention", "chunk_simple_gla",
           "chunk_gla",
           "chunk_linear_attn", "fused_recurrent_hgrn",
           "chunk_gated_delta_rule", "chunk_delta_rule",
           "parallel_forgetting_attn", "flash_attn_func", "flash_attn_varlen_func",
           "flash_attn_with_kvcache",
           "causal_conv1d"]

_GATES = ("none", "head", "scalar", "vector")


def _to_numpy(t, name):
    if t is None:
        return None
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
    if t.device.type != "cpu":
        raise ValueError(f"{name} is on {t.device}; mixir.torch runs on the "
                         "CPU (use the numpy API with target='cuda' for GPUs)")
    t = t.detach().contiguous()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().view(_BF16)
    if t.dtype == torch.float64:
        return t.numpy().astype(np.float32)
    return t.numpy()


def _to_torch(a, dtype):
    if a.dtype == _BF16:
        return torch.from_numpy(a.view(np.int16).copy()).view(torch.bfloat16)
    return torch.from_numpy(np.array(a, copy=True)).to(dtype)


def _state_dtype(x):
    """States are float32, or float64 for float64 inputs (computed in f32)."""
    return torch.float64 if x.dtype == torch.float64 else torch.float32


def _chunk(chunk_size):
    return None if chunk_size < 0 else chunk_size


def _run_backward(call, inputs, do, dfinal):
    """The compiled @mixer_backward of `call` on the cotangents of (o, final
    state): one gradient per input that is not None, in its dtype."""
    q = inputs[0]
    cot = [_to_numpy(do.to(q.dtype), "do"), _to_numpy(dfinal.float(), "dS")]
    grads = call.module(backward=True).functions["mixer_backward"](
        *call.args, *cot)
    like = [x for x in inputs if x is not None]
    return [_to_torch(d, x.dtype) for d, x in zip(grads, like)]


def _fill_grads(grads, inputs):
    """The gradients of the inputs that are not None, spread over `inputs`
    (None where an input is None)."""
    it = iter(grads)
    return [None if x is None else next(it) for x in inputs]


def _fake_outputs(q, v, cu_seqlens=None):
    """(o, final state) of a recurrent op, for fake (traced) calls."""
    B, T, hq, K = q.shape
    hv, V = v.shape[2], v.shape[3]
    return (q.new_empty(B, T, max(hq, hv), V),
            q.new_empty(_sequences(B, cu_seqlens), hv, K, V,
                        dtype=_state_dtype(q)))


def _sequences(B, cu_seqlens):
    """The number of state rows: N packed sequences, else the batch."""
    return B if cu_seqlens is None else max(cu_seqlens.shape[0] - 1, 0)


def _offsets(cu_seqlens):
    """cu_seqlens (a CPU torch tensor, int32 or int64) as a numpy array; its
    values are checked by the compiled code."""
    if cu_seqlens is None:
        return None
    if not isinstance(cu_seqlens, torch.Tensor):
        raise TypeError("cu_seqlens must be a torch.Tensor, got "
                        f"{type(cu_seqlens).__name__}")
    if cu_seqlens.dtype not in (torch.int32, torch.int64):
        raise TypeError(f"cu_seqlens must be int32 or int64, got "
                        f"{cu_seqlens.dtype}")
    return _to_numpy(cu_seqlens, "cu_seqlens")


def _fake_grads(inputs):
    return [torch.empty_like(x) for x in inputs if x is not None]


def _needs_backward(*tensors):
    """Whether a call will be differentiated: grad mode is on and an input
    requires grad. Without, the forward compiles alone (the backward takes
    most of a compile's time: an inference call under torch.no_grad() never
    waits for it)."""
    return torch.is_grad_enabled() and any(
        t is not None and t.requires_grad for t in tensors)


def _register_autograd(name, backward_op, n_inputs, n_options):
    """Registers the backward of custom op `name`, whose first `n_inputs`
    arguments are tensors (or None) and the `n_options` after them have no
    gradient (cu_seqlens among them; the last, `backward`, says whether the
    forward compiled the backward too): `backward_op(*inputs, do, dfinal,
    *options)` without that last gives the gradients of the inputs that are
    not None."""
    def setup(ctx, inputs, output):
        ctx.save_for_backward(*inputs[:n_inputs])
        ctx.options = inputs[n_inputs:-1]

    def backward(ctx, do, dfinal):
        inputs = ctx.saved_tensors
        grads = backward_op(*inputs, do, dfinal, *ctx.options)
        return (*_fill_grads(grads, inputs), *([None] * n_options))

    torch.library.register_autograd(name, backward, setup_context=setup)


# --- mix.linear_attention -------------------------------------------------

def _la_call(q, k, v, g, initial_state, cu_seqlens, gate, scale, chunk_size):
    arrays = [_to_numpy(x, n) for x, n in ((q, "q"), (k, "k"), (v, "v"))]
    return _ops._recurrence_call(
        "linear_attention", *arrays, _to_numpy(g, "g"), gate, scale,
        _to_numpy(initial_state, "initial_state"), [], "",
        _ops._chunk_size(_chunk(chunk_size)),
        cu_seqlens=_offsets(cu_seqlens))


@torch.library.custom_op("mixir::linear_attention", mutates_args=())
def _linear_attention_op(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                         g: Optional[torch.Tensor],
                         initial_state: Optional[torch.Tensor],
                         cu_seqlens: Optional[torch.Tensor], gate: str,
                         scale: float, chunk_size: int, backward: bool
                         ) -> Tuple[torch.Tensor, torch.Tensor]:
    call = _la_call(q, k, v, g, initial_state, cu_seqlens, gate, scale,
                    chunk_size)
    o, s = call.module(backward).functions["mixer"](*call.args)
    return _to_torch(o, q.dtype), _to_torch(s, _state_dtype(q))


@_linear_attention_op.register_fake
def _(q, k, v, g, initial_state, cu_seqlens, gate, scale, chunk_size,
      backward):
    return _fake_outputs(q, v, cu_seqlens)


@torch.library.custom_op("mixir::linear_attention_backward", mutates_args=())
def _linear_attention_backward_op(
        q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
        g: Optional[torch.Tensor], initial_state: Optional[torch.Tensor],
        do: torch.Tensor, dfinal: torch.Tensor,
        cu_seqlens: Optional[torch.Tensor], gate: str, scale: float,
        chunk_size: int) -> List[torch.Tensor]:
    call = _la_call(q, k, v, g, initial_state, cu_seqlens, gate, scale,
                    chunk_size)
    return _run_backward(call, [q, k, v, g, initial_state], do, dfinal)


@_linear_attention_backward_op.register_fake
def _(q, k, v, g, initial_state, do, dfinal, cu_seqlens, gate, scale,
      chunk_size):
    return _fake_grads((q, k, v, g, initial_state))


_register_autograd("mixir::linear_attention", _linear_attention_backward_op,
                   5, 5)


def _group(group):
    """WORLD is passed to torch.distributed as None (the default group)."""
    import torch.distributed as dist
    if not dist.is_initialized():
        raise RuntimeError("cp_group was given but torch.distributed is not "
                           "initialised (call init_process_group first)")
    return None if group is dist.group.WORLD else group


def _scale_of(scale, K):
    return float(K ** -0.5 if scale is None else scale)


def linear_attention(q, k, v, g=None, gate="none", scale=None,
                     initial_state=None, output_final_state=False, *,
                     chunk_size=None, cu_seqlens=None, cp_group=None,
                     broadcast_final_state=False):
    """`mixir.linear_attention` on torch tensors, differentiable in every
    tensor argument (q, k, v, g, initial_state). Returns (o, final_state or
    None).

    `cu_seqlens` (int32 or int64 [N + 1]) packs N sequences along T of a
    batch of one (MIXERS.md "Packed sequences"): initial_state and the final
    state are [N, Hv, K, V], and no value or gradient crosses a boundary.

    With `cp_group` (a torch.distributed process group, or
    torch.distributed.group.WORLD) the sequence is split across its ranks:
    each passes its contiguous slice of the tokens (slices may differ in
    length), rank 0's `initial_state` starts the sequence, and the last
    rank returns the final state (every rank with `broadcast_final_state`).
    With both, `cu_seqlens` holds the offsets of the whole packed batch and
    is the same on every rank; a sequence may span several ranks' slices,
    rank 0's `initial_state` holds every sequence's, and the final states
    [N, ...] come back as without packing. Every slice then needs at least
    one token.
    """
    if cp_group is not None:
        from . import _cp
        return _cp.linear_attention(
            linear_attention, q, k, v, g, gate, scale, initial_state,
            output_final_state, chunk_size, _group(cp_group),
            broadcast_final_state, cu_seqlens)
    if gate not in _GATES:
        raise ValueError(f"gate must be one of {', '.join(map(repr, _GATES))}, "
                         f"got {gate!r}")
    if not isinstance(q, torch.Tensor) or q.dim() != 4:
        raise ValueError("q must be a 4-D torch.Tensor [B, T, Hq, K]")
    if g is not None:
        g = g.to(torch.float64 if q.dtype == torch.float64 else torch.float32)
    if initial_state is not None and q.dtype != torch.float64:
        initial_state = initial_state.float()
    o, s = _linear_attention_op(q, k, v, g, initial_state, cu_seqlens, gate,
                                _scale_of(scale, q.shape[-1]),
                                -1 if chunk_size is None else int(chunk_size),
                                _needs_backward(q, k, v, g, initial_state))
    return o, (s if output_final_state else None)


def chunk_simple_gla(q, k, v, g=None, g_gamma=None, scale=None,
                     initial_state=None, output_final_state=False,
                     cu_seqlens=None, cp_group=None):
    """fla's ``chunk_simple_gla``: a scalar log decay per token and head
    (``g: [B, T, H]``) or per head (``g_gamma: [H]``). ``cu_seqlens`` (int32
    or int64 [N + 1], B = 1) packs N sequences: states are [N, H, K, V]."""
    if g is not None and g_gamma is not None:
        raise ValueError("give g or g_gamma, not both")
    gate, gv = ("scalar", g) if g is not None else \
        ("head", g_gamma) if g_gamma is not None else ("none", None)
    return linear_attention(q, k, v, gv, gate, scale, initial_state,
                            output_final_state, cu_seqlens=cu_seqlens,
                            cp_group=cp_group)


def chunk_gla(q, k, v, g, scale=None, initial_state=None,
              output_final_state=False, cu_seqlens=None, cp_group=None):
    """fla's ``chunk_gla``: a log decay per key channel, ``g: [B, T, H, K]``.
    ``cu_seqlens`` packs sequences as for ``chunk_simple_gla``."""
    return linear_attention(q, k, v, g, "vector", scale, initial_state,
                            output_final_state, cu_seqlens=cu_seqlens,
                            cp_group=cp_group)


def chunk_linear_attn(q, k, v, scale=None, initial_state=None,
                      output_final_state=False, normalize=False,
                      cu_seqlens=None, cp_group=None):
    """fla's ``chunk_linear_attn`` (no decay). ``normalize=True`` (fla's
    running-sum normaliser) is not supported. ``cu_seqlens`` packs sequences
    as for ``chunk_simple_gla``."""
    if normalize:
        raise NotImplementedError("normalize=True is not supported; "
                                  "normalise outside the op")
    return linear_attention(q, k, v, None, "none", scale, initial_state,
                            output_final_state, cu_seqlens=cu_seqlens,
                            cp_group=cp_group)


# --- mix.scan -------------------------------------------------------------

def _scan_call(x, g, initial_state, cu_seqlens, chunk_size):
    return _ops._scan_call(_to_numpy(x, "x"), _to_numpy(g, "g"),
                           _to_numpy(initial_state, "initial_state"),
                           _chunk(chunk_size),
                           cu_seqlens=_offsets(cu_seqlens))


@torch.library.custom_op("mixir::scan", mutates_args=())
def _scan_op(x: torch.Tensor, g: torch.Tensor,
             initial_state: Optional[torch.Tensor],
             cu_seqlens: Optional[torch.Tensor], chunk_size: int,
             backward: bool
             ) -> Tuple[torch.Tensor, torch.Tensor]:
    call = _scan_call(x, g, initial_state, cu_seqlens, chunk_size)
    o, s = call.module(backward).functions["mixer"](*call.args)
    return _to_torch(o, x.dtype), _to_torch(s, _state_dtype(x))


@_scan_op.register_fake
def _(x, g, initial_state, cu_seqlens, chunk_size, backward):
    return x.new_empty(x.shape), x.new_empty(
        _sequences(x.shape[0], cu_seqlens), x.shape[2], dtype=_state_dtype(x))


@torch.library.custom_op("mixir::scan_backward", mutates_args=())
def _scan_backward_op(x: torch.Tensor, g: torch.Tensor,
                      initial_state: Optional[torch.Tensor], do: torch.Tensor,
                      dfinal: torch.Tensor, cu_seqlens: Optional[torch.Tensor],
                      chunk_size: int) -> List[torch.Tensor]:
    call = _scan_call(x, g, initial_state, cu_seqlens, chunk_size)
    return _run_backward(call, [x, g, initial_state], do, dfinal)


@_scan_backward_op.register_fake
def _(x, g, initial_state, do, dfinal, cu_seqlens, chunk_size):
    return _fake_grads((x, g, initial_state))


_register_autograd("mixir::scan", _scan_backward_op, 3, 3)


def scan(x, g, initial_state=None, output_final_state=False, *,
         chunk_size=None, cu_seqlens=None, cp_group=None,
         broadcast_final_state=False):
    """`mixir.scan` on torch tensors (h = exp(g) * h + x), differentiable in
    x, g and initial_state. Returns (o, final_state or None). `cu_seqlens`
    packs N sequences along T of a batch of one (states [N, D]); `cp_group`
    splits the sequence across ranks as for `linear_attention`."""
    if cp_group is not None:
        from . import _cp
        return _cp.scan(scan, x, g, initial_state, output_final_state,
                        chunk_size, _group(cp_group), broadcast_final_state,
                        cu_seqlens)
    if not isinstance(x, torch.Tensor) or x.dim() != 3:
        raise ValueError("x must be a 3-D torch.Tensor [B, T, D]")
    f = torch.float64 if x.dtype == torch.float64 else torch.float32
    g = g.to(f)
    if initial_state is not None:
        initial_state = initial_state.to(f)
    o, s = _scan_op(x, g, initial_state, cu_seqlens,
                    -1 if chunk_size is None else int(chunk_size),
                    _needs_backward(x, g, initial_state))
    return o, (s if output_final_state else None)


def fused_recurrent_hgrn(x, g, initial_state=None, output_final_state=False,
                         cu_seqlens=None, cp_group=None):
    """fla's ``fused_recurrent_hgrn``: ``h = exp(g) * h + x`` per channel;
    ``cu_seqlens`` packs sequences (states [N, D])."""
    return scan(x, g, initial_state, output_final_state,
                cu_seqlens=cu_seqlens, cp_group=cp_group)


# --- mix.recurrence --------------------------------------------------------

def _rec_call(q, k, v, a, b, g, initial_state, cu_seqlens, gate, scale,
              chunk_size):
    arrays = [_to_numpy(x, n) for x, n in
              ((q, "q"), (k, "k"), (v, "v"), (a, "a"), (b, "b"), (g, "g"),
               (initial_state, "initial_state"))]
    return _ops._dplr_call(*arrays[:6], gate=gate, scale=scale,
                           initial_state=arrays[6],
                           chunk_size=_chunk(chunk_size),
                           cu_seqlens=_offsets(cu_seqlens))


@torch.library.custom_op("mixir::recurrence", mutates_args=())
def _recurrence_op(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                   a: Optional[torch.Tensor], b: Optional[torch.Tensor],
                   g: Optional[torch.Tensor],
                   initial_state: Optional[torch.Tensor],
                   cu_seqlens: Optional[torch.Tensor], gate: str,
                   scale: float, chunk_size: int, backward: bool
                   ) -> Tuple[torch.Tensor, torch.Tensor]:
    call = _rec_call(q, k, v, a, b, g, initial_state, cu_seqlens, gate, scale,
                     chunk_size)
    o, s = call.module(backward).functions["mixer"](*call.args)
    return _to_torch(o, q.dtype), _to_torch(s, _state_dtype(q))


@_recurrence_op.register_fake
def _(q, k, v, a, b, g, initial_state, cu_seqlens, gate, scale, chunk_size,
      backward):
    return _fake_outputs(q, v, cu_seqlens)


@torch.library.custom_op("mixir::recurrence_backward", mutates_args=())
def _recurrence_backward_op(
        q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
        a: Optional[torch.Tensor], b: Optional[torch.Tensor],
        g: Optional[torch.Tensor], initial_state: Optional[torch.Tensor],
        do: torch.Tensor, dfinal: torch.Tensor,
        cu_seqlens: Optional[torch.Tensor], gate: str, scale: float,
        chunk_size: int) -> List[torch.Tensor]:
    call = _rec_call(q, k, v, a, b, g, initial_state, cu_seqlens, gate, scale,
                     chunk_size)
    return _run_backward(call, [q, k, v, a, b, g, initial_state], do, dfinal)


@_recurrence_backward_op.register_fake
def _(q, k, v, a, b, g, initial_state, do, dfinal, cu_seqlens, gate, scale,
      chunk_size):
    return _fake_grads((q, k, v, a, b, g, initial_state))


_register_autograd("mixir::recurrence", _recurrence_backward_op, 7, 5)


def recurrence(q, k, v, a=None, b=None, g=None, gate="none", scale=None,
               initial_state=None, output_final_state=False, *,
               chunk_size=None, cu_seqlens=None, cp_group=None,
               broadcast_final_state=False):
    """`mixir.recurrence` (the DPLR recurrence, MIXERS.md `mix.recurrence`)
    on torch tensors, with log decays, differentiable in every input: q, k,
    v, the low-rank terms a, b [B, T, Hv, R, K], the gate g and
    initial_state (the backward is derived by the compiler; signed decays
    have none). Returns (o, final_state or None). `cu_seqlens` packs
    sequences and `cp_group` splits the sequence across ranks, as for
    `linear_attention`."""
    if cp_group is not None:
        from . import _cp
        return _cp.recurrence(recurrence, q, k, v, a, b, g, gate, scale,
                              initial_state, output_final_state, chunk_size,
                              _group(cp_group), broadcast_final_state,
                              cu_seqlens)
    f = torch.float64 if q.dtype == torch.float64 else torch.float32
    if g is not None:
        g = g.to(f)
    if initial_state is not None:
        initial_state = initial_state.to(f)
    if a is not None and a.dtype != q.dtype:
        a, b = a.to(f), b.to(f)
    o, s = _recurrence_op(q, k, v, a, b, g, initial_state, cu_seqlens, gate,
                          _scale_of(scale, k.shape[-1]),
                          -1 if chunk_size is None else int(chunk_size),
                          _needs_backward(q, k, v, a, b, g, initial_state))
    return o, (s if output_final_state else None)


# --- mix.delta_rule --------------------------------------------------------

def _dr_call(q, k, v, beta, g, initial_state, cu_seqlens, gate, scale, l2norm,
             neg_eigval=False, chunk_size=-1):
    arrays = [_to_numpy(x, n) for x, n in ((q, "q"), (k, "k"), (v, "v"))]
    beta = _to_numpy(beta.float(), "beta")
    flags = (" qk_l2norm" if l2norm else "") + \
        (" allow_neg_eigval" if neg_eigval else "")
    return _ops._recurrence_call(
        "delta_rule", *arrays, _to_numpy(g, "g"), gate, scale,
        _to_numpy(initial_state, "initial_state"),
        [("beta", beta, _ops._tensor(beta.shape, "f32"))], flags,
        _ops._chunk_size(_chunk(chunk_size)), cu_seqlens=_offsets(cu_seqlens))


@torch.library.custom_op("mixir::delta_rule", mutates_args=())
def _delta_rule_op(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                   beta: torch.Tensor, g: Optional[torch.Tensor],
                   initial_state: Optional[torch.Tensor],
                   cu_seqlens: Optional[torch.Tensor], gate: str,
                   scale: float, qk_l2norm: bool, allow_neg_eigval: bool,
                   chunk_size: int, backward: bool
                   ) -> Tuple[torch.Tensor, torch.Tensor]:
    call = _dr_call(q, k, v, beta, g, initial_state, cu_seqlens, gate, scale,
                    qk_l2norm, allow_neg_eigval, chunk_size)
    o, s = call.module(backward).functions["mixer"](*call.args)
    return _to_torch(o, q.dtype), _to_torch(s, _state_dtype(q))


@_delta_rule_op.register_fake
def _(q, k, v, beta, g, initial_state, cu_seqlens, gate, scale, qk_l2norm,
      allow_neg_eigval, chunk_size, backward):
    return _fake_outputs(q, v, cu_seqlens)


@torch.library.custom_op("mixir::delta_rule_backward", mutates_args=())
def _delta_rule_backward_op(
        q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, beta: torch.Tensor,
        g: Optional[torch.Tensor], initial_state: Optional[torch.Tensor],
        do: torch.Tensor, dfinal: torch.Tensor,
        cu_seqlens: Optional[torch.Tensor], gate: str, scale: float,
        qk_l2norm: bool, allow_neg_eigval: bool,
        chunk_size: int) -> List[torch.Tensor]:
    call = _dr_call(q, k, v, beta, g, initial_state, cu_seqlens, gate, scale,
                    qk_l2norm, allow_neg_eigval, chunk_size)
    return _run_backward(call, [q, k, v, beta, g, initial_state], do, dfinal)


@_delta_rule_backward_op.register_fake
def _(q, k, v, beta, g, initial_state, do, dfinal, cu_seqlens, gate, scale,
      qk_l2norm, allow_neg_eigval, chunk_size):
    return _fake_grads((q, k, v, beta, g, initial_state))


_register_autograd("mixir::delta_rule", _delta_rule_backward_op, 6, 7)


def delta_rule(q, k, v, beta, g=None, gate="none", scale=None,
               initial_state=None, output_final_state=False, *,
               qk_l2norm=False, allow_neg_eigval=False, chunk_size=None,
               cu_seqlens=None, cp_group=None, broadcast_final_state=False):
    """`mixir.delta_rule` (MIXERS.md `mix.delta_rule`) on torch tensors:
    gate "none", "scalar" (g [B, T, Hv], Gated DeltaNet) or "vector"
    (g [B, T, Hv, K], KDA), differentiable in q, k, v, beta, g and
    initial_state. Returns (o, final_state or None). `cu_seqlens` packs
    sequences and `cp_group` splits the sequence across ranks, as for
    `linear_attention`."""
    if cp_group is not None:
        from . import _cp
        flags = dict(qk_l2norm=qk_l2norm, allow_neg_eigval=allow_neg_eigval,
                     chunk_size=chunk_size)
        return _cp.delta_rule(delta_rule, q, k, v, beta, g, gate, scale,
                              initial_state, output_final_state, flags,
                              _group(cp_group), broadcast_final_state,
                              cu_seqlens)
    if g is not None:
        g = g.float()
    if initial_state is not None and q.dtype != torch.float64:
        initial_state = initial_state.float()
    o, s = _delta_rule_op(q, k, v, beta, g, initial_state, cu_seqlens, gate,
                          _scale_of(scale, q.shape[-1]), bool(qk_l2norm),
                          bool(allow_neg_eigval),
                          -1 if chunk_size is None else int(chunk_size),
                          _needs_backward(q, k, v, beta, g, initial_state))
    return o, (s if output_final_state else None)


def _delta_rule(q, k, v, beta, g, gate, scale, initial_state,
                output_final_state, l2norm, cu_seqlens, cp_group):
    return delta_rule(q, k, v, beta, g, gate, scale, initial_state,
                      output_final_state, qk_l2norm=l2norm,
                      cu_seqlens=cu_seqlens, cp_group=cp_group)


def chunk_gated_delta_rule(q, k, v, g, beta, scale=None, initial_state=None,
                           output_final_state=False, cu_seqlens=None,
                           use_qk_l2norm_in_kernel=False, cp_group=None):
    """fla's ``chunk_gated_delta_rule`` (Gated DeltaNet, Qwen3-Next): a
    scalar log decay ``g: [B, T, H]`` and ``beta: [B, T, H]``, differentiable
    in q, k, v, g, beta and initial_state (the backward the compiler derives
    through the delta rule's mix.recurrence form). ``cu_seqlens`` (int32 or
    int64 [N + 1], B = 1) packs N sequences: states are [N, H, K, V]."""
    return _delta_rule(q, k, v, beta, g, "scalar", scale, initial_state,
                       output_final_state, use_qk_l2norm_in_kernel, cu_seqlens,
                       cp_group)


def chunk_delta_rule(q, k, v, beta, scale=None, initial_state=None,
                     output_final_state=False, cu_seqlens=None,
                     use_qk_l2norm_in_kernel=False, cp_group=None):
    """fla's ``chunk_delta_rule`` (DeltaNet), differentiable as
    ``chunk_gated_delta_rule``."""
    return _delta_rule(q, k, v, beta, None, "none", scale, initial_state,
                       output_final_state, use_qk_l2norm_in_kernel, cu_seqlens,
                       cp_group)


# --- mix.attention ---------------------------------------------------------

def _attn_call(q, k, v, g, cu_seqlens, scale, causal, window, softcap, block,
               chunk_size, return_lse=False):
    return _ops._attention_call(
        _to_numpy(q, "q"), _to_numpy(k, "k"), _to_numpy(v, "v"),
        _to_numpy(g, "g"), scale, causal, window,
        softcap if softcap > 0 else None, block, _chunk(chunk_size),
        cu_seqlens=_offsets(cu_seqlens), return_lse=return_lse)


@torch.library.custom_op("mixir::attention", mutates_args=())
def _attention_op(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                  g: Optional[torch.Tensor],
                  cu_seqlens: Optional[torch.Tensor], scale: float,
                  causal: bool,
                  window: int, softcap: float, block: int,
                  chunk_size: int, backward: bool) -> torch.Tensor:
    call = _attn_call(q, k, v, g, cu_seqlens, scale, causal, window, softcap,
                      block, chunk_size)
    o = call.module(backward).functions["mixer"](*call.args)
    return _to_torch(o, q.dtype)


@_attention_op.register_fake
def _(q, k, v, g, cu_seqlens, scale, causal, window, softcap, block,
      chunk_size, backward):
    return q.new_empty(q.shape[0], q.shape[1], q.shape[2], v.shape[3])


@torch.library.custom_op("mixir::attention_backward", mutates_args=())
def _attention_backward_op(
        q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
        g: Optional[torch.Tensor], do: torch.Tensor,
        cu_seqlens: Optional[torch.Tensor], scale: float, causal: bool,
        window: int, softcap: float, block: int,
        chunk_size: int) -> List[torch.Tensor]:
    call = _attn_call(q, k, v, g, cu_seqlens, scale, causal, window, softcap,
                      block, chunk_size)
    grads = call.module(backward=True).functions["mixer_backward"](
        *call.args, _to_numpy(do.to(q.dtype), "do"))
    like = [x for x in (q, k, v, g) if x is not None]
    return [_to_torch(d, x.dtype) for d, x in zip(grads, like)]


@_attention_backward_op.register_fake
def _(q, k, v, g, do, cu_seqlens, scale, causal, window, softcap, block,
      chunk_size):
    return _fake_grads((q, k, v, g))


def _attention_setup(ctx, inputs, output):
    ctx.save_for_backward(*inputs[:4])
    ctx.options = inputs[4:-1]  # the last, `backward`, is the forward's


def _attention_backward(ctx, do):
    inputs = ctx.saved_tensors
    grads = _attention_backward_op(*inputs, do, *ctx.options)
    return (*_fill_grads(grads, inputs), *([None] * (len(ctx.options) + 1)))


torch.library.register_autograd("mixir::attention", _attention_backward,
                                setup_context=_attention_setup)


# The same op returning its row log-sum-exp as well: (o, lse).
@torch.library.custom_op("mixir::attention_lse", mutates_args=())
def _attention_lse_op(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                      g: Optional[torch.Tensor],
                      cu_seqlens: Optional[torch.Tensor], scale: float,
                      causal: bool, window: int, softcap: float, block: int,
                      chunk_size: int, backward: bool
                      ) -> Tuple[torch.Tensor, torch.Tensor]:
    call = _attn_call(q, k, v, g, cu_seqlens, scale, causal, window, softcap,
                      block, chunk_size, return_lse=True)
    o, lse = call.module(backward).functions["mixer"](*call.args)
    return _to_torch(o, q.dtype), _to_torch(lse, torch.float32)


@_attention_lse_op.register_fake
def _(q, k, v, g, cu_seqlens, scale, causal, window, softcap, block,
      chunk_size, backward):
    return (q.new_empty(q.shape[0], q.shape[1], q.shape[2], v.shape[3]),
            q.new_empty(q.shape[0], q.shape[1], q.shape[2],
                        dtype=torch.float32))


@torch.library.custom_op("mixir::attention_lse_backward", mutates_args=())
def _attention_lse_backward_op(
        q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
        g: Optional[torch.Tensor], do: torch.Tensor, dlse: torch.Tensor,
        cu_seqlens: Optional[torch.Tensor], scale: float, causal: bool,
        window: int, softcap: float, block: int,
        chunk_size: int) -> List[torch.Tensor]:
    call = _attn_call(q, k, v, g, cu_seqlens, scale, causal, window, softcap,
                      block, chunk_size, return_lse=True)
    return _run_backward(call, [q, k, v, g], do, dlse)


@_attention_lse_backward_op.register_fake
def _(q, k, v, g, do, dlse, cu_seqlens, scale, causal, window, softcap, block,
      chunk_size):
    return _fake_grads((q, k, v, g))


def _attention_lse_backward(ctx, do, dlse):
    inputs = ctx.saved_tensors
    if do is None:
        do = inputs[0].new_zeros(ctx.o_shape)
    if dlse is None:
        dlse = inputs[0].new_zeros(ctx.o_shape[:3], dtype=torch.float32)
    grads = _attention_lse_backward_op(*inputs, do, dlse, *ctx.options)
    return (*_fill_grads(grads, inputs), *([None] * (len(ctx.options) + 1)))


def _attention_lse_setup(ctx, inputs, output):
    _attention_setup(ctx, inputs, output)
    ctx.o_shape = tuple(output[0].shape)


torch.library.register_autograd("mixir::attention_lse",
                                _attention_lse_backward,
                                setup_context=_attention_lse_setup)


def attention(q, k, v, g=None, scale=None, causal=True, window=0,
              softcap=None, *, block=0, chunk_size=None, cu_seqlens=None,
              kv_lens=None, return_lse=False, cp_group=None):
    """`mixir.attention` (softmax attention, MIXERS.md `mix.attention`) on
    torch tensors: q [B, T, Hq, K], k [B, S, Hkv, K], v [B, S, Hkv, V], the
    optional forget gate g [B, T, Hq] (log forget gate, Forgetting
    Transformer), `window`, `block` and `softcap` as in the op.
    Differentiable in q, k, v and g: the backward is the flash-attention
    backward the compiler derives (mix.attention_grad, on the forward's
    tiles). Returns o [B, T, Hq, V].

    `cu_seqlens` (int32 or int64 [N + 1], a CPU tensor) packs N sequences
    along T of a batch of one (S == T): a query sees only its own
    sequence's keys, the masks and the gate count positions from the
    sequence's start, and no gradient crosses a boundary.

    `kv_lens` (an int32 CPU tensor [B]) reads k and v [B, S, Hkv, *] as a
    KV cache: row b has kv_lens[b] valid keys (T <= kv_lens[b] <= S) and
    its T queries are the cache's last T positions for the causal mask and
    the window. Forward only (decode): inputs that require grad are refused
    outside torch.no_grad().

    `return_lse=True` returns (o, lse): lse [B, T, Hq] float32 is each
    row's log-sum-exp of its allowed scores (-inf for a row with none),
    differentiable too, so results over disjoint key sets merge exactly
    (o = sum_i exp(lse_i - lse) o_i, lse = logsumexp_i lse_i).

    With `cp_group` each rank passes its contiguous slice of
    the tokens in q, k and v (slices may differ in length) and gets its
    slice of o: the ranks exchange the keys and values each rank's queries
    see (the last `window - 1` tokens before the slice with a sliding
    window), and the masks count positions from the start of the whole
    sequence; the backward returns the gradients of the exchanged keys and
    values to their ranks. The forget gate `g` and `block` are not
    supported with `cp_group`, nor are `kv_lens` and `return_lse`; with
    `cu_seqlens` (the whole batch's offsets on every rank) the sequences
    that cross ranks go round the ring too, without a window."""
    if cp_group is not None:
        for name, value in (("kv_lens", kv_lens),
                            ("return_lse", return_lse or None)):
            if value is not None:  # the same refusal on every rank
                raise NotImplementedError(
                    f"{name} with cp_group is not supported by mixir.torch's "
                    f"attention yet")

        def run(q, k, v, causal, window):
            return attention(q, k, v, None, scale, causal, window, softcap,
                             block=block, chunk_size=chunk_size)
        from . import _cp
        return _cp.attention(run, q, k, v, g, causal, window,
                             _group(cp_group), block,
                             lambda: _ring_parts(q, scale, softcap,
                                                 chunk_size),
                             cu_seqlens)
    if not isinstance(q, torch.Tensor) or q.dim() != 4:
        raise ValueError("q must be a 4-D torch.Tensor [B, T, Hq, K]")
    if g is not None:
        g = g.to(torch.float64 if q.dtype == torch.float64 else torch.float32)
    _check_softcap(softcap)
    if kv_lens is not None:
        if return_lse:
            raise NotImplementedError("return_lse with kv_lens is not "
                                      "supported")
        return _cached_attention(q, k, v, g, scale, causal, window, softcap,
                                 block, chunk_size, cu_seqlens, kv_lens)
    op = _attention_lse_op if return_lse else _attention_op
    return op(q, k, v, g, cu_seqlens, _scale_of(scale, q.shape[-1]),
              bool(causal), int(window),
              float(softcap) if softcap is not None else 0.0, int(block),
              -1 if chunk_size is None else int(chunk_size),
              _needs_backward(q, k, v, g))


def _check_softcap(softcap):
    if softcap is not None and not softcap > 0:
        raise ValueError(f"softcap must be > 0 (None means off), got "
                         f"{softcap}")


def _ring_parts(q, scale, softcap, chunk_size):
    """Attention on one block of keys with its log-sum-exp, forward and
    backward, for the context-parallel ring (mixir._cp)."""
    from . import _cp
    _check_softcap(softcap)
    options = dict(scale=_scale_of(scale, q.shape[-1]), window=0,
                   softcap=float(softcap) if softcap is not None else 0.0,
                   block=0,
                   chunk_size=-1 if chunk_size is None else int(chunk_size))

    def forward(q, k, v, causal, backward, cu_seqlens=None):
        # `backward`: compile the backward with it (one compilation).
        return _attention_lse_op(q, k, v, None, cu_seqlens, causal=causal,
                                 backward=backward, **options)

    def backward(q, k, v, causal, do, dlse, cu_seqlens=None):
        return _attention_lse_backward_op(q, k, v, None, do, dlse,
                                          cu_seqlens, causal=causal,
                                          **options)

    def prepare(q, k, v, causal, cu_seqlens, backward):
        # Other ranks' blocks are unmasked, the own block causal (packed).
        forms = [(False, None)]
        if causal or cu_seqlens is not None:
            forms.append((causal, cu_seqlens))
        for masked, cu in forms:
            _attn_call(q, k, v, None, cu, options["scale"], masked, 0,
                       options["softcap"], 0, options["chunk_size"],
                       return_lse=True).module(backward)
    return _cp._RingParts(forward, backward, prepare)


def _cached_attention(q, k, v, g, scale, causal, window, softcap, block,
                      chunk_size, cu_seqlens, kv_lens):
    """attention() over a KV cache (kv_lens): the forward alone."""
    if _needs_backward(q, k, v, g):
        raise NotImplementedError(
            "attention over a KV cache (kv_lens) runs the forward only (its "
            "backward is not derived); call it under torch.no_grad() or on "
            "tensors that do not require grad")
    if not isinstance(kv_lens, torch.Tensor):
        raise TypeError(f"kv_lens must be a torch.Tensor, got "
                        f"{type(kv_lens).__name__}")
    if kv_lens.device.type != "cpu" or kv_lens.dtype != torch.int32:
        raise TypeError(f"kv_lens must be an int32 CPU tensor, got "
                        f"{kv_lens.dtype} on {kv_lens.device}")
    o = _ops.attention(
        _to_numpy(q, "q"), _to_numpy(k, "k"), _to_numpy(v, "v"),
        _to_numpy(g, "g"), scale, causal, window, softcap, block=block,
        chunk_size=None if chunk_size is None else int(chunk_size),
        cu_seqlens=_offsets(cu_seqlens),
        kv_lens=kv_lens.contiguous().numpy())
    return _to_torch(o, q.dtype)


def parallel_forgetting_attn(q, k, v, g, scale=None, cu_seqlens=None):
    """fla's ``parallel_forgetting_attn`` (Forgetting Transformer): causal
    softmax attention with the log forget gate ``g: [B, T, HQ]``,
    differentiable in q, k, v and g; ``cu_seqlens`` packs sequences along T
    of a batch of one."""
    return attention(q, k, v, g, scale, causal=True, cu_seqlens=cu_seqlens)


def flash_attn_func(q, k, v, dropout_p=0.0, softmax_scale=None, causal=False,
                    window_size=(-1, -1), softcap=0.0, alibi_slopes=None,
                    deterministic=False, return_attn_probs=False, *,
                    cu_seqlens=None):
    """FlashAttention's ``flash_attn_func`` (q [B, T, Hq, K], k and v
    [B, S, Hkv, *]), differentiable in q, k and v. ``window_size = (left,
    right)`` keeps keys i - left <= j (a ``window`` of left + 1); a right
    window other than -1 (none) or 0 (causal) is not supported, nor are
    dropout, ALiBi and ``return_attn_probs``. Causal or windowed attention
    with S > T aligns the queries to the last keys, as FlashAttention does
    (``kv_lens`` = S); that form runs forward only, and S < T is refused."""
    left, right = window_size
    if dropout_p != 0.0 or alibi_slopes is not None or return_attn_probs:
        raise NotImplementedError("dropout_p, alibi_slopes and "
                                  "return_attn_probs are not supported")
    if right not in (-1, 0):
        raise NotImplementedError(f"window_size right = {right} is not "
                                  "supported (only -1, or 0 with causal)")
    causal = causal or right == 0
    window = left + 1 if left >= 0 else 0
    softcap = softcap if softcap > 0 else None
    T, S = q.shape[1], k.shape[1]
    if (causal or left >= 0) and S != T:
        if S < T or cu_seqlens is not None:
            raise NotImplementedError(
                "causal or windowed attention with seqlen_q > seqlen_k, or "
                "with S != T and cu_seqlens, is not supported")
        lens = torch.full((q.shape[0],), S, dtype=torch.int32)
        return attention(q, k, v, None, softmax_scale, causal, window,
                         softcap, kv_lens=lens)
    return attention(q, k, v, None, softmax_scale, causal, window, softcap,
                     cu_seqlens=cu_seqlens)


def flash_attn_with_kvcache(q, k_cache, v_cache, k=None, v=None,
                            rotary_cos=None, rotary_sin=None,
                            cache_seqlens=None, cache_batch_idx=None,
                            cache_leftpad=None, block_table=None,
                            softmax_scale=None, causal=False,
                            window_size=(-1, -1), softcap=0.0,
                            rotary_interleaved=True, alibi_slopes=None,
                            num_splits=0, return_softmax_lse=False):
    """FlashAttention's ``flash_attn_with_kvcache`` for decoding: q
    [B, T, Hq, K] (T = 1, or the drafted tokens), the caches k_cache and
    v_cache [B, S, Hkv, *] holding ``cache_seqlens`` (an int or an int32
    [B] tensor; S when None) valid keys per row. With ``k`` and ``v``
    [B, T, Hkv, *] the new keys are first written into the caches in place
    at ``cache_seqlens``, as FlashAttention does; the attention then sees
    ``cache_seqlens + T`` keys per row, the queries at their last T
    positions. Forward only. Rotary embedding, ``cache_batch_idx``,
    ``cache_leftpad``, a paged cache (``block_table``), ALiBi and
    ``return_softmax_lse`` are not supported. Each row must hold at least
    as many keys as there are queries (``cache_seqlens + T_new >= T_q``),
    checked before the cache is written."""
    unsupported = {"rotary_cos": rotary_cos, "rotary_sin": rotary_sin,
                   "cache_batch_idx": cache_batch_idx,
                   "cache_leftpad": cache_leftpad, "block_table": block_table,
                   "alibi_slopes": alibi_slopes}
    for name, value in unsupported.items():
        if value is not None:
            raise NotImplementedError(f"{name} is not supported")
    if return_softmax_lse:
        raise NotImplementedError("return_softmax_lse is not supported")
    left, right = window_size
    if right not in (-1, 0):
        raise NotImplementedError(f"window_size right = {right} is not "
                                  "supported (only -1, or 0 with causal)")
    B, S = k_cache.shape[0], k_cache.shape[1]
    if cache_seqlens is None:
        lens = torch.full((B,), S, dtype=torch.int32)
    elif isinstance(cache_seqlens, int):
        lens = torch.full((B,), cache_seqlens, dtype=torch.int32)
    else:
        lens = cache_seqlens.to("cpu", torch.int32).reshape(-1)
        if lens.numel() == 1 and B != 1:
            lens = lens.expand(B).contiguous()
    if lens.shape != (B,):
        raise ValueError(f"cache_seqlens must hold one length per batch row "
                         f"({B}), got {tuple(lens.shape)}")
    if (k is None) != (v is None):
        raise ValueError("k and v must be given together")
    if _needs_backward(q, k_cache, v_cache, k, v):
        raise NotImplementedError(
            "flash_attn_with_kvcache runs the forward only; call it under "
            "torch.no_grad() or on tensors that do not require grad")
    T = 0 if k is None else k.shape[1]
    total = lens + T
    # Checked before the cache is written: the new keys fit, and the queries
    # are the last q.shape[1] of the keys seen.
    if bool(((lens < 0) | (total > S) | (total < q.shape[1])).any()):
        raise ValueError(f"cache_seqlens + {T} new keys must lie between "
                         f"the {q.shape[1]} queries and the cache's {S} "
                         f"positions")
    if k is not None:
        # One scatter per cache: row b's new keys at cache_seqlens[b] + i.
        rows = torch.arange(B)[:, None]
        cols = lens.long()[:, None] + torch.arange(T)[None, :]
        with torch.no_grad():
            k_cache[rows, cols] = k.to(k_cache.dtype)
            v_cache[rows, cols] = v.to(v_cache.dtype)
    lens = total
    return attention(q, k_cache, v_cache, None, softmax_scale,
                     causal or right == 0, left + 1 if left >= 0 else 0,
                     softcap if softcap > 0 else None, kv_lens=lens)


def flash_attn_varlen_func(q, k, v, cu_seqlens_q, cu_seqlens_k, max_seqlen_q,
                           max_seqlen_k, dropout_p=0.0, softmax_scale=None,
                           causal=False, window_size=(-1, -1), softcap=0.0,
                           alibi_slopes=None, deterministic=False,
                           return_attn_probs=False, block_table=None):
    """FlashAttention's ``flash_attn_varlen_func``: q [total, Hq, K], k and v
    [total, Hkv, *] hold the packed sequences, ``cu_seqlens_q`` their
    offsets (int32), differentiable in q, k and v. The query and key
    packings must be the same (``cu_seqlens_k`` equal to ``cu_seqlens_q``:
    self-attention over each sequence); ``max_seqlen_*`` are not needed and
    not checked. ``window_size``, ``softcap`` and the refusals are as in
    ``flash_attn_func``; a paged KV cache (``block_table``) is not
    supported."""
    if block_table is not None:
        raise NotImplementedError("block_table (a paged KV cache) is not "
                                  "supported")
    for name, x in (("q", q), ("k", k), ("v", v)):
        if not isinstance(x, torch.Tensor) or x.dim() != 3:
            raise ValueError(f"{name} must be a 3-D torch.Tensor [total, H, "
                             f"D] (packed sequences)")
    if (not isinstance(cu_seqlens_k, torch.Tensor) or
            not isinstance(cu_seqlens_q, torch.Tensor) or
            cu_seqlens_k.shape != cu_seqlens_q.shape or
            not torch.equal(cu_seqlens_k.cpu(), cu_seqlens_q.cpu())):
        raise NotImplementedError("cu_seqlens_k must equal cu_seqlens_q: "
                                  "different query and key packings are not "
                                  "supported")
    o = flash_attn_func(q[None], k[None], v[None], dropout_p, softmax_scale,
                        causal, window_size, softcap, alibi_slopes,
                        deterministic, return_attn_probs,
                        cu_seqlens=cu_seqlens_q)
    return o[0]


# --- mix.causal_conv1d -----------------------------------------------------

def causal_conv1d(x, w, bias=None, conv_state=None, activation=None,
                  output_final_state=False, *, cu_seqlens=None,
                  cp_group=None):
    """`mixir.causal_conv1d` (MIXERS.md `mix.causal_conv1d`, the short conv
    in front of Mamba2's and Gated DeltaNet's mixers) on CPU torch tensors:
    x [B, T, D], w [D, W], bias [D], conv_state [B, D, W - 1] (or [N, ...]
    with `cu_seqlens`). Returns (y [B, T, D], the new conv state or None).
    Forward only: its backward is not derived yet, so inputs that require
    grad are refused outside torch.no_grad().

    With `cp_group` each rank passes its contiguous slice of the tokens and
    gets its slice of y: a rank receives the last W - 1 inputs before its
    slice (a halo, from several ranks where slices are shorter), rank 0's
    `conv_state` starts the sequence, and the last rank returns the new
    state. With `cu_seqlens` (the offsets of the whole packed batch, the
    same on every rank) a sequence that crosses ranks continues from the
    inputs before the slice, and before its first token from its own row
    of rank 0's `conv_state` [N, D, W - 1]; the last rank returns the new
    states [N, D, W - 1]."""
    if cp_group is not None:  # the same refusal, on every rank
        from . import _cp
        return _cp.causal_conv1d(causal_conv1d, x, w, bias, conv_state,
                                 activation, output_final_state, cu_seqlens,
                                 _group(cp_group))
    if _needs_backward(x, w, bias, conv_state):
        raise NotImplementedError(
            "mixir.torch.causal_conv1d runs the forward only (its backward "
            "is not derived yet); call it under torch.no_grad() or on "
            "tensors that do not require grad")
    y, state = _ops.causal_conv1d(
        _to_numpy(x, "x"), _to_numpy(w, "w"), _to_numpy(bias, "bias"),
        _to_numpy(conv_state, "conv_state"), activation, output_final_state,
        cu_seqlens=_offsets(cu_seqlens))
    return _to_torch(y, x.dtype), (None if state is None else
                                   _to_torch(state, x.dtype))
