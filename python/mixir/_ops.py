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


def _array(name, x, ndim, dims):
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{name} must be a numpy array, got {type(x).__name__}")
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
        if x.dtype != first.dtype:
            raise TypeError(f"{name} has dtype {x.dtype} but {first_name} has "
                            f"{first.dtype}; they must match")
    return dtype_name(first.dtype)


def _f32(name, x, ndim, dims):
    """Gates, betas and states are f32 (any float input is converted)."""
    _array(name, x, ndim, dims)
    if not (np.issubdtype(x.dtype, np.floating) or dtype_name(x.dtype) == "bf16"):
        raise TypeError(f"{name} must be a floating-point array, got {x.dtype}")
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
    return f" scale = {value:.9e}"


def _tensor(shape, elem, dynamic=2):
    dims = ["?"] * dynamic + [str(d) for d in shape[dynamic:]]
    return "tensor<" + "x".join(dims + [elem]) + ">"


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

    def __init__(self, key, args, source, chunk_size, target):
        self.key, self.args, self.source = key, args, source
        self.chunk_size, self.target = chunk_size, target

    def module(self, backward=False):
        return _module(self.key + (backward,),
                       lambda: self.source(backward), self.chunk_size,
                       self.target)

    def __call__(self):
        return self.module().functions["mixer"](*self.args)


def _run(key, args, make_source, chunk_size=DEFAULT_CHUNK_SIZE, target="cpu"):
    return _module(key, make_source, chunk_size, target).functions["mixer"](*args)


def _short(message):
    # "<source>:4:10: error: 'mix.delta_rule' op 'k' ..." -> the op's words.
    marker = "error: "
    return message.split(marker, 1)[1] if marker in message else message


def _recurrence(*args, **kwargs):
    return _recurrence_call(*args, **kwargs)()


def _recurrence_call(op, q, k, v, g, gate, scale, initial_state, extra_args,
                     extra_attrs, chunk_size=DEFAULT_CHUNK_SIZE, target="cpu",
                     extra_operands=None, decay_txt=""):
    """Builds, compiles and calls one recurrent op. ``extra_args`` are
    (name, array, type) operands after q, k, v, spelt ``, %a3, ...`` unless
    ``extra_operands`` gives their syntax (``lowrank(%a3, %a4)``);
    ``decay_txt`` follows the gate."""
    elem = _inputs([("q", q), ("k", k), ("v", v)],
                   {"q": "[B, T, Hq, K]", "k": "[B, T, Hk, K]",
                    "v": "[B, T, Hv, V]"})
    hq, K = q.shape[2], q.shape[3]
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
        s0 = _f32("initial_state", initial_state, 4, "[B, Hv, K, V]")
        args.append(s0)
        arg_types.append(_tensor(s0.shape, "f32", 1))
        init_txt = f" init(%a{len(args) - 1})"
    scale_txt = _scale_attr("scale", scale)
    o_type = _tensor((0, 0, ho, V), elem)
    s_type = _tensor((0, hv, K, V), "f32", 1)
    operands = ", ".join(f"%a{i}" for i in range(3 + len(extra_args)))
    if extra_operands is not None:
        operands = "%a0, %a1, %a2" + extra_operands
    key = (op, tuple(arg_types), gate, decay_txt, scale_txt, extra_attrs,
           init_txt != "")

    def source(backward=False):
        return _mixer_source(arg_types, f"mix.{op} {operands} {gate_txt}"
                             f"{decay_txt}{init_txt}{scale_txt}{extra_attrs}",
                             [o_type, s_type], backward)
    return _Call(key, args, source, chunk_size, target)


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
                     chunk_size=None, target="cpu"):
    """Gated linear attention (MIXERS.md `mix.linear_attention`).

    q: [B, T, Hq, K], k: [B, T, Hk, K], v: [B, T, Hv, V] in float32, float16
    or bfloat16; g per `gate`: "head" [Hv], "scalar" [B, T, Hv], "vector"
    [B, T, Hv, K] (natural-log decay); initial_state [B, Hv, K, V].
    Returns (o [B, T, max(Hq, Hv), V] in q's dtype, final_state float32 or
    None). `chunk_size` is the chunk length of the chunkwise-parallel form
    (sequences shorter than a chunk run the recurrent form); 0 selects the
    recurrent form; None lets the compiler choose (on the CPU its cost model
    picks the recurrent form or chunks of 16 to 128 per gate kind, dtype and
    head dims). `target` is "cpu" or "cuda" (GPU kernels;
    numpy arrays in and out; RuntimeError without a CUDA device).
    """
    _gate_kind(gate, _GATES)
    o, s = _recurrence("linear_attention", q, k, v, g, gate, scale,
                       initial_state, [], "", _chunk_size(chunk_size), target)
    return o, (s if output_final_state else None)


def delta_rule(q, k, v, beta, g=None, gate="none", scale=None,
               initial_state=None, output_final_state=False, qk_l2norm=False,
               allow_neg_eigval=False, *, chunk_size=None, target="cpu"):
    """Delta rule: DeltaNet, Gated DeltaNet (gate="scalar"), KDA-style
    per-channel gates (gate="vector"); beta: [B, T, Hv]. See
    `linear_attention` for the other arguments (the chunked form uses the
    WY/UT transform of the DeltaNet paper).
    """
    _gate_kind(gate, _GATES)
    beta = _f32("beta", beta, 3, "[B, T, Hv]")
    attrs = (" qk_l2norm" if qk_l2norm else "") + \
            (" allow_neg_eigval" if allow_neg_eigval else "")
    extra = [("beta", beta, _tensor(beta.shape, "f32"))]
    o, s = _recurrence("delta_rule", q, k, v, g, gate, scale, initial_state,
                       extra, attrs, _chunk_size(chunk_size), target)
    return o, (s if output_final_state else None)


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
               chunk_size=None, target="cpu"):
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
    ValueError.
    """
    _gate_kind(gate, _GATES)
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
    o, s = _recurrence("recurrence", q, k, v, g, gate, scale, initial_state,
                       extra, chunk_attr, chunk, target, extra_operands=lowrank,
                       decay_txt=decay_txt)
    return o, (s if output_final_state else None)


def attention(q, k, v, g=None, scale=None, causal=True, window=0, *,
              chunk_size=None, target="cpu"):
    """Softmax attention: q [B, T, Hq, K], k [B, S, Hkv, K], v [B, S, Hkv, V];
    `window` > 0 keeps keys j with i - window < j; `g` [B, T, Hq] is a
    Forgetting-Transformer log forget gate. Returns o [B, T, Hq, V].
    `chunk_size` is the query and key block of the flash-style form (64 by
    default); 0 selects the per-row reference form.
    """
    elem = _inputs([("q", q), ("k", k), ("v", v)],
                   {"q": "[B, T, Hq, K]", "k": "[B, S, Hkv, K]",
                    "v": "[B, S, Hkv, V]"})
    try:
        window = int(window)
    except (TypeError, ValueError):
        raise TypeError(f"window must be an int, got {type(window).__name__}") from None
    if window < 0:
        raise ValueError(f"window must be >= 0 (0 means unlimited), got {window}")
    args = [q, k, v]
    types = [_tensor(q.shape, elem), _tensor(k.shape, elem), _tensor(v.shape, elem)]
    forget = ""
    if g is not None:
        g = _f32("g", g, 3, "[B, T, Hq]")
        args.append(g)
        types.append(_tensor(g.shape, "f32"))
        forget = " forget(%a3)"
    attrs = forget + (" causal" if causal else "") + \
        (f" window = {window}" if window else "") + _scale_attr("scale", scale)
    o_type = _tensor((0, 0, q.shape[2], v.shape[3]), elem)
    key = ("attention", tuple(types), attrs)

    def source():
        return _mixer_source(types, f"mix.attention %a0, %a1, %a2{attrs}",
                             [o_type])
    return _run(key, args, source, _chunk_size(chunk_size), target)


def scan(x, g, initial_state=None, *, chunk_size=None, target="cpu"):
    """Element-wise gated recurrence h = exp(g) * h + x over x, g [B, T, D];
    initial_state [B, D]. Returns (o in x's dtype, final_state float32).
    `chunk_size` > 0 selects the chunked scan (parallel over chunks, a carry
    pass between them); 0 the sequential one; None (the default) lets the
    compiler choose (on the CPU its cost model).
    """
    return _scan_call(x, g, initial_state, chunk_size, target)()


def _scan_call(x, g, initial_state=None, chunk_size=None, target="cpu"):
    elem = _inputs([("x", x)], {"x": "[B, T, D]"})
    g = _f32("g", g, 3, "[B, T, D]")
    args = [x, g]
    types = [_tensor(x.shape, elem), _tensor(g.shape, "f32")]
    init = ""
    if initial_state is not None:
        args.append(_f32("initial_state", initial_state, 2, "[B, D]"))
        types.append(_tensor(args[-1].shape, "f32", 1))
        init = " init(%a2)"
    o_type = _tensor((0, 0, x.shape[2]), elem)
    s_type = _tensor((0, x.shape[2]), "f32", 1)
    key = ("scan", tuple(types))

    def source(backward=False):
        return _mixer_source(types, f"mix.scan %a0, %a1{init}",
                             [o_type, s_type], backward)
    return _Call(key, args, source, _chunk_size(chunk_size), target)
