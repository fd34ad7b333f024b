"""Mixer nodes (Attention, LinearAttention, com.microsoft LinearAttention,
the mixir domain) and the written-out forms mix-raise must recognise."""

import numpy as np
import pytest
from needs import need

need("onnx")
from onnx import helper as h

import mixir.reference as ref_ops
from onnx_helpers import (F32, TOL, TOL_DELTA, check_against, compile_and_run,
                          import_model, init, make_model, randn, rel_rms, rng, vi)

N = h.make_node


# --- standard Attention (opset 23) -------------------------------------------------
@pytest.mark.parametrize("form", ["4d_causal_gqa", "4d_noncausal_scale", "3d_causal",
                                  "4d_causal_softcap"])
def test_attention_node(form, tmp_path, record_rel_rms):
    r = rng(30)
    b, t, hq, hkv, d = 2, 37, 4, 2, 16
    if form.startswith("4d"):
        shapes = {"q": [b, hq, t, d], "k": [b, hkv, t, d], "v": [b, hkv, t, d]}
        attrs = {"is_causal": 1} if "causal" in form and "non" not in form else {"scale": 0.3}
        if "softcap" in form:  # scores of about N(0, 16): a cap of 2 bends them
            attrs.update(scale=1.0, softcap=2.0)
    else:
        shapes = {"q": [b, t, hq * d], "k": [b, t, hkv * d], "v": [b, t, hkv * d]}
        attrs = {"is_causal": 1, "q_num_heads": hq, "kv_num_heads": hkv}
    model = make_model([N("Attention", ["q", "k", "v"], ["y"], **attrs)],
                       [vi(n, s) for n, s in shapes.items()], [vi("y", None)], opset=23)
    feeds = {n: randn(r, *s) for n, s in shapes.items()}
    text = check_against(model, feeds, tmp_path, record=record_rel_rms,
                         case=f"Attention {form}")
    assert "mix.attention" in text
    assert ("softcap = 2.0" in text) == ("softcap" in form)


@pytest.mark.parametrize("style", ["bool", "additive"])
def test_attention_node_sliding_window_mask(style, tmp_path, record_rel_rms):
    """A constant causal band (as torch.onnx writes Mistral's sliding window
    at opset 23) becomes `causal window = 5`; GQA 4/2."""
    r = rng(31)
    b, t, d = 1, 23, 8
    i, j = np.arange(t)[:, None], np.arange(t)[None, :]
    keep = (j <= i) & (i - j < 5)
    mask = keep if style == "bool" else np.where(keep, 0, -np.inf).astype(np.float32)
    shapes = {"q": [b, 4, t, d], "k": [b, 2, t, d], "v": [b, 2, t, d]}
    model = make_model([N("Attention", ["q", "k", "v", "m"], ["y"])],
                       [vi(n, s) for n, s in shapes.items()], [vi("y", None)],
                       [init("m", mask[None, None])], opset=23)
    feeds = {n: randn(r, *s) for n, s in shapes.items()}
    text = check_against(model, feeds, tmp_path, record=record_rel_rms,
                         case=f"Attention window mask {style}")
    assert "causal window = 5" in text


# --- LinearAttention (opset 27 and com.microsoft) -------------------------------------
LA_CASES = [
    ("linear", None, 2, 2), ("gated", "head", 2, 2), ("gated", "key", 4, 2),
    ("delta", None, 2, 2), ("gated_delta", "head", 2, 2), ("gated_delta", "key", 2, 2),
    ("gated_delta", "head", 4, 2),
]


def linear_attention_model(rule, decay, hq, hkv, domain="", past=False, beta1=False,
                           t=45, dk=16, dv=24):
    r = rng(40)
    b = 2
    q = randn(r, b, t, hq * dk)
    k = randn(r, b, t, hkv, dk)
    k = (k / np.linalg.norm(k, axis=-1, keepdims=True)).reshape(b, t, hkv * dk)
    v = randn(r, b, t, hkv * dv)
    feeds = {"q": q, "k": k.astype(np.float32), "v": v}
    ins = ["q", "k", "v", "", "", ""]
    if past:
        feeds["s0"] = randn(r, b, hkv, dk, dv) * 0.1
        ins[3] = "s0"
    if decay:
        width = hkv if decay == "head" else hkv * dk
        feeds["g"] = (-np.abs(randn(r, b, t, width)) * 0.3).astype(np.float32)
        ins[4] = "g"
    if "delta" in rule:
        feeds["beta"] = r.uniform(0.1, 0.9, (b, t, 1 if beta1 else hkv)).astype(np.float32)
        ins[5] = "beta"
    while ins and ins[-1] == "":
        ins.pop()
    node = N("LinearAttention", ins, ["o", "s"], domain=domain, q_num_heads=hq,
             kv_num_heads=hkv, update_rule=rule)
    domains = [(domain, 1)] if domain else []
    model = make_model([node], [vi(n, list(a.shape)) for n, a in feeds.items()],
                       [vi("o", None), vi("s", None)], opset=27 if not domain else 23,
                       domains=domains)
    return model, feeds


@pytest.mark.parametrize("rule,decay,hq,hkv", LA_CASES)
def test_linear_attention_node(rule, decay, hq, hkv, tmp_path, record_rel_rms):
    model, feeds = linear_attention_model(rule, decay, hq, hkv)
    tol = TOL_DELTA if "delta" in rule else TOL
    text = check_against(model, feeds, tmp_path, tol=tol, record=record_rel_rms,
                         case=f"LinearAttention {rule} {decay} {hq}/{hkv}")
    want = "mix.delta_rule" if "delta" in rule else "mix.linear_attention"
    assert want in text
    kind = {None: "none", "head": "scalar", "key": "vector"}[decay]
    assert f"gate {kind}" in text


def test_linear_attention_past_state_and_beta_broadcast(tmp_path, record_rel_rms):
    model, feeds = linear_attention_model("gated_delta", "head", 2, 2, past=True,
                                          beta1=True)
    check_against(model, feeds, tmp_path, tol=TOL_DELTA, record=record_rel_rms,
                  case="LinearAttention past_state beta[B,T,1]")


@pytest.mark.parametrize("rule", ["gated", "gated_delta"])
def test_com_microsoft_linear_attention(rule, tmp_path, record_rel_rms):
    model, feeds = linear_attention_model(rule, "head", 2, 2, domain="com.microsoft")
    check_against(model, feeds, tmp_path, tol=TOL_DELTA, record=record_rel_rms,
                  case=f"com.microsoft LinearAttention {rule}")


# --- mixir domain (onnxruntime cannot run it: the f64 mixir.reference is the oracle) --
def test_mixir_domain_ops(tmp_path, record_rel_rms):
    r = rng(50)
    b, t, hh, d = 2, 33, 2, 16
    q, k, v = (randn(r, b, t, hh, d) for _ in range(3))
    g = (-np.abs(randn(r, b, t, hh)) * 0.2).astype(np.float32)
    beta = r.uniform(0.1, 0.9, (b, t, hh)).astype(np.float32)
    x, gs = randn(r, b, t, 8), (-np.abs(randn(r, b, t, 8))).astype(np.float32)
    nodes = [
        N("LinearAttention", ["q", "k", "v", "g"], ["o1", "s1"], domain="mixir",
          gate="scalar", scale=0.5),
        N("DeltaRule", ["q", "k", "v", "beta", "g"], ["o2", "s2"], domain="mixir",
          gate="scalar", qk_l2norm=1),
        N("Attention", ["q", "k", "v"], ["o3"], domain="mixir", causal=1, window=8),
        N("Scan", ["x", "gs"], ["o4", "s4"], domain="mixir"),
    ]
    feeds = {"q": q, "k": k, "v": v, "g": g, "beta": beta, "x": x, "gs": gs}
    model = make_model(nodes, [vi(n, list(a.shape)) for n, a in feeds.items()],
                       [vi(n, None) for n in ["o1", "s1", "o2", "s2", "o3", "o4", "s4"]],
                       domains=[("mixir", 1)])
    text = import_model(model, tmp_path)
    for op in ["mix.linear_attention", "mix.delta_rule", "mix.attention", "mix.scan"]:
        assert op in text
    outs = compile_and_run(text, feeds, list(feeds))
    o1, s1 = ref_ops.linear_attention(q, k, v, g, gate="scalar", scale=0.5,
                                      output_final_state=True)
    o2, s2 = ref_ops.delta_rule(q, k, v, beta, g, gate="scalar", qk_l2norm=True,
                                output_final_state=True)
    o3 = ref_ops.attention(q, k, v, causal=True, window=8)
    o4, s4 = ref_ops.scan(x, gs)
    for name, want, got, tol in zip(["o1", "s1", "o2", "s2", "o3", "o4", "s4"],
                                    [o1, s1, o2, s2, o3, o4, s4], outs,
                                    [TOL, TOL, TOL_DELTA, TOL_DELTA, TOL, TOL, TOL]):
        err = rel_rms(want, got)
        record_rel_rms("onnx mixir domain", "f32", name, err, tol, "mixir.reference")
        assert err <= tol, (name, err)


# --- com.microsoft GatedDeltaNet (token-major, V-major state) -------------------------
@pytest.mark.parametrize("form", ["rank4_scalar", "rank4_vector_softplus_sigmoid_l2",
                                  "rank3_state", "gated_gva"])
def test_com_microsoft_gated_delta_net(form, tmp_path, record_rel_rms):
    r = rng(80)
    b, t, hq, hv, dk, dv = 2, 37, 2, 2, 16, 24
    if form == "gated_gva":
        hv = 4
    rule = "gated" if form == "gated_gva" else "gated_delta"
    vector = "vector" in form
    q = randn(r, b, t, hq, dk)
    k = randn(r, b, t, hq, dk)
    if "l2" not in form:
        q = q / np.linalg.norm(q, axis=-1, keepdims=True)
        k = k / np.linalg.norm(k, axis=-1, keepdims=True)
    feeds = {"q": q.astype(np.float32), "k": k.astype(np.float32),
             "v": randn(r, b, t, hv, dv)}
    dshape = (b, t, hv, dk) if vector else (b, t, hv)
    if "softplus" in form:
        feeds["g"] = randn(r, *dshape)
    else:
        feeds["g"] = (-np.abs(randn(r, *dshape)) * 0.3).astype(np.float32)
    ins = ["q", "k", "v", "", "g"]
    attrs = {"update_rule": rule}
    if "delta" in rule:
        feeds["beta"] = (randn(r, b, t, hv) if "sigmoid" in form
                         else r.uniform(0.1, 0.9, (b, t, hv)).astype(np.float32))
        ins.append("beta")
    inits = []
    if "softplus" in form:
        attrs.update(gate_activation="softplus", beta_activation="sigmoid", qk_l2_norm=1)
        while len(ins) < 7:
            ins.append("")
        ins += ["a_log", "dt_bias"]
        inits = [init("a_log", np.log(np.linspace(1, 4, hv)).astype(np.float32)),
                 init("dt_bias", randn(r, hv, dk) * 0.1)]
    if form == "rank3_state":
        feeds["s0"] = randn(r, b, hv, dv, dk) * 0.1
        while len(ins) < 6:
            ins.append("")
        ins.append("s0")
        for n in ["q", "k", "v", "g", "beta"]:
            feeds[n] = feeds[n].reshape(b * t, *feeds[n].shape[2:])
    node = N("GatedDeltaNet", ins, ["o", "s"], domain="com.microsoft", **attrs)
    model = make_model([node], [vi(n, list(a.shape)) for n, a in feeds.items()],
                       [vi("o", None), vi("s", None)], inits, opset=23,
                       domains=[("com.microsoft", 1)])
    text = check_against(model, feeds, tmp_path, tol=TOL_DELTA, record=record_rel_rms,
                         case=f"com.microsoft GatedDeltaNet {form}")
    assert ("mix.delta_rule" if "delta" in rule else "mix.linear_attention") in text


def test_attention_constant_causal_mask(tmp_path, record_rel_rms):
    r = rng(90)
    b, hh, t, d = 1, 2, 20, 8
    mask = np.tril(np.ones((t, t), bool))
    model = make_model([N("Attention", ["q", "k", "v", "m"], ["y"])],
                       [vi(n, [b, hh, t, d]) for n in "qkv"], [vi("y", None)],
                       [init("m", mask)], opset=23)
    feeds = {n: randn(r, b, hh, t, d) for n in "qkv"}
    text = check_against(model, feeds, tmp_path, record=record_rel_rms,
                         case="Attention constant causal mask")
    assert "causal" in text


@pytest.mark.parametrize("rule", ["linear", "gated", "gated_delta"])
def test_linear_attention_f16(rule, tmp_path, record_rel_rms):
    """f16 inputs and state (ONNX keeps present_state in the input type; the
    mix state is f32 inside)."""
    from onnx import TensorProto as TP
    model, feeds = linear_attention_model(rule, None if rule == "linear" else "head",
                                          2, 2, past=True)
    for value in list(model.graph.input) + list(model.graph.output):
        value.type.tensor_type.elem_type = TP.FLOAT16
    feeds = {k: v.astype(np.float16) for k, v in feeds.items()}
    text = check_against(model, feeds, tmp_path, tol=5e-3, record=record_rel_rms,
                         case=f"LinearAttention f16 {rule}")
    assert "xf16>" in text
