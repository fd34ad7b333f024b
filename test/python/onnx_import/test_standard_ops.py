"""Single standard ONNX nodes (and small chains): imported, compiled, run,
compared with onnxruntime on the same inputs."""

import numpy as np
import pytest
from needs import need

need("onnx")
from onnx import TensorProto as TP
from onnx import helper as h

from onnx_helpers import (F32, I64, check_against, init, make_model, randn, rng,
                          vi)

N = h.make_node


def unary(op, shape=(2, 3, 5), positive=False, opset=18, **attrs):
    r = rng(1)
    x = randn(r, *shape)
    if positive:
        x = np.abs(x) + 0.1
    m = make_model([N(op, ["x"], ["y"], **attrs)], [vi("x", list(shape))],
                   [vi("y", None)], opset=opset)
    return m, {"x": x}


def binary(op, sa=(2, 3, 5), sb=(5,), opset=18):
    r = rng(2)
    a, b = randn(r, *sa), randn(r, *sb)
    if op in ("Div", "Pow"):
        b = np.abs(b) + 0.5
        a = np.abs(a) + 0.1 if op == "Pow" else a
    m = make_model([N(op, ["a", "b"], ["y"])], [vi("a", list(sa)), vi("b", list(sb))],
                   [vi("y", None)], opset=opset)
    return m, {"a": a, "b": b}


def with_const(op, shape, consts, opset=18, **attrs):
    """One data input x; the other inputs are initializers (name, array)."""
    r = rng(3)
    x = randn(r, *shape)
    names = ["x"] + [c[0] if c is not None else "" for c in consts]
    inits = [init(*c) for c in consts if c is not None]
    m = make_model([N(op, names, ["y"], **attrs)], [vi("x", list(shape))],
                   [vi("y", None)], inits, opset=opset)
    return m, {"x": x}


def i64(*v):
    return np.array(v, dtype=np.int64)


CASES = {
    # element-wise
    "Add_broadcast": lambda: binary("Add", (2, 3, 5), (3, 1)),
    "Sub": lambda: binary("Sub", (4, 5), (4, 5)),
    "Mul_scalar_constant": lambda: with_const("Mul", (2, 3, 5), [("c", np.array(1.5, np.float32))]),
    "Div": lambda: binary("Div", (1, 3, 5), (2, 1, 5)),
    "Pow": lambda: binary("Pow", (3, 4), (4,)),
    "Pow_const2": lambda: with_const("Pow", (3, 4), [("p", np.array(2.0, np.float32))]),
    "Neg": lambda: unary("Neg"),
    "Exp": lambda: unary("Exp"),
    "Log": lambda: unary("Log", positive=True),
    "Sqrt": lambda: unary("Sqrt", positive=True),
    "Sigmoid": lambda: unary("Sigmoid"),
    "Softplus": lambda: unary("Softplus"),
    "Tanh": lambda: unary("Tanh"),
    "Relu": lambda: unary("Relu"),
    "Gelu": lambda: unary("Gelu", opset=20),
    "Gelu_tanh": lambda: unary("Gelu", opset=20, approximate="tanh"),
    "Erf": lambda: unary("Erf"),
    "Abs": lambda: unary("Abs"),
    "Reciprocal": lambda: unary("Reciprocal", positive=True),
    "Clip": lambda: with_const("Clip", (3, 4), [("lo", np.array(-0.5, np.float32)),
                                                ("hi", np.array(0.5, np.float32))]),
    # contractions, reductions, norms
    "MatMul_2d": lambda: binary("MatMul", (3, 4), (4, 5)),
    "MatMul_batch_broadcast": lambda: binary("MatMul", (2, 3, 4, 6), (6, 5)),
    "MatMul_batch_bcast1": lambda: binary("MatMul", (2, 1, 4, 6), (3, 6, 5)),
    "MatMul_vec": lambda: binary("MatMul", (3, 4), (4,)),
    "Gemm": lambda: (lambda r: (make_model(
        [N("Gemm", ["a", "b", "c"], ["y"], transA=1, transB=1, alpha=0.5, beta=2.0)],
        [vi("a", [4, 3]), vi("b", [5, 4]), vi("c", [5])], [vi("y", None)]),
        {"a": randn(r, 4, 3), "b": randn(r, 5, 4), "c": randn(r, 5)}))(rng(4)),
    "Softmax": lambda: unary("Softmax", (2, 3, 7), opset=13),
    "Softmax_axis1_opset11": lambda: unary("Softmax", (2, 3, 7), opset=11, axis=1),
    "LogSoftmax": lambda: unary("LogSoftmax", (2, 7), opset=13),
    "ReduceSum_opset13": lambda: with_const("ReduceSum", (2, 3, 5), [("ax", i64(1, -1))], opset=13),
    "ReduceSum_opset11": lambda: unary("ReduceSum", (2, 3, 5), opset=11, axes=[1], keepdims=0),
    "ReduceMean_opset18": lambda: with_const("ReduceMean", (2, 3, 5), [("ax", i64(-1))], opset=18),
    "ReduceMean_opset13": lambda: unary("ReduceMean", (2, 3, 5), opset=13, axes=[0, 2]),
    "ReduceMax_all": lambda: unary("ReduceMax", (2, 3, 5), opset=18, keepdims=0),
    "LayerNormalization": lambda: with_const(
        "LayerNormalization", (2, 3, 8),
        [("s", randn(rng(5), 8)), ("b", randn(rng(6), 8))], opset=17, epsilon=1e-5),
    "LayerNormalization_axis1": lambda: with_const(
        "LayerNormalization", (2, 3, 4), [("s", randn(rng(5), 3, 4))], opset=17, axis=1),
    "RMSNormalization": lambda: with_const(
        "RMSNormalization", (2, 3, 8), [("s", randn(rng(7), 8))], opset=23, epsilon=1e-6),
    # shapes and indexing
    "Transpose": lambda: unary("Transpose", (2, 3, 4), perm=[2, 0, 1]),
    "Reshape_zero_minus1": lambda: with_const("Reshape", (2, 3, 4), [("s", i64(0, -1, 2))]),
    "Squeeze_opset13": lambda: with_const("Squeeze", (2, 1, 4, 1), [("ax", i64(1, -1))], opset=13),
    "Squeeze_opset11": lambda: unary("Squeeze", (2, 1, 4), opset=11, axes=[1]),
    "Unsqueeze_opset13": lambda: with_const("Unsqueeze", (2, 4), [("ax", i64(0, -1))], opset=13),
    "Unsqueeze_opset11": lambda: unary("Unsqueeze", (2, 4), opset=11, axes=[1]),
    "Flatten": lambda: unary("Flatten", (2, 3, 4), axis=2),
    "Concat": lambda: (make_model([N("Concat", ["a", "b", "a"], ["y"], axis=1)],
                                  [vi("a", [2, 3]), vi("b", [2, 4])], [vi("y", None)]),
                       {"a": randn(rng(8), 2, 3), "b": randn(rng(9), 2, 4)}),
    "Slice_opset13": lambda: with_const("Slice", (5, 9), [("st", i64(1, -7)), ("en", i64(100, -1)),
                                                         ("ax", i64(0, 1)), ("sp", i64(2, 3))], opset=13),
    "Slice_opset9": lambda: unary("Slice", (5, 9), opset=9, starts=[1], ends=[4], axes=[1]),
    "Gather_axis1_negative": lambda: with_const("Gather", (3, 5, 2), [("i", i64(-1, 0, 2, 2))], axis=1),
    "Gather_scalar": lambda: with_const("Gather", (3, 5), [("i", np.array(1, np.int64))], axis=0),
    "Expand": lambda: with_const("Expand", (3, 1), [("s", i64(2, 3, 4))]),
    "Where": lambda: (make_model([N("Greater", ["a", "b"], ["c"]), N("Where", ["c", "a", "b"], ["y"])],
                                 [vi("a", [3, 4]), vi("b", [4])], [vi("y", None)]),
                      {"a": randn(rng(10), 3, 4), "b": randn(rng(11), 4)}),
    "Trilu_lower": lambda: unary("Trilu", (2, 5, 5), opset=14, upper=0),
    "Trilu_upper_k": lambda: with_const("Trilu", (4, 6), [("k", np.array(1, np.int64))], opset=14),
    "CumSum": lambda: with_const("CumSum", (2, 7), [("a", np.array(1, np.int64))], opset=14),
    "CumSum_exclusive_reverse": lambda: with_const("CumSum", (7, 2), [("a", np.array(0, np.int64))],
                                                   opset=14, exclusive=1, reverse=1),
    "Cast_roundtrip": lambda: (make_model([N("Cast", ["x"], ["i"], to=7), N("Cast", ["i"], ["y"], to=1)],
                                          [vi("x", [3, 4])], [vi("y", None)]),
                               {"x": (randn(rng(12), 3, 4) * 10)}),
    "Conv_depthwise_causal": lambda: (make_model(
        [N("Conv", ["x", "w", "b"], ["y"], group=6, kernel_shape=[4], pads=[3, 0])],
        [vi("x", [2, 6, 11])], [vi("y", None)], [init("w", randn(rng(13), 6, 1, 4)),
                                                 init("b", randn(rng(14), 6))]),
        {"x": randn(rng(15), 2, 6, 11)}),
    "Conv_grouped_dilated": lambda: (make_model(
        [N("Conv", ["x", "w"], ["y"], group=2, kernel_shape=[3], dilations=[2], strides=[2],
           pads=[1, 2])],
        [vi("x", [1, 4, 13])], [vi("y", None)], [init("w", randn(rng(16), 6, 2, 3))]),
        {"x": randn(rng(17), 1, 4, 13)}),
    # shape computations folded at import time
    "Shape_Gather_Concat_Reshape": lambda: (make_model(
        [N("Shape", ["x"], ["s"]), N("Gather", ["s", "i0"], ["b"], axis=0),
         N("Concat", ["b", "m1"], ["t"], axis=0), N("Reshape", ["x", "t"], ["y"])],
        [vi("x", [2, 3, 4])], [vi("y", None)], [init("i0", i64(0)), init("m1", i64(-1))]),
        {"x": randn(rng(18), 2, 3, 4)}),
    "ConstantOfShape_Range_Constant": lambda: (make_model(
        [N("Constant", [], ["c"], value=h.make_tensor("v", F32, [4], [1, 2, 3, 4])),
         N("ConstantOfShape", ["s"], ["z"], value=h.make_tensor("v", F32, [1], [0.5])),
         N("Range", ["r0", "r1", "r2"], ["r"]), N("Cast", ["r"], ["rf"], to=1),
         N("Add", ["x", "c"], ["a"]), N("Add", ["a", "z"], ["b"]), N("Mul", ["b", "rf"], ["y"])],
        [vi("x", [3, 4])], [vi("y", None)],
        [init("s", i64(3, 4)), init("r0", np.array(1, np.int64)),
         init("r1", np.array(9, np.int64)), init("r2", np.array(2, np.int64))]),
        {"x": randn(rng(19), 3, 4)}),
    "Max_Min": lambda: (make_model([N("Max", ["a", "b"], ["m"]), N("Min", ["m", "a", "b"], ["y"])],
                                   [vi("a", [3, 4]), vi("b", [4])], [vi("y", None)]),
                        {"a": randn(rng(20), 3, 4), "b": randn(rng(21), 4)}),
    # torch.onnx's SDPA guard and friends
    "IsNaN_IsInf": lambda: (make_model(
        # (bool graph outputs come back wrong from mixir.compile: compared as f32)
        [N("IsNaN", ["x"], ["n"]), N("IsInf", ["x"], ["i"]),
         N("IsInf", ["x"], ["p"], detect_negative=0), N("IsInf", ["x"], ["q"], detect_positive=0)]
        + [N("Cast", [o], [o + "f"], to=F32) for o in "nipq"],
        [vi("x", [2, 6])], [vi(o + "f", None) for o in "nipq"], opset=20),
        {"x": np.array([[0, np.nan, np.inf, -np.inf, 1, -2], [np.nan, 3, -np.inf, 0, np.inf, 5]],
                       np.float32)}),
    "Mod_int": lambda: (make_model([N("Mod", ["a", "b"], ["y"])],
                                   [vi("a", [8], I64), vi("b", [8], I64)], [vi("y", None, I64)], opset=13),
                        {"a": i64(7, -7, 7, -7, 0, 9, -9, 6), "b": i64(3, 3, -3, -3, 5, 4, 4, -6)}),
    "Mod_int_fmod": lambda: (make_model([N("Mod", ["a", "b"], ["y"], fmod=1)],
                                        [vi("a", [6], I64), vi("b", [6], I64)], [vi("y", None, I64)], opset=13),
                             {"a": i64(7, -7, 7, -7, 0, 9), "b": i64(3, 3, -3, -3, 5, 4)}),
    "Mod_float_fmod": lambda: (make_model([N("Mod", ["a", "b"], ["y"], fmod=1)],
                                          [vi("a", [3, 4]), vi("b", [4])], [vi("y", None)], opset=13),
                               {"a": randn(rng(23), 3, 4) * 5,
                                "b": np.array([1.5, -2.0, 0.7, -3.1], np.float32)}),
    # Range with run-time bounds (length known only when it runs)
    "Range_dynamic_int": lambda: (make_model(
        [N("Range", ["a", "b", "c"], ["r"]), N("Cast", ["r"], ["y"], to=F32)],
        [vi("a", [], I64), vi("b", [], I64), vi("c", [], I64)], [vi("y", None)], opset=13),
        {"a": np.array(-3, np.int64), "b": np.array(11, np.int64), "c": np.array(3, np.int64)}),
    "Range_dynamic_negative_delta": lambda: (make_model(
        [N("Range", ["a", "b", "c"], ["r"]), N("Cast", ["r"], ["y"], to=F32)],
        [vi("a", [], I64), vi("b", [], I64)], [vi("y", None)],
        [init("c", np.array(-2, np.int64))], opset=13),
        {"a": np.array(9, np.int64), "b": np.array(0, np.int64)}),
    "Range_dynamic_float": lambda: (make_model(
        [N("Range", ["a", "b", "c"], ["y"])],
        [vi("a", []), vi("b", []), vi("c", [])], [vi("y", None)], opset=13),
        {"a": np.array(0.5, np.float32), "b": np.array(4.1, np.float32),
         "c": np.array(0.7, np.float32)}),
    # Softmax over a fully masked row is NaN; Where(IsNaN) zeroes it
    "Softmax_IsNaN_Where_guard": lambda: (make_model(
        [N("Add", ["x", "m"], ["s"]), N("Softmax", ["s"], ["p"], axis=-1), N("IsNaN", ["p"], ["n"]),
         N("Where", ["n", "z", "p"], ["y"])],
        [vi("x", [2, 3, 4])], [vi("y", None)],
        [init("m", np.array([[0, 0, -np.inf, 0], [-np.inf] * 4, [0, -np.inf, 0, 0]], np.float32)),
         init("z", np.array(0, np.float32))], opset=20),
        {"x": randn(rng(24), 2, 3, 4)}),
}


def einsum_case(equation, *shapes):
    r = rng(25)
    names = [f"x{i}" for i in range(len(shapes))]
    m = make_model([N("Einsum", names, ["y"], equation=equation)],
                   [vi(n, list(s)) for n, s in zip(names, shapes)], [vi("y", None)],
                   opset=12)
    return m, {n: randn(r, *s) for n, s in zip(names, shapes)}


# Pad: constant mode, pads as an input (>= 11) or attribute (< 11), over
# chosen axes (>= 18); a fill value or 0.
CASES["Pad_constant_value"] = lambda: with_const(
    "Pad", (2, 3, 5), [("p", i64(0, 1, 0, 0, 2, 3)), ("v", np.array(-1.5, np.float32))])
CASES["Pad_axes_no_value"] = lambda: with_const(
    "Pad", (1, 13, 8, 3), [("p", i64(0, 3)), None, ("ax", i64(-3))])
CASES["Pad_opset2_attributes"] = lambda: with_const(
    "Pad", (3, 4), [], opset=10, pads=[1, 0, 2, 3], value=0.25)
# Einsum: explicit output, one linalg.generic (Mamba2's chunked SSD terms).
CASES["Einsum_matmul"] = lambda: einsum_case("ij,jk->ik", (3, 5), (5, 7))
CASES["Einsum_mamba2_scores"] = lambda: einsum_case(
    "bclhn,bcshn->bclsh", (1, 3, 5, 2, 7), (1, 3, 5, 2, 7))
CASES["Einsum_mamba2_states"] = lambda: einsum_case(
    "bzch,bzhpn->bchpn", (2, 3, 4, 2), (2, 3, 2, 5, 6))
CASES["Einsum_three_inputs_sum_all"] = lambda: einsum_case(
    "ab,bc,ca->", (3, 4), (4, 5), (5, 3))
# In-place writes as torch.onnx exports them: select_scatter (ScatterElements,
# every index the same position) and slice_scatter (ScatterND, consecutive
# rows), with constant indices.
CASES["ScatterElements_select_scatter"] = lambda: with_const(
    "ScatterElements", (2, 5, 3),
    [("i", np.full((2, 1, 3), -2, np.int64)), ("u", randn(rng(26), 2, 1, 3))], axis=1)
CASES["ScatterElements_partial_updates"] = lambda: with_const(
    "ScatterElements", (3, 4, 7),
    [("i", np.full((2, 4, 1), 5, np.int64)), ("u", randn(rng(27), 2, 4, 1))], axis=2)
CASES["ScatterND_negative_rows"] = lambda: with_const(
    "ScatterND", (6, 5), [("i", i64(-3, -2).reshape(2, 1)), ("u", randn(rng(29), 2, 5))])
CASES["ScatterND_consecutive_rows"] = lambda: with_const(
    "ScatterND", (6, 3, 2), [("i", i64(2, 3, 4).reshape(3, 1)),
                             ("u", randn(rng(28), 3, 3, 2))])
def topk_case(shape, k, ties=False, **attrs):
    r = rng(30)
    x = randn(r, *shape)
    if ties:  # few distinct values: equal ones come lowest index first
        x = np.round(x).astype(np.float32)
    m = make_model([N("TopK", ["x", "k"], ["v", "i"], **attrs)], [vi("x", list(shape))],
                   [vi("v", None), vi("i", None, I64)], [init("k", i64(k))], opset=11)
    return m, {"x": x}


# MoE routing: TopK over the expert scores, GatherND of the experts' rows.
CASES["TopK_largest"] = lambda: topk_case((13, 7), 3)
CASES["TopK_smallest_ties_3d"] = lambda: topk_case((2, 5, 9), 4, ties=True, largest=0)
CASES["TopK_largest_ties_all"] = lambda: topk_case((4, 6), 6, ties=True)
CASES["GatherND_rows"] = lambda: with_const(
    "GatherND", (5, 3, 4), [("i", i64(4, 0, -1, 2, 2, 1).reshape(3, 2, 1))])

# One index picked (rank-reducing): the last of a trailing axis whose
# neighbours are unit dims, as Mamba2's segment sums read it.
CASES["Gather_scalar_negative_unit_dims"] = lambda: with_const(
    "Gather", (1, 8, 1, 8), [("i", np.array(-1, np.int64))], axis=3)


def split_case(opset, **attrs):
    r = rng(22)
    extra = []
    names = ["x"]
    inits = []
    if "split" in attrs and opset >= 13:
        inits.append(init("sp", i64(*attrs.pop("split"))))
        names.append("sp")
    m = make_model([N("Split", names, ["y0", "y1", "y2"], axis=1, **attrs)],
                   [vi("x", [2, 9])], [vi("y0", None), vi("y1", None), vi("y2", None)],
                   inits, opset=opset)
    return m, {"x": randn(r, 2, 9)}


CASES["Split_opset13_sizes"] = lambda: split_case(13, split=[2, 3, 4])
CASES["Split_opset11_attr"] = lambda: split_case(11, split=[4, 4, 1])
CASES["Split_opset18_num_outputs"] = lambda: split_case(18, num_outputs=3)
CASES["Split_equal"] = lambda: split_case(13)


@pytest.mark.parametrize("case", sorted(CASES))
def test_standard_op_matches_onnxruntime(case, tmp_path, record_rel_rms):
    model, feeds = CASES[case]()
    check_against(model, feeds, tmp_path, record=record_rel_rms, case=case)


def test_dynamic_batch_runs_at_two_sizes(tmp_path, record_rel_rms):
    """`?` batch: one compiled function serves two batch sizes."""
    import mixir
    from onnx_helpers import import_model, ort_run, rel_rms
    w = randn(rng(23), 8, 16)
    model = make_model(
        [N("MatMul", ["x", "w"], ["h"]), N("Softmax", ["h"], ["p"], axis=-1),
         N("ReduceSum", ["p", "ax"], ["s"], keepdims=1), N("Div", ["h", "s"], ["y"])],
        [vi("x", ["B", 4, 8])], [vi("y", None)], [init("w", w), init("ax", i64(-1))])
    text = import_model(model, tmp_path)
    assert "tensor<?x4x8xf32>" in text
    fn = mixir.compile(text).main
    for b in (1, 5):
        x = randn(rng(b), b, 4, 8)
        err = rel_rms(ort_run(model, {"x": x})[0], fn(x))
        record_rel_rms("onnx dynamic batch", "f32", "out0", err, 1e-5, f"B={b}")
        assert err <= 1e-5


def test_f16_chain(tmp_path, record_rel_rms):
    """MatMul, Softmax, Mul and LayerNormalization on f16 (limit 5e-3)."""
    from onnx import TensorProto as TP
    r = rng(24)
    model = make_model(
        [N("MatMul", ["x", "w"], ["y"]), N("Softmax", ["y"], ["p"], axis=-1),
         N("Mul", ["p", "y"], ["z"]), N("LayerNormalization", ["z", "s"], ["o"], axis=-1)],
        [vi("x", [2, 5, 16], TP.FLOAT16)], [vi("o", None, TP.FLOAT16)],
        [init("w", randn(r, 16, 8).astype(np.float16)), init("s", np.ones(8, np.float16))])
    check_against(model, {"x": randn(r, 2, 5, 16).astype(np.float16)}, tmp_path,
                  tol=5e-3, record=record_rel_rms, case="f16 chain")


def test_folded_logic_keeps_the_broadcast_rank(tmp_path):
    """And of a one-element [1, 1, 1, 1] mask and a [3, 3] mask folds to
    [1, 1, 3, 3] (ONNX broadcasting), as Shape then reports."""
    one = init("one", np.ones((1, 1, 1, 1), bool))
    tril = init("tril", np.tril(np.ones((3, 3), bool)))
    nodes = [h.make_node("And", ["one", "tril"], ["m"]),
             h.make_node("Shape", ["m"], ["shape"]),
             h.make_node("Where", ["m", "x", "zero"], ["y"])]
    model = make_model(nodes, [vi("x", [1, 1, 3, 3])],
                       [vi("y", [1, 1, 3, 3]), vi("shape", [4], I64)],
                       [one, tril, init("zero", np.zeros((), np.float32))])
    x = randn(rng(4), 1, 1, 3, 3)
    check_against(model, {"x": x}, tmp_path)
