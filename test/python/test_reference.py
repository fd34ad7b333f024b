"""Checks of the f64 reference against different formulations of MIXERS.md:
parallel forms with explicit decay products, unrolled transition matrices,
dense masked softmax and cumulative products. Small odd sizes."""

import ml_dtypes
import numpy as np
import pytest

from mixir import reference as ref

B, T, K, V = 2, 7, 5, 3

# (Hq, Hk, Hv): plain, GQA (more query heads than states), GVA (more value
# heads than q/k heads), and mixes of both.
SHARING = {"plain": (2, 2, 2), "gqa": (4, 2, 2), "gva": (2, 1, 4),
           "gva_hq_eq_hv_over_hk": (4, 2, 4), "gqa_hk1": (4, 1, 2)}


def close(a, b):
    np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def make_inputs(seed, hq, hk, hv, kd=K, vd=V):
    rng = np.random.default_rng(seed)
    q = rng.normal(size=(B, T, hq, kd))
    k = rng.normal(size=(B, T, hk, kd)) / np.sqrt(kd)
    v = rng.normal(size=(B, T, hv, vd))
    s0 = rng.normal(size=(B, hv, kd, vd))
    return rng, q, k, v, s0


def make_gate(rng, gate, hv, kd=K):
    return {"none": None,
            "head": np.log1p(-2.0 ** (-5.0 - np.arange(hv))),
            "scalar": -rng.uniform(0.0, 1.5, size=(B, T, hv)),
            "vector": -rng.uniform(0.0, 1.0, size=(B, T, hv, kd))}[gate]


def vector_decay(g, gate, hv, kd=K):
    """exp(g) broadcast to one decay per (b, t, state head, key channel)."""
    ones = np.ones((B, T, hv, kd))
    if gate == "none":
        return ones
    a = np.exp(g)
    if gate == "head":
        return ones * a[None, None, :, None]
    if gate == "scalar":
        return ones * a[..., None]
    return a


def span_prod(d, lo, hi):
    """prod over l in [lo, hi] of d[l] (1 when the range is empty)."""
    return np.prod(d[lo:hi + 1], axis=0) if hi >= lo else np.ones(d.shape[1:])


def linear_attention_parallel(q, k, v, g, gate, scale, s0):
    """o = scale * [((Q K^T) . D . causal) V + (Q . P) S0] per output head,
    with D[i, j] = prod_{l=j+1..i} decay_l and P[i] = prod_{l<=i} decay_l."""
    hq, hk, hv = q.shape[2], k.shape[2], v.shape[2]
    ho = max(hq, hv)
    d = vector_decay(g, gate, hv, q.shape[3])
    o = np.zeros((B, T, ho, v.shape[3]))
    final = np.zeros_like(s0)
    for b in range(B):
        for h in range(ho):
            s = h // (ho // hv)
            qh, kh = q[b, :, h // (ho // hq)], k[b, :, s // (hv // hk)]
            ds = d[b, :, s]
            a = np.zeros((T, T))
            for i in range(T):
                for j in range(i + 1):
                    a[i, j] = np.sum(qh[i] * span_prod(ds, j + 1, i) * kh[j])
            p = np.stack([span_prod(ds, 0, i) for i in range(T)])
            o[b, :, h] = scale * (a @ v[b, :, s] + (qh * p) @ s0[b, s])
        for s in range(hv):
            kh = k[b, :, s // (hv // hk)]
            ds = d[b, :, s]
            final[b, s] = span_prod(ds, 0, T - 1)[:, None] * s0[b, s] + sum(
                np.outer(span_prod(ds, j + 1, T - 1) * kh[j], v[b, j, s]) for j in range(T))
    return o, final


@pytest.mark.parametrize("sharing", SHARING)
@pytest.mark.parametrize("gate", ["none", "head", "scalar", "vector"])
def test_linear_attention_matches_parallel_form(gate, sharing):
    hq, hk, hv = SHARING[sharing]
    rng, q, k, v, s0 = make_inputs(1, hq, hk, hv)
    g = make_gate(rng, gate, hv)
    o, st = ref.linear_attention(q, k, v, g=g, gate=gate, scale=0.7,
                                 initial_state=s0, output_final_state=True)
    o_par, st_par = linear_attention_parallel(q, k, v, g, gate, 0.7, s0)
    assert o.shape == (B, T, max(hq, hv), V) and st.shape == (B, hv, K, V)
    close(o, o_par)
    close(st, st_par)


def test_linear_attention_default_scale_and_zero_state():
    _, q, k, v, _ = make_inputs(2, 2, 2, 2)
    o, st = ref.linear_attention(q, k, v)
    o_par, _ = linear_attention_parallel(q, k, v, None, "none", K ** -0.5,
                                         np.zeros((B, 2, K, V)))
    close(o, o_par)
    assert st is None


def test_gate_kinds_agree_when_broadcast():
    rng, q, k, v, s0 = make_inputs(3, 2, 2, 2)
    gh = make_gate(rng, "head", 2)
    gs = np.broadcast_to(gh, (B, T, 2))
    gv = np.broadcast_to(gs[..., None], (B, T, 2, K))
    kw = dict(initial_state=s0, output_final_state=True)
    outs = [ref.linear_attention(q, k, v, g=gh, gate="head", **kw),
            ref.linear_attention(q, k, v, g=gs, gate="scalar", **kw),
            ref.linear_attention(q, k, v, g=gv, gate="vector", **kw)]
    for o, st in outs[1:]:
        close(o, outs[0][0])
        close(st, outs[0][1])
    o0, st0 = ref.linear_attention(q, k, v, g=np.zeros((B, T, 2)), gate="scalar", **kw)
    o1, st1 = ref.linear_attention(q, k, v, **kw)
    close(o0, o1)
    close(st0, st1)


def test_gva_equals_explicitly_repeated_heads():
    rng, q, k, v, s0 = make_inputs(4, 1, 1, 3)
    g = make_gate(rng, "vector", 3)
    o, st = ref.linear_attention(q, k, v, g=g, gate="vector", initial_state=s0,
                                 output_final_state=True)
    o2, st2 = ref.linear_attention(np.repeat(q, 3, 2), np.repeat(k, 3, 2), v, g=g,
                                   gate="vector", initial_state=s0, output_final_state=True)
    close(o, o2)
    close(st, st2)


def test_gqa_query_heads_share_a_state():
    _, q, k, v, s0 = make_inputs(5, 4, 2, 2)
    o, _ = ref.linear_attention(q, k, v, initial_state=s0)
    for h in range(4):  # output head h reads state h // 2 with its own query
        o_h, _ = ref.linear_attention(q[:, :, h:h + 1], k[:, :, h // 2:h // 2 + 1],
                                      v[:, :, h // 2:h // 2 + 1],
                                      initial_state=s0[:, h // 2:h // 2 + 1])
        close(o[:, :, h:h + 1], o_h)


def delta_rule_unrolled(q, k, v, beta, g, gate, scale, s0):
    """S_t = M_t S_{t-1} + beta_t k_t v_t^T with M_t = (I - beta_t k_t k_t^T)
    diag(decay_t), unrolled into explicit products of the M matrices."""
    hq, hk, hv = q.shape[2], k.shape[2], v.shape[2]
    ho, kd = max(hq, hv), q.shape[3]
    d = vector_decay(g, gate, hv, kd)
    states = np.zeros((B, T, hv, kd, v.shape[3]))
    for b in range(B):
        for s in range(hv):
            kh = k[b, :, s // (hv // hk)]
            m = [(np.eye(kd) - beta[b, t, s] * np.outer(kh[t], kh[t])) @ np.diag(d[b, t, s])
                 for t in range(T)]

            def prod(lo, hi):  # M_hi ... M_lo
                return np.linalg.multi_dot([np.eye(kd), np.eye(kd)] + m[lo:hi + 1][::-1])

            for t in range(T):
                states[b, t, s] = prod(0, t) @ s0[b, s] + sum(
                    prod(j + 1, t) @ np.outer(beta[b, j, s] * kh[j], v[b, j, s])
                    for j in range(t + 1))
    o = np.zeros((B, T, ho, v.shape[3]))
    for h in range(ho):
        o[:, :, h] = scale * np.einsum("btkv,btk->btv", states[:, :, h // (ho // hv)],
                                       q[:, :, h // (ho // hq)])
    return o, states[:, -1]


@pytest.mark.parametrize("sharing", SHARING)
@pytest.mark.parametrize("gate", ["none", "scalar", "vector"])
def test_delta_rule_matches_transition_products(gate, sharing):
    hq, hk, hv = SHARING[sharing]
    rng, q, k, v, s0 = make_inputs(6, hq, hk, hv)
    k = k / np.linalg.norm(k, axis=-1, keepdims=True)
    beta = rng.uniform(0.05, 0.95, size=(B, T, hv))
    g = make_gate(rng, gate, hv)
    o, st = ref.delta_rule(q, k, v, beta, g=g, gate=gate, initial_state=s0,
                           output_final_state=True)
    o_un, st_un = delta_rule_unrolled(q, k, v, beta, g, gate, K ** -0.5, s0)
    close(o, o_un)
    close(st, st_un)


def test_delta_rule_recalls_the_value_just_written():
    # beta = 1 and a unit key: after the update S^T k_t == v_t exactly.
    _, _, k, v, s0 = make_inputs(7, 1, 1, 1)
    k = k / np.linalg.norm(k, axis=-1, keepdims=True)
    o, _ = ref.delta_rule(k, k, v, np.ones((B, T, 1)), scale=1.0, initial_state=s0)
    close(o, v)


def test_delta_rule_neg_eigval_doubles_beta():
    rng, q, k, v, s0 = make_inputs(8, 2, 1, 2)
    beta = rng.uniform(0.0, 1.0, size=(B, T, 2))
    g = make_gate(rng, "scalar", 2)
    a = ref.delta_rule(q, k, v, beta, g=g, gate="scalar", initial_state=s0,
                       output_final_state=True, allow_neg_eigval=True)
    b = delta_rule_unrolled(q, k, v, 2 * beta, g, "scalar", K ** -0.5, s0)
    close(a[0], b[0])
    close(a[1], b[1])


def test_delta_rule_qk_l2norm_formula():
    rng, q, k, v, s0 = make_inputs(9, 2, 2, 2)
    k[0, 3, 1] = 1e-4  # tiny norm: the eps term dominates
    beta = rng.uniform(0.0, 1.0, size=(B, T, 2))
    qn = q / np.sqrt(np.sum(q ** 2, -1, keepdims=True) + 1e-6)
    kn = k / np.sqrt(np.sum(k ** 2, -1, keepdims=True) + 1e-6)
    a = ref.delta_rule(q, k, v, beta, initial_state=s0, output_final_state=True,
                       qk_l2norm=True)
    b = delta_rule_unrolled(qn, kn, v, beta, None, "none", K ** -0.5, s0)
    close(a[0], b[0])
    close(a[1], b[1])
    np.testing.assert_allclose(np.linalg.norm(kn[0, 0], axis=-1), 1.0, rtol=1e-5)


def attention_dense(q, k, v, g, scale, causal, window):
    """Dense softmax with an explicit [T, S] mask; GQA by grouping query heads."""
    b, t_len, hq, kd = q.shape
    s_len, hkv = k.shape[1:3]
    qg = q.reshape(b, t_len, hkv, hq // hkv, kd)
    s = scale * np.einsum("bikgd,bjkd->bkgij", qg, k)
    if g is not None:  # G[i] - G[j] = +-sum of the gates strictly between
        gg = g.reshape(b, t_len, hkv, hq // hkv)
        bias = np.zeros((b, hkv, hq // hkv, t_len, t_len))
        for i in range(t_len):
            for j in range(t_len):
                lo, hi = min(i, j) + 1, max(i, j)
                sgn = 1.0 if j <= i else -1.0
                bias[..., i, j] = sgn * gg[:, lo:hi + 1].sum(axis=1)
        s = s + bias
    i, j = np.arange(t_len)[:, None], np.arange(s_len)[None, :]
    allowed = np.ones((t_len, s_len), dtype=bool)
    if causal:
        allowed &= np.tril(np.ones((t_len, s_len), dtype=bool))
    if window:
        allowed &= (i - j) < window
    s = np.where(allowed, s, -np.inf)
    m = np.max(s, axis=-1, keepdims=True)
    p = np.exp(s - np.where(np.isfinite(m), m, 0.0))
    den = p.sum(axis=-1, keepdims=True)
    p = np.divide(p, den, out=np.zeros_like(p), where=den > 0)
    o = np.einsum("bkgij,bjkv->bikgv", p, v)
    return o.reshape(b, t_len, hq, v.shape[3])


@pytest.mark.parametrize("forget", [False, True], ids=["nogate", "forget"])
@pytest.mark.parametrize("window", [0, 1, 3])
@pytest.mark.parametrize("causal", [True, False], ids=["causal", "full"])
@pytest.mark.parametrize("heads", [(2, 2), (4, 2), (3, 1)], ids=["mha", "gqa", "mqa"])
def test_attention_matches_dense_softmax(heads, causal, window, forget):
    hq, hkv = heads
    rng = np.random.default_rng(10)
    q = rng.normal(size=(B, T, hq, K))
    k = rng.normal(size=(B, T, hkv, K))
    v = rng.normal(size=(B, T, hkv, V))
    g = -rng.uniform(0.0, 2.0, size=(B, T, hq)) if forget else None
    o = ref.attention(q, k, v, g=g, scale=0.6, causal=causal, window=window)
    close(o, attention_dense(q, k, v, g, 0.6, causal, window))


def test_attention_cross_lengths_and_empty_rows():
    rng = np.random.default_rng(11)
    q = rng.normal(size=(B, T, 2, K))
    k = rng.normal(size=(B, 3, 1, K))
    v = rng.normal(size=(B, 3, 1, V))
    o = ref.attention(q, k, v, causal=False, window=2)
    close(o, attention_dense(q, k, v, None, K ** -0.5, False, 2))
    assert np.all(o[:, 5:] == 0) and np.all(np.abs(o[:, :4]).sum(-1) > 0)
    close(ref.attention(q, k, v), attention_dense(q, k, v, None, K ** -0.5, True, 0))


def test_attention_first_query_copies_its_value():
    rng = np.random.default_rng(12)
    q, k, v = (rng.normal(size=(1, T, 1, K)) for _ in range(3))
    o = ref.attention(q, k, v, window=1)  # each query sees only itself
    close(o, v)


@pytest.mark.parametrize("init", [False, True], ids=["zero", "init"])
def test_scan_matches_cumulative_products(init):
    rng = np.random.default_rng(13)
    x = rng.normal(size=(B, T, 6))
    g = -rng.uniform(0.0, 1.0, size=(B, T, 6))
    h0 = rng.normal(size=(B, 6)) if init else np.zeros((B, 6))
    o, h = ref.scan(x, g, initial_state=h0 if init else None)
    a = np.exp(g)
    want = np.stack([span_prod(np.moveaxis(a, 1, 0), 0, t) * h0 + sum(
        span_prod(np.moveaxis(a, 1, 0), j + 1, t) * x[:, j] for j in range(t + 1))
        for t in range(T)], axis=1)
    close(o, want)
    close(h, want[:, -1])


def test_scan_is_linear_attention_with_unit_heads():
    # One state head per channel with K = V = 1, q = k = 1: the vector gate
    # recurrence becomes the diagonal scan.
    rng = np.random.default_rng(14)
    d = 4
    x = rng.normal(size=(B, T, d))
    g = -rng.uniform(0.0, 1.0, size=(B, T, d))
    h0 = rng.normal(size=(B, d))
    o, h = ref.scan(x, g, initial_state=h0)
    ones = np.ones((B, T, d, 1))
    o2, h2 = ref.linear_attention(ones, ones, x[..., None], g=g[..., None],
                                  gate="vector", scale=1.0,
                                  initial_state=h0[..., None, None],
                                  output_final_state=True)
    close(o, o2[..., 0])
    close(h, h2[..., 0, 0])


@pytest.mark.parametrize("dtype", [np.float16, ml_dtypes.bfloat16, np.float32])
def test_low_precision_inputs_are_evaluated_in_f64(dtype):
    rng, q, k, v, s0 = make_inputs(15, 2, 2, 2)
    qc, kc, vc = (x.astype(dtype) for x in (q, k, v))
    s0c = s0.astype(np.float32)
    o, st = ref.linear_attention(qc, kc, vc, initial_state=s0c, output_final_state=True)
    want = ref.linear_attention(*(x.astype(np.float64) for x in (qc, kc, vc)),
                                initial_state=s0c.astype(np.float64),
                                output_final_state=True)
    assert o.dtype == np.float64 and st.dtype == np.float64
    close(o, want[0])
    close(st, want[1])


def test_initial_state_is_not_modified():
    rng, q, k, v, s0 = make_inputs(16, 2, 2, 2)
    keep = s0.copy()
    ref.linear_attention(q, k, v, initial_state=s0, output_final_state=True)
    ref.delta_rule(q, k, v, np.full((B, T, 2), 0.5), initial_state=s0)
    x = rng.normal(size=(B, T, 3))
    h0 = rng.normal(size=(B, 3))
    h0_keep = h0.copy()
    ref.scan(x, -np.ones_like(x), initial_state=h0)
    assert np.array_equal(s0, keep) and np.array_equal(h0, h0_keep)


def test_rel_rms():
    r = np.array([3.0, -4.0])
    assert ref.rel_rms(r, r) == 0.0
    assert ref.rel_rms(r, np.zeros(2)) == pytest.approx(1.0)
    assert ref.rel_rms(r, r * 1.01) == pytest.approx(0.01)
    assert ref.rel_rms(np.zeros(2), np.array([1.0, -1.0])) == pytest.approx(1.0)
    assert ref.rel_rms(r.astype(ml_dtypes.bfloat16), r) == 0.0


@pytest.mark.parametrize("call", [
    lambda q, k, v: ref.linear_attention(q, k, v, g=np.zeros((B, T, 2)), gate="vector"),
    lambda q, k, v: ref.linear_attention(q, k, v, gate="scalar"),
    lambda q, k, v: ref.linear_attention(q, k, v, g=np.zeros(2)),
    lambda q, k, v: ref.linear_attention(q, k, v, gate="diag"),
    lambda q, k, v: ref.delta_rule(q, k, v, np.ones((B, T, 2)), g=np.zeros(2), gate="head"),
    lambda q, k, v: ref.delta_rule(q, k, v, np.ones((B, T))),
    lambda q, k, v: ref.linear_attention(q, k, v, initial_state=np.zeros((B, 2, K, K))),
    lambda q, k, v: ref.linear_attention(q[:, :, :1].repeat(3, 2), k, v),
    lambda q, k, v: ref.attention(q, k, v, window=-1),
], ids=["vector_gate_shape", "scalar_gate_missing", "gate_none_with_g", "unknown_gate",
        "delta_head_gate", "beta_shape", "state_shape", "head_counts", "neg_window"])
def test_reference_rejects_bad_arguments(call):
    _, q, k, v, _ = make_inputs(17, 2, 2, 2)
    with pytest.raises(ValueError):
        call(q, k, v)
