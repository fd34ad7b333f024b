"""The Qwen3-Next example (examples/qwen3_next.py) at a small size: a
random-weight transformers Qwen3-Next with MixIR in every Gated DeltaNet
layer, packed prefill and pooled decode, against transformers' own torch
path; and its Gated DeltaNet block (packed conv + gated delta rule with state
pools) against a float64 recurrent evaluation written here."""

import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(REPO, "examples", "qwen3_next.py")
TOL = 1e-4  # f32 against f32 (transformers) or f64; measured about 5e-7


def test_example_small(tmp_path):
    out = tmp_path / "figures.json"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    r = subprocess.run([sys.executable, SCRIPT, "--lengths", "37,5,64,1",
                        "--steps", "6", "--repeat", "1", "--packings", "100",
                        "--json", str(out)],
                       capture_output=True, text=True, timeout=600, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    fig = json.loads(out.read_text())
    for name in ("prefill_rel_rms", "prefill_max_rel", "decode_rel_rms",
                 "decode_max_rel", "packings_rel_rms"):
        assert 0 < fig[name] < TOL, (name, fig[name])
    # One mix.delta_rule and one mix.causal_conv1d serve the 3 layers, the
    # packed prefill, every decode step and 100 random packings.
    assert fig["functions"] == 2 and fig["compilations"] == 2, fig
    assert fig["compilations_during_packings"] == 0, fig
    calls, compiles = fig["counts"]["delta_rule"]
    assert compiles == 1 and calls > 100 + 3 * (1 + 6), fig["counts"]
    calls, compiles = fig["counts"]["causal_conv1d"]
    assert compiles == 1 and calls >= 2 * 3 * (1 + 6), fig["counts"]
    assert fig["tokens"] == 107
    for phase in ("prefill", "decode"):
        row = fig["core"][phase]
        assert row["mixir"]["rel_rms"] < TOL, row
        if fig["onnxruntime"] == "available":
            assert row["onnxruntime"]["rel_rms"] < TOL, row
    assert "prefill tokens/s" in r.stdout and "OK" in r.stdout


def load_example():
    spec = importlib.util.spec_from_file_location("qwen3_next_example", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def gdn_f64(layer, x, conv_state, state):
    """Qwen3-Next's Gated DeltaNet block on one sequence x [L, hidden] in
    float64, token by token from conv_state [W - 1, D] and state
    [Hv, K, V]: (output [L, hidden], new conv state, new state)."""
    if len(x) == 0:
        return x, conv_state, state
    d = lambda t: t.detach().double()  # noqa: E731
    W, K, V = layer.conv_kernel_size, layer.head_k_dim, layer.head_v_dim
    hv, rep = layer.num_v_heads, layer.num_v_heads // layer.num_k_heads
    q, k, v, z, b, a = layer.fix_query_key_value_ordering(
        (x @ d(layer.in_proj_qkvz.weight).T)[None],
        (x @ d(layer.in_proj_ba.weight).T)[None])
    mixed = torch.cat([t[0].reshape(len(x), -1) for t in (q, k, v)], 1)
    stream = torch.cat([conv_state, mixed])
    w = d(layer.conv1d.weight)[:, 0]  # [D, W]
    y = torch.stack([(stream[t:t + W] * w.T).sum(0) for t in range(len(x))])
    y = y * torch.sigmoid(y)
    q, k, v = torch.split(y, [layer.key_dim, layer.key_dim, layer.value_dim], 1)
    unit = lambda t: t / torch.sqrt((t * t).sum(-1, keepdim=True) + 1e-6)  # noqa: E731
    q = unit(q.reshape(len(x), -1, K)).repeat_interleave(rep, 1) * K ** -0.5
    k = unit(k.reshape(len(x), -1, K)).repeat_interleave(rep, 1)
    v = v.reshape(len(x), hv, V)
    g = -torch.exp(d(layer.A_log)) * torch.nn.functional.softplus(
        a[0].double() + d(layer.dt_bias))
    beta = torch.sigmoid(b[0].double())
    S, out = state.clone(), []
    for t in range(len(x)):
        for h in range(hv):
            S[h] *= torch.exp(g[t, h])
            u = beta[t, h] * (v[t, h] - S[h].T @ k[t, h])
            S[h] += torch.outer(k[t, h], u)
        out.append(torch.stack([S[h].T @ q[t, h] for h in range(hv)]))
    o = torch.stack(out)
    o = o * torch.rsqrt((o * o).mean(-1, keepdim=True) + layer.norm.variance_epsilon)
    zz = z[0].double()
    o = o * d(layer.norm.weight) * zz * torch.sigmoid(zz)
    return o.reshape(len(x), -1) @ d(layer.out_proj.weight).T, stream[-(W - 1):], S


def rel(ref, got):
    ref = torch.as_tensor(np.asarray(ref, np.float64))
    got = torch.as_tensor(np.asarray(got, np.float64))
    return ((ref - got).norm() / ref.norm()).item()


@torch.no_grad()
def test_block_against_f64():
    """Packed prefill (odd lengths, an empty request) then one packed decode
    step, from random pool slots, with random initial states."""
    ex = load_example()
    layer = ex.make_model(1).model.layers[0].linear_attn
    rng = np.random.default_rng(3)
    gdn = ex.MixirGatedDeltaNet(layer, 9)
    gdn.state[:] = rng.standard_normal(gdn.state.shape) * 0.2
    gdn.conv[:] = rng.standard_normal(gdn.conv.shape)
    state, conv = (torch.from_numpy(a.astype(np.float64)) for a in (gdn.state, gdn.conv))
    untouched = gdn.state.copy(), gdn.conv.copy()
    slots = np.array([6, 2, 0, 7], np.int32)
    for lengths in ([63, 1, 0, 75], [1, 1, 1, 1]):
        pack = ex.Packing(lengths, slots)
        x = rng.standard_normal((pack.tokens, layer.hidden_size))
        got = gdn(torch.from_numpy(x.astype(np.float32))[None], pack)[0]
        for n, slot in enumerate(slots):
            lo, hi = pack.cu[n], pack.cu[n + 1]
            # The pool holds [D, W - 1]; gdn_f64 takes the inputs token-major.
            ref, last, state[slot] = gdn_f64(
                layer, torch.from_numpy(x[lo:hi]), conv[slot].T, state[slot])
            conv[slot] = last.T
            if hi > lo:
                assert rel(ref, got[lo:hi]) < TOL, (lengths, n)
        assert rel(state[slots], gdn.state[slots]) < TOL
        assert rel(conv[slots], gdn.conv[slots]) < 1e-6  # copies of inputs
    others = [i for i in range(9) if i not in slots]
    assert np.array_equal(gdn.state[others], untouched[0][others])
    assert np.array_equal(gdn.conv[others], untouched[1][others])
