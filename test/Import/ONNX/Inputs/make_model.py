"""Writes a small ONNX model for the lit tests: make_model.py NAME OUT.onnx"""
import sys

import numpy as np
import onnx
from onnx import TensorProto as TP
from onnx import helper as h
from onnx import numpy_helper as nh

N = h.make_node


def vi(name, shape, elem=TP.FLOAT):
    return h.make_tensor_value_info(name, elem, shape)


def model(nodes, inputs, outputs, inits=(), opset=18, domains=()):
    g = h.make_graph(nodes, "main", inputs, outputs, list(inits))
    ops = [h.make_opsetid("", opset)] + [h.make_opsetid(d, 1) for d in domains]
    return h.make_model(g, opset_imports=ops, ir_version=10)


T = 4
MODELS = {
    "matmul_dynamic": lambda: model(
        [N("MatMul", ["x", "w"], ["y"]), N("Relu", ["y"], ["z"])],
        [vi("x", ["batch", 3, 8])], [vi("z", None)],
        [nh.from_array(np.ones((8, 5), np.float32), "w")]),
    "linear_attention_27": lambda: model(
        [N("LinearAttention", ["q", "k", "v", "", "g", "b"], ["o", "s"], q_num_heads=4,
           kv_num_heads=2, update_rule="gated_delta")],
        [vi("q", [1, "T", 64]), vi("k", [1, "T", 32]), vi("v", [1, "T", 48]),
         vi("g", [1, "T", 2]), vi("b", [1, "T", 2])], [vi("o", None), vi("s", None)],
        opset=27),
    "attention_23": lambda: model(
        [N("Attention", ["q", "k", "v"], ["y"], is_causal=1)],
        [vi("q", [2, 8, "T", 16]), vi("k", [2, 2, "T", 16]), vi("v", [2, 2, "T", 16])],
        [vi("y", None)], opset=23),
    "raise_linear": lambda: model(
        [N("Transpose", ["k"], ["kt"], perm=[0, 1, 3, 2]), N("MatMul", ["q", "kt"], ["s"]),
         N("Mul", ["s", "m"], ["p"]), N("MatMul", ["p", "v"], ["o"])],
        [vi(n, [1, 2, T, 8]) for n in "qkv"], [vi("o", None)],
        [nh.from_array(np.tril(np.ones((T, T), np.float32)), "m")]),
    "unsupported": lambda: model([N("Einsum", ["x"], ["y"], name="ein", equation="ii->i")],
                                 [vi("x", [3, 3])], [vi("y", None)]),
}

onnx.save(MODELS[sys.argv[1]](), sys.argv[2])
