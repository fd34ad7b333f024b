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
    # softmax(Q K^T / 2 + mask) V with an additive mask that keeps one key
    # above the diagonal: not causal, so it stays written out.
    "softmax_leaky_mask": lambda: model(
        [N("Transpose", ["k"], ["kt"], perm=[0, 1, 3, 2]), N("MatMul", ["q", "kt"], ["s"]),
         N("Mul", ["s", "half"], ["ss"]), N("Add", ["ss", "m"], ["sm"]),
         N("Softmax", ["sm"], ["p"], axis=-1), N("MatMul", ["p", "v"], ["o"], name="pv")],
        [vi(n, [1, 2, T, 8]) for n in "qkv"], [vi("o", None)],
        [nh.from_array(np.array(0.5, np.float32), "half"),
         nh.from_array(np.where(np.tril(np.ones((T, T))) + np.eye(T, k=1) > 0, 0.0,
                                -1e9).astype(np.float32), "m")]),
    # Bidirectional LSTM, hidden 3, input 5, dynamic T, initial_h only.
    "lstm_bidirectional": lambda: model(
        [N("LSTM", ["x", "W", "R", "B", "", "h0"], ["y", "yh", "yc"], name="lstm",
           hidden_size=3, direction="bidirectional")],
        [vi("x", ["T", 2, 5]), vi("h0", [2, 2, 3])], [vi(n, None) for n in ("y", "yh", "yc")],
        [nh.from_array(np.ones((2, 12, 5), np.float32), "W"),
         nh.from_array(np.ones((2, 12, 3), np.float32), "R"),
         nh.from_array(np.ones((2, 24), np.float32), "B")], opset=14),
    # Reverse GRU in layout 1 (batch first), no bias.
    "gru_reverse_layout1": lambda: model(
        [N("GRU", ["x", "W", "R"], ["y", "yh"], name="gru", hidden_size=3,
           direction="reverse", layout=1, linear_before_reset=1)],
        [vi("x", [2, 7, 5])], [vi("y", None), vi("yh", None)],
        [nh.from_array(np.ones((1, 9, 5), np.float32), "W"),
         nh.from_array(np.ones((1, 9, 3), np.float32), "R")], opset=14),
    "rnn_plain": lambda: model(
        [N("RNN", ["x", "W", "R"], ["y"], name="elman", hidden_size=3)],
        [vi("x", [7, 2, 5])], [vi("y", None)],
        [nh.from_array(np.ones((1, 3, 5), np.float32), "W"),
         nh.from_array(np.ones((1, 3, 3), np.float32), "R")]),
    "gru_linear_before_reset_0": lambda: model(
        [N("GRU", ["x", "W", "R"], ["y"], name="gru", hidden_size=3)],
        [vi("x", [7, 2, 5])], [vi("y", None)],
        [nh.from_array(np.ones((1, 9, 5), np.float32), "W"),
         nh.from_array(np.ones((1, 9, 3), np.float32), "R")]),
    "unsupported": lambda: model([N("NonZero", ["x"], ["y"], name="nz")],
                                 [vi("x", [3, 3])], [vi("y", None)]),
}

onnx.save(MODELS[sys.argv[1]](), sys.argv[2])
