"""The front stage alone (python/mixir/stablehlo.py, no C++ tool): every
input form, the attribute flattening the flat-form contract asks for, and
that MLIR 22's mlir-opt parses the result. Covers every op family the back
stage converts."""

import re
import subprocess
import sys

from needs import need

need("jax")
import jax
import jax.numpy as jnp
import pytest
from jax import lax

import jax_mixers as jm
import jax_ops as ops
from mixir import stablehlo as shlo
from shlo_helpers import check_parses, mlir_opt_path, python_env

B, T, H, K, V = 2, 37, 2, 20, 12


def sds(*shape, dtype=jnp.float32):
    return jax.ShapeDtypeStruct(shape, dtype)


QKV = (sds(B, T, H, K), sds(B, T, H, K), sds(B, T, H, V))


FAMILIES = [
    ("elementwise", ops.elementwise, (sds(3, 5), sds(3, 5))),
    ("compare_select", ops.compare_select, (sds(3, 5), sds(3, 5))),
    ("iota_broadcast", ops.iota_broadcast, (sds(2, 7, 3),)),
    ("reshape_transpose", ops.reshape_transpose, (sds(2, 6, 4),)),
    ("slices", ops.slices, (sds(2, 20, 3), sds(dtype=jnp.int32))),
    ("concat_pad", ops.concat_pad, (sds(2, 4, 3), sds(2, 5, 3))),
    ("dot_general", ops.dot_general, (sds(2, 3, 4), sds(2, 4, 4))),
    ("reduce", ops.reduce, (sds(2, 7, 5),)),
    ("convert", ops.convert, (sds(4, 6),)),
    ("while", ops.fori, (sds(4, 6),)),
    ("gather_scatter", ops.gather_scatter, (sds(8, 3), sds(4, dtype=jnp.int32))),
    ("conv", ops.conv, (sds(2, 9, 3), sds(3, 3, 4))),
    ("chlo", ops.erf_chlo, (sds(5,),)),
    ("gla_quadratic", jm.gla_quadratic, QKV + (sds(B, T, H, K),)),
    ("deltanet_scan", jm.gated_deltanet_scan, QKV + (sds(B, T, H), sds(B, T, H))),
    ("linear_scan", jm.linear_attention_scan, QKV),
    ("sliding_window", jm.sliding_window_attention, QKV),
    ("composite_la", lambda q, k, v, g: jm.composite_linear_attention(q, k, v, g, gate="vector"),
     QKV + (sds(B, T, H, K),)),
    ("composite_delta", lambda q, k, v, b: jm.composite_delta_rule(
        q, k, v, b, qk_l2norm=True, allow_neg_eigval=True), QKV + (sds(B, T, H),)),
    ("composite_attention", lambda q, k, v: jm.composite_attention(q, k, v, window=5), QKV),
    ("composite_scan", lambda x, g: jm.composite_scan(x, g), (sds(2, T, 6), sds(2, T, 6))),
]


def export(fn, specs):
    return jax.export.export(jax.jit(fn))(*specs)


def op_names(flat):
    return sorted(re.findall(r'"((?:stablehlo|func)\.[a-z_]+)"\(', flat))


@pytest.mark.parametrize("name,fn,specs", FAMILIES, ids=[f[0] for f in FAMILIES])
def test_families_parse_with_mlir22(name, fn, specs, tmp_path):
    flat = shlo.to_flat(export(fn, specs))
    check_parses(flat, tmp_path)
    body = flat.split("\n", 1)[1]
    # Everything is generic, nothing StableHLO-typed or dropped is left.
    assert "#stablehlo" not in body and "#chlo" not in body
    assert not re.search(r'"chlo\.[a-z_]+"\(', body)  # no CHLO ops
    for dropped in ("precision_config", "jax.", "mhlo.", "result_accuracy"):
        assert dropped not in body, dropped


def test_attributes_flattened(tmp_path):
    def f(a, b):
        c = jnp.einsum("bij,bjk->bik", a, b, precision=lax.Precision.HIGHEST)
        return jnp.where(c > 0, c, 0.0)
    flat = shlo.to_flat(export(f, (sds(2, 3, 4), sds(2, 4, 5))))
    check_parses(flat, tmp_path)
    assert ("dot_dimension_numbers = {lhs_batching_dimensions = array<i64: 0>, "
            "lhs_contracting_dimensions = array<i64: 2>, rhs_batching_dimensions = "
            "array<i64: 0>, rhs_contracting_dimensions = array<i64: 1>}") in flat
    assert re.search(r'compare_type = "FLOAT", comparison_direction = "GT"', flat)
    assert "precision_config" not in flat
    assert flat.count("\n") > 3 and "loc(" in flat  # locations are kept


def test_dot_without_batch_has_all_four_keys(tmp_path):
    flat = shlo.to_flat(export(lambda a, b: a @ b, (sds(3, 4), sds(4, 5))))
    check_parses(flat, tmp_path)
    assert "lhs_batching_dimensions = array<i64>" in flat
    assert "rhs_batching_dimensions = array<i64>" in flat


def test_gather_scatter_conv_dictionaries(tmp_path):
    flat = shlo.to_flat(export(ops.gather_scatter, (sds(8, 3), sds(4, dtype=jnp.int32))))
    check_parses(flat, tmp_path)
    assert re.search(r"dimension_numbers = \{collapsed_slice_dims = array<i64: 0>, "
                     r"index_vector_dim = 1 : i64, offset_dims = array<i64: 1>, "
                     r"operand_batching_dims = array<i64>, start_index_map = "
                     r"array<i64: 0>, start_indices_batching_dims = array<i64>\}", flat)
    assert "scatter_dims_to_operand_dims = array<i64: 0>" in flat
    flat = shlo.to_flat(export(ops.conv, (sds(2, 9, 3), sds(3, 3, 4))))
    check_parses(flat, tmp_path, "conv.mlir")
    assert ("dimension_numbers = {input_batch_dimension = 0 : i64, input_feature_dimension"
            " = 2 : i64, input_spatial_dimensions = array<i64: 1>") in flat


def test_composite_attributes_kept(tmp_path):
    flat = shlo.to_flat(export(lambda q, k, v: jm.composite_attention(q, k, v, window=5), QKV))
    check_parses(flat, tmp_path)
    assert 'name = "mixir.attention"' in flat
    assert re.search(r"composite_attributes = \{causal = true, scale = [0-9.e+-]+ : f64, "
                     r"window = 5 : i64\}", flat)
    assert "decomposition = @mixir.attention" in flat


def test_chlo_is_legalised(tmp_path):
    text = """
func.func @main(%a: tensor<4xf32>, %b: tensor<4xf32>) -> tensor<4xf32> {
  %0 = chlo.broadcast_add %a, %b : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %1 = chlo.tan %0 : tensor<4xf32> -> tensor<4xf32>
  return %1 : tensor<4xf32>
}"""
    flat = shlo.to_flat(text)
    check_parses(flat, tmp_path)
    assert not re.search(r'"chlo\.[a-z_]+"\(', flat) and '"stablehlo.add"' in flat


# --- input forms ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def exported():
    return export(jm.gated_deltanet_scan, QKV + (sds(B, T, H), sds(B, T, H)))


def _bytecode(text):
    """Plain (not VHLO) MLIR bytecode of a StableHLO module."""
    import io
    from jax._src.interpreters import mlir as jax_mlir
    from jaxlib.mlir import ir
    ctx = jax_mlir.make_ir_context()
    buf = io.BytesIO()
    ir.Module.parse(text, ctx).operation.write_bytecode(buf)
    return buf.getvalue()


FORMS = ["exported", "text", "text_bytes", "vhlo", "bytecode", "serialized",
         "text_file", "vhlo_file", "serialized_file_str"]


@pytest.mark.parametrize("form", FORMS)
def test_input_forms(form, exported, tmp_path):
    text = exported.mlir_module()
    source = {
        "exported": lambda: exported,
        "text": lambda: text,
        "text_bytes": lambda: text.encode(),
        "vhlo": lambda: exported.mlir_module_serialized,
        "bytecode": lambda: _bytecode(text),
        "serialized": lambda: exported.serialize(),
    }.get(form)
    if source is None:
        data = {"text_file": text.encode(), "vhlo_file": exported.mlir_module_serialized,
                "serialized_file_str": bytes(exported.serialize())}[form]
        path = tmp_path / f"in.{form}"
        path.write_bytes(data)
        source = (lambda: str(path)) if form.endswith("_str") else (lambda: path)
    flat = shlo.to_flat(source())
    check_parses(flat, tmp_path)
    assert op_names(flat) == op_names(shlo.to_flat(text))
    assert '"stablehlo.while"' in flat


def test_serialized_round_trip(exported, tmp_path):
    again = jax.export.deserialize(exported.serialize())
    assert op_names(shlo.to_flat(again)) == op_names(shlo.to_flat(exported))


# --- refusals: one-line ValueErrors ----------------------------------------------------------
def _one_line_error(source, *needles):
    with pytest.raises(ValueError) as info:
        shlo.to_flat(source)
    msg = str(info.value)
    assert "\n" not in msg, msg
    for n in needles:
        assert n in msg, msg
    return msg


def test_malformed_text():
    _one_line_error("func.func @main(%a: tensor<4xf32>) -> tensor<4xf32> {\n"
                    "  %0 = stablehlo.add %a, : tensor<4xf32>\n}", "cannot parse")


def test_truncated_bytecode(exported):
    _one_line_error(exported.mlir_module_serialized[:60], "bytecode")


def test_garbage_bytes():
    _one_line_error(bytes(range(256)) * 4, "neither")


def test_missing_file(tmp_path):
    _one_line_error(str(tmp_path / "nope.mlir"), "cannot read", "nope.mlir")


def test_token_refused():
    text = """
func.func @main(%a: tensor<4xf32>) -> tensor<4xf32> {
  %t = stablehlo.after_all : !stablehlo.token
  return %a : tensor<4xf32>
}"""
    _one_line_error(text, "stablehlo.after_all", "token")


def test_tuple_refused():
    text = """
func.func @main(%a: tensor<4xf32>) -> tensor<4xf32> {
  %t = stablehlo.tuple %a, %a : tuple<tensor<4xf32>, tensor<4xf32>>
  %x = stablehlo.get_tuple_element %t[0] : (tuple<tensor<4xf32>, tensor<4xf32>>) -> tensor<4xf32>
  return %x : tensor<4xf32>
}"""
    _one_line_error(text, "stablehlo.tuple", "tuple")


def test_bounded_encoding_refused():
    text = """
func.func @main(%a: tensor<?xf32, #stablehlo.bounds<8>>) -> tensor<?xf32, #stablehlo.bounds<8>> {
  %0 = stablehlo.abs %a : tensor<?xf32, #stablehlo.bounds<8>>
  return %0 : tensor<?xf32, #stablehlo.bounds<8>>
}"""
    _one_line_error(text, "encoding")


def test_dynamic_shapes_refused():
    (b,) = jax.export.symbolic_shape("b")
    e = jax.export.export(jax.jit(lambda x: jnp.sin(x) * 2))(sds(b, 4))
    _one_line_error(e, "dynamic shapes")


def test_flat_input_refused():
    flat = shlo.to_flat("func.func @main(%a: tensor<4xf32>) -> tensor<4xf32> {\n"
                        "  return %a : tensor<4xf32>\n}")
    _one_line_error(flat, "flat form")


# --- command line ------------------------------------------------------------------------------
def _cli(*args):
    return subprocess.run([sys.executable, "-m", "mixir.stablehlo", *map(str, args)],
                          capture_output=True, text=True, timeout=300, env=python_env())


def test_cli_writes_flat(exported, tmp_path):
    src = tmp_path / "in.bin"
    src.write_bytes(exported.serialize())
    out = tmp_path / "out.mlir"
    r = _cli(src, "-o", out)
    assert r.returncode == 0, r.stderr
    check_parses(out.read_text(), tmp_path)
    r = _cli(src, "-o", "-")
    assert r.returncode == 0 and r.stdout.startswith(shlo.FLAT_HEADER)


@pytest.mark.parametrize("content", [b"module {\n  func.func @f(\n", b"\x00\x01garbage" * 10,
                                     b"ML\xefR\x00\x01\x02"])
def test_cli_one_line_errors(content, tmp_path):
    src = tmp_path / "bad.mlir"
    src.write_bytes(content)
    r = _cli(src, "-o", tmp_path / "out.mlir")
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mixir.stablehlo: error:"), r.stderr
    assert "Traceback" not in r.stderr


def test_cli_missing_input(tmp_path):
    r = _cli(tmp_path / "missing.mlir", "-o", "-")
    assert r.returncode == 1 and "cannot read" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_custom_call_passes_through(tmp_path):
    """custom_call is the back stage's to reject (naming its target)."""
    def fn(x):
        return jax.ffi.ffi_call("my_kernel", jax.ShapeDtypeStruct(x.shape, x.dtype))(x)
    e = jax.export.export(jax.jit(fn), disabled_checks=[
        jax.export.DisabledSafetyCheck.custom_call("my_kernel")])(sds(4))
    flat = shlo.to_flat(e)
    check_parses(flat, tmp_path)
    assert '"stablehlo.custom_call"' in flat and 'call_target_name = "my_kernel"' in flat


def test_locations_survive_mlir22(tmp_path):
    """MLIR 22 reads JAX's locations (names, call sites, file ranges)."""
    flat = shlo.to_flat(export(jm.sliding_window_attention, QKV))
    path = tmp_path / "flat.mlir"
    path.write_text(flat)
    r = subprocess.run([mlir_opt_path(), "--allow-unregistered-dialect",
                        "--mlir-print-debuginfo", str(path)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "jax_mixers.py" in r.stdout and "callsite(" in r.stdout
    assert "sliding_window_attention" in r.stdout


def test_foreign_dialect_refused():
    text = """
func.func @main(%a: tensor<4xf32>) -> tensor<4xf32> {
  %0 = arith.addf %a, %a : tensor<4xf32>
  return %0 : tensor<4xf32>
}"""
    _one_line_error(text, "arith.addf", "not a StableHLO op")


def test_cli_without_jax(tmp_path):
    """Without jax the front stage says what to install, in one line."""
    src = tmp_path / "in.mlir"
    src.write_text("func.func @main() {\n  return\n}\n")
    code = ("import sys; sys.modules['jax'] = None; sys.modules['jaxlib'] = None; "
            "from mixir import stablehlo; "
            f"sys.exit(stablehlo.main([{str(src)!r}, '-o', '-']))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       timeout=300, env=python_env())
    assert r.returncode == 1
    assert r.stderr.strip() == ("mixir.stablehlo: error: the StableHLO front stage needs "
                                "jax and jaxlib (pip install jax jaxlib)"), r.stderr
