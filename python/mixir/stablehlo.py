"""The StableHLO front stage: StableHLO / JAX programs to MixIR's flat form.

Debian's MLIR has no StableHLO dialect; jaxlib's MLIR Python bindings do. This
module uses them to read StableHLO text, MLIR bytecode, VHLO portable artifacts,
`jax.export` serialisations and `jax.export.Exported` objects, legalises CHLO
to StableHLO, checks that every shape is static, and writes the *flat form*
that the C++ back stage (`mixir-import-stablehlo`) parses with unregistered
dialects allowed (contract: include/mixir/Import/StableHLO/StableHLOImporter.h):

- first line `// mixir-stablehlo-flat v1`, then the module in generic op form
  with its locations;
- StableHLO enum attributes become StringAttrs holding the keyword
  (`comparison_direction = "LT"`), struct attributes (dot, gather, scatter,
  conv dimension numbers) DictionaryAttrs of `array<i64: ...>` / i64 entries;
- `precision_config`, `algorithm`, `result_accuracy` and `jax.*`, `mhlo.*`,
  `sdy.*`, `tf.*` attributes are dropped;
- tokens, tuples, tensor encodings, dynamic shapes (after
  `stablehlo-refine-shapes`) and ops outside func/stablehlo are refused.

How: the module is read and checked in jax's context (StableHLO registered,
so the typed attribute classes give enum keywords and dimension numbers),
printed in generic form, re-parsed in a context with no dialects (every op
unregistered, locations kept), and each op whose attributes change is
recreated there with builtin attributes only, its regions moved over.

Also `from_jax(fn, *example_args)` and `import_stablehlo(source)`, which run
the back stage as well and return the imported MLIR text.

Command line (what `mixir-import-stablehlo` runs for non-flat input):

    python3 -m mixir.stablehlo IN -o OUT      # OUT "-" for stdout

jax/jaxlib are imported lazily, so the rest of `mixir` works without them.
"""

import os
import pathlib
import subprocess
import sys
import tempfile

FLAT_HEADER = "// mixir-stablehlo-flat v1"

_NEED_JAX = ("the StableHLO front stage needs jax and jaxlib "
             "(pip install jax jaxlib)")

# Attributes dropped wherever they appear (names, then name prefixes).
_DROPPED_NAMES = frozenset({"precision_config", "algorithm", "result_accuracy"})
_DROPPED_PREFIXES = ("jax.", "mhlo.", "sdy.", "tf.")

_BYTECODE_MAGIC = b"ML\xefR"


class _Jax:
    """The jax/jaxlib modules, imported on first use."""

    _loaded = None
    passes_registered = False

    @classmethod
    def get(cls):
        if cls._loaded is None:
            try:
                import jax
                import jax.export  # noqa: F401  (a submodule in jax >= 0.4.30)
                from jax._src.interpreters import mlir as jax_mlir
                from jaxlib.mlir import ir, passmanager
                from jaxlib.mlir.dialects import stablehlo
            except ImportError as e:
                raise ImportError(_NEED_JAX) from e
            cls._loaded = cls()
            cls._loaded.jax = jax
            cls._loaded.jax_mlir = jax_mlir
            cls._loaded.ir = ir
            cls._loaded.passmanager = passmanager
            cls._loaded.stablehlo = stablehlo
        return cls._loaded


def _isa(x, cls):
    """Whether the type/attribute `x` is a `cls` (builtin classes compare
    type ids; the StableHLO classes have `isinstance`)."""
    if hasattr(cls, "isinstance"):
        return cls.isinstance(x)
    return x.typeid == cls.static_typeid


def _dropped(name):
    return name in _DROPPED_NAMES or name.startswith(_DROPPED_PREFIXES)


def _one_line(message):
    """The first non-empty line of `message` (MLIR diagnostics span lines)."""
    for line in str(message).splitlines():
        line = line.strip()
        if line:
            return line
    return "unknown error"


# --- reading the input ------------------------------------------------------------
def _read_source(source):
    """Returns ("text", str), ("bytes", bytes) or ("exported", Exported)."""
    jx = _Jax.get()
    if isinstance(source, jx.jax.export.Exported):
        return "exported", source
    if isinstance(source, (bytes, bytearray, memoryview)):
        return "bytes", bytes(source)
    if isinstance(source, pathlib.PurePath):
        return "bytes", _read_file(source)
    if isinstance(source, str):
        # A path: an existing file, or one line without MLIR's braces.
        if "\n" not in source and (os.path.isfile(source) or
                                   not any(c in source for c in "{(")):
            return "bytes", _read_file(source)
        return "text", source
    raise TypeError(f"cannot import a {type(source).__name__}: expected "
                    "StableHLO text, bytes, a path or a jax.export.Exported")


def _read_file(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise ValueError(f"cannot read '{path}': {e.strerror}") from None


def _parse_module(source, ctx):
    """Parses `source` into a StableHLO module in the jax context `ctx`."""
    jx = _Jax.get()
    ir, stablehlo = jx.ir, jx.stablehlo
    kind, data = _read_source(source)
    if kind == "exported":
        data = data.mlir_module_serialized
        kind = "bytes"
    if kind == "bytes":
        if data.startswith(_BYTECODE_MAGIC):
            return _parse_bytecode(data, ctx)
        if b"\0" in data[:64] or not _is_text(data):
            # Not MLIR bytecode nor text: a jax.export serialisation?
            try:
                exported = jx.jax.export.deserialize(bytearray(data))
            except Exception:  # noqa: BLE001 - any failure means "not that"
                raise ValueError("input is neither StableHLO text, MLIR "
                                 "bytecode nor a jax.export serialisation") from None
            return _parse_bytecode(exported.mlir_module_serialized, ctx)
        data = data.decode("utf-8")
    if data.lstrip().startswith(FLAT_HEADER):
        raise ValueError("input is already in the flat form; pass it to "
                         "mixir-import-stablehlo directly")
    try:
        return ir.Module.parse(data, ctx)
    except ir.MLIRError as e:
        raise ValueError("cannot parse the StableHLO text: " +
                         _diagnostic(e)) from None


def _is_text(data):
    try:
        data.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def _parse_bytecode(data, ctx):
    jx = _Jax.get()
    ir = jx.ir
    # A VHLO portable artifact first; plain (StableHLO) bytecode otherwise.
    try:
        return jx.stablehlo.deserialize_portable_artifact(ctx, data)
    except Exception:  # noqa: BLE001
        pass
    try:
        return ir.Module.parse(data, ctx)
    except Exception as e:  # noqa: BLE001
        detail = _diagnostic(e) if isinstance(e, ir.MLIRError) else str(e)
        raise ValueError("cannot read the MLIR bytecode: " + detail) from None


def _diagnostic(error):
    """One line from an MLIRError: its first diagnostic with location."""
    diags = getattr(error, "error_diagnostics", None)
    if diags:
        d = diags[0]
        loc = str(d.location)
        return _one_line(f"{d.message} ({loc})" if loc != "loc(unknown)" else d.message)
    return _one_line(str(error).replace("Unable to parse module assembly:", ""))


# --- legalising --------------------------------------------------------------------
def _run_passes(module, ctx):
    """VHLO -> StableHLO and CHLO -> StableHLO where present; shape
    refinement where a type is dynamic (it cannot make symbolic argument
    shapes static: those are refused afterwards)."""
    jx = _Jax.get()
    if not _Jax.passes_registered:
        jx.stablehlo.register_stablehlo_passes()
        _Jax.passes_registered = True
    names, dynamic = set(), []

    def visit(op):
        names.add(op.name)
        if not dynamic and any(_is_dynamic(r.type) for r in op.results):
            dynamic.append(op)
    _walk(module.operation, visit)
    steps = []
    if any(n.startswith("vhlo.") for n in names):
        steps.append("vhlo-legalize-to-stablehlo")
    if any(n.startswith("chlo.") for n in names):
        steps.append("func.func(chlo-legalize-to-stablehlo)")
    for step in steps:
        _run_pipeline(module, ctx, step, "cannot legalise to StableHLO: ")
    if dynamic:
        try:
            _run_pipeline(module, ctx, "stablehlo-refine-shapes", "")
        except ValueError:
            pass  # the type check names the dynamic op


def _run_pipeline(module, ctx, step, prefix):
    jx = _Jax.get()
    try:
        pm = jx.passmanager.PassManager.parse(f"builtin.module({step})", ctx)
        pm.run(module.operation)
    except jx.ir.MLIRError as e:
        raise ValueError(prefix + _diagnostic(e)) from None


def _is_dynamic(t):
    ir = _Jax.get().ir
    return _isa(t, ir.RankedTensorType) and not ir.RankedTensorType(t).has_static_shape


def _walk(op, fn):
    """Calls fn on op and every nested op, parents first."""
    fn(op)
    for region in op.regions:
        for block in region.blocks:
            for child in block.operations:
                _walk(child.operation, fn)


def _ops_postorder(op, out):
    for region in op.regions:
        for block in region.blocks:
            for child in block.operations:
                _ops_postorder(child.operation, out)
    out.append(op)
    return out


def _where(op):
    loc = str(op.location)
    return "" if loc == "loc(unknown)" else f" at {loc}"


def _check_type(t, op, what):
    """Refuses tokens, tuples, encodings and dynamic shapes."""
    ir, stablehlo = _Jax.get().ir, _Jax.get().stablehlo
    name = op.name

    def fail(msg):
        raise ValueError(f"'{name}'{_where(op)}: {msg} ({what} type {t})")

    if _isa(t, stablehlo.TokenType):
        fail("tokens are not supported")
    if _isa(t, ir.TupleType):
        fail("tuples are not supported")
    if _isa(t, ir.RankedTensorType):
        rt = ir.RankedTensorType(t)
        if rt.encoding is not None:
            fail("tensor encodings (bounds) are not supported")
        if not rt.has_static_shape:
            fail("dynamic shapes are not supported; export with static shapes")
    elif _isa(t, ir.UnrankedTensorType):
        fail("unranked tensors are not supported")


def _check_op(op):
    """Refuses ops outside func/stablehlo (module-level sdy ops, which are
    dropped, aside) and the types `_check_type` refuses."""
    name = op.name
    if not (name.startswith(("stablehlo.", "func.")) or name == "builtin.module" or
            (name.startswith(("sdy.", "mhlo.")) and op.parent is not None and
             op.parent.name == "builtin.module")):
        raise ValueError(f"'{name}'{_where(op)}: not a StableHLO op (only func and "
                         "stablehlo ops can be imported)")
    for i, r in enumerate(op.results):
        _check_type(r.type, op, f"result {i}")
    for region in op.regions:
        for block in region.blocks:
            for j, a in enumerate(block.arguments):
                _check_type(a.type, op, f"block argument {j}")
    if op.name == "func.func":
        ftype = _Jax.get().ir.FunctionType(
            _Jax.get().ir.TypeAttr(op.attributes["function_type"]).value)
        for i, t in enumerate(ftype.inputs):
            _check_type(t, op, f"argument {i}")
        for i, t in enumerate(ftype.results):
            _check_type(t, op, f"result {i}")


# --- flattening attributes ------------------------------------------------------------
def _i64_array(values, ctx):
    return _Jax.get().ir.DenseI64ArrayAttr.get([int(v) for v in values], context=ctx)


def _i64(value, ctx):
    ir = _Jax.get().ir
    return ir.IntegerAttr.get(ir.IntegerType.get_signless(64, ctx), int(value))


# Struct attributes: (binding class, [(flat name, binding accessor, is list)]).
def _struct_fields():
    sh = _Jax.get().stablehlo
    return [
        (sh.DotDimensionNumbers, [
            ("lhs_batching_dimensions", "lhs_batching_dimensions", True),
            ("rhs_batching_dimensions", "rhs_batching_dimensions", True),
            ("lhs_contracting_dimensions", "lhs_contracting_dimensions", True),
            ("rhs_contracting_dimensions", "rhs_contracting_dimensions", True)]),
        (sh.GatherDimensionNumbers, [
            ("offset_dims", "offset_dims", True),
            ("collapsed_slice_dims", "collapsed_slice_dims", True),
            ("operand_batching_dims", "operand_batching_dims", True),
            ("start_indices_batching_dims", "start_indices_batching_dims", True),
            ("start_index_map", "start_index_map", True),
            ("index_vector_dim", "index_vector_dim", False)]),
        (sh.ScatterDimensionNumbers, [
            ("update_window_dims", "update_window_dims", True),
            ("inserted_window_dims", "inserted_window_dims", True),
            ("input_batching_dims", "input_batching_dims", True),
            ("scatter_indices_batching_dims", "scatter_indices_batching_dims", True),
            ("scatter_dims_to_operand_dims", "scattered_dims_to_operand_dims", True),
            ("index_vector_dim", "index_vector_dim", False)]),
        (sh.ConvDimensionNumbers, [
            ("input_batch_dimension", "input_batch_dimension", False),
            ("input_feature_dimension", "input_feature_dimension", False),
            ("input_spatial_dimensions", "input_spatial_dimensions", True),
            ("kernel_input_feature_dimension", "kernel_input_feature_dimension", False),
            ("kernel_output_feature_dimension", "kernel_output_feature_dimension", False),
            ("kernel_spatial_dimensions", "kernel_spatial_dimensions", True),
            ("output_batch_dimension", "output_batch_dimension", False),
            ("output_feature_dimension", "output_feature_dimension", False),
            ("output_spatial_dimensions", "output_spatial_dimensions", True)]),
    ]


def _enum_classes():
    sh = _Jax.get().stablehlo
    return [getattr(sh, n) for n in (
        "ComparisonDirectionAttr", "ComparisonTypeAttr", "PrecisionAttr",
        "TransposeAttr", "FftTypeAttr", "RngDistributionAttr", "RngAlgorithmAttr",
        "ResultAccuracyModeAttr") if hasattr(sh, n)]


def _flatten_attr(attr, op):
    """A function building `attr`'s flat replacement in the output context,
    or None when `attr` is builtin-only (kept as parsed)."""
    ir = _Jax.get().ir
    # Builtin leaves (constants above all: printing them is slow) stay as is.
    if isinstance(attr.maybe_downcast(), _builtin_leaves()):
        return None
    text = str(attr)
    if "#stablehlo" not in text and "#chlo" not in text and "#vhlo" not in text:
        return None
    for cls in _enum_classes():
        if cls.isinstance(attr):
            keyword = cls(attr).value
            return lambda ctx: ir.StringAttr.get(keyword, ctx)
    for cls, fields in _struct_fields():
        if cls.isinstance(attr):
            typed = cls(attr)
            entries = [(flat, list(getattr(typed, acc)) if is_list
                        else int(getattr(typed, acc))) for flat, acc, is_list in fields]
            return lambda ctx: ir.DictAttr.get(
                {k: (_i64_array(v, ctx) if isinstance(v, list) else _i64(v, ctx))
                 for k, v in entries}, ctx)
    if _isa(attr, ir.ArrayAttr):
        items = list(ir.ArrayAttr(attr))
        builders = [_flatten_attr(a, op) for a in items]
        texts = [str(a) for a in items]

        def build_array(ctx):
            return ir.ArrayAttr.get(
                [b(ctx) if b else ir.Attribute.parse(t, ctx)
                 for b, t in zip(builders, texts)], ctx)
        return build_array
    if _isa(attr, ir.DictAttr):
        d = ir.DictAttr(attr)
        named = [d[i] for i in range(len(d))]
        builders = {n.name: _flatten_attr(n.attr, op) for n in named}
        texts = {n.name: str(n.attr) for n in named}

        def build_dict(ctx):
            return ir.DictAttr.get(
                {k: (builders[k](ctx) if builders[k] else ir.Attribute.parse(texts[k], ctx))
                 for k in texts}, ctx)
        return build_dict
    if text.startswith("#stablehlo<"):
        # An enum without a binding class: `#stablehlo<kind KEYWORD>`.
        inner = text[len("#stablehlo<"):-1].split()
        if len(inner) == 2 and inner[1].isidentifier():
            keyword = inner[1]
            return lambda ctx: ir.StringAttr.get(keyword, ctx)
    # Anything else (e.g. custom_call's #stablehlo.output_operand_alias) stays
    # as written: MLIR 22 reads it as an opaque attribute, and the back stage
    # rejects the op that carries it by name.
    return None


def _builtin_leaves():
    ir = _Jax.get().ir
    return (ir.DenseElementsAttr, ir.DenseResourceElementsAttr, ir.StringAttr,
            ir.IntegerAttr, ir.FloatAttr, ir.BoolAttr, ir.TypeAttr,
            ir.FlatSymbolRefAttr, ir.SymbolRefAttr, ir.UnitAttr,
            ir.DenseI64ArrayAttr, ir.DenseI32ArrayAttr, ir.DenseBoolArrayAttr)


def _plan(op):
    """What to change on `op`: None (nothing) or (names to drop,
    {name: builder of the flat attribute}, every attribute name in order)."""
    ir = _Jax.get().ir
    drop, rebuild = [], {}
    attrs = op.attributes
    for i in range(len(attrs)):
        named = attrs[i]
        name = named.name
        if _dropped(name):
            drop.append(name)
            continue
        if name in ("arg_attrs", "res_attrs") and _isa(named.attr, ir.ArrayAttr):
            rebuild[name] = _filtered_arg_attrs(ir.ArrayAttr(named.attr))
            continue
        builder = _flatten_attr(named.attr, op)
        if builder is not None:
            rebuild[name] = builder
    if not drop and not rebuild:
        return None
    return drop, rebuild, [attrs[i].name for i in range(len(attrs))]


def _filtered_arg_attrs(array):
    """arg_attrs/res_attrs without the dropped (jax./mhlo./...) entries."""
    ir = _Jax.get().ir
    dicts = []
    for d in array:
        d = ir.DictAttr(d)
        dicts.append({d[i].name: str(d[i].attr) for i in range(len(d))
                      if not _dropped(d[i].name)})

    def build(ctx):
        return ir.ArrayAttr.get(
            [ir.DictAttr.get({k: ir.Attribute.parse(v, ctx) for k, v in d.items()}, ctx)
             for d in dicts], ctx)
    build.empty = all(not d for d in dicts)
    return build


def _rewrite(flat_module, plans, ctx):
    """Applies `plans` (post-order, as computed on the jax module) to the
    module re-parsed without the StableHLO dialect: every op with changes is
    recreated with its attributes as a plain dictionary, regions moved over."""
    ir = _Jax.get().ir
    ops = _ops_postorder(flat_module.operation, [])
    if len(ops) != len(plans):
        raise ValueError("internal error: the re-parsed module differs")
    for op, (name, plan) in zip(ops, plans):
        if op.name != name:
            raise ValueError(f"internal error: expected '{name}', got '{op.name}'")
        if plan is None:
            continue
        drop, rebuild, names = plan
        if op.name == "builtin.module":
            for n in drop:
                del op.attributes[n]
            continue
        attrs = {}
        for n in names:
            if n in drop:
                continue
            if n in rebuild:
                b = rebuild[n]
                if getattr(b, "empty", False):
                    continue
                attrs[n] = b(ctx)
            else:
                attrs[n] = op.attributes[n]
        new = ir.Operation.create(
            op.name, results=[r.type for r in op.results], operands=list(op.operands),
            attributes=attrs, regions=len(op.regions), loc=op.location,
            ip=ir.InsertionPoint(op))
        for old_region, new_region in zip(op.regions, new.regions):
            for block in list(old_region.blocks):
                block.append_to(new_region)
        for old_result, new_result in zip(op.results, new.results):
            old_result.replace_all_uses_with(new_result)
        op.erase()


def to_flat(source):
    """StableHLO in any accepted form -> flat-form text (see the module doc).

    `source`: StableHLO text (str, or bytes holding text), MLIR bytecode or a
    VHLO portable artifact (bytes), a `jax.export` serialisation (bytes), a
    `jax.export.Exported`, or a path (str or pathlib) to a file with any of
    those. Raises ValueError with a one-line message for bad input.
    """
    jx = _Jax.get()
    ir = jx.ir
    ctx = jx.jax_mlir.make_ir_context()
    # Diagnostics become exceptions' messages, never stderr output.
    diagnostics = []

    def on_diagnostic(d):
        diagnostics.append(d.message)
        return True
    ctx.attach_diagnostic_handler(on_diagnostic)
    try:
        module = _parse_module(source, ctx)
    except ValueError as e:
        if "bytecode" in str(e) and diagnostics and diagnostics[0] not in str(e):
            raise ValueError(f"{_one_line(e)} ({_one_line(diagnostics[0])})") from None
        raise
    _run_passes(module, ctx)
    if not module.operation.verify():
        raise ValueError("the StableHLO module does not verify")

    plans = []
    for op in _ops_postorder(module.operation, []):
        _check_op(op)
        plans.append((op.name, _plan(op)))

    text = module.operation.get_asm(print_generic_op_form=True,
                                    enable_debug_info=True, assume_verified=True)
    flat_ctx = ir.Context()
    flat_ctx.allow_unregistered_dialects = True
    try:
        flat = ir.Module.parse(text, flat_ctx)
    except ir.MLIRError as e:
        raise ValueError("internal error: cannot re-parse the generic form: " +
                         _diagnostic(e)) from None
    _rewrite(flat, plans, flat_ctx)
    # Module-level ops of dropped dialects (sdy.mesh) go too.
    for op in list(flat.body.operations):
        if op.operation.name.startswith(("sdy.", "mhlo.")):
            op.operation.erase()
    body = flat.operation.get_asm(print_generic_op_form=True,
                                  enable_debug_info=True, assume_verified=True)
    return FLAT_HEADER + "\n" + body


# --- the back stage ----------------------------------------------------------------------
def importer_path():
    """The `mixir-import-stablehlo` tool: $MIXIR_IMPORT_STABLEHLO, the build
    tree's bin/ next to this package, or PATH."""
    from ._runtime import CompileError
    from ._tools import tool_path
    found = tool_path("mixir-import-stablehlo", "MIXIR_IMPORT_STABLEHLO")
    if found:
        return found
    raise CompileError("mixir-import-stablehlo was not found (build MixIR or set "
                       "MIXIR_IMPORT_STABLEHLO)")


def _run_importer(flat_text, raise_, report_raising=False):
    from ._runtime import CompileError
    with tempfile.TemporaryDirectory(prefix="mixir-shlo-") as tmp:
        path = os.path.join(tmp, "flat.mlir")
        with open(path, "w") as f:
            f.write(flat_text)
        cmd = [importer_path(), path, "-o", "-"]
        if not raise_:
            cmd.append("--no-raise")
        if report_raising:
            cmd.append("--report-raising")
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
        except OSError as e:
            raise CompileError(f"cannot run {cmd[0]}: {e.strerror}") from None
    if r.returncode != 0:
        raise CompileError(_one_line(r.stderr or f"{cmd[0]} exited with {r.returncode}"))
    if report_raising:
        sys.stderr.write(r.stderr)
    return r.stdout


def import_stablehlo(source, raise_=True, report_raising=False):
    """Imports StableHLO (text, bytes, a file or a `jax.export.Exported`)
    into MixIR: the front stage, then `mixir-import-stablehlo`. Returns the
    imported MLIR text (mix + upstream dialects) for `mixir.compile`. Errors
    raise `mixir.CompileError` with a one-line message. `report_raising=True`
    writes to sys.stderr one line per loop or attention chain that raising
    left as it is, with the reason (the tool's --report-raising)."""
    from ._runtime import CompileError
    try:
        flat = to_flat(source)
    except ValueError as e:
        raise CompileError(_one_line(e)) from None
    return _run_importer(flat, raise_, report_raising)


def export(fn, *example_args, **export_kwargs):
    """`jax.export.export(jax.jit(fn, keep_unused=True))` on the shapes and
    dtypes of `example_args` (pytrees of arrays or `jax.ShapeDtypeStruct`s)."""
    jax = _Jax.get().jax

    def spec(a):
        if isinstance(a, jax.ShapeDtypeStruct):
            return a
        a = a if hasattr(a, "shape") and hasattr(a, "dtype") else jax.numpy.asarray(a)
        return jax.ShapeDtypeStruct(tuple(a.shape), a.dtype)
    specs = jax.tree_util.tree_map(spec, example_args)
    # keep_unused: the compiled function takes every argument, used or not.
    return jax.export.export(jax.jit(fn, keep_unused=True), **export_kwargs)(*specs)


def from_jax(fn, *example_args, raise_=True, report_raising=False, **export_kwargs):
    """Exports the JAX function `fn` for `example_args` (arrays or
    `jax.ShapeDtypeStruct`s; static shapes), imports it and returns the MLIR
    text for `mixir.compile`. `raise_=False` skips raising loops and written-
    out attention to `mix` ops; `report_raising=True` writes why each loop or
    attention chain left as it is stayed (see `import_stablehlo`). Errors
    raise `mixir.CompileError`."""
    return import_stablehlo(export(fn, *example_args, **export_kwargs), raise_=raise_,
                            report_raising=report_raising)


# --- command line --------------------------------------------------------------------------
def main(argv=None):
    """python3 -m mixir.stablehlo IN -o OUT: writes the flat form of IN
    ("-" reads stdin / writes stdout). One-line errors, exit status 1."""
    import argparse
    parser = argparse.ArgumentParser(
        prog="python3 -m mixir.stablehlo",
        description="Writes the flat form of a StableHLO program (text, "
                    "bytecode, VHLO or jax.export serialisation) for "
                    "mixir-import-stablehlo.")
    parser.add_argument("input", help="input file ('-' for stdin)")
    parser.add_argument("-o", "--output", default="-", help="output file ('-': stdout)")
    args = parser.parse_args(argv)
    prog = "mixir.stablehlo"
    try:
        if args.input == "-":
            source = sys.stdin.buffer.read()
        else:
            source = pathlib.Path(args.input)
        flat = to_flat(source)
        if args.output == "-":
            sys.stdout.write(flat)
            sys.stdout.flush()
        else:
            with open(args.output, "w") as f:
                f.write(flat)
    except (ValueError, ImportError, OSError) as e:
        print(f"{prog}: error: {_one_line(e)}", file=sys.stderr)
        return 1
    except Exception as e:  # noqa: BLE001 - never a traceback for bad input
        print(f"{prog}: error: {type(e).__name__}: {_one_line(e)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
