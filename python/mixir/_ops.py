"""fla-style functional mixers: build the mix op, compile once, call.

Each call is keyed by what the compiled code depends on (element type, head
counts and dims, gate kind, flags); batch and sequence length are dynamic in
the generated function, so one compilation serves every B and T. Shapes that
disagree are reported by the op verifier or by the run-time shape checks,
both of which name the offending argument.
"""

import math

import numpy as np

from . import _mixir, _runtime
from ._runtime import DEFAULT_CHUNK_SIZE, CompileError, cache, dtype_name

_IO_DTYPES = ("f32", "f16", "bf16")
_GATES = tuple(_mixir.gate_kinds())  # the dialect's names
_DECAYS = ("log", "signed")
_MAX_RANK = 4  # mix.recurrence's largest R


def _on_device(x):
    """A tensor in CUDA memory that the functional ops take: a torch CUDA
    tensor or a mixir.DeviceArray (target cuda)."""
    return isinstance(x, _runtime.DeviceArray) or (
        _runtime._is_torch(x) and getattr(x, "is_cuda", False))


def _host_only(name, x):
    """Packings and pool slots are read by the compiled host code: numpy
    arrays, also beside CUDA tensors (q, k, v ... on target cuda)."""
    if _on_device(x):
        raise TypeError(f"{name} must be a numpy array: the packing and the "
                        f"pool slots are checked on the host (the other "
                        f"tensors may be CUDA tensors)")


def _array(name, x, ndim, dims):
    if not isinstance(x, np.ndarray) and not _on_device(x):
        raise TypeError(f"{name} must be a numpy array (or, with "
                        f"target='cuda', a torch CUDA tensor or "
                        f"mixir.DeviceArray), got {type(x).__name__}")
    if x.ndim != ndim:
        raise ValueError(f"{name} must have rank {ndim} {dims}, got shape "
                         f"{tuple(x.shape)}")
    return x


def _inputs(named, dims_of):
    """q/k/v-like inputs: same float dtype, one of f32/f16/bf16."""
    first_name, first = named[0]
    for name, x in named:
        _array(name, x, dims_of[name].count(",") + 1, dims_of[name])
        if dtype_name(x.dtype) not in _IO_DTYPES:
            raise TypeError(f"{name} has dtype {x.dtype}; expected float32, "
                            f"float16 or bfloat16")
        if dtype_name(x.dtype) != dtype_name(first.dtype):
            raise TypeError(f"{name} has dtype {x.dtype} but {first_name} has "
                            f"{first.dtype}; they must match")
    return dtype_name(first.dtype)


def _f32(name, x, ndim, dims):
    """Gates, betas and states are f32 (any float input is converted)."""
    _array(name, x, ndim, dims)
    floating = dtype_name(x.dtype) in ("f32", "f16", "bf16", "f64") or (
        isinstance(x, np.ndarray) and np.issubdtype(x.dtype, np.floating))
    if not floating:
        raise TypeError(f"{name} must be a floating-point array, got {x.dtype}")
    if _runtime._is_torch(x):
        return x.to(_runtime._torch_dtypes()["f32"]).contiguous()
    if isinstance(x, _runtime.DeviceArray):
        if dtype_name(x.dtype) != "f32":
            raise TypeError(f"{name} must be float32 on the device (a "
                            f"DeviceArray is not converted), got {x.dtype}")
        return x
    return np.ascontiguousarray(x, dtype=np.float32)


def _scale_attr(name, scale):
    if scale is None:
        return ""
    try:
        value = float(scale)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number, got {type(scale).__name__}") from None
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be positive and finite, got {scale}")
    return f" {name} = {value:.9e}"


def _tensor(shape, elem, dynamic=2):
    dims = ["?"] * dynamic + [str(d) for d in shape[dynamic:]]
    return "tensor<" + "x".join(dims + [elem]) + ">"


def _offsets(cu_seqlens):
    """cu_seqlens as the operand of varlen(...): a 1-D int32 or int64 array
    (its values are checked by the compiled code)."""
    _host_only("cu_seqlens", cu_seqlens)
    _array("cu_seqlens", cu_seqlens, 1, "[N + 1]")
    elem = dtype_name(cu_seqlens.dtype)
    if elem not in ("i32", "i64"):
        raise TypeError(f"cu_seqlens must be int32 or int64, got "
                        f"{cu_seqlens.dtype}")
    return np.ascontiguousarray(cu_seqlens), f"tensor<?x{elem}>"


def _gate_kind(gate, allowed):
    if gate not in allowed:
        raise ValueError(f"gate must be one of {', '.join(map(repr, allowed))}, "
                         f"got {gate!r}")


def _mixer_source(arg_types, op_text, result_types, backward=False):
    """`func.func @mixer` wrapping one mix op: `op_text` is the op up to its
    type signature (`mix.scan %a0, %a1`), results are returned in order.
    With `backward`, the compiler also derives `@mixer_backward` (arguments,
    then a cotangent per result; returns a gradient per argument)."""
    params = ", ".join(f"%a{i}: {t}" for i, t in enumerate(arg_types))
    results = ", ".join(result_types)
    names = ", ".join(f"%r{i}" for i in range(len(result_types)))
    attrs = " attributes {mix.derive_backward}" if backward else ""
    return (f"func.func @mixer({params}) -> ({results}){attrs} {{\n"
            f"  {names} = {op_text} : ({', '.join(arg_types)}) -> ({results})\n"
            f"  return {names} : {results}\n}}\n")


def _module(key, make_source, chunk_size=DEFAULT_CHUNK_SIZE, target="cpu"):
    """The compiled module for `key` (compiled on first use)."""
    _runtime._check_target(target)
    try:
        return cache.get(key + (chunk_size, target), make_source, chunk_size,
                         target)
    except CompileError as e:
        raise ValueError(_short(str(e))) from None


class _Call:
    """An op ready to run: its key, its operands and its source."""

    def __init__(self, key, args, source, chunk_size, target, after=None):
        self.key, self.args, self.source = key, args, source
        self.chunk_size, self.target = chunk_size, target
        self.after = after  # applied to the results of a call

    def module(self, backward=False):
        return _module(self.key + (backward,),
                       lambda: self.source(backward), self.chunk_size,
                       self.target)

    def __call__(self):
        _check_placement(self.args, self.target)
        results = self.module().functions["mixer"](*self.args)
        return self.after(results) if self.after else results


def _check_placement(args, target):
    """CUDA tensors run only on target cuda (all of a call's, or none)."""
    if target != "cuda" and any(_on_device(a) for a in args):
        raise TypeError(f"CUDA tensors need target='cuda' (target={target!r} "
                        f"takes numpy arrays)")


def _run(key, args, make_source, chunk_size=DEFAULT_CHUNK_SIZE, target="cpu"):
    _check_placement(args, target)
    return _module(key, make_source, chunk_size, target).functions["mixer"](*args)


def _short(message):
    # "<source>:4:10: error: 'mix.delta_rule' op 'k' ..." -> the op's words.
    marker = "error: "
    return message.split(marker, 1)[1] if marker in message else message


def _recurrence(*args, **kwargs):
    return _recurrence_call(*args, **kwargs)()


def _recurrence_call(op, q, k, v, g, gate, scale, initial_state, extra_args,
                     extra_attrs, chunk_size=DEFAULT_CHUNK_SIZE, target="cpu",
                     extra_operands=None, decay_txt="", cu_seqlens=None,
                     pool=(None, None), read_transposed=False,
                     all_states=False):
    """Builds, compiles and calls one recurrent op. ``extra_args`` are
    (name, array, type) operands after q, k, v, spelt ``, %a3, ...`` unless
    ``extra_operands`` gives their syntax (``lowrank(%a3, %a4)``);
    ``decay_txt`` follows the gate; ``cu_seqlens`` packs sequences;
    ``pool`` is (state_pool, state_indices); ``read_transposed`` reads
    o = S (scale q) (q [B, T, Hq, V], o [B, T, Ho, K]); ``all_states``
    returns the state after every token [B, T, Hv, K, V] as the second
    result and leaves a pool unwritten."""
    initial_state, state_indices, pooled = _pooled(
        *pool, initial_state, "[P, Hv, K, V]", "f32", "initial_state")
    if state_indices is not None and _on_device(q):
        raise TypeError("state pools take numpy arrays (the pool is "
                        "updated in place on the host); CUDA tensors "
                        "with a state pool are not supported yet")
    elem = _inputs([("q", q), ("k", k), ("v", v)],
                   {"q": "[B, T, Hq, V]" if read_transposed else
                    "[B, T, Hq, K]", "k": "[B, T, Hk, K]",
                    "v": "[B, T, Hv, V]"})
    hq, K = q.shape[2], k.shape[3]
    hv, V = v.shape[2], v.shape[3]
    ho = max(hq, hv)
    args = [q, k, v] + [a for _, a, _ in extra_args]
    arg_types = [_tensor(q.shape, elem), _tensor(k.shape, elem),
                 _tensor(v.shape, elem)] + [t for _, _, t in extra_args]
    gate_txt = f"gate {gate}"
    if gate == "none":
        if g is not None:
            raise ValueError("g was given but gate='none'; pass gate='head', "
                             "'scalar' or 'vector'")
    else:
        if g is None:
            raise ValueError(f"gate={gate!r} needs the gate g")
        gdims = {"head": "[Hv]", "scalar": "[B, T, Hv]",
                 "vector": "[B, T, Hv, K]"}[gate]
        g = _f32("g", g, len(gdims.split(",")), gdims)
        args.append(g)
        arg_types.append(_tensor(g.shape, "f32", 0 if gate == "head" else 2))
        gate_txt += f"(%a{len(args) - 1})"
    init_txt = ""
    if initial_state is not None:
        dims = "[P, Hv, K, V]" if state_indices is not None else \
            "[N, Hv, K, V]" if cu_seqlens is not None else "[B, Hv, K, V]"
        s0 = _f32("initial_state", initial_state, 4, dims)
        args.append(s0)
        arg_types.append(_tensor(s0.shape, "f32", 1))
        init_txt = f" init(%a{len(args) - 1})"
    varlen_txt = _varlen(cu_seqlens, args, arg_types) + \
        _slots(state_indices, args, arg_types)
    scale_txt = _scale_attr("scale", scale)
    o_type = _tensor((0, 0, ho, K if read_transposed else V), elem)
    s_type = _tensor((0, 0, hv, K, V), "f32") if all_states else \
        _tensor((0, hv, K, V), "f32", 1)
    if all_states and chunk_size:
        raise ValueError("all_states=True returns the state after every "
                         "token, which only the recurrent form computes: "
                         f"chunk_size must be None or 0, got {chunk_size}")
    if all_states:  # a keyword, before the attribute dictionary (if any)
        at = extra_attrs.find(" {")
        at = len(extra_attrs) if at < 0 else at
        extra_attrs = extra_attrs[:at] + " all_states" + extra_attrs[at:]
    operands = ", ".join(f"%a{i}" for i in range(3 + len(extra_args)))
    if extra_operands is not None:
        operands = "%a0, %a1, %a2" + extra_operands
    read_txt = " read transposed" if read_transposed else ""
    # The syntax of the optional operands too: the same types may be an
    # initial state and offsets, or a pool and its indices.
    key = (op, tuple(arg_types), gate, decay_txt + read_txt, scale_txt,
           extra_attrs, init_txt + varlen_txt)

    def source(backward=False):
        return _mixer_source(arg_types, f"mix.{op} {operands} {gate_txt}"
                             f"{decay_txt}{read_txt}{init_txt}{varlen_txt}{scale_txt}"
                             f"{extra_attrs}",
                             [o_type, s_type], backward)

    def after(results):
        o, s = results
        if all_states:  # the pool is read, not written
            return o, s
        return o, pooled(s)
    return _Call(key, args, source, chunk_size, target, after)


def _varlen(cu_seqlens, args, arg_types):
    """Appends cu_seqlens (if any) to the operands; returns its syntax."""
    if cu_seqlens is None:
        return ""
    cu, cu_type = _offsets(cu_seqlens)
    args.append(cu)
    arg_types.append(cu_type)
    return f" varlen(%a{len(args) - 1})"


def _used_slots(state_indices, slots):
    """The slots a call reads and writes, and the indices into a pool of
    just those (padding stays -1): a call on them costs what its sequences
    cost, however large the pool. None when the indices are not int32
    indices below `slots`, each used once, with at least one slot (the
    compiled code then checks them against the whole pool and says what is
    wrong)."""
    if not (isinstance(state_indices, np.ndarray) and state_indices.ndim == 1
            and state_indices.dtype == np.int32):
        return None
    live = state_indices >= 0
    taken = state_indices[live]
    if taken.size == 0 or taken.max() >= slots or \
            np.unique(taken).size != taken.size:
        return None
    compact = np.full(state_indices.shape, -1, np.int32)
    compact[live] = np.arange(taken.size, dtype=np.int32)
    return taken, compact


_NUMPY_NAMES = {"f32": "float32", "f16": "float16", "bf16": "bfloat16"}


def _state_pool(state_pool, initial_state, dims, elem, state_name):
    """The pool a state_indices call reads and updates in place: a writable
    C-contiguous array of shape `dims` ("[P, ...]") and element type `elem`
    ("f32"), given instead of the op's dense state `state_name`."""
    if initial_state is not None:
        raise ValueError(f"give {state_name} or state_pool with "
                         f"state_indices, not both")
    if state_pool is None:
        raise ValueError(f"state_indices needs state_pool {dims}")
    _host_only("state_pool", state_pool)
    _array("state_pool", state_pool, dims.count(",") + 1, dims)
    dense = state_pool.flags.c_contiguous and state_pool.flags.writeable
    if dtype_name(state_pool.dtype) != elem or not dense:
        raise TypeError(f"state_pool must be a writable C-contiguous "
                        f"{_NUMPY_NAMES.get(elem, elem)} array (it is "
                        f"updated in place), got {state_pool.dtype}")
    return state_pool


def _pooled(state_pool, state_indices, initial_state, dims, elem,
            state_name):
    """The state operands of a call that may use a state pool: (the state
    to pass, the indices to pass, a function of the state result giving the
    final state). Without state_indices: (initial_state, None, identity).
    With them the pool (see _state_pool) is passed, cut down to the slots
    the call uses when _used_slots allows, and the function writes the
    result back into the caller's pool and returns that pool."""
    if state_indices is None:
        if state_pool is not None:
            raise ValueError("state_pool needs state_indices (the slot of "
                             "each sequence)")
        return initial_state, None, lambda s: s
    pool = _state_pool(state_pool, initial_state, dims, elem, state_name)
    used = _used_slots(state_indices, len(pool))
    if used is None:  # the compiled code checks the indices on the whole pool
        def whole(s):
            np.copyto(pool, s)
            return pool
        return pool, state_indices, whole

    def part(s):
        pool[used[0]] = s
        return pool
    return pool[used[0]], used[1], part


def _slots(state_indices, args, arg_types):
    """Appends state_indices (if any, int32 [N]) to the operands; returns
    its syntax."""
    if state_indices is None:
        return ""
    _host_only("state_indices", state_indices)
    _array("state_indices", state_indices, 1, "[N]")
    if dtype_name(state_indices.dtype) != "i32":
        raise TypeError(f"state_indices must be int32, got "
                        f"{state_indices.dtype}")
    args.append(np.ascontiguousarray(state_indices))
    arg_types.append("tensor<?xi32>")
    return f" indices(%a{len(args) - 1})"


def _chunk_size(chunk_size):
    """None (the target's default) or a chunk length the compiler's rule
    allows (checked by the extension, with its message)."""
    if chunk_size is None:
        return None
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int):
        raise ValueError(f"chunk_size must be an int or None, got "
                         f"{chunk_size!r}")
    _mixir.check_chunk_size(chunk_size)
    return chunk_size


def linear_attention(q, k, v, g=None, gate="none", scale=None,
                     initial_state=None, output_final_state=False, *,
                     chunk_size=None, target="cpu", cu_seqlens=None,
                     state_pool=None, state_indices=None, causal=True,
                     normalize=False, all_states=False):
    """Gated linear attention (MIXERS.md `mix.linear_attention`).

    q: [B, T, Hq, K], k: [B, T, Hk, K], v: [B, T, Hv, V] in float32, float16
    or bfloat16; g per `gate`: "head" [Hv], "scalar" [B, T, Hv], "vector"
    [B, T, Hv, K] (natural-log decay); initial_state [B, Hv, K, V].
    Returns (o [B, T, max(Hq, Hv), V] in q's dtype, final_state float32 or
    None). `chunk_size` is the chunk length of the chunkwise-parallel form
    (on the CPU sequences shorter than a chunk run the recurrent form); 0
    selects the recurrent form; None lets the compiler choose (on the CPU
    its cost model picks the recurrent form or chunks of 16 to 128 per gate
    kind, dtype and head dims). `target` is "cpu" or "cuda" (GPU kernels;
    numpy arrays in and out, copied to and from the device, or torch CUDA
    tensors and mixir.DeviceArrays, which stay there; RuntimeError without
    a CUDA device).

    `cu_seqlens` (int32 or int64 [N + 1]) packs N sequences along T of a
    batch of one: sequence n is tokens cu_seqlens[n] to cu_seqlens[n + 1],
    initial_state and the final state are then [N, Hv, K, V], one per
    sequence, and nothing crosses a boundary. One compilation serves every
    packing; a bad one (not starting at 0, decreasing, not ending at T, N
    not matching initial_state, B != 1) is a ValueError.

    `state_indices` (int32 [N], one per sequence: batch row, or packed
    sequence) with `state_pool` (float32 [P, Hv, K, V]) replaces
    initial_state: sequence n starts from state_pool[state_indices[n]], and
    its final state is written back into that slot, in place (the call
    returns state_pool as the final state). A negative index is padding: its
    slot is neither read nor written and its outputs are 0. An index >= P or
    a slot named twice is a ValueError and leaves the pool unchanged.

    `causal=False` is the bidirectional form (every token reads every token;
    with a gate, the keys after t decay by the gates of positions t+1 .. s,
    LION); `normalize=True` divides each output row by the same sum taken
    with v = 1 (0 where that sum is 0). Neither takes initial_state,
    cu_seqlens or a state pool; the final state is the forward (causal)
    recurrence's.

    `all_states=True` (speculative verification) returns the state after
    every token, float32 [B, T, Hv, K, V], in place of the final state
    (whatever output_final_state says): row t is the state of t's sequence
    after token t. A state pool is then read and not written, so a caller
    that accepts the first m tokens of packed sequence n commits
    states[0, cu_seqlens[n] + m - 1] to its slot itself. It runs the
    recurrent form, so chunk_size must be None or 0.
    """
    _gate_kind(gate, _GATES)
    attrs = ("" if causal else " causal = false") + \
        (" normalize" if normalize else "")
    if attrs and (initial_state is not None or cu_seqlens is not None
                  or state_pool is not None or state_indices is not None):
        raise ValueError("causal=False and normalize=True take no "
                         "initial_state, cu_seqlens or state pool")
    o, s = _recurrence("linear_attention", q, k, v, g, gate, scale,
                       initial_state, [], attrs, _chunk_size(chunk_size),
                       target, cu_seqlens=cu_seqlens,
                       pool=(state_pool, state_indices),
                       all_states=all_states)
    return o, (s if output_final_state or all_states else None)


def delta_rule(q, k, v, beta, g=None, gate="none", scale=None,
               initial_state=None, output_final_state=False, qk_l2norm=False,
               allow_neg_eigval=False, *, chunk_size=None, target="cpu",
               cu_seqlens=None, state_pool=None, state_indices=None,
               all_states=False):
    """Delta rule: DeltaNet, Gated DeltaNet (gate="scalar"), KDA-style
    per-channel gates (gate="vector"); beta: [B, T, Hv]. See
    `linear_attention` for the other arguments, all_states included (the
    chunked form uses the WY/UT transform of the DeltaNet paper).
    """
    _gate_kind(gate, _GATES)
    beta = _f32("beta", beta, 3, "[B, T, Hv]")
    attrs = (" qk_l2norm" if qk_l2norm else "") + \
            (" allow_neg_eigval" if allow_neg_eigval else "")
    extra = [("beta", beta, _tensor(beta.shape, "f32"))]
    o, s = _recurrence("delta_rule", q, k, v, g, gate, scale, initial_state,
                       extra, attrs, _chunk_size(chunk_size), target,
                       cu_seqlens=cu_seqlens, pool=(state_pool, state_indices),
                       all_states=all_states)
    return o, (s if output_final_state or all_states else None)


def _low_rank_terms(a, b, q):
    """a, b [B, T, Hv, R, K] as the operands of lowrank(a, b): kept in q's
    dtype when both have it, else both float32; None when both are None or R
    is 0 (the op then has no low-rank terms)."""
    if (a is None) != (b is None):
        raise ValueError(f"{'b' if a is None else 'a'} is None but "
                         f"{'a' if a is None else 'b'} is not; give both (or "
                         "neither, for R = 0)")
    if a is None:
        return None
    dims = "[B, T, Hv, R, K]"
    _array("a", a, 5, dims), _array("b", b, 5, dims)
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape {dims}, got "
                         f"{tuple(a.shape)} and {tuple(b.shape)}")
    if not (a.dtype == q.dtype and b.dtype == q.dtype):
        a, b = _f32("a", a, 5, dims), _f32("b", b, 5, dims)
    if a.shape[3] == 0:
        return None
    if a.shape[3] > _MAX_RANK:
        raise ValueError(f"a and b have R = {a.shape[3]} low-rank terms; at "
                         f"most {_MAX_RANK} are supported")
    return a, b


def recurrence(q, k, v, a, b, g=None, gate="none", decay="log", scale=None,
               initial_state=None, output_final_state=False, *,
               chunk_size=None, target="cpu", cu_seqlens=None,
               state_pool=None, state_indices=None, read="normal",
               all_states=False):
    """Diagonal-plus-low-rank linear recurrence (MIXERS.md `mix.recurrence`):
    ``S = D_t S + sum_r b[t, r] (a[t, r]^T S) + k[t] v[t]^T``,
    ``o[t] = S^T (scale * q[t])`` per value head, ``D_t = diag(d_t)``.

    a, b: [B, T, Hv, R, K] with R <= 4 (both None, or R = 0: no low-rank
    terms), float32 or q's dtype. g per `gate` as for `linear_attention`;
    ``decay="log"`` reads ``d = exp(g)``, ``decay="signed"`` reads ``d = g``
    (keep it in [-1, 1]). DeltaNet, RWKV-7 and DeltaProduct are special
    cases (see MixOps.td). Returns (o [B, T, max(Hq, Hv), V] in q's dtype,
    final_state float32 or None).

    `chunk_size` is the chunk length of the chunkwise-parallel form (WY/UT,
    MIXERS.md); 0 selects the recurrent form. By default the compiler picks
    it (on the CPU its cost model, among the recurrent form and the chunks
    with chunk_size * R <= 128). An explicit chunk_size is used as given
    (it becomes the op's chunk_size), and one with chunk_size * R > 128 is a
    ValueError. `cu_seqlens`, `state_pool`, `state_indices` and
    `all_states` as for `linear_attention`.

    ``read="transposed"`` reads the state from its other side,
    ``o[t] = S (scale * q[t])``: q is then [B, T, Hq, V] and o
    [B, T, max(Hq, Hv), K] (the read the derived backward uses).
    """
    o, s = _dplr_call(q, k, v, a, b, g, gate, decay, scale, initial_state,
                      chunk_size, target, cu_seqlens, state_pool,
                      state_indices, read, all_states)()
    return o, (s if output_final_state or all_states else None)


def _dplr_call(q, k, v, a, b, g=None, gate="none", decay="log", scale=None,
               initial_state=None, chunk_size=None, target="cpu",
               cu_seqlens=None, state_pool=None, state_indices=None,
               read="normal", all_states=False):
    """The checked mix.recurrence call behind `recurrence` (and the torch
    op), ready to run."""
    _gate_kind(gate, _GATES)
    if read not in ("normal", "transposed"):
        raise ValueError(f"read must be 'normal' or 'transposed', got "
                         f"{read!r}")
    if decay not in _DECAYS:
        raise ValueError(f"decay must be one of {', '.join(map(repr, _DECAYS))}, "
                         f"got {decay!r}")
    if decay == "signed" and gate == "none":
        raise ValueError("decay='signed' needs a gate g (gate='head', 'scalar' "
                         "or 'vector'); gate='none' has no decay")
    chunk = _chunk_size(chunk_size)
    # An explicit chunk is the op's own (never changed by the compiler).
    chunk_attr = f" {{chunk_size = {chunk} : i64}}" if chunk_size else ""
    _inputs([("q", q)], {"q": "[B, T, Hq, K]"})
    terms = _low_rank_terms(a, b, q)
    extra, lowrank = [], ""
    if terms is not None:
        elem = dtype_name(terms[0].dtype)
        extra = [(n, x, _tensor(x.shape, elem)) for n, x in zip("ab", terms)]
        lowrank = " lowrank(%a3, %a4)"
    decay_txt = " decay signed" if decay == "signed" else ""
    return _recurrence_call("recurrence", q, k, v, g, gate, scale,
                            initial_state, extra, chunk_attr, chunk, target,
                            extra_operands=lowrank, decay_txt=decay_txt,
                            cu_seqlens=cu_seqlens,
                            pool=(state_pool, state_indices),
                            read_transposed=read == "transposed",
                            all_states=all_states)


def _non_negative_int(name, value, zero_means):
    try:
        value = int(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be an int, got "
                        f"{type(value).__name__}") from None
    if value < 0:
        raise ValueError(f"{name} must be >= 0 (0 means {zero_means}), got "
                         f"{value}")
    return value


def attention(q, k, v, g=None, scale=None, causal=True, window=0,
              softcap=None, *, block=0, chunk_size=None, target="cpu",
              cu_seqlens=None, kv_lens=None, return_lse=False):
    """Softmax attention: q [B, T, Hq, K], k [B, S, Hkv, K], v [B, S, Hkv, V];
    `window` > 0 keeps keys j with i - window < j; `block` > 0 keeps keys in
    the query's block of `block` positions, i // block == j // block (needs
    S == T); `g` [B, T, Hq] is a
    Forgetting-Transformer log forget gate; `softcap` > 0 bounds each scaled
    score x to softcap * tanh(x / softcap) (Gemma 2). Returns o [B, T, Hq, V].
    `chunk_size` is the query and key block of the flash-style form (64 by
    default); 0 selects the per-row reference form.
    `cu_seqlens` (int32 or int64 [N + 1]) packs N sequences along T of a
    batch of one, with S == T: a query sees only its own sequence's keys,
    and the masks and the gate count positions from the sequence's start.
    `kv_lens` (int32 [B]) reads k and v [B, S, ...] as a KV cache: row b has
    kv_lens[b] valid keys (T <= kv_lens[b] <= S, checked by the compiled
    code) and its T queries are the cache's last T positions for the causal
    mask and the window (decode, T = 1, or verification of T drafted
    tokens). It takes no forget gate, cu_seqlens or block.
    `return_lse` also returns each row's log-sum-exp of its allowed scores,
    lse [B, T, Hq] float32 (-inf for a row with no allowed key), through
    which results over disjoint key sets merge exactly: returns (o, lse).
    """
    call = _attention_call(q, k, v, g, scale, causal, window, softcap, block,
                           chunk_size, target, cu_seqlens, kv_lens,
                           return_lse)
    return call()


def _attention_call(q, k, v, g=None, scale=None, causal=True, window=0,
                    softcap=None, block=0, chunk_size=None, target="cpu",
                    cu_seqlens=None, kv_lens=None, return_lse=False):
    """The compiled mix.attention call (with `@mixer_backward` through
    `module(backward=True)`: arguments, then do; returns dq, dk, dv[, dg])."""
    elem = _inputs([("q", q), ("k", k), ("v", v)],
                   {"q": "[B, T, Hq, K]", "k": "[B, S, Hkv, K]",
                    "v": "[B, S, Hkv, V]"})
    window = _non_negative_int("window", window, "unlimited")
    block = _non_negative_int("block", block, "off")
    if block and k.shape[1] != q.shape[1]:
        raise ValueError(f"block needs keys at the query positions (S == T), "
                         f"got S = {k.shape[1]}, T = {q.shape[1]}")
    if kv_lens is not None and (g is not None or cu_seqlens is not None or
                                block):
        raise ValueError("kv_lens (a KV cache) takes no forget gate g, "
                         "cu_seqlens or block")
    if cu_seqlens is not None and (q.shape[0] != 1 or k.shape[1] != q.shape[1]):
        raise ValueError(f"cu_seqlens packs sequences along T of a batch of "
                         f"one with keys at the query positions (B == 1, "
                         f"S == T), got B = {q.shape[0]}, S = {k.shape[1]}, "
                         f"T = {q.shape[1]}")
    args = [q, k, v]
    # Over a KV cache the query length is static (1 when decoding), so the
    # compiler sizes its query blocks to it: one compilation per length.
    types = [_tensor(q.shape, elem, 1 if kv_lens is not None else 2),
             _tensor(k.shape, elem), _tensor(v.shape, elem)]
    forget = ""
    if g is not None:
        g = _f32("g", g, 3, "[B, T, Hq]")
        args.append(g)
        types.append(_tensor(g.shape, "f32"))
        forget = " forget(%a3)"
    forget += _varlen(cu_seqlens, args, types)
    if kv_lens is not None:
        _host_only("kv_lens", kv_lens)
        _array("kv_lens", kv_lens, 1, "[B]")
        if kv_lens.dtype != np.int32:
            raise TypeError(f"kv_lens must be int32, got {kv_lens.dtype}")
        args.append(np.ascontiguousarray(kv_lens))
        types.append("tensor<?xi32>")
        forget += f" kv_lens(%a{len(args) - 1})"
    attrs = forget + (" causal" if causal else "") + \
        (f" window = {window}" if window else "") + \
        (f" block = {block}" if block else "") + _scale_attr("scale", scale) \
        + _scale_attr("softcap", softcap)
    result_types = [_tensor((0, q.shape[1], q.shape[2], v.shape[3]), elem,
                            1 if kv_lens is not None else 2)]
    if return_lse:
        result_types.append(_tensor((0, 0, q.shape[2]), "f32"))
    key = ("attention", tuple(types), tuple(result_types), attrs)

    def source(backward=False):
        return _mixer_source(types, f"mix.attention %a0, %a1, %a2{attrs}",
                             result_types, backward)
    return _Call(key, args, source, _chunk_size(chunk_size), target)


def scan(x, g, initial_state=None, *, chunk_size=None, target="cpu",
         cu_seqlens=None):
    """Element-wise gated recurrence h = exp(g) * h + x over x, g [B, T, D];
    initial_state [B, D]. Returns (o in x's dtype, final_state float32).
    `chunk_size` > 0 selects the chunked scan (parallel over chunks, a carry
    pass between them); 0 the sequential one; None (the default) lets the
    compiler choose (on the CPU its cost model).
    `cu_seqlens` packs N sequences along T of x, g [1, T, D] as for
    `linear_attention`; initial_state and the final state are then [N, D],
    and each sequence is scanned on its own (in parallel over sequences).
    """
    return _scan_call(x, g, initial_state, chunk_size, target, cu_seqlens)()


def _scan_call(x, g, initial_state=None, chunk_size=None, target="cpu",
               cu_seqlens=None):
    elem = _inputs([("x", x)], {"x": "[B, T, D]"})
    g = _f32("g", g, 3, "[B, T, D]")
    args = [x, g]
    types = [_tensor(x.shape, elem), _tensor(g.shape, "f32")]
    init = ""
    if initial_state is not None:
        dims = "[N, D]" if cu_seqlens is not None else "[B, D]"
        args.append(_f32("initial_state", initial_state, 2, dims))
        types.append(_tensor(args[-1].shape, "f32", 1))
        init = " init(%a2)"
    init += _varlen(cu_seqlens, args, types)
    o_type = _tensor((0, 0, x.shape[2]), elem)
    s_type = _tensor((0, x.shape[2]), "f32", 1)
    key = ("scan", tuple(types))

    def source(backward=False):
        return _mixer_source(types, f"mix.scan %a0, %a1{init}",
                             [o_type, s_type], backward)
    return _Call(key, args, source, _chunk_size(chunk_size), target)


_RNN_CELLS = {"lstm": (4, ("h", "c")), "gru": (3, ("h",)),
              "slstm": (4, ("h", "c", "n", "m"))}


def _rnn_states(initial_state, cell, B, H, D):
    """initial_state as the cell's tuple of [B, H, D] float32 arrays (gru: one
    array or a 1-tuple); [] when None."""
    names = _RNN_CELLS[cell][1]
    if initial_state is None:
        return []
    if len(names) == 1 and isinstance(initial_state, np.ndarray):
        initial_state = (initial_state,)
    if not isinstance(initial_state, (tuple, list)):
        raise TypeError(f"initial_state must be a tuple of {len(names)} arrays "
                        f"({', '.join(names)}) for cell={cell!r}, got "
                        f"{type(initial_state).__name__}")
    if len(initial_state) != len(names):
        raise ValueError(f"initial_state must hold {len(names)} arrays "
                         f"({', '.join(names)}) for cell={cell!r}, got "
                         f"{len(initial_state)}")
    states = []
    for name, s in zip(names, initial_state):
        s = _f32(f"initial_state {name}", s, 3, "[B, H, D]")
        if s.shape != (B, H, D):
            raise ValueError(f"initial_state {name} must have shape [B, H, D] "
                             f"= {(B, H, D)}, got {tuple(s.shape)}")
        states.append(s)
    return states


def _rnn_weight(name, x, ndim, dims, shape, wx):
    """r or b: kept in wx's dtype, else converted to float32; its shape must
    be `shape`."""
    _array(name, x, ndim, dims)
    if x.dtype != wx.dtype:
        x = _f32(name, x, ndim, dims)
    if tuple(x.shape) != shape:
        raise ValueError(f"{name} must have shape {dims} = {shape}, got "
                         f"{tuple(x.shape)}")
    return x


def rnn(wx, r, b=None, cell="lstm", initial_state=None,
        output_final_state=False, *, target="cpu"):
    """Head-wise non-linear RNN (MIXERS.md `mix.rnn`; FlashRNN): per head h,
    ``a_g = wx[t, g] + r[h, g] @ h + b[h, g]`` drives an LSTM, GRU or sLSTM
    cell.

    wx: [B, T, H, G, D] pre-activations in float32, float16 or bfloat16 (G = 4
    for "lstm" and "slstm" with gates i, f, z, o; 3 for "gru" with r, z, n);
    r: [H, G, D, D] (``r[h, g]`` is [D_out, D_in], torch's weight_hh rows),
    b: [H, G, D] or None, both in wx's dtype or converted to float32;
    initial_state: None or the cell's states, each [B, H, D]: an array (or a
    1-tuple) ``h`` for "gru", ``(h, c)`` for "lstm", ``(h, c, n, m)`` for
    "slstm" (without it the states start at zero, and sLSTM's first step
    sets ``m = a_i``). Returns (h [B, T, H, D] in wx's dtype, the final
    state or None): float32 ``h`` for "gru", a tuple of float32 arrays in the
    order above otherwise. Every target takes every dtype; on "cuda" one
    thread block runs each (batch, head), the head's weights in shared
    memory.
    """
    if cell not in _RNN_CELLS:
        raise ValueError(f"cell must be one of "
                         f"{', '.join(map(repr, _RNN_CELLS))}, got {cell!r}")
    gates, names = _RNN_CELLS[cell]
    elem = _inputs([("wx", wx)], {"wx": "[B, T, H, G, D]"})
    B, T, H, G, D = wx.shape
    if G != gates:
        raise ValueError(f"wx dim 3 (G) is {G}, but cell={cell!r} has {gates} "
                         f"gates")
    r = _rnn_weight("r", r, 4, "[H, G, D, D]", (H, G, D, D), wx)
    args = [wx, r]
    types = [_tensor(wx.shape, elem),
             _tensor(r.shape, dtype_name(r.dtype), 0)]
    bias = ""
    if b is not None:
        b = _rnn_weight("b", b, 3, "[H, G, D]", (H, G, D), wx)
        args.append(b)
        types.append(_tensor(b.shape, dtype_name(b.dtype), 0))
        bias = f" bias(%a{len(args) - 1})"
    states = _rnn_states(initial_state, cell, B, H, D)
    init = ""
    if states:
        first = len(args)
        args += states
        types += [_tensor(s.shape, "f32", 1) for s in states]
        init = " init(" + ", ".join(f"%a{first + i}"
                                    for i in range(len(states))) + ")"
    results = ([_tensor((0, 0, H, D), elem)] +
               [_tensor((0, H, D), "f32", 1)] * len(names))
    key = ("rnn", cell, tuple(types))

    def source():
        return _mixer_source(types, f"mix.rnn {cell} %a0, %a1{bias}{init}",
                             results)
    out = _run(key, args, source, DEFAULT_CHUNK_SIZE, target)
    if not output_final_state:
        return out[0], None
    return out[0], (out[1] if len(names) == 1 else tuple(out[1:]))


_ACTIVATIONS = {None: "none", "none": "none", "silu": "silu", "swish": "silu"}


def causal_conv1d(x, w, bias=None, conv_state=None, activation=None,
                  output_final_state=False, *, target="cpu", cu_seqlens=None,
                  state_pool=None, state_indices=None):
    """Short depthwise causal convolution (MIXERS.md `mix.causal_conv1d`),
    the conv in front of Mamba2's and Gated DeltaNet's mixers:
    ``y[b, t, d] = act(bias[d] + sum_i w[d, i] x[b, t - W + 1 + i, d])``.

    x: [B, T, D] in float32, float16 or bfloat16; w: [D, W] with 2 <= W <= 8
    and bias: [D] (or None), each in x's dtype or converted to float32;
    conv_state: [B, D, W - 1], the previous W - 1 inputs, oldest first
    (zeros when None), converted to x's dtype; activation: None or "silu"
    ("swish" is the same). Returns (y [B, T, D] in x's dtype, the new conv
    state [B, D, W - 1] in x's dtype, or None). On `target` "cuda" the conv
    is one kernel, a thread block per sequence.

    `cu_seqlens` (int32 or int64 [N + 1]) packs N sequences along T of
    x [1, T, D] as for `linear_attention`: no window reaches into another
    sequence, and conv_state and the new state are [N, D, W - 1], one per
    sequence (a sequence shorter than W - 1 keeps the newest of its old
    entries, shifted). `state_indices` (int32 [N], or [B] without
    cu_seqlens) with `state_pool` ([P, D, W - 1] in x's dtype, writable and
    C-contiguous) replaces conv_state: sequence n reads
    state_pool[state_indices[n]] and its new state is written back there,
    in place (the call returns state_pool as the new state); a negative
    index is padding (not read, not written, its y rows 0). A bad packing
    or bad indices are a ValueError that leaves the pool unchanged.
    """
    if activation not in _ACTIVATIONS:
        raise ValueError(f"activation must be None or 'silu', got "
                         f"{activation!r}")
    elem = _inputs([("x", x)], {"x": "[B, T, D]"})
    B, T, D = x.shape
    _array("w", w, 2, "[D, W]")
    W = w.shape[1]
    w = _rnn_weight("w", w, 2, "[D, W]", (D, W), x)
    args = [x, w]
    types = [_tensor(x.shape, elem), _tensor(w.shape, dtype_name(w.dtype), 0)]
    text = "mix.causal_conv1d %a0, %a1"
    if bias is not None:
        args.append(_rnn_weight("bias", bias, 1, "[D]", (D,), x))
        types.append(_tensor(args[-1].shape, dtype_name(args[-1].dtype), 0))
        text += f" bias(%a{len(args) - 1})"
    state, indices, pooled = _pooled(state_pool, state_indices, conv_state,
                                     "[P, D, W - 1]", elem, "conv_state")
    if state is not None:
        text += _conv_state(state, indices is not None, cu_seqlens is not None,
                            (B, D, W), args, types)
    text += _varlen(cu_seqlens, args, types) + _slots(indices, args, types)
    act = _ACTIVATIONS[activation]
    if act != "none":
        text += f" activation {act}"
    key = ("causal_conv1d", tuple(types), text)  # text: which operand is which
    state_type = _tensor((0, D, W - 1), elem, 1)

    def source():
        return _mixer_source(types, text, [_tensor(x.shape, elem), state_type])
    y, s = _run(key, args, source, DEFAULT_CHUNK_SIZE, target)
    s = pooled(s)
    return y, (s if output_final_state else None)


def _conv_state(state, pool, packed, sizes, args, types):
    """Appends the conv state operand: the pool [P, D, W - 1] as it is, a
    dense state [B or N, D, W - 1] converted to x's dtype (its dim 0 is
    checked here for a batch, by the compiled code for a packing). Returns
    its syntax."""
    B, D, W = sizes
    x = args[0]
    rows = "P" if pool else "N" if packed else "B"
    dims = f"[{rows}, D, W - 1]"
    _array("state_pool" if pool else "conv_state", state, 3, dims)
    if tuple(state.shape[1:]) != (D, W - 1) or (rows == "B" and
                                                  state.shape[0] != B):
        want = (B if rows == "B" else rows, D, W - 1)
        raise ValueError(f"{'state_pool' if pool else 'conv_state'} must "
                         f"have shape {dims} = ({', '.join(map(str, want))})"
                         f", got {tuple(state.shape)}")
    if not pool:
        state = np.ascontiguousarray(state, dtype=x.dtype)
    args.append(state)
    types.append(_tensor(state.shape, dtype_name(x.dtype), 1))
    return f" state(%a{len(args) - 1})"
