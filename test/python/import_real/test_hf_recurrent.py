"""Hugging Face `transformers` linear-recurrent decoders as people export
them: tiny random-weight Mamba2, Qwen3-Next (Gated DeltaNet layers, then
full attention), RecurrentGemma (RG-LRU, then local attention) and MiniMax
(lightning linear attention, then full attention), built from a config (no
hub download), on transformers' torch path (no CUDA kernels), exported with
`torch.onnx.export(..., dynamo=True)` at the exporter's default opset and
imported with mixir-import-onnx --report-raising.

The logits of the compiled function are compared with torch's (f32), and the
mix ops in the imported IR are counted (what raising made of the model);
--report-raising must name exactly what stayed written out (REPORTED): the
loops the export unrolled and Mamba2's segment-sum decay.

Findings (torch 2.15, transformers 5.25, onnxscript 0.7):
- Mamba2 imports (Pad and Einsum of the chunked SSD scan; one Gather at
  index -1 hit an MLIR 22 canonicalizer bug, worked around in the builder)
  and matches torch; the only mix ops are one `mix.scan` per CumSum (3 a
  layer). The SSD contractions stay Einsums (linalg.generic): nothing is
  raised to a recurrence; --report-raising names the two segment-sum
  decays of each layer (the chunks of 8, and the carry across chunks).
- Qwen3-Next exports only with experts_implementation "batched_mm" (the
  default "grouped_mm" falls back to transformers::grouped_mm_fallback,
  which has no ONNX translation; "eager" loops over a data-dependent
  expert mask that torch.export cannot trace). The chunked delta rule's
  in-place triangular solve unrolls into a ScatterND (slice_scatter) and a
  ScatterElements (select_scatter) per row of the 64-row chunk (both
  become insert_slice), the MoE router into TopK and GatherND. It imports
  and matches torch: the attention layer raises to one `mix.attention`,
  the CumSum of the gates to a `mix.scan`; the Gated DeltaNet stays
  transformers' unrolled chunk algorithm (no loop); --report-raising names
  the 63 unrolled rows of the triangular solve.
- RecurrentGemma imports (its RG-LRU loop writes each step with
  select_scatter, one ScatterElements per token) and matches torch; the
  local-attention layer raises to one `mix.attention` (causal, window 8,
  one KV head); the RG-LRU stays unrolled per token (not a loop), and
  --report-raising names the 13 copies.
- MiniMax imports (MoE routing: TopK, GatherND) and matches torch; in the
  lightning-attention layer the causal decayed part within each block of 8
  raises to `mix.linear_attention` with a per-head decay (one op for the
  8-token block, one for the last 5 tokens); the carry between blocks stays
  written out (--report-raising names it from 3 blocks on). The attention
  layer raises to one `mix.attention`.

The exports are cached with the ones of test_hf_decoders.py (hf_export.py).
"""

import collections
import pathlib
import re
import sys

import numpy as np
import pytest
from hf_export import cached_export, logits_module, logits_rel_rms
from needs import need

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "onnx_import"))

T = 13  # odd; not a multiple of any chunk size below
VOCAB = 128
TOL = 1e-5
EXPORT_FORMAT = 1  # bump when the export recipe changes


def _config(family):
    """The tiny config of `family` and its causal-LM class."""
    tf = need("transformers")
    if family == "mamba2":
        # 8 heads of 16 (expand 2 of hidden 64), state 16, chunks of 8.
        return tf.Mamba2Config(
            vocab_size=VOCAB, hidden_size=64, num_hidden_layers=2,
            state_size=16, expand=2, head_dim=16, num_heads=8, n_groups=1,
            conv_kernel=4, chunk_size=8, use_cache=False,
            tie_word_embeddings=False), tf.Mamba2ForCausalLM
    if family == "qwen3_next":
        # examples/qwen3_next.py's layout at hidden 64: Gated DeltaNet (2
        # key heads of 16, 4 value heads of 24, conv 4), then attention.
        cfg = tf.Qwen3NextConfig(
            vocab_size=VOCAB, hidden_size=64, intermediate_size=128,
            num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
            head_dim=16, linear_conv_kernel_dim=4, linear_key_head_dim=16,
            linear_value_head_dim=24, linear_num_key_heads=2,
            linear_num_value_heads=4, num_experts=4, num_experts_per_tok=2,
            moe_intermediate_size=32, shared_expert_intermediate_size=32,
            layer_types=["linear_attention", "full_attention"],
            use_cache=False)
        cfg._experts_implementation = "batched_mm"  # the others do not export
        cfg._attn_implementation = "sdpa"
        return cfg, tf.Qwen3NextForCausalLM
    if family == "recurrent_gemma":
        return tf.RecurrentGemmaConfig(
            vocab_size=VOCAB, hidden_size=64, intermediate_size=128,
            num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=1,
            lru_width=64, attention_window_size=8, conv1d_width=4,
            block_types=["recurrent", "attention"],
            use_cache=False), tf.RecurrentGemmaForCausalLM
    assert family == "minimax"
    cfg = tf.MiniMaxConfig(
        vocab_size=VOCAB, hidden_size=64, intermediate_size=128,
        num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
        head_dim=16, num_local_experts=2, num_experts_per_tok=1,
        layer_types=["linear_attention", "full_attention"], block_size=8,
        use_cache=False)
    cfg._experts_implementation = "batched_mm"
    cfg._attn_implementation = "sdpa"
    return cfg, tf.MiniMaxForCausalLM


# Per family: the mix ops the import has, by name.
EXPECTED = {
    "mamba2": {"mix.scan": 6},
    "qwen3_next": {"mix.attention": 1, "mix.scan": 1},
    "recurrent_gemma": {"mix.attention": 1},
    "minimax": {"mix.attention": 1, "mix.linear_attention": 2},
}


# Per family: what --report-raising names (a regular expression for the part
# after "mix-raise: ", and how many lines match it); no other line.
UNROLLED = ("unrolled recurrence: left as is: {n} straight-line copies of a "
            "step, each writing {what} ")
SEGSUM = ("segment-sum decay: left as is: exp of a cumulative sum masked to "
          "causal blocks of {n} ")
REPORTED = {
    # Per layer: the chunks of 8 and the 2 chunks (+ the initial state).
    "mamba2": {SEGSUM.format(n=8): 2, SEGSUM.format(n=3): 2},
    # The triangular solve of the 64-row chunk, row by row (rows 1..63).
    "qwen3_next": {UNROLLED.format(n=63, what="one position"): 1},
    # The RG-LRU, token by token.
    "recurrent_gemma": {UNROLLED.format(n=T, what="one position"): 1},
    # Two blocks (8 and 5) are too few copies to name; see
    # test_minimax_block_carry_is_reported.
    "minimax": {},
}


def check_report(stderr, expected):
    """Every line of `stderr` is a mix-raise line matching one of
    `expected`'s patterns, each as many times as it says."""
    seen = collections.Counter()
    for line in stderr.splitlines():
        assert line.startswith('loc("') and ": mix-raise: " in line, line
        what = line.split(": mix-raise: ", 1)[1]
        hits = [p for p in expected if re.match(re.escape(p), what)]
        assert len(hits) == 1, f"unexpected report line: {line}"
        seen[hits[0]] += 1
    assert dict(seen) == {p: n for p, n in expected.items() if n}, stderr


def ids(t=T):
    """The token ids the models are exported with and run on: [1, t]."""
    return np.random.default_rng(7).integers(0, VOCAB, (1, t)).astype(np.int64)


def export(family, t=T):
    """The cached .onnx of `family` (exported on a miss, for `t` tokens) and
    the model (bench/bench_hf_onnx.py exports longer ones)."""
    torch = need("torch")
    cfg, cls = _config(family)
    torch.manual_seed(0)
    model = logits_module(cls(cfg).eval())
    key = {"format": EXPORT_FORMAT, "family": family, "T": t,
           "experts": getattr(cfg, "_experts_implementation", None),
           "config": cfg.to_json_string(use_diff=False)}
    return cached_export(family, model, ids(t), None, key), model


@pytest.mark.parametrize("family", sorted(EXPECTED))
def test_export_imports_and_matches_torch(family, tmp_path):
    need("torch")
    from onnx_helpers import run_importer

    path, model = export(family)
    out = tmp_path / "model.mlir"
    r = run_importer(path, "--report-raising", "-o", str(out))
    assert r.returncode == 0, r.stderr
    check_report(r.stderr, REPORTED[family])
    text = out.read_text()
    mix = collections.Counter(re.findall(r"\bmix\.[a-z_0-9]+", text))
    assert dict(mix) == EXPECTED[family], mix

    err = logits_rel_rms(text, model, ids())
    print(f"{family}: logits rel-RMS {err:.2e}")
    assert err <= TOL, f"logits rel-RMS {err:.3e} > {TOL:.0e}"


def test_minimax_block_carry_is_reported(tmp_path):
    """At 37 tokens MiniMax's lightning attention runs 5 blocks (4 of 8, one
    of 5); the export unrolls the carry of the state from block to block,
    and --report-raising names the 5 copies writing the blocks of the
    output."""
    need("torch")
    from onnx_helpers import run_importer

    path, _ = export("minimax", 37)
    r = run_importer(path, "--report-raising", "-o", str(tmp_path / "m.mlir"))
    assert r.returncode == 0, r.stderr
    check_report(r.stderr, {UNROLLED.format(n=5, what="a block of 8"): 1})
