"""Damaged ONNX models never crash mixir-import-onnx: each either imports or
fails with exit code 1 and one line on stderr naming the tool. The seeds are
the models the other tests of this folder build (single standard nodes, the
LinearAttention nodes, written-out attention, the GLA and Gated DeltaNet
blocks, LSTM and GRU nodes); a seeded generator changes them at the protobuf level (shapes,
attributes, node inputs, edge names, initializer bytes) or damages the
serialized file itself (flipped or cut bytes)."""

import random
import subprocess

import numpy as np
import pytest
from needs import need

need("onnx")
from onnx import AttributeProto as AP
from onnx import TensorProto as TP
from onnx import helper as h

from onnx_blocks import gated_deltanet_block, gla_block
from onnx_helpers import importer_path, init, make_model, run_importer, vi
from test_mixers import LA_CASES, linear_attention_model
from test_onnx_rnn import rnn_model
from test_raise_and_errors import linear_model, one_line_error
from test_standard_ops import CASES


def seeds():
    models = [make()[0] for make in CASES.values()]
    models += [linear_attention_model(*case)[0] for case in LA_CASES]
    models.append(linear_model(np.tril(np.ones((40, 40)))))
    models.append(gla_block(1, 7, 12, 2, 4, 6))
    models.append(gated_deltanet_block(1, 7, 12, 2, 4, 6))
    small = dict(hidden=4, t=3, batch=2, features=5)
    models += [rnn_model("LSTM", direction="bidirectional", states=("h", "c"), **small)[0],
               rnn_model("GRU", direction="reverse", layout=1, states=("h",), **small)[0],
               rnn_model("LSTM", extra=[(4, "lens", np.full(2, 3, np.int32)),
                                        (7, "P", np.zeros((1, 12), np.float32))], **small)[0],
               rnn_model("GRU", bias=False, **small)[0]]
    return models


ODD_INTS = [0, -1, 1, 3, 2**31, -2**40, 2**62]


def damage_value_info(graph, rng):
    infos = list(graph.input) + list(graph.output)
    dims = [d for i in infos for d in i.type.tensor_type.shape.dim]
    if infos and rng.random() < 0.2:  # a scalar, or one more dimension
        shape = rng.choice(infos).type.tensor_type.shape
        if rng.random() < 0.6:
            del shape.dim[:]
        else:
            shape.dim.add().dim_value = rng.choice([1, 2])
    elif dims:
        dim = rng.choice(dims)
        dim.dim_value = rng.choice(ODD_INTS[:4] + [7])
        if rng.random() < 0.3:
            dim.dim_param = "n"
    elif infos:
        rng.choice(infos).type.tensor_type.elem_type = rng.choice([0, 7, 10, 16, 99])


def damage_initializer(graph, rng):
    if not graph.initializer:
        return damage_value_info(graph, rng)
    t = rng.choice(graph.initializer)
    kind = rng.random()
    if kind < 0.4 and t.dims:
        t.dims[rng.randrange(len(t.dims))] = rng.choice(ODD_INTS)
    elif kind < 0.7 and t.raw_data:
        t.raw_data = t.raw_data[:rng.randrange(len(t.raw_data))]
    elif kind < 0.85:
        t.data_type = rng.choice([0, 2, 7, 8, 11, 99])
    else:
        t.dims.append(rng.choice([0, 2, 5]))


def damage_attribute(graph, rng):
    attrs = [a for n in graph.node for a in n.attribute]
    if not attrs:
        return damage_node_inputs(graph, rng)
    a = rng.choice(attrs)
    if rng.random() < 0.6:
        if a.type == AP.INTS and a.ints:
            a.ints[rng.randrange(len(a.ints))] = rng.choice(ODD_INTS)
        else:
            a.type, a.i = AP.INT, rng.choice(ODD_INTS)
    else:
        a.type = rng.choice([AP.FLOAT, AP.STRING, AP.INTS, AP.TENSOR, AP.GRAPH])
        a.f, a.s = 0.5, b"nonsense"


def damage_node_inputs(graph, rng):
    node = rng.choice(graph.node)
    kind = rng.random()
    if kind < 0.35 and node.input:
        del node.input[rng.randrange(len(node.input))]
    elif kind < 0.6 and node.input:
        node.input.append(rng.choice(node.input))
    elif kind < 0.75:
        node.input.append("")
    elif node.input:
        node.input[rng.randrange(len(node.input))] = "undefined_value"
    else:
        node.output[0] = "undefined_value"


def damage_edges(graph, rng):
    node = rng.choice(graph.node)
    if rng.random() < 0.5 or not graph.output:
        node.output[rng.randrange(len(node.output))] = rng.choice(["", "dup", "q"])
    else:
        graph.output[0].name = "nowhere"


MODEL_DAMAGE = [damage_value_info, damage_initializer, damage_attribute,
                damage_node_inputs, damage_edges]


def damage_bytes(data, rng):
    data = bytearray(data)
    if rng.random() < 0.4:
        return bytes(data[:rng.randrange(len(data))])
    for _ in range(rng.randint(1, 6)):
        data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
    return bytes(data)


def test_damaged_models_never_crash(tmp_path):
    models = seeds()
    assert len(models) >= 30
    rng = random.Random(20261206)
    outcomes = {"imported": 0, "rejected": 0}
    failures = []
    for i in range(240):
        seed = models[i % len(models)]
        model = type(seed)()
        model.CopyFrom(seed)
        for _ in range(rng.randint(1, 2)):
            rng.choice(MODEL_DAMAGE)(model.graph, rng)
        data = model.SerializeToString()
        if rng.random() < 0.25:
            data = damage_bytes(data, rng)
        path = tmp_path / f"case{i}.onnx"
        path.write_bytes(data)
        r = subprocess.run([importer_path(), str(path), "-o", str(tmp_path / "out.mlir")],
                           capture_output=True, text=True, timeout=60)
        lines = r.stderr.strip().split("\n")
        if r.returncode == 0:
            outcomes["imported"] += 1
        elif (r.returncode == 1 and len(lines) == 1
              and lines[0].startswith("mixir-import-onnx: ")):
            outcomes["rejected"] += 1
        else:
            failures.append((i, seed.graph.node[0].op_type, r.returncode, r.stderr[-300:]))
    assert not failures, failures
    # The generator must exercise both outcomes to mean anything.
    assert outcomes["rejected"] > 40 and outcomes["imported"] > 10, outcomes


# --- the crashes the generator found, one model each ---------------------------------
N = h.make_node


def i64(*v):
    return np.array(v, dtype=np.int64)


def shape_then(op, *inits, **attrs):
    """Shape(x) followed by `op` on constant inputs: the import-time folder."""
    names = ["s"] + [name for name, _ in inits]
    return make_model([N("Shape", ["x"], ["s"]), N(op, names, ["y"], name="n", **attrs)],
                      [vi("x", [4, 3])], [vi("y", None)], [init(*i) for i in inits])


REGRESSIONS = {
    "node_without_inputs": (
        make_model([N("Softmax", [], ["y"], name="n")], [vi("x", [2, 3])], [vi("y", None)]),
        "node 'n' (Softmax, domain 'ai.onnx'): input 0 is missing (the op needs 1)"),
    "required_input_left_empty": (
        make_model([N("LinearAttention", ["q", "k", ""], ["o"], name="n", q_num_heads=2,
                      kv_num_heads=2)], [vi(x, [1, 5, 8]) for x in "qk"], [vi("o", None)],
                   opset=27),
        "(LinearAttention, domain 'ai.onnx'): input 2 is missing (the op needs 3)"),
    "split_into_zero_parts": (
        make_model([N("Split", ["x"], ["a", "b"], name="n", num_outputs=0)], [vi("x", [4, 3])],
                   [vi("a", None), vi("b", None)]),
        "(Split, domain 'ai.onnx'): num_outputs must be positive, got 0"),
    "unsqueeze_repeated_axis": (
        make_model([N("Unsqueeze", ["x", "a"], ["y"], name="n")], [vi("x", [1, 3])],
                   [vi("y", None)], [init("a", i64(0, 0))]),
        "(Unsqueeze, domain 'ai.onnx'): axis 0 is repeated"),
    "folded_unsqueeze_repeated_axis": (
        shape_then("Unsqueeze", ("a", i64(1, 1))), "axis 1 is repeated"),
    "folded_unsqueeze_axis_out_of_range": (
        shape_then("Unsqueeze", ("a", i64(7))), "axis 7 is out of range for rank 2"),
    "folded_slice_without_ends": (
        shape_then("Slice", ("a", i64(0)), ("b", np.zeros(0, np.int64))),
        "starts, ends, axes and steps have different lengths"),
    **{f"{op}_of_a_scalar": (
        make_model([N(op, ["x"] + extra, ["y", "z"][:outs], name="n", axis=0)], [vi("x", [])],
                   [vi(o, None) for o in ["y", "z"][:outs]], [init(*i) for i in inits]),
        f"({op}, domain 'ai.onnx'): axis 0 is out of range for rank 0")
       for op, extra, inits, outs in [
           ("Concat", ["x"], [], 1), ("Split", [], [], 2), ("Gather", ["i"], [("i", i64(0))], 1),
           ("CumSum", ["a"], [("a", i64(0))], 1),
           ("LogSoftmax", [], [], 1)]},
    "slice_of_a_scalar": (
        make_model([N("Slice", ["x", "a", "b"], ["y"], name="n")], [vi("x", [])], [vi("y", None)],
                   [init("a", i64(0)), init("b", i64(1))]),
        "(Slice, domain 'ai.onnx'): axis 0 is out of range for rank 0"),
    # Found by mixir-fuzz-onnx: the element counts overflowed int64.
    **{f"reshape_to_2_63_elements{tag}": (
        make_model([N("Reshape", ["x", "s"], ["y"], name="n")], [vi("x", [1, 7])],
                   [vi("y", None)], [init("s", i64(*shape))]),
        "(Reshape, domain 'ai.onnx'): the input or target shape has 2^63 elements or more")
       for tag, shape in [("", (2**62, 0, 7)), ("_inferred", (-1, 2**62, 4))]},
    # A kernel longer than the padded input: a negative output length.
    "conv_window_longer_than_input": (
        make_model([N("Conv", ["x", "w"], ["y"], name="n", kernel_shape=[9])],
                   [vi("x", [1, 2, 4])], [vi("y", None)],
                   [init("w", np.ones((2, 2, 9), np.float32))]),
        "(Conv, domain 'ai.onnx'): the padded input is shorter than the dilated "
        "kernel"),
    "range_of_2_62_elements": (
        make_model([N("Range", ["a", "b", "c"], ["y"], name="n")], [], [vi("y", None)],
                   [init("a", i64(0)), init("b", i64(2**62)), init("c", i64(1))]),
        "(Range, domain 'ai.onnx'): Range would have more than 16777216 elements"),
}


@pytest.mark.parametrize("case", sorted(REGRESSIONS))
def test_damaged_model_regressions(case, tmp_path):
    model, message = REGRESSIONS[case]
    path = tmp_path / "m.onnx"
    path.write_bytes(model.SerializeToString())
    line = one_line_error(run_importer(path, "-o", str(tmp_path / "out.mlir")))
    assert line.startswith("mixir-import-onnx: ") and message in line, line


def test_folded_int64_division_overflow_is_not_a_crash(tmp_path):
    """INT64_MIN / -1 traps on x86; the folder leaves it to the Div op."""
    model = make_model([N("Div", ["a", "b"], ["y"])], [], [vi("y", None)],
                       [init("a", i64(-2**63)), init("b", i64(-1))])
    path = tmp_path / "m.onnx"
    path.write_bytes(model.SerializeToString())
    r = run_importer(path, "-o", "-")
    assert r.returncode == 0 and r.stderr == "", r.stderr
    assert "arith.divsi" in r.stdout or "linalg" in r.stdout, r.stdout


@pytest.mark.parametrize("op,attrs,shape,out", [
    ("Reshape", {"shape": [3, 4]}, [4, 3], "-> tensor<3x4xf32>"),
    ("Unsqueeze", {"axes": [0]}, [1, 12], "-> tensor<1x1x12xf32>"),
    ("Squeeze", {"axes": [0]}, [1, 12], "-> tensor<12xf32>")])
def test_old_single_input_forms_still_import(op, attrs, shape, out, tmp_path):
    """Before opset 5 (Reshape) and 13 (Squeeze, Unsqueeze) the second input
    was an attribute: the required-input check must not refuse them."""
    model = make_model([N(op, ["x"], ["y"], **attrs)], [vi("x", shape)], [vi("y", None)],
                       opset=4 if op == "Reshape" else 11)
    path = tmp_path / "m.onnx"
    path.write_bytes(model.SerializeToString())
    r = run_importer(path, "-o", "-")
    assert r.returncode == 0 and r.stderr == "", r.stderr
    assert out in r.stdout, r.stdout


def external_weight_model(location):
    w = TP(name="w", data_type=TP.FLOAT, dims=[3], data_location=TP.EXTERNAL)
    w.external_data.add(key="location", value=location)
    w.external_data.add(key="length", value="12")
    return make_model([N("Add", ["x", "w"], ["y"])], [vi("x", [2, 3])], [vi("y", None)], [w])


def test_external_data_stays_in_the_model_folder(tmp_path):
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "sub").mkdir()
    for where in (tmp_path / "secret.bin", tmp_path / "model" / "sub" / "w.bin"):
        where.write_bytes(np.arange(3, dtype="<f4").tobytes())
    path = tmp_path / "model" / "m.onnx"
    path.write_bytes(external_weight_model("sub/../../secret.bin").SerializeToString())
    line = one_line_error(run_importer(path, "-o", "-"))
    assert ("initializer 'w': external data location 'sub/../../secret.bin' must be "
            "relative to the model, inside its folder") in line, line
    path.write_bytes(external_weight_model("sub/w.bin").SerializeToString())
    r = run_importer(path, "-o", "-")
    assert r.returncode == 0 and "dense<[0.000000e+00, 1.000000e+00, 2.000000e+00]>" in r.stdout, \
        r.stderr or r.stdout
