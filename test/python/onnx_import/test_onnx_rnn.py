"""ONNX LSTM and GRU nodes import as mix.rnn: torch-exported nn.LSTM / nn.GRU
(batch_first, bidirectional, two layers, with and without initial states)
and graphs built with onnx.helper (reverse, layout=1, dynamic sizes). Every
output is compared with onnxruntime on the same model (onnx.reference for
layout=1, which onnxruntime's CPU kernels refuse) and with a float64
evaluation written here (the torch module in float64, or ONNX's recurrence
token by token); the refusals name the node, the op and the reason."""

import numpy as np
import pytest
from needs import need

need("onnx")
import onnx
from onnx import TensorProto as TP
from onnx import helper as h

import mixir
from onnx_helpers import (TOL, check_against, compile_and_run, import_model, init,
                          make_model, ort_run, randn, rel_rms, rng, run_importer, vi)
from test_raise_and_errors import one_line_error

N = h.make_node
GATES = {"LSTM": 4, "GRU": 3}


# --- float64 reference: ONNX's LSTM (gates i, o, f, c) and GRU (z, r, h,
# linear_before_reset=1), default activations -------------------------------------
def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def lstm_step(xw, hr, state):
    i, o, f, g = np.split(xw + hr, 4, axis=-1)
    c = sigmoid(f) * state[1] + sigmoid(i) * np.tanh(g)
    return sigmoid(o) * np.tanh(c), c


def gru_step(xw, hr, state):
    xz, xr, xh = np.split(xw, 3, axis=-1)
    hz, hrr, hh = np.split(hr, 3, axis=-1)
    z, r = sigmoid(xz + hz), sigmoid(xr + hrr)
    n = np.tanh(xh + r * hh)
    return ((1.0 - z) * n + z * state[0],)


def reference(op, x, w, r, b=None, states=(), direction="forward", layout=0):
    """Y, Y_h (and Y_c for LSTM) of the node, evaluated token by token in
    float64. `states` are initial_h (and initial_c) in the node's layout."""
    f64 = lambda a: np.asarray(a, np.float64)
    x = f64(x) if layout == 0 else f64(x).transpose(1, 0, 2)  # [T, B, I]
    t_len, batch, _ = x.shape
    dirs, rows, hidden = r.shape
    count = 2 if op == "LSTM" else 1
    init_states = [f64(s) if layout == 0 else f64(s).transpose(1, 0, 2) for s in states]
    init_states += [np.zeros((dirs, batch, hidden))] * (count - len(init_states))
    step = lstm_step if op == "LSTM" else gru_step
    ys, finals = [], []
    for d in range(dirs):
        bias = f64(b[d]) if b is not None else np.zeros(2 * rows)
        state = tuple(s[d] for s in init_states)
        y = np.zeros((t_len, batch, hidden))
        order = range(t_len - 1, -1, -1) if direction == "reverse" or d == 1 else range(t_len)
        for t in order:
            xw = x[t] @ f64(w[d]).T + bias[:rows]
            hr = state[0] @ f64(r[d]).T + bias[rows:]
            state = step(xw, hr, state)
            y[t] = state[0]
        ys.append(y)
        finals.append(state)
    y = np.stack(ys, 1)  # [T, dirs, B, H]
    outs = [y] + [np.stack([f[k] for f in finals]) for k in range(count)]
    if layout == 1:
        outs = [outs[0].transpose(2, 0, 1, 3)] + [o.transpose(1, 0, 2) for o in outs[1:]]
    return outs


def compare(outs, refs, record, case, tol=TOL, dtype="f32", oracle="f64 recurrence"):
    assert len(outs) == len(refs)
    for k, (out, ref) in enumerate(zip(outs, refs)):
        err = rel_rms(ref, np.asarray(out, np.float64))
        record(f"onnx {case}", dtype, f"out{k}", err, tol, oracle)
        assert err <= tol, f"{case} output {k}: rel-RMS {err:.3e} > {tol:.0e}"


# --- graphs built with onnx.helper ----------------------------------------------------
def rnn_model(op, *, direction="forward", layout=0, hidden=60, t=37, batch=3, features=24,
              bias=True, states=(), attrs=None, opset=14, extra=(), dynamic=False,
              seed=0):
    """One LSTM/GRU node named 'rnn'. `states` names the initial states given
    as graph inputs ("h", "c"); `extra` is a list of (input index, name,
    initializer array or None for a graph input [B]) for sequence_lens and P.
    Returns the model, the feeds and the weights."""
    r = rng(seed)
    dirs = 2 if direction == "bidirectional" else 1
    rows = GATES[op] * hidden
    scale = float(1.0 / np.sqrt(hidden))
    weights = {"W": randn(r, dirs, rows, features) * scale,
               "R": randn(r, dirs, rows, hidden) * scale}
    if bias:
        weights["B"] = randn(r, dirs, 2 * rows) * 0.5
    bt = ["B", "T"] if dynamic else [batch, t]
    x_shape = [bt[1], bt[0], features] if layout == 0 else [bt[0], bt[1], features]
    s_shape = [dirs, bt[0], hidden] if layout == 0 else [bt[0], dirs, hidden]
    ins = ["x", "W", "R", "B" if bias else "", "", "", "", ""]
    inputs, inits = [vi("x", x_shape)], [init(n, a) for n, a in weights.items()]
    for name in states:
        ins[5 if name == "h" else 6] = f"{name}0"
        inputs.append(vi(f"{name}0", s_shape))
    for index, name, value in extra:
        ins[index] = name
        if value is None:
            inputs.append(vi(name, [bt[0]], TP.INT32))
        else:
            inits.append(init(name, value))
    while ins[-1] == "":
        ins.pop()
    outs = ["y", "yh", "yc"][:GATES[op] - 1]
    attributes = {"hidden_size": hidden, "direction": direction, **(attrs or {})}
    if op == "GRU":
        attributes.setdefault("linear_before_reset", 1)
    if layout:
        attributes["layout"] = layout
    node = N(op, ins, outs, name="rnn", **attributes)
    model = make_model([node], inputs, [vi(o, None) for o in outs], inits, opset=opset)
    batch_t = (batch, t)
    feeds = {"x": randn(r, *(batch_t[::-1] if layout == 0 else batch_t), features)}
    for name in states:
        shape = (dirs, batch, hidden) if layout == 0 else (batch, dirs, hidden)
        feeds[f"{name}0"] = randn(r, *shape) * 0.5
    return model, feeds, weights


def helper_reference(op, feeds, weights, direction, layout):
    states = [feeds[k] for k in ("h0", "c0") if k in feeds]
    if op == "LSTM" and "c0" in feeds and "h0" not in feeds:
        raise AssertionError("the reference takes initial_c only with initial_h")
    return reference(op, feeds["x"], weights["W"], weights["R"], weights.get("B"), states,
                     direction, layout)


HELPER_CASES = {
    "lstm_reverse": dict(op="LSTM", direction="reverse", states=("h", "c")),
    "lstm_layout1_bidirectional": dict(op="LSTM", direction="bidirectional", layout=1,
                                       hidden=64, states=("h", "c")),
    "lstm_only_initial_h": dict(op="LSTM", states=("h",), t=63),
    "lstm_no_bias_t1": dict(op="LSTM", bias=False, t=1, direction="bidirectional"),
    "gru_reverse_layout1": dict(op="GRU", direction="reverse", layout=1, states=("h",)),
    "gru_bidirectional_t1": dict(op="GRU", direction="bidirectional", t=1, hidden=64,
                                 bias=False),
    "gru_opset7": dict(op="GRU", opset=7, hidden=64, states=("h",)),
}


@pytest.mark.parametrize("case", sorted(HELPER_CASES))
def test_helper_graph(case, tmp_path, record_rel_rms):
    spec = dict(HELPER_CASES[case])
    op = spec.pop("op")
    model, feeds, weights = rnn_model(op, **spec)
    # onnxruntime refuses layout=1 on the CPU; onnx.reference reads it.
    oracle = "reference" if spec.get("layout") else "ort"
    text = check_against(model, feeds, tmp_path, record=record_rel_rms, case=f"{op} {case}",
                         oracle=oracle)
    dirs = 2 if spec.get("direction") == "bidirectional" else 1
    assert text.count("mix.rnn " + op.lower()) == dirs, text
    outs = compile_and_run(text, feeds, [i.name for i in model.graph.input])
    refs = helper_reference(op, feeds, weights, spec.get("direction", "forward"),
                            spec.get("layout", 0))
    compare(outs, refs, record_rel_rms, f"{op} {case}")


@pytest.mark.parametrize("op", ["LSTM", "GRU"])
def test_accepted_spellings_of_the_defaults(op, tmp_path, record_rel_rms):
    """sequence_lens equal to T everywhere, zero peepholes and the default
    activations written out import like their absence."""
    t, batch = 37, 3
    acts = ["Sigmoid", "Tanh", "Tanh"] if op == "LSTM" else ["Sigmoid", "Tanh"]
    extra = [(4, "lens", np.full(batch, t, np.int32))]
    if op == "LSTM":
        extra.append((7, "P", np.zeros((1, 3 * 60), np.float32)))
    model, feeds, weights = rnn_model(op, t=t, batch=batch, states=("h",), extra=extra,
                                      attrs={"activations": acts})
    text = check_against(model, feeds, tmp_path, record=record_rel_rms,
                         case=f"{op} spelled-out defaults")
    outs = compile_and_run(text, feeds, ["x", "h0"])
    compare(outs, helper_reference(op, feeds, weights, "forward", 0), record_rel_rms,
            f"{op} spelled-out defaults")


# f16 inputs: h and the outputs in f16, the states and sums in f32.
TOL_F16 = 2e-3


@pytest.mark.parametrize("op", ["LSTM", "GRU"])
def test_f16(op, tmp_path, record_rel_rms):
    model, feeds, weights = rnn_model(op, direction="bidirectional", states=("h",), t=63)
    for i in model.graph.input:
        i.type.tensor_type.elem_type = TP.FLOAT16
    for t in model.graph.initializer:
        t.CopyFrom(onnx.numpy_helper.from_array(
            onnx.numpy_helper.to_array(t).astype(np.float16), t.name))
    feeds = {k: v.astype(np.float16) for k, v in feeds.items()}
    weights = {k: v.astype(np.float16) for k, v in weights.items()}
    text = import_model(model, tmp_path)
    assert text.count(f"mix.rnn {op.lower()}") == 2 and "xf16>" in text
    outs = compile_and_run(text, feeds, ["x", "h0"])
    assert all(np.asarray(o).dtype == np.float16 for o in outs)
    compare(outs, helper_reference(op, feeds, weights, "bidirectional", 0), record_rel_rms,
            f"{op} f16", tol=TOL_F16, dtype="f16")


@pytest.mark.parametrize("op,direction", [("LSTM", "reverse"), ("GRU", "bidirectional")])
def test_dynamic_batch_and_length(op, direction, tmp_path, record_rel_rms):
    """Symbolic B and T: the reversal reads T at run time; one compiled
    function serves several shapes."""
    model, _, weights = rnn_model(op, direction=direction, dynamic=True, states=("h",),
                                  hidden=60)
    text = import_model(model, tmp_path)
    assert "tensor<?x?x24xf32>" in text
    fn = next(iter(mixir.compile(text).functions.values()))
    dirs = 2 if direction == "bidirectional" else 1
    for batch, t in [(1, 75), (5, 1), (2, 37)]:
        r = rng(batch * t)
        feeds = {"x": randn(r, t, batch, 24), "h0": randn(r, dirs, batch, 60) * 0.5}
        outs = list(fn(feeds["x"], feeds["h0"]))
        for k, (ref, out) in enumerate(zip(ort_run(model, feeds), outs)):
            err = rel_rms(ref, out)
            record_rel_rms(f"onnx {op} dynamic", "f32", f"out{k}", err, TOL, "ort")
            assert err <= TOL, (batch, t, k, err)
        compare(outs, helper_reference(op, feeds, weights, direction, 0), record_rel_rms,
                f"{op} dynamic B={batch} T={t}")


# --- torch.onnx.export of nn.LSTM / nn.GRU ----------------------------------------------
TORCH_CASES = [
    # cell, batch_first, bidirectional, layers, initial states, hidden, T
    ("LSTM", False, False, 1, False, 64, 37),
    ("LSTM", True, True, 2, True, 60, 37),
    ("LSTM", False, True, 1, True, 60, 1),
    ("LSTM", True, False, 2, False, 64, 1),
    ("GRU", False, False, 1, False, 60, 37),
    ("GRU", True, True, 2, True, 64, 37),
    ("GRU", False, True, 2, False, 60, 1),
    ("GRU", True, False, 1, True, 64, 37),
]


def torch_layer(torch, cell, batch_first, bidirectional, layers, with_states, hidden):
    rnn = getattr(torch.nn, cell)(24, hidden, num_layers=layers, batch_first=batch_first,
                                  bidirectional=bidirectional)

    class Layer(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = rnn

        def forward(self, x, *states):
            if not states:
                y, s = self.rnn(x)
            else:
                y, s = self.rnn(x, states if cell == "LSTM" else states[0])
            return (y,) + (tuple(s) if cell == "LSTM" else (s,))

    return Layer().eval()


@pytest.mark.parametrize("cell,batch_first,bidirectional,layers,with_states,hidden,t",
                         TORCH_CASES)
def test_torch_export(cell, batch_first, bidirectional, layers, with_states, hidden, t,
                      tmp_path, record_rel_rms):
    torch = need("torch")
    torch.manual_seed(TORCH_CASES.index((cell, batch_first, bidirectional, layers,
                                         with_states, hidden, t)))
    module = torch_layer(torch, cell, batch_first, bidirectional, layers, with_states,
                         hidden)
    batch, dirs = 3, 2 if bidirectional else 1
    x = torch.randn(batch, t, 24) if batch_first else torch.randn(t, batch, 24)
    args = [x]
    if with_states:
        args += [torch.randn(layers * dirs, batch, hidden) * 0.5
                 for _ in range(2 if cell == "LSTM" else 1)]
    names = ["x", "h0", "c0"][:len(args)]
    outputs = ["y", "hn", "cn"][:3 if cell == "LSTM" else 2]
    path = tmp_path / "rnn.onnx"
    torch.onnx.export(module, tuple(args), str(path), dynamo=False, opset_version=17,
                      input_names=names, output_names=outputs)
    model = onnx.load(str(path))
    assert sum(n.op_type == cell for n in model.graph.node) == layers
    feeds = {n: a.numpy() for n, a in zip(names, args)}
    case = f"torch {cell} bf={int(batch_first)} bi={int(bidirectional)} L={layers}"
    text = check_against(model, feeds, tmp_path, record=record_rel_rms, case=case)
    assert text.count("mix.rnn " + cell.lower()) == layers * dirs
    # The float64 module is the independent reference.
    with torch.no_grad():
        want = module.double()(*[a.double() for a in args])
    outs = compile_and_run(text, feeds, names)
    compare(outs, [w.numpy() for w in want], record_rel_rms, case, oracle="torch f64")


# --- refusals ------------------------------------------------------------------------
REFUSALS = {
    "peepholes": ("LSTM", dict(extra=[(7, "P", np.full((1, 180), 0.5, np.float32))]),
                  "peepholes (input P) are not supported"),
    "clip": ("LSTM", dict(attrs={"clip": 3.0}), "the clip attribute is not supported"),
    "input_forget": ("LSTM", dict(attrs={"input_forget": 1}),
                     "input_forget=1 (coupled input and forget gates) is not supported"),
    "activations": ("LSTM", dict(attrs={"activations": ["Sigmoid", "Relu", "Tanh"]}),
                    "activations other than the defaults (Sigmoid, Tanh, Tanh per "
                    "direction) are not supported"),
    "gru_activations": ("GRU", dict(attrs={"activations": ["HardSigmoid", "Tanh"]}),
                        "activations other than the defaults (Sigmoid, Tanh per direction)"),
    "runtime_sequence_lens": ("LSTM", dict(extra=[(4, "lens", None)]),
                              "sequence_lens is supported only as a constant equal to the "
                              "sequence length"),
    "ragged_sequence_lens": ("GRU", dict(extra=[(4, "lens", np.array([37, 20, 37], np.int32))]),
                             "sequence_lens is supported only as a constant equal to the "
                             "sequence length"),
    "linear_before_reset_0": ("GRU", dict(attrs={"linear_before_reset": 0}),
                              "linear_before_reset=0 (the ONNX default) is not supported"),
    "direction": ("LSTM", dict(attrs={"direction": "sideways"}),
                  "direction 'sideways' is not forward, reverse or bidirectional"),
    "hidden_size": ("GRU", dict(attrs={"hidden_size": 30}),
                    "hidden_size 30 disagrees with R (60)"),
    "layout": ("LSTM", dict(attrs={"layout": 2}), "layout must be 0 or 1, got 2"),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_refusal(case, tmp_path):
    op, spec, message = REFUSALS[case]
    model, _, _ = rnn_model(op, **spec)
    path = tmp_path / "m.onnx"
    onnx.save(model, str(path))
    line = one_line_error(run_importer(path))
    assert f"node 'rnn' ({op}, domain 'ai.onnx'): {message}" in line, line


def test_refusal_of_the_plain_rnn_cell(tmp_path):
    r = rng(3)
    node = N("RNN", ["x", "W", "R"], ["y"], name="elman", hidden_size=8)
    model = make_model([node], [vi("x", [5, 2, 4])], [vi("y", None)],
                       [init("W", randn(r, 1, 8, 4)), init("R", randn(r, 1, 8, 8))])
    path = tmp_path / "m.onnx"
    onnx.save(model, str(path))
    line = one_line_error(run_importer(path))
    assert ("node 'elman' (RNN, domain 'ai.onnx'): the plain RNN cell is not supported "
            "(mix.rnn has LSTM and GRU cells)") in line, line


@pytest.mark.parametrize("what,change,message", [
    ("W rows", lambda m: m.graph.initializer[0].dims.__setitem__(1, 200),
     "W must be [1, 240, 24], got [1, 200, 24]"),
    ("R rank", lambda m: m.graph.initializer[1].dims.pop(),
     "R must be 3-D with a static hidden size in [1, 2^24]"),
    ("f64", lambda m: [setattr(m.graph.input[0].type.tensor_type, "elem_type", TP.DOUBLE)],
     "expects f32, f16 or bf16 inputs"),
])
def test_refusal_of_bad_shapes(what, change, message, tmp_path):
    model, _, _ = rnn_model("LSTM", bias=False)
    change(model)
    init_ = model.graph.initializer
    for t in init_:  # keep the data consistent with the changed dims
        t.raw_data = np.zeros(int(np.prod(t.dims)), np.float32).tobytes()
    path = tmp_path / "m.onnx"
    onnx.save(model, str(path))
    line = one_line_error(run_importer(path))
    assert "node 'rnn' (LSTM, domain 'ai.onnx'): " + message in line, line
