"""Shared helpers for the ONNX importer tests: build models with the onnx
helper API, import them with mixir-import-onnx, compile with mixir.compile,
run onnxruntime (or onnx.reference) on the same inputs."""

import subprocess

import numpy as np
from needs import need

need("onnx")
import onnx
from onnx import TensorProto as TP
from onnx import helper as h
from onnx import numpy_helper as nh

import mixir
from mixir._tools import tool_path

F32 = TP.FLOAT
I64 = TP.INT64

# MIXERS.md: f32 rel-RMS limits (the delta rule's triangular solve loses more).
TOL = 1e-5
TOL_DELTA = 1e-4


def importer_path():
    found = tool_path("mixir-import-onnx", "MIXIR_IMPORT_ONNX")
    if found:
        return found
    raise RuntimeError("mixir-import-onnx was not built (protobuf/onnx.proto "
                       "missing? run scripts/setup.sh)")


def run_importer(path, *args):
    return subprocess.run([importer_path(), str(path), *args],
                          capture_output=True, text=True, timeout=600)


def vi(name, shape, elem=F32):
    return h.make_tensor_value_info(name, elem, shape)


def init(name, array):
    return nh.from_array(np.asarray(array), name)


def make_model(nodes, inputs, outputs, inits=(), opset=18, domains=(),
               name="main"):
    graph = h.make_graph(nodes, name, inputs, outputs, list(inits))
    opsets = [h.make_opsetid("", opset)] + [h.make_opsetid(d, v) for d, v in domains]
    return h.make_model(graph, opset_imports=opsets, ir_version=10)


def import_model(model, tmp_path, *args, name="model.onnx"):
    path = tmp_path / name
    onnx.save(model, str(path))
    r = run_importer(path, "-o", "-", *args)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    return r.stdout


def compile_and_run(text, feeds, input_names):
    module = mixir.compile(text)
    assert len(module.functions) == 1
    fn = next(iter(module.functions.values()))
    out = fn(*[feeds[n] for n in input_names])
    return list(out) if isinstance(out, tuple) else [out]


def ort_run(model, feeds):
    ort = need("onnxruntime")
    sess = ort.InferenceSession(model.SerializeToString(),
                                providers=["CPUExecutionProvider"])
    return sess.run(None, feeds)


def reference_run(model, feeds):
    from onnx.reference import ReferenceEvaluator
    return ReferenceEvaluator(model).run(None, feeds)


def rel_rms(ref, out):
    """mixir.reference.rel_rms after checking that the shapes agree (0 for
    empty arrays)."""
    assert np.shape(ref) == np.shape(out), (np.shape(ref), np.shape(out))
    return mixir.reference.rel_rms(ref, out) if np.size(ref) else 0.0


def check_against(model, feeds, tmp_path, *, tol=TOL, oracle="ort", record=None,
                  case="", import_args=()):
    """Imports, compiles and runs `model`; compares every output with the
    oracle (onnxruntime or onnx.reference). Returns the imported text."""
    text = import_model(model, tmp_path, *import_args)
    names = [i.name for i in model.graph.input
             if i.name not in {t.name for t in model.graph.initializer}]
    outs = compile_and_run(text, feeds, names)
    refs = ort_run(model, feeds) if oracle == "ort" else reference_run(model, feeds)
    assert len(outs) == len(refs)
    for i, (ref, out) in enumerate(zip(refs, outs)):
        if np.issubdtype(np.asarray(ref).dtype, np.floating):
            err = rel_rms(ref, out)
            if record is not None:
                dtype = {"float32": "f32", "float16": "f16"}.get(
                    str(np.asarray(ref).dtype), str(np.asarray(ref).dtype))
                record("onnx " + (case or model.graph.node[0].op_type),
                       dtype, f"out{i}", err, tol, oracle)
            assert err <= tol, f"output {i}: rel-RMS {err:.3e} > {tol:.0e}"
        else:
            np.testing.assert_array_equal(np.asarray(out), np.asarray(ref))
    return text


def rng(seed=0):
    return np.random.default_rng(seed)


def randn(r, *shape):
    return r.standard_normal(shape).astype(np.float32)
