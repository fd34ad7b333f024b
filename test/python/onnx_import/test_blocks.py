"""Whole blocks: gated DeltaNet and GLA as ONNX graphs, and a PyTorch module
exported with torch.onnx.export, compared with onnxruntime."""

import numpy as np
import pytest

import mixir
from needs import need
from onnx_blocks import gated_deltanet_block, gla_block
from onnx_helpers import (TOL, TOL_DELTA, check_against, import_model, ort_run,
                          randn, rel_rms, rng)


@pytest.mark.parametrize("t", [1, 63, 130])
def test_gated_deltanet_block(t, tmp_path, record_rel_rms):
    model = gated_deltanet_block(2, t, 32, 2, 16, 24)
    text = check_against(model, {"x": randn(rng(t), 2, t, 32)}, tmp_path, tol=TOL_DELTA,
                         record=record_rel_rms, case="gated DeltaNet block")
    assert "mix.delta_rule" in text and "gate scalar" in text


def test_gated_deltanet_block_dynamic_batch_and_length(tmp_path, record_rel_rms):
    model = gated_deltanet_block(0, 0, 32, 2, 16, 16, dynamic=True)
    text = import_model(model, tmp_path)
    assert "tensor<?x?x32xf32>" in text
    fn = mixir.compile(text).gated_deltanet
    for b, t in [(1, 70), (3, 20)]:
        x = randn(rng(b * t), b, t, 32)
        err = rel_rms(ort_run(model, {"x": x})[0], fn(x))
        record_rel_rms("onnx gated DeltaNet block", "f32", "dyn", err, TOL_DELTA,
                       f"B={b} T={t}")
        assert err <= TOL_DELTA


@pytest.mark.parametrize("t", [64, 100])
def test_gla_block(t, tmp_path, record_rel_rms):
    model = gla_block(2, t, 32, 2, 16, 16)
    text = check_against(model, {"x": randn(rng(t), 2, t, 32)}, tmp_path, tol=TOL,
                         record=record_rel_rms, case="GLA block")
    assert "mix.linear_attention" in text and "gate vector" in text


def test_torch_onnx_export_raised(tmp_path, record_rel_rms):
    """A PyTorch module with a written-out causal linear attention and a causal
    softmax attention, exported by torch.onnx.export (TorchScript exporter)."""
    torch = need("torch")
    import onnx

    t, d = 48, 32

    class Block(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.qkv = torch.nn.Linear(d, 3 * d)
            self.out = torch.nn.Linear(d, d)
            self.register_buffer("tril", torch.tril(torch.ones(t, t)))
            self.register_buffer("neg", torch.triu(torch.full((t, t), -1e9), 1))

        def forward(self, x):
            q, k, v = self.qkv(x).reshape(x.shape[0], t, 3, 2, d // 2).permute(2, 0, 3, 1, 4)
            lin = ((q @ k.transpose(-1, -2)) * self.tril) @ v
            att = torch.softmax(q @ k.transpose(-1, -2) * 0.25 + self.neg, dim=-1) @ v
            s = (q @ k.transpose(-1, -2)) / 2.0
            fill = torch.softmax(s.masked_fill(self.tril == 0, float("-inf")), dim=-1) @ v
            y = (lin * 0.05 + att + fill).transpose(1, 2).reshape(x.shape[0], t, d)
            return self.out(y)

    torch.manual_seed(0)
    module = Block().eval()
    x = torch.randn(2, t, d)
    path = tmp_path / "torch.onnx"
    torch.onnx.export(module, (x,), str(path), dynamo=False, opset_version=17,
                      input_names=["x"], output_names=["y"])
    model = onnx.load(str(path))
    text = check_against(model, {"x": x.numpy()}, tmp_path, tol=TOL,
                         record=record_rel_rms, case="torch.onnx.export block")
    assert "mix.linear_attention" in text and text.count("mix.attention") == 2
    with torch.no_grad():
        want = module(x).numpy()
    out = mixir.compile(text).functions
    got = next(iter(out.values()))(x.numpy())
    assert rel_rms(want, got) <= TOL


def test_torch_export_to_mixir_domain(tmp_path, record_rel_rms):
    """The README recipe: a torch.autograd.Function whose `symbolic` emits
    mixir::DeltaRule, exported with the TorchScript exporter; the imported
    model is checked against the f64 mixir.reference on the same inputs."""
    torch = need("torch")
    import mixir.reference as ref_ops

    class DeltaRule(torch.autograd.Function):
        @staticmethod
        def forward(ctx, q, k, v, beta, g):
            o, s = ref_ops.delta_rule(q.numpy(), k.numpy(), v.numpy(), beta.numpy(),
                                      g.numpy(), gate="scalar", qk_l2norm=True,
                                      output_final_state=True)
            return (torch.from_numpy(np.asarray(o, np.float32)),
                    torch.from_numpy(np.asarray(s, np.float32)))

        @staticmethod
        def symbolic(gr, q, k, v, beta, g):
            return gr.op("mixir::DeltaRule", q, k, v, beta, g, gate_s="scalar",
                         qk_l2norm_i=1, outputs=2)

    b, t, hh, d, dm = 1, 40, 2, 16, 32

    class Layer(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.qkv = torch.nn.Linear(dm, 3 * hh * d)
            self.bg = torch.nn.Linear(dm, 2 * hh)

        def forward(self, x):
            q, k, v = self.qkv(x).reshape(b, t, 3, hh, d).unbind(2)
            beta, g = self.bg(x).reshape(b, t, 2, hh).unbind(2)
            o, _ = DeltaRule.apply(q, k, v, torch.sigmoid(beta),
                                   -torch.nn.functional.softplus(g))
            return o

    torch.manual_seed(1)
    layer = Layer().eval()
    x = torch.randn(b, t, dm)
    path = tmp_path / "mixir_domain.onnx"
    torch.onnx.export(layer, (x,), str(path), dynamo=False, opset_version=17,
                      custom_opsets={"mixir": 1}, input_names=["x"], output_names=["o"])
    from onnx_helpers import run_importer
    r = run_importer(path)
    assert r.returncode == 0, r.stderr
    assert "mix.delta_rule" in r.stdout and "qk_l2norm" in r.stdout
    got = next(iter(mixir.compile(r.stdout).functions.values()))(x.numpy())
    with torch.no_grad():
        want = layer(x).numpy()  # eager path: the f64 reference inside forward
    err = rel_rms(want, got)
    record_rel_rms("onnx torch->mixir domain", "f32", "out0", err, TOL_DELTA,
                   "mixir.reference")
    assert err <= TOL_DELTA
