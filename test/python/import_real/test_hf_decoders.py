"""Hugging Face `transformers` decoders as people export them: tiny
random-weight Llama, Qwen2, Mistral (sliding window of 8), Qwen3 (RMSNorm on
Q and K), Gemma 3 (a sliding and a global layer), Gemma 2 (the same, with
attention logit soft-capping; eager only), GPT-2 (learned positions,
Conv1D, fused c_attn) and Phi-3 (fused qkv_proj), with GQA (4 query heads, 2
key/value heads) except GPT-2, built from a config (no hub download),
exported with `torch.onnx.export(..., dynamo=True)` at the exporter's
default opset and at opset 23, with attn_implementation "sdpa" and "eager";
imported with mixir-import-onnx, checked to raise one `mix.attention` per
layer with the model's head counts, window and soft-cap, compiled and
compared with torch's logits.

The exports are cached in the build tree (<build>/import_real_cache/, or
$MIXIR_IMPORT_REAL_CACHE), keyed by the torch, transformers and onnxscript
versions and the configuration.
"""

import pathlib
import re
import sys

import numpy as np
import pytest
from hf_export import cached_export, logits_module, logits_rel_rms
from needs import need

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "onnx_import"))

T = 37  # odd, longer than the sliding window
LAYERS, HQ, HKV, HEAD_DIM, WINDOW = 2, 4, 2, 16, 8
TOL = 1e-5
EXPORT_FORMAT = 1  # bump when the export recipe below changes

# Per family: (attn_implementation, opset or None for the default).
SDPA_EAGER_23 = [("sdpa", None), ("eager", None), ("sdpa", 23)]
RUNS = {
    "llama": SDPA_EAGER_23,
    "qwen2": SDPA_EAGER_23,
    "mistral": SDPA_EAGER_23,
    "qwen3": SDPA_EAGER_23,
    "gemma3": SDPA_EAGER_23,
    "gemma2": [("eager", None), ("eager", 23)],  # soft-cap: eager only
    "gpt2": SDPA_EAGER_23,
    "phi3": SDPA_EAGER_23,
}
CASES = [(family, impl, opset) for family, runs in RUNS.items()
         for impl, opset in runs]

# Gemma 2 and 3 alternate sliding-window and global layers.
ALTERNATING = ["sliding_attention", "full_attention"]
SOFTCAP = 50.0  # Gemma 2's attention logit soft-cap


def _config(family, impl):
    """The tiny config of `family` and its causal-LM class."""
    tf = need("transformers")
    common = dict(hidden_size=HQ * HEAD_DIM, intermediate_size=128,
                  num_hidden_layers=LAYERS, num_attention_heads=HQ,
                  num_key_value_heads=HKV, vocab_size=128,
                  max_position_embeddings=128, use_cache=False)
    gemma = dict(common, head_dim=HEAD_DIM, query_pre_attn_scalar=HEAD_DIM,
                 sliding_window=WINDOW, layer_types=ALTERNATING)
    builders = {
        "llama": lambda: (tf.LlamaConfig(**common), tf.LlamaForCausalLM),
        "qwen2": lambda: (tf.Qwen2Config(**common), tf.Qwen2ForCausalLM),
        "mistral": lambda: (tf.MistralConfig(**common, sliding_window=WINDOW),
                            tf.MistralForCausalLM),
        "qwen3": lambda: (tf.Qwen3Config(**common, head_dim=HEAD_DIM),
                          tf.Qwen3ForCausalLM),
        "gemma3": lambda: (tf.Gemma3TextConfig(**gemma), tf.Gemma3ForCausalLM),
        "gemma2": lambda: (tf.Gemma2Config(**gemma,
                                           attn_logit_softcapping=SOFTCAP),
                           tf.Gemma2ForCausalLM),
        "gpt2": lambda: (tf.GPT2Config(n_embd=HQ * HEAD_DIM, n_layer=LAYERS,
                                       n_head=HQ, vocab_size=128,
                                       n_positions=128, use_cache=False,
                                       bos_token_id=1, eos_token_id=2),
                         tf.GPT2LMHeadModel),
        "phi3": lambda: (tf.Phi3Config(**common, pad_token_id=0,
                                       bos_token_id=1, eos_token_id=2),
                         tf.Phi3ForCausalLM),
    }
    cfg, model = builders[family]()
    cfg._attn_implementation = impl
    return cfg, model


def _expected(family):
    """What each layer's mix.attention must carry: query and key/value
    heads, and per layer the window (0: none) and soft-cap (0: none)."""
    hkv = HQ if family == "gpt2" else HKV  # GPT-2 has no GQA
    if family == "mistral":
        windows = [WINDOW] * LAYERS
    elif family in ("gemma2", "gemma3"):
        windows = [WINDOW if t == "sliding_attention" else 0
                   for t in ALTERNATING]
    else:
        windows = [0] * LAYERS
    softcap = SOFTCAP if family == "gemma2" else 0.0
    return HQ, hkv, windows, softcap


def _model(family, impl):
    torch = need("torch")
    cfg, cls = _config(family, impl)
    torch.manual_seed(0)
    return logits_module(cls(cfg).eval()), cfg


def ids(t=T):
    """The token ids the models are exported with and run on: [1, t]."""
    return np.random.default_rng(7).integers(0, 128, (1, t)).astype(np.int64)


def export(family, impl, opset, t=T):
    """The cached .onnx of one case (exported on a miss, for `t` tokens) and
    the model (bench/bench_hf_onnx.py exports longer ones)."""
    model, cfg = _model(family, impl)
    key = {"format": EXPORT_FORMAT, "family": family, "impl": impl, "T": t,
           "config": cfg.to_json_string(use_diff=False)}
    return cached_export(f"{family}_{impl}", model, ids(t), opset, key), model


ATTN = re.compile(r"mix\.attention .*:\s*\((tensor<[^>]*>), (tensor<[^>]*>), "
                  r"(tensor<[^>]*>)\) -> (tensor<[^>]*>)")


def _heads(type_text):
    dims = type_text[len("tensor<"):-1].split("x")
    return int(dims[2])


@pytest.mark.parametrize("family,impl,opset", CASES,
                         ids=[f"{f}-{i}-opset{o or 'default'}" for f, i, o in CASES])
def test_export_imports_raises_and_matches_torch(family, impl, opset, tmp_path):
    need("torch")
    onnx = need("onnx")
    from onnx_helpers import run_importer

    path, model = export(family, impl, opset)
    if opset is None:  # the default really is below 23 (no Attention op)
        assert {o.domain: o.version for o in onnx.load(str(path), load_external_data=False)
                .opset_import}.get("", 0) < 23
    r = run_importer(path, "-o", str(tmp_path / "model.mlir"))
    assert r.returncode == 0, r.stderr
    text = (tmp_path / "model.mlir").read_text()

    hq, hkv, windows, softcap = _expected(family)
    lines = [l for l in text.splitlines() if "mix.attention" in l]
    assert len(lines) == LAYERS, "\n".join(lines)
    for line, window in zip(lines, windows):  # in layer order
        m = ATTN.search(line)
        assert m, line
        assert _heads(m.group(1)) == hq and _heads(m.group(4)) == hq, line
        assert _heads(m.group(2)) == hkv and _heads(m.group(3)) == hkv, line
        assert " causal" in line, line
        if window:
            assert f"window = {window} " in line, line
        else:
            assert "window" not in line, line
        cap = re.search(r"softcap = (\S+)", line)
        assert (float(cap.group(1)) if cap else 0.0) == softcap, line
    # The repeat_kv copies are gone: no 5-D [B, Hkv, n, T, D] tensor is left.
    assert f"x{HKV}x{HQ // HKV}x{T}x{HEAD_DIM}x" not in text

    err = logits_rel_rms(text, model, ids())
    print(f"{family} {impl} opset {opset or 'default'}: rel-RMS {err:.2e}")
    assert err <= TOL, f"logits rel-RMS {err:.3e} > {TOL:.0e}"
