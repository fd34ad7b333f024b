"""mixir-import-stablehlo's one-line errors and non-zero exit (malformed text,
truncated bytecode, unsupported ops, custom_call), the same errors through
mixir.from_jax / mixir.import_stablehlo (mixir.CompileError), and the input
forms the tool and import_stablehlo accept."""

from needs import need

need("jax")
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax

import jax_mixers as jm
import mixir
from mixir import stablehlo as shlo
from shlo_helpers import TOL, compile_and_run, randn, rel_rms, rng, run_importer


def sds(*shape, dtype=jnp.float32):
    return jax.ShapeDtypeStruct(shape, dtype)


def _sort(x):
    return jnp.sort(x, axis=-1)


def _cumlogsumexp(x):
    return lax.cumlogsumexp(x, axis=0)


CUSTOM_CALL = """
func.func @main(%a: tensor<4xf32>) -> tensor<4xf32> {
  %0 = stablehlo.custom_call @foo_kernel(%a) {has_side_effect = false}
      : (tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}
"""


def assert_one_line_failure(r, *needles):
    assert r.returncode != 0, r.stdout[:2000]
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, r.stderr
    assert "Traceback" not in r.stderr
    for n in needles:
        assert n in lines[0], lines[0]
    return lines[0]


def test_tool_malformed_text(tmp_path):
    path = tmp_path / "bad.mlir"
    path.write_text("func.func @main(%a: tensor<4xf32>) -> tensor<4xf32> {\n"
                    "  %0 = stablehlo.add %a, : tensor<4xf32>\n}\n")
    assert_one_line_failure(run_importer(path, "-o", "-"))


def test_tool_truncated_bytecode(tmp_path):
    e = jax.export.export(jax.jit(jnp.sin))(sds(4))
    path = tmp_path / "truncated.mlirbc"
    path.write_bytes(e.mlir_module_serialized[:50])
    assert_one_line_failure(run_importer(path, "-o", "-"))


@pytest.mark.parametrize("fn,opname", [(_sort, "stablehlo.sort"),
                                       (_cumlogsumexp, "stablehlo.reduce_window")])
def test_tool_unsupported_op(fn, opname, tmp_path):
    path = tmp_path / "unsupported.bin"
    path.write_bytes(jax.export.export(jax.jit(fn))(sds(6, 5)).serialize())
    assert_one_line_failure(run_importer(path, "-o", "-"), opname)


def test_tool_custom_call(tmp_path):
    path = tmp_path / "custom.mlir"
    path.write_text(CUSTOM_CALL)
    assert_one_line_failure(run_importer(path, "-o", "-"), "foo_kernel")


def test_tool_custom_call_flat(tmp_path):
    """The same file already in the flat form goes straight to the back stage."""
    path = tmp_path / "custom.flat.mlir"
    path.write_text(shlo.to_flat(CUSTOM_CALL))
    assert_one_line_failure(run_importer(path, "-o", "-"), "foo_kernel")


def test_from_jax_unsupported_op_raises_compile_error():
    with pytest.raises(mixir.CompileError) as info:
        mixir.from_jax(_sort, sds(6, 5))
    assert "stablehlo.sort" in str(info.value) and "\n" not in str(info.value)


def test_import_stablehlo_custom_call_raises_compile_error():
    with pytest.raises(mixir.CompileError) as info:
        mixir.import_stablehlo(CUSTOM_CALL)
    assert "foo_kernel" in str(info.value) and "\n" not in str(info.value)


def test_import_stablehlo_front_stage_error_is_compile_error():
    with pytest.raises(mixir.CompileError) as info:
        mixir.import_stablehlo("func.func @main( {\n")
    assert "\n" not in str(info.value)


# --- input forms through the tool and import_stablehlo -----------------------------------
def _la(q, k, v):
    """A mixir.* composite: becomes the mix op whatever else is raised."""
    return jm.composite_linear_attention(q, k, v)


@pytest.fixture(scope="module")
def la_case():
    r = rng(90)
    args = [randn(r, 1, 19, 2, 8), randn(r, 1, 19, 2, 8, scale=0.5), randn(r, 1, 19, 2, 6)]
    e = jax.export.export(jax.jit(_la))(*[sds(*a.shape) for a in args])
    return e, args, np.asarray(jax.jit(_la)(*args))


@pytest.mark.parametrize("form", ["text", "vhlo", "serialized", "flat"])
def test_tool_input_forms(form, la_case, tmp_path):
    e, args, ref = la_case
    data = {"text": lambda: e.mlir_module().encode(),
            "vhlo": lambda: e.mlir_module_serialized,
            "serialized": lambda: bytes(e.serialize()),
            "flat": lambda: shlo.to_flat(e).encode()}[form]()
    path = tmp_path / f"in.{form}"
    path.write_bytes(data)
    out = tmp_path / "out.mlir"
    r = run_importer(path, "-o", str(out))
    assert r.returncode == 0, r.stderr
    text = out.read_text()
    assert "mix.linear_attention" in text
    (o,) = compile_and_run(text, args)
    assert rel_rms(ref, o) <= TOL


@pytest.mark.parametrize("form", ["exported", "text", "bytes", "path"])
def test_import_stablehlo_forms(form, la_case, tmp_path):
    e, args, ref = la_case
    if form == "path":
        path = tmp_path / "in.mlirbc"
        path.write_bytes(e.mlir_module_serialized)
        source = path
    else:
        source = {"exported": e, "text": e.mlir_module(),
                  "bytes": bytes(e.serialize())}[form]
    for raise_ in (True, False):
        text = mixir.import_stablehlo(source, raise_=raise_)
        assert "mix.linear_attention" in text
        (o,) = compile_and_run(text, args)
        assert rel_rms(ref, o) <= TOL


def test_from_jax_ffi_call_names_the_target():
    """A custom call as JAX users write it (jax.ffi.ffi_call)."""
    def fn(x):
        return jax.ffi.ffi_call("my_fused_kernel", jax.ShapeDtypeStruct(x.shape, x.dtype))(
            x, alpha=1.0)
    checks = [jax.export.DisabledSafetyCheck.custom_call("my_fused_kernel")]
    with pytest.raises(mixir.CompileError) as info:
        mixir.from_jax(fn, sds(4), disabled_checks=checks)
    assert "my_fused_kernel" in str(info.value) and "\n" not in str(info.value)


def test_from_jax_shape_dtype_structs(la_case):
    """Example arguments as ShapeDtypeStructs import the same program as arrays."""
    _, args, _ = la_case
    specs = [sds(*a.shape) for a in args]
    assert mixir.from_jax(_la, *specs) == mixir.from_jax(_la, *args)
