"""mix-raise on written-out attention (positive and negative cases) and the
importer's one-line errors."""

import numpy as np
from needs import need

need("onnx")
import onnx
import pytest
from onnx import TensorProto as TP
from onnx import helper as h

from onnx_helpers import (F32, TOL, check_against, init, make_model, randn, rng,
                          run_importer, vi)

N = h.make_node
B, H, T, D = 2, 2, 40, 16


def scores_nodes():
    return [N("Transpose", ["k"], ["kt"], perm=[0, 1, 3, 2]),
            N("MatMul", ["q", "kt"], ["s"])]


def qkv_inputs():
    return [vi(n, [B, H, T, D]) for n in "qkv"]


def qkv_feeds(seed=60):
    r = rng(seed)
    return {n: randn(r, B, H, T, D) * 0.5 for n in "qkv"}


def linear_model(mask, extra_nodes=(), extra_inputs=(), factor="m"):
    nodes = scores_nodes() + list(extra_nodes) + [
        N("Mul", ["s", factor], ["p"]), N("MatMul", ["p", "v"], ["o"])]
    return make_model(nodes, qkv_inputs() + list(extra_inputs), [vi("o", None)],
                      [init("m", mask.astype(np.float32))])


def test_raise_causal_linear_attention(tmp_path, record_rel_rms):
    model = linear_model(np.tril(np.ones((T, T))))
    text = check_against(model, qkv_feeds(), tmp_path, record=record_rel_rms,
                         case="raised linear attention")
    assert "mix.linear_attention" in text and "gate none" in text


@pytest.mark.parametrize("polarity", ["keep_true", "keep_false"])
def test_raise_linear_attention_where_zero(polarity, tmp_path, record_rel_rms):
    """Where(causal, scores, 0) (or Where(above, 0, scores)) instead of a
    multiply by the 0/1 mask."""
    below = np.tril(np.ones((T, T), bool))
    cond, ins = ((below, ["c", "s", "zero"]) if polarity == "keep_true"
                 else (~below, ["c", "zero", "s"]))
    nodes = scores_nodes() + [N("Where", ins, ["p"]), N("MatMul", ["p", "v"], ["o"])]
    model = make_model(nodes, qkv_inputs(), [vi("o", None)],
                       [init("c", cond), init("zero", np.array(0.0, np.float32))])
    text = check_against(model, qkv_feeds(), tmp_path, record=record_rel_rms,
                         case=f"raised linear attention (Where, {polarity})")
    assert "mix.linear_attention" in text and "gate none" in text


def test_raise_retnet_decay(tmp_path, record_rel_rms):
    gammas = np.array([0.9, 0.97])
    i, j = np.arange(T)[:, None], np.arange(T)[None, :]
    mask = np.stack([np.where(j <= i, g ** (i - j), 0.0) for g in gammas])[None]
    model = linear_model(mask)
    text = check_against(model, qkv_feeds(), tmp_path, record=record_rel_rms,
                         case="raised RetNet decay")
    assert "mix.linear_attention" in text and "gate head" in text


def test_raise_data_dependent_decay(tmp_path, record_rel_rms):
    extra = [N("CumSum", ["g", "ax"], ["G"]),
             N("Unsqueeze", ["G", "am1"], ["Gi"]), N("Unsqueeze", ["G", "am2"], ["Gj"]),
             N("Sub", ["Gi", "Gj"], ["dG"]), N("Exp", ["dG"], ["E"]),
             N("Mul", ["s", "E"], ["sE"])]
    nodes = scores_nodes() + extra + [N("Mul", ["sE", "m"], ["p"]),
                                      N("MatMul", ["p", "v"], ["o"])]
    model = make_model(nodes, qkv_inputs() + [vi("g", [B, H, T])], [vi("o", None)],
                       [init("m", np.tril(np.ones((T, T))).astype(np.float32)),
                        init("ax", np.array(2, np.int64)), init("am1", np.array([-1])),
                        init("am2", np.array([-2]))])
    feeds = qkv_feeds()
    feeds["g"] = (-np.abs(randn(rng(61), B, H, T)) * 0.2).astype(np.float32)
    text = check_against(model, feeds, tmp_path, record=record_rel_rms,
                         case="raised exp(G_i - G_j) decay")
    assert "mix.linear_attention" in text and "gate scalar" in text


@pytest.mark.parametrize("scale_op", ["Mul", "Div"])
def test_raise_softmax_attention(scale_op, tmp_path, record_rel_rms):
    neg = np.triu(np.full((T, T), -np.inf), 1).astype(np.float32)
    c = 0.25 if scale_op == "Mul" else 4.0
    nodes = scores_nodes() + [
        N(scale_op, ["s", "c"], ["ss"]), N("Add", ["ss", "mask"], ["sm"]),
        N("Softmax", ["sm"], ["p"], axis=-1), N("MatMul", ["p", "v"], ["o"])]
    model = make_model(nodes, qkv_inputs(), [vi("o", None)],
                       [init("c", np.array(c, np.float32)), init("mask", neg)])
    text = check_against(model, qkv_feeds(), tmp_path, record=record_rel_rms,
                         case="raised softmax attention")
    assert "mix.attention" in text and "causal" in text and "scale = 2.5" in text


@pytest.mark.parametrize("polarity", ["drop_above", "keep_below"])
def test_raise_softmax_attention_where_mask(polarity, tmp_path, record_rel_rms):
    """masked_fill as exported: Where(constant bool, -inf, scores)."""
    above = np.triu(np.ones((T, T), bool), 1)
    cond, ins = ((above, ["c", "ninf", "ss"]) if polarity == "drop_above"
                 else (~above, ["c", "ss", "ninf"]))
    nodes = scores_nodes() + [
        N("Div", ["s", "d"], ["ss"]), N("Where", ins, ["sm"]),
        N("Softmax", ["sm"], ["p"], axis=-1), N("MatMul", ["p", "v"], ["o"])]
    model = make_model(nodes, qkv_inputs(), [vi("o", None)],
                       [init("d", np.array(4.0, np.float32)), init("c", cond),
                        init("ninf", np.array(-np.inf, np.float32))])
    text = check_against(model, qkv_feeds(), tmp_path, record=record_rel_rms,
                         case=f"raised softmax attention (Where, {polarity})")
    assert "mix.attention" in text and "causal" in text


@pytest.mark.parametrize("window", [0, 5])
def test_raise_torch_sdpa_decomposition_with_gqa(window, tmp_path, record_rel_rms):
    """torch.onnx's SDPA below opset 23 after transformers' repeat_kv: K/V
    [B, 1, T, D] unsqueezed, expanded to 2 copies and reshaped to 2 heads;
    K^T as reshape to [-1, T, D], transpose, reshape back; Q and K^T each
    times sqrt(scale); additive causal (banded) mask; the IsNaN/Where guard.
    Raised to one mix.attention reading the single shared K/V head."""
    hkv, rep = 1, H
    i, j = np.arange(T)[:, None], np.arange(T)[None, :]
    keep = (j <= i) & ((i - j < window) if window else True)
    mask = np.where(keep, 0.0, np.finfo(np.float32).min).astype(np.float32)[None, None]
    nodes = [
        N("Unsqueeze", ["k", "ax2"], ["ku"]), N("Expand", ["ku", "rep"], ["ke"]),
        N("Unsqueeze", ["v", "ax2"], ["vu"]), N("Expand", ["vu", "rep"], ["ve"]),
        N("Reshape", ["ve", "heads"], ["vr"]),
        N("Reshape", ["ke", "flat"], ["kf"]), N("Transpose", ["kf"], ["kft"], perm=[0, 2, 1]),
        N("Reshape", ["kft", "back"], ["kt"]),
        N("Mul", ["q", "sq"], ["qs"]), N("Mul", ["kt", "sq"], ["kts"]),
        N("MatMul", ["qs", "kts"], ["s"]), N("Add", ["s", "mask"], ["sm"]),
        N("Softmax", ["sm"], ["p"], axis=-1), N("IsNaN", ["p"], ["nan"]),
        N("Where", ["nan", "zero", "p"], ["pg"]), N("MatMul", ["pg", "vr"], ["o"])]
    i64 = lambda *x: np.array(x, np.int64)
    inits = [init("ax2", i64(2)), init("rep", i64(B, hkv, rep, T, D)),
             init("heads", i64(B, hkv * rep, T, D)), init("flat", i64(-1, T, D)),
             init("back", i64(B, hkv * rep, D, T)),
             init("sq", np.array(np.sqrt(1 / np.sqrt(D)), np.float32)),
             init("mask", mask), init("zero", np.array(0, np.float32))]
    model = make_model(nodes, [vi("q", [B, H, T, D]), vi("k", [B, hkv, T, D]),
                               vi("v", [B, hkv, T, D])], [vi("o", None)], inits, opset=20)
    r = rng(61)
    feeds = {"q": randn(r, B, H, T, D), "k": randn(r, B, hkv, T, D), "v": randn(r, B, hkv, T, D)}
    text = check_against(model, feeds, tmp_path, record=record_rel_rms,
                         case="raised torch.onnx SDPA (GQA, guard)")
    lines = [l for l in text.splitlines() if "mix.attention" in l]
    assert len(lines) == 1 and "causal" in lines[0], text
    assert f"tensor<{B}x{T}x{hkv}x{D}xf32>" in lines[0], lines[0]
    assert (f"window = {window}" in lines[0]) == bool(window), lines[0]
    assert "isnan" not in text and "cmpf uno" not in text
    assert f"{B}x{hkv}x{rep}x{T}x{D}" not in text  # the copy is gone


def test_tiled_kv_copies_are_not_shared(tmp_path, record_rel_rms):
    """K/V tiled (torch.repeat: query head h reads kv head h % Hkv) is not
    repeat_kv's interleaving (h / n): raised with the copies as they are."""
    hq, hkv, t = 4, 2, 12
    mask = np.triu(np.full((t, t), -np.inf), 1).astype(np.float32)
    nodes = []
    for x in "kv":
        nodes += [N("Unsqueeze", [x, "ax1"], [x + "u"]), N("Expand", [x + "u", "rep"], [x + "e"]),
                  N("Reshape", [x + "e", "heads"], [x + "r"])]
    nodes += [N("Transpose", ["kr"], ["kt"], perm=[0, 1, 3, 2]), N("MatMul", ["q", "kt"], ["s"]),
              N("Mul", ["s", "c"], ["ss"]), N("Add", ["ss", "mask"], ["sm"]),
              N("Softmax", ["sm"], ["p"], axis=-1), N("MatMul", ["p", "vr"], ["o"])]
    i64 = lambda *x: np.array(x, np.int64)
    inits = [init("ax1", i64(1)), init("rep", i64(1, hq // hkv, hkv, t, D)),
             init("heads", i64(1, hq, t, D)), init("c", np.array(0.25, np.float32)),
             init("mask", mask)]
    model = make_model(nodes, [vi("q", [1, hq, t, D]), vi("k", [1, hkv, t, D]),
                               vi("v", [1, hkv, t, D])], [vi("o", None)], inits)
    r = rng(62)
    feeds = {"q": randn(r, 1, hq, t, D), "k": randn(r, 1, hkv, t, D), "v": randn(r, 1, hkv, t, D)}
    text = check_against(model, feeds, tmp_path, record=record_rel_rms,
                         case="raised attention (tiled K/V kept)")
    line = next(l for l in text.splitlines() if "mix.attention" in l)
    assert f"tensor<1x{t}x{hq}x{D}xf32>, tensor<1x{t}x{hq}x{D}xf32>" in line, line


def test_no_raise_when_where_guard_is_not_isnan(tmp_path, record_rel_rms):
    """Where(IsInf(p), 0, p) is not the NaN guard: left as it is."""
    neg = np.triu(np.full((T, T), -np.inf), 1).astype(np.float32)
    nodes = scores_nodes() + [
        N("Add", ["s", "mask"], ["sm"]), N("Softmax", ["sm"], ["p"], axis=-1),
        N("IsInf", ["p"], ["bad"]), N("Where", ["bad", "zero", "p"], ["pg"]),
        N("MatMul", ["pg", "v"], ["o"])]
    model = make_model(nodes, qkv_inputs(), [vi("o", None)],
                       [init("mask", neg), init("zero", np.array(0, np.float32))], opset=20)
    text = check_against(model, qkv_feeds(), tmp_path, record=record_rel_rms,
                         case="not raised (IsInf guard)")
    assert "mix.attention" not in text


@pytest.mark.parametrize("style", ["where", "additive"])
def test_raise_sliding_window_attention(style, tmp_path, record_rel_rms):
    """A causal band of width 4 (i - 4 < j <= i) becomes `window = 4`."""
    i, j = np.arange(T)[:, None], np.arange(T)[None, :]
    keep = (j <= i) & (i - j < 4)
    if style == "where":
        nodes = [N("Where", ["c", "s", "ninf"], ["sm"])]
        inits = [init("c", keep), init("ninf", np.array(-np.inf, np.float32))]
    else:
        nodes = [N("Add", ["s", "mask"], ["sm"])]
        inits = [init("mask", np.where(keep, 0.0, -1e9).astype(np.float32))]
    nodes = scores_nodes() + nodes + [N("Softmax", ["sm"], ["p"], axis=-1),
                                      N("MatMul", ["p", "v"], ["o"])]
    model = make_model(nodes, qkv_inputs(), [vi("o", None)], inits)
    text = check_against(model, qkv_feeds(), tmp_path, record=record_rel_rms,
                         case=f"raised sliding-window attention ({style})")
    assert "mix.attention" in text and "window = 4" in text


def test_no_raise_when_band_is_ragged(tmp_path, record_rel_rms):
    i, j = np.arange(T)[:, None], np.arange(T)[None, :]
    keep = (j <= i) & (i - j < 4)
    keep[T - 3, T - 8] = True  # one key outside the band
    nodes = scores_nodes() + [N("Where", ["c", "s", "ninf"], ["sm"]),
                              N("Softmax", ["sm"], ["p"], axis=-1),
                              N("MatMul", ["p", "v"], ["o"])]
    model = make_model(nodes, qkv_inputs(), [vi("o", None)],
                       [init("c", keep), init("ninf", np.array(-np.inf, np.float32))])
    text = check_against(model, qkv_feeds(), tmp_path, record=record_rel_rms,
                         case="not raised (ragged band)")
    assert "mix." not in text


def test_raise_f16_softmax_attention(tmp_path, record_rel_rms):
    """f16 matmuls accumulate in f32 (an extf/truncf pair around each
    contraction); mix-raise looks through that and still finds the chain."""
    neg = np.triu(np.full((T, T), -np.inf), 1).astype(np.float16)
    nodes = scores_nodes() + [
        N("Mul", ["s", "c"], ["ss"]), N("Add", ["ss", "mask"], ["sm"]),
        N("Softmax", ["sm"], ["p"], axis=-1), N("MatMul", ["p", "v"], ["o"])]
    model = make_model(nodes, [vi(n, [B, H, T, D], TP.FLOAT16) for n in "qkv"],
                       [vi("o", None, TP.FLOAT16)],
                       [init("c", np.array(0.25, np.float16)), init("mask", neg)])
    feeds = {n: x.astype(np.float16) for n, x in qkv_feeds().items()}
    text = check_against(model, feeds, tmp_path, tol=5e-3, record=record_rel_rms,
                         case="raised softmax attention (f16)")
    assert "mix.attention" in text and "causal" in text


def test_no_raise_when_where_mask_is_not_causal(tmp_path, record_rel_rms):
    cond = np.triu(np.ones((T, T), bool), 2)  # also keeps the first superdiagonal
    nodes = scores_nodes() + [N("Where", ["c", "ninf", "s"], ["sm"]),
                              N("Softmax", ["sm"], ["p"], axis=-1),
                              N("MatMul", ["p", "v"], ["o"])]
    model = make_model(nodes, qkv_inputs(), [vi("o", None)],
                       [init("c", cond), init("ninf", np.array(-np.inf, np.float32))])
    text = check_against(model, qkv_feeds(), tmp_path, record=record_rel_rms,
                         case="not raised (Where mask)")
    assert "mix." not in text


def test_no_raise_when_mask_is_not_causal(tmp_path, record_rel_rms):
    mask = np.tril(np.ones((T, T)))
    mask[3, 7] = 1.0  # one entry above the diagonal
    model = linear_model(mask)
    text = check_against(model, qkv_feeds(), tmp_path, record=record_rel_rms,
                         case="not raised (mask)")
    assert "mix." not in text


def test_no_raise_when_decay_is_not_a_power(tmp_path, record_rel_rms):
    i, j = np.arange(T)[:, None], np.arange(T)[None, :]
    mask = np.where(j <= i, 1.0 / (1.0 + i - j), 0.0)  # causal but not gamma^(i-j)
    text = check_against(linear_model(mask), qkv_feeds(), tmp_path, record=record_rel_rms,
                         case="not raised (decay)")
    assert "mix." not in text


def test_no_raise_with_run_time_mask(tmp_path, record_rel_rms):
    model = linear_model(np.tril(np.ones((T, T))), extra_inputs=[vi("mm", [T, T])],
                         factor="mm")
    feeds = qkv_feeds()
    feeds["mm"] = np.tril(np.ones((T, T), np.float32))
    text = check_against(model, feeds, tmp_path, record=record_rel_rms,
                         case="not raised (input mask)")
    assert "mix." not in text


# --- errors: one line naming the node or file, exit status 1, no crash ----------------
def one_line_error(r):
    assert r.returncode == 1, (r.returncode, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert r.stdout == ""
    return lines[0]


def test_error_unsupported_op(tmp_path):
    model = make_model([N("NonZero", ["x"], ["y"], name="find_it")], [vi("x", [3])],
                       [vi("y", None)])
    onnx.save(model, str(tmp_path / "m.onnx"))
    line = one_line_error(run_importer(tmp_path / "m.onnx"))
    assert "node 'find_it' (NonZero, domain 'ai.onnx'): unsupported op" in line


def test_error_unsupported_custom_domain(tmp_path):
    model = make_model([N("GatedDeltaNet", ["x"], ["y"], name="gdn", domain="com.microsoft")],
                       [vi("x", [3])], [vi("y", None)], domains=[("com.microsoft", 1)])
    onnx.save(model, str(tmp_path / "m.onnx"))
    assert "(GatedDeltaNet, domain 'com.microsoft')" in one_line_error(
        run_importer(tmp_path / "m.onnx"))


def test_error_names_the_alternative(tmp_path):
    model = make_model([N("GroupQueryAttention", ["x"], ["y"], name="gqa", domain="com.microsoft")],
                       [vi("x", [3])], [vi("y", None)], domains=[("com.microsoft", 1)])
    onnx.save(model, str(tmp_path / "m.onnx"))
    line = one_line_error(run_importer(tmp_path / "m.onnx"))
    assert "node 'gqa' (GroupQueryAttention, domain 'com.microsoft'): unsupported op (opset 1)" in line
    assert "export with opset >= 23" in line


@pytest.mark.parametrize("node,message", [
    (N("Pad", ["x", "p"], ["y"], name="n", mode="reflect"),
     "mode 'reflect' is not supported"),
    (N("Pad", ["x", "neg"], ["y"], name="n"), "negative pads"),
    (N("Pad", ["x", "x"], ["y"], name="n"), "pads must be a constant"),
    (N("Einsum", ["x", "x"], ["y"], name="n", equation="ij,ij"),
     "implicit-output"),
    (N("Einsum", ["x", "x"], ["y"], name="n", equation="...i,...i->...i"),
     "ellipsis"),
    (N("Einsum", ["x", "x"], ["y"], name="n", equation="ii,ij->j"),
     "distinct letters"),
    (N("Einsum", ["x"], ["y"], name="n", equation="ij,jk->ik"),
     "2 terms for 1 inputs"),
    (N("Einsum", ["x", "w"], ["y"], name="n", equation="ij,jk->ik"),
     "letter 'j' has sizes 4 and 3"),
])
def test_error_pad_and_einsum(node, message, tmp_path):
    model = make_model([node], [vi("x", [3, 4])], [vi("y", None)],
                       [init("p", np.array([0, 1, 0, 1], np.int64)),
                        init("neg", np.array([0, -1, 0, 0], np.int64)),
                        init("w", np.ones((3, 2), np.float32))], opset=18)
    onnx.save(model, str(tmp_path / "m.onnx"))
    line = one_line_error(run_importer(tmp_path / "m.onnx"))
    assert f"node 'n' ({node.op_type}" in line
    assert message in line, line


@pytest.mark.parametrize("op,indices,attrs,message", [
    ("ScatterElements", [[0, 1, 0, 0]], {"axis": 0}, "all name one position"),
    ("ScatterElements", [[3, 3, 3, 3]], {"axis": 0}, "index 3 is out of range"),
    ("ScatterElements", [[1, 1, 1, 1]], {"axis": 0, "reduction": "add"},
     "reduction 'none'"),
    ("ScatterND", [[0], [2]], {}, "consecutive rows"),
    ("ScatterND", [[-1], [0]], {}, "consecutive rows"),
    ("ScatterND", [[-4], [-3]], {}, "index -4 is out of range"),
])
def test_error_scatter(op, indices, attrs, message, tmp_path):
    idx = np.array(indices, np.int64)
    upd = np.ones((1, 4) if op == "ScatterElements" else (len(idx), 4),
                  np.float32)
    model = make_model([N(op, ["x", "i", "u"], ["y"], name="n", **attrs)],
                       [vi("x", [3, 4])], [vi("y", None)],
                       [init("i", idx), init("u", upd)], opset=18)
    onnx.save(model, str(tmp_path / "m.onnx"))
    line = one_line_error(run_importer(tmp_path / "m.onnx"))
    assert f"node 'n' ({op}" in line and message in line, line


@pytest.mark.parametrize("node,message", [
    (N("TopK", ["x", "k"], ["v", "i"], name="n", axis=0), "last axis"),
    (N("TopK", ["x", "big"], ["v", "i"], name="n"), "k must be a constant"),
    (N("TopK", ["x", "x"], ["v", "i"], name="n"), "k must be a constant"),
    (N("GatherND", ["x", "k"], ["v"], name="n", batch_dims=1), "batch_dims 0"),
    (N("GatherND", ["x", "pair"], ["v"], name="n"), "[..., 1]"),
])
def test_error_topk_and_gathernd(node, message, tmp_path):
    model = make_model([node], [vi("x", [3, 4])], [vi(o, None) for o in node.output],
                       [init("k", np.array([2], np.int64)),
                        init("big", np.array([5], np.int64)),
                        init("pair", np.array([[0, 1]], np.int64))], opset=18)
    onnx.save(model, str(tmp_path / "m.onnx"))
    line = one_line_error(run_importer(tmp_path / "m.onnx"))
    assert f"node 'n' ({node.op_type}" in line and message in line, line


def test_error_attention_mask_rejected(tmp_path):
    model = make_model([N("Attention", ["q", "k", "v", "m"], ["y"], name="att")],
                       [vi(n, [1, 2, 4, 8]) for n in "qkv"] + [vi("m", [4, 4])],
                       [vi("y", None)], opset=23)
    onnx.save(model, str(tmp_path / "m.onnx"))
    line = one_line_error(run_importer(tmp_path / "m.onnx"))
    assert "node 'att' (Attention" in line and "attn_mask" in line


@pytest.mark.parametrize("cap", [-1.0, float("inf"), float("nan")])
def test_error_attention_bad_softcap(cap, tmp_path):
    model = make_model([N("Attention", ["q", "k", "v"], ["y"], name="att",
                          is_causal=1, softcap=cap)],
                       [vi(n, [1, 2, 4, 8]) for n in "qkv"], [vi("y", None)],
                       opset=23)
    onnx.save(model, str(tmp_path / "m.onnx"))
    line = one_line_error(run_importer(tmp_path / "m.onnx"))
    assert "node 'att' (Attention" in line and "softcap must be >= 0" in line


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty"])
def test_error_malformed_file(damage, tmp_path):
    model = linear_model(np.tril(np.ones((T, T))))
    data = model.SerializeToString()
    bad = {"truncated": data[: len(data) // 2],
           "garbage": bytes(np.random.default_rng(1).integers(0, 256, 4000, dtype=np.uint8)),
           "empty": b""}[damage]
    path = tmp_path / f"{damage}.onnx"
    path.write_bytes(bad)
    line = one_line_error(run_importer(path))
    assert f"{damage}.onnx" in line


def test_error_missing_model_file(tmp_path):
    line = one_line_error(run_importer(tmp_path / "nope.onnx"))
    assert "nope.onnx" in line


def external_model(tmp_path):
    w = randn(rng(70), 64, 32)
    model = make_model([N("MatMul", ["x", "w"], ["y"])], [vi("x", [4, 64])],
                       [vi("y", None)], [init("w", w)])
    path = tmp_path / "ext.onnx"
    onnx.save_model(model, str(path), save_as_external_data=True,
                    all_tensors_to_one_file=True, location="weights.bin",
                    size_threshold=0)
    return model, path


def test_external_data_is_read(tmp_path, record_rel_rms):
    import mixir
    from onnx_helpers import ort_run, rel_rms
    model, path = external_model(tmp_path)
    r = run_importer(path)
    assert r.returncode == 0, r.stderr
    x = randn(rng(71), 4, 64)
    err = rel_rms(ort_run(onnx.load(str(path)), {"x": x})[0], mixir.compile(r.stdout).main(x))
    record_rel_rms("onnx external data", "f32", "out0", err, TOL, "ort")
    assert err <= TOL


def test_error_missing_external_data(tmp_path):
    _, path = external_model(tmp_path)
    (tmp_path / "weights.bin").unlink()
    line = one_line_error(run_importer(path))
    assert "weights.bin" in line and "initializer 'w'" in line


def test_damaged_models_never_crash(tmp_path):
    """Truncations and byte flips of a whole block: the importer either
    succeeds or prints one line of UTF-8 and exits with 1 (no crash, no
    abort)."""
    from onnx_blocks import gated_deltanet_block
    data = gated_deltanet_block(1, 16, 16, 2, 8, 8).SerializeToString()
    r = np.random.default_rng(5)
    for trial in range(40):
        d = bytearray(data)
        if trial % 2 == 0:
            d = d[: int(r.integers(0, len(d)))]
        else:
            for _ in range(int(r.integers(1, 6))):
                d[int(r.integers(0, len(d)))] = int(r.integers(0, 256))
        path = tmp_path / f"damaged{trial}.onnx"
        path.write_bytes(bytes(d))
        res = run_importer(path, "-o", str(tmp_path / "out.mlir"))
        assert res.returncode in (0, 1), (trial, res.returncode, res.stderr)
        if res.returncode == 1:
            assert len(res.stderr.strip().splitlines()) == 1, (trial, res.stderr)
            assert f"damaged{trial}.onnx" in res.stderr
