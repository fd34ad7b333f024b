"""Whole blocks: gated DeltaNet and GLA as ONNX graphs, and a PyTorch module
exported with torch.onnx.export, compared with onnxruntime."""

import numpy as np
import pytest

import mixir
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
    torch = pytest.importorskip("torch")
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
            y = (lin * 0.05 + att).transpose(1, 2).reshape(x.shape[0], t, d)
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
    assert "mix.linear_attention" in text and "mix.attention" in text
    with torch.no_grad():
        want = module(x).numpy()
    out = mixir.compile(text).functions
    got = next(iter(out.values()))(x.numpy())
    assert rel_rms(want, got) <= TOL
