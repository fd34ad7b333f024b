"""ONNX Scan and Loop: imported as scf.for loops whose body is the body graph
translated by the importer's own node handlers; mix-raise then replaces the
loops whose step is linear attention or the delta rule by the mix op. Each
model is checked against a float64 numpy loop written here and against
onnxruntime, at odd lengths and head sizes, raised and (--no-raise) as a
loop; malformed nodes give one-line errors."""

import numpy as np
import pytest
from needs import need

need("onnx")
from onnx import TensorProto as TP
from onnx import helper as h

from onnx_helpers import (F32, I64, compile_and_run, import_model, init,
                          make_model, ort_run, rel_rms, rng, run_importer, vi)

N = h.make_node
TOL = 1e-5


def body_graph(nodes, inputs, outputs, inits=()):
    return h.make_graph(nodes, "body", inputs, outputs, list(inits))


def unsq(x, y, axis):
    return [N("Constant", [], [y + "_ax"],
              value=h.make_tensor(y + "_axv", I64, [1], [axis])),
            N("Unsqueeze", [x, y + "_ax"], [y])]


# Body of the linear-attention family on a [K, V] state: decay by exp(g)
# (when `gated`), then S += k v^T (delta: S += k (beta (v - k^T S))^T), then
# o = q S.
def recurrence_nodes(delta, gated, state="S", q="q", k="k", v="v", g="g",
                     beta="beta", new="S2", out="o"):
    nodes, s = [], state
    if gated:
        nodes += [N("Exp", [g], ["eg"]), N("Mul", [s, "eg"], ["Sd"])]
        s = "Sd"
    if delta:
        nodes += [N("MatMul", [k, s], ["kS"]), N("Sub", [v, "kS"], ["err"]),
                  N("Mul", ["err", beta], ["u"])]
        v = "u"
    nodes += unsq(k, "kc", 1) + unsq(v, "vr", 0)
    nodes += [N("MatMul", ["kc", "vr"], ["kv"]), N("Add", [s, "kv"], [new]),
              N("MatMul", [q, new], [out])]
    return nodes


def reference(q, k, v, g=None, beta=None, delta=False, s0=None):
    """float64 recurrent form: per step S = exp(g) S, S += k u^T with
    u = v (linear) or beta (v - k^T S) (delta), o = q S."""
    T, K = q.shape
    V = v.shape[1]
    S = np.zeros((K, V)) if s0 is None else s0.astype(np.float64)
    o = np.zeros((T, V))
    for t in range(T):
        if g is not None:
            S = np.exp(float(g[t])) * S
        u = v[t].astype(np.float64)
        if delta:
            u = float(beta[t]) * (u - k[t] @ S)
        S = S + np.outer(k[t], u)
        o[t] = q[t] @ S
    return S, o


def feeds_for(T, K, V, seed, gated=False, delta=False):
    r = rng(seed)
    f = {"S0": (r.standard_normal((K, V)) * 0.1).astype(np.float32),
         "Q": (r.standard_normal((T, K)) / np.sqrt(K)).astype(np.float32),
         "Kx": r.standard_normal((T, K)).astype(np.float32),
         "Vx": r.standard_normal((T, V)).astype(np.float32)}
    if delta:  # unit-norm keys keep the delta rule's state bounded
        f["Kx"] /= np.linalg.norm(f["Kx"], axis=1, keepdims=True)
        f["B"] = r.uniform(0.1, 0.9, (T,)).astype(np.float32)
    else:
        f["Kx"] /= np.sqrt(K)
    if gated:
        f["G"] = r.uniform(-0.2, -0.01, (T,)).astype(np.float32)
    return f


def scan_model(T, K, V, delta=False, gated=False, reverse=False):
    names = ["q", "k", "v"] + (["beta"] if delta else []) + (["g"] if gated else [])
    outer = {"q": "Q", "k": "Kx", "v": "Vx", "beta": "B", "g": "G"}
    dims = {"q": [K], "k": [K], "v": [V], "beta": [], "g": []}
    body = body_graph(recurrence_nodes(delta, gated),
                      [vi("S", [K, V])] + [vi(n, dims[n]) for n in names],
                      [vi("S2", [K, V]), vi("o", [V])])
    d = int(reverse)
    node = N("Scan", ["S0"] + [outer[n] for n in names], ["SF", "O"],
             body=body, num_scan_inputs=len(names),
             scan_input_directions=[d] * len(names),
             scan_output_directions=[d])
    ins = [vi("S0", [K, V])] + [vi(outer[n], [T] + dims[n]) for n in names]
    return make_model([node], ins, [vi("SF", [K, V]), vi("O", [T, V])])


def run_and_compare(model, feeds, tmp_path, refs, *import_args):
    """Imports and runs `model`; compares each output with the float64
    reference and with onnxruntime. Returns the imported text."""
    text = import_model(model, tmp_path, *import_args)
    names = [i.name for i in model.graph.input]
    outs = compile_and_run(text, feeds, names)
    ort = ort_run(model, feeds)
    assert len(outs) == len(refs) == len(ort)
    for i, (out, ref, o) in enumerate(zip(outs, refs, ort)):
        assert rel_rms(ref, out) <= TOL, f"output {i} vs float64"
        assert rel_rms(np.asarray(o, np.float64), out) <= TOL, f"output {i} vs ort"
    return text


@pytest.mark.parametrize("T,K,V", [(1, 12, 20), (63, 20, 12), (150, 12, 20)])
@pytest.mark.parametrize("delta,gated", [(False, False), (False, True),
                                         (True, True)])
def test_scan_recurrence(T, K, V, delta, gated, tmp_path):
    feeds = feeds_for(T, K, V, seed=T + K, gated=gated, delta=delta)
    S, o = reference(feeds["Q"], feeds["Kx"], feeds["Vx"], feeds.get("G"),
                     feeds.get("B"), delta, feeds["S0"])
    model = scan_model(T, K, V, delta, gated)
    text = run_and_compare(model, feeds, tmp_path, [S, o])
    if T > 1:  # one step: the loop folds away before mix-raise
        assert "scf.for" not in text
        assert ("mix.delta_rule" if delta else "mix.linear_attention") in text
        assert ("gate scalar" if gated else "gate none") in text
    loop = run_and_compare(model, feeds, tmp_path, [S, o], "--no-raise")
    assert "mix." not in loop and ("scf.for" in loop or T == 1)


@pytest.mark.parametrize("T,K,V", [(63, 12, 20), (150, 20, 12)])
def test_scan_recurrence_backwards(T, K, V, tmp_path):
    """Every input read and the output written at T - 1 - t: the mix op
    runs on the reversed sequences and its output is reversed back."""
    feeds = feeds_for(T, K, V, seed=2 * T, gated=True, delta=True)
    rev = {n: x[::-1].copy() for n, x in feeds.items() if n != "S0"}
    S, o = reference(rev["Q"], rev["Kx"], rev["Vx"], rev["G"], rev["B"], True,
                     feeds["S0"])
    text = run_and_compare(scan_model(T, K, V, True, True, reverse=True), feeds,
                           tmp_path, [S, o[::-1]])
    assert "scf.for" not in text and "mix.delta_rule" in text


def loop_model(T, K, V):
    """Linear attention as a Loop with trip count T whose body reads the
    step's q, k, v from the enclosing graph with Gather."""
    nodes = [N("Gather", [x, "i"], [x.lower() + "_t"], axis=0)
             for x in ("Q", "Kx", "Vx")]
    nodes += recurrence_nodes(False, False, q="q_t", k="kx_t", v="vx_t")
    nodes += [N("Identity", ["c"], ["c2"])]
    body = body_graph(nodes, [vi("i", [], I64), vi("c", [], TP.BOOL),
                              vi("S", [K, V])],
                      [vi("c2", [], TP.BOOL), vi("S2", [K, V]), vi("o", [V])])
    node = N("Loop", ["M", "", "S0"], ["SF", "O"], body=body)
    ins = [vi("S0", [K, V]), vi("Q", [T, K]), vi("Kx", [T, K]), vi("Vx", [T, V])]
    return make_model([node], ins, [vi("SF", [K, V]), vi("O", [T, V])],
                      [init("M", np.array(T, np.int64))])


@pytest.mark.parametrize("T,K,V", [(1, 12, 20), (63, 20, 12), (150, 12, 20)])
def test_loop_linear_attention(T, K, V, tmp_path):
    feeds = feeds_for(T, K, V, seed=3 * T)
    S, o = reference(feeds["Q"], feeds["Kx"], feeds["Vx"], s0=feeds["S0"])
    text = run_and_compare(loop_model(T, K, V), feeds, tmp_path, [S, o])
    if T > 1:  # Gather at the iteration number is a read at the step
        assert "scf.for" not in text and "mix.linear_attention" in text


def diag_model(T, D, nonlinear, reverse):
    """h = exp(g) * h + x per channel (or h = tanh(exp(g) * h + x)), y = 2 h,
    scanned along axis 1 of [D, T] inputs and stacked along axis 1, forwards
    or backwards."""
    nodes = [N("Exp", ["g"], ["a"]), N("Mul", ["a", "h"], ["ah"]),
             N("Add", ["ah", "x"], ["pre"])]
    nodes += [N("Tanh", ["pre"], ["h2"])] if nonlinear else [
        N("Identity", ["pre"], ["h2"])]
    nodes += [N("Mul", ["h2", "two"], ["y"])]
    body = body_graph(nodes, [vi("h", [D]), vi("g", [D]), vi("x", [D])],
                      [vi("h2", [D]), vi("y", [D])],
                      [init("two", np.array(2.0, np.float32))])
    d = int(reverse)
    node = N("Scan", ["H0", "G", "X"], ["HF", "Y"], body=body,
             num_scan_inputs=2, scan_input_axes=[1, 1],
             scan_input_directions=[d, d], scan_output_axes=[1],
             scan_output_directions=[d])
    return make_model([node], [vi("H0", [D]), vi("G", [D, T]), vi("X", [D, T])],
                      [vi("HF", [D]), vi("Y", [D, T])])


@pytest.mark.parametrize("T,D", [(1, 12), (75, 20), (150, 12)])
@pytest.mark.parametrize("nonlinear,reverse", [(False, False), (False, True),
                                               (True, False)])
def test_scan_diagonal(T, D, nonlinear, reverse, tmp_path):
    r = rng(T + D)
    feeds = {"H0": r.standard_normal(D).astype(np.float32),
             "G": np.log(r.uniform(0.5, 0.99, (D, T))).astype(np.float32),
             "X": r.standard_normal((D, T)).astype(np.float32)}
    h_ = feeds["H0"].astype(np.float64)
    y = np.zeros((D, T))
    for t in (reversed(range(T)) if reverse else range(T)):
        h_ = np.exp(feeds["G"][:, t].astype(np.float64)) * h_ + feeds["X"][:, t]
        if nonlinear:
            h_ = np.tanh(h_)
        y[:, t] = 2 * h_
    model = diag_model(T, D, nonlinear, reverse)
    text = run_and_compare(model, feeds, tmp_path, [h_, y])
    if T > 1 and not nonlinear:
        # (x and the log decay are stacked by a loop of their own)
        assert "mix.scan" in text
    else:
        # A non-linear step is no recurrence: the loop stays and still runs
        # correctly.
        assert "mix." not in text and ("scf.for" in text or T == 1)


def bad_scan(**overrides):
    K, V, T = 4, 3, 5
    body_inputs = [vi("S", [K, V]), vi("q", [K]), vi("k", [K]), vi("v", [V])]
    attrs = {"num_scan_inputs": 3}
    body = body_graph(recurrence_nodes(False, False), body_inputs,
                      [vi("S2", [K, V]), vi("o", [V])])
    attrs["body"] = body
    attrs.update(overrides)
    attrs = {k: v for k, v in attrs.items() if v is not None}
    node = N("Scan", ["S0", "Q", "Kx", "Vx"], ["SF", "O"], **attrs)
    return make_model([node], [vi("S0", [K, V]), vi("Q", [T, K]),
                               vi("Kx", [T, K]), vi("Vx", [T, V])],
                      [vi("SF", [K, V]), vi("O", [T, V])])


def bad_loop(cond_node):
    nodes = [cond_node, N("Identity", ["S"], ["S2"])]
    body = body_graph(nodes, [vi("i", [], I64), vi("c", [], TP.BOOL),
                              vi("S", [2])],
                      [vi("c2", [], TP.BOOL), vi("S2", [2])])
    node = N("Loop", ["M", "", "S0"], ["SF"], body=body)
    return make_model([node], [vi("S0", [2]), vi("M", [], I64)],
                      [vi("SF", [2])])


@pytest.mark.parametrize("model,message", [
    (bad_scan(num_scan_inputs=None), "missing the 'num_scan_inputs'"),
    (bad_scan(body=None), "missing the 'body' graph"),
    (bad_scan(num_scan_inputs=2), "changes type in the body"),
    (bad_scan(num_scan_inputs=5), "num_scan_inputs is 5"),
    (bad_scan(scan_input_axes=[0]), "'scan_input_axes' has 1 entries"),
    (bad_scan(scan_input_directions=[0, 2, 0]), "outside [0, 1]"),
    (bad_loop(N("Identity", ["c"], ["c2"])), "trip count known at import"),
])
def test_malformed_loops(model, message, tmp_path):
    path = tmp_path / "bad.onnx"
    path.write_bytes(model.SerializeToString())
    r = run_importer(path, "-o", "-")
    assert r.returncode != 0
    assert r.stdout == ""
    err = r.stderr.strip()
    assert "\n" not in err and message in err, err


def test_malformed_body_arity(tmp_path):
    """A body with one input too few for the node."""
    K, V, T = 4, 3, 5
    body = body_graph(recurrence_nodes(False, False)[:-1],
                      [vi("S", [K, V]), vi("k", [K]), vi("v", [V])],
                      [vi("S2", [K, V])])
    node = N("Scan", ["S0", "Q", "Kx", "Vx"], ["SF"], body=body,
             num_scan_inputs=3)
    model = make_model([node], [vi("S0", [K, V]), vi("Q", [T, K]),
                                vi("Kx", [T, K]), vi("Vx", [T, V])],
                       [vi("SF", [K, V])])
    path = tmp_path / "bad.onnx"
    path.write_bytes(model.SerializeToString())
    r = run_importer(path, "-o", "-")
    assert r.returncode != 0
    err = r.stderr.strip()
    assert "\n" not in err and "the body takes 3 inputs, the node passes 4" in err


def test_loop_data_dependent_exit(tmp_path):
    """A Loop whose body computes its condition stays unsupported, with a
    one-line error naming why."""
    cond = N("Less", ["i", "lim"], ["c2"])
    nodes = [N("Constant", [], ["lim"], value=h.make_tensor("l", I64, [], [3])),
             cond, N("Identity", ["S"], ["S2"])]
    body = body_graph(nodes, [vi("i", [], I64), vi("c", [], TP.BOOL),
                              vi("S", [2])],
                      [vi("c2", [], TP.BOOL), vi("S2", [2])])
    node = N("Loop", ["M", "", "S0"], ["SF"], body=body)
    model = make_model([node], [vi("S0", [2])], [vi("SF", [2])],
                       [init("M", np.array(5, np.int64))])
    path = tmp_path / "bad.onnx"
    path.write_bytes(model.SerializeToString())
    r = run_importer(path, "-o", "-")
    assert r.returncode != 0
    err = r.stderr.strip()
    assert "\n" not in err and "data-dependent exit" in err, err
