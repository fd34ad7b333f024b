#!/usr/bin/env python3
"""A small random-weight Qwen3-Next from `transformers`, served with MixIR
running every Gated DeltaNet layer: one packed prefill of several prompts of
different lengths, then decode steps with the recurrent and conv states in
pools, checked against transformers' own torch path.

    PYTHONPATH=build/python python3 examples/qwen3_next.py
    PYTHONPATH=build/python python3 examples/qwen3_next.py --lengths 37,5,64,1 --steps 32 --repeat 3

The model is `Qwen3NextForCausalLM` with its config scaled down (4 layers:
three Gated DeltaNet, then one full attention, the default interval; hidden
128, a 4-expert MoE, vocab 1000), float32, seeded random weights.

MixIR path ("server"): the prompts are packed end to end into one sequence
(`cu_seqlens`) and run through the layers once. In a Gated DeltaNet layer the
projections, the gate prologue (g = -exp(A_log) softplus(a + dt_bias),
beta = sigmoid(b)), the gated RMSNorm and out_proj stay in torch; between
them the block is two compiled calls:

- `mixir.causal_conv1d(activation="silu", cu_seqlens=..., state_pool=...,
  state_indices=...)` over the packed stream: no window reaches into
  another request's tokens, each request's conv state (its last W - 1
  inputs) is read from its pool slot and written back there, in place;
- `mixir.delta_rule(gate="scalar", qk_l2norm=True, cu_seqlens=...,
  state_pool=..., state_indices=...)`: every sequence starts from its pool
  slot and its final state is written back there, in place.

Decode feeds one token per request as another packing (N sequences of length
one) through the same two compiled functions, from the same pools (slots
drawn at random from a pool larger than the batch). Attention layers run per
request with transformers' module and a KV cache each; MLP/MoE and norms run
on the packed tokens.

Reference ("transformers"): the unmodified model, per prompt, with its cache
(prefill through `torch_chunk_gated_delta_rule`, decode through
`torch_recurrent_gated_delta_rule`), fed the same tokens. Every prefill and
decode logit is compared: both sides compute in float32 with different
summation orders (chunked WY vs per-token), so they agree to about 1e-6
relative or better (measured: under 1e-6); the bound is --tol (1e-4, on the
rel-RMS and on max abs error / max |logit| of each request's logits).

Also printed: the Gated DeltaNet core alone (the delta rule over the packed
prefill and over one decode step) for MixIR, transformers' torch functions
and onnxruntime's com.microsoft GatedDeltaNet (when the installed
onnxruntime has it), and the calls and compilations of each MixIR function
(mixir.cache.stats(): compiles, plus loads from MIXIR_CACHE_DIR), including
--packings random packings (1 to 8 requests of 0 to 40 tokens, random slots,
outputs checked against transformers' recurrent function per sequence): the
compiled functions have dynamic lengths and the offsets are data, so each is
compiled once.

Everything runs on one CPU thread (OMP_NUM_THREADS=1 unless it is set;
torch and onnxruntime are told the same), so the times compare the
implementations rather than thread pools on a shared machine.

Exit status is non-zero when any comparison exceeds --tol or anything was
compiled more than once. --json writes the figures to a file.
"""

import argparse
import json
import os
import sys
import time

# Before numpy, torch and mixir start their OpenMP runtimes.
os.environ.setdefault("OMP_NUM_THREADS", "1")
THREADS = int(os.environ["OMP_NUM_THREADS"])

import numpy as np
import torch
import torch.nn.functional as F

import mixir

try:
    from transformers import Qwen3NextConfig, Qwen3NextForCausalLM
    from transformers.cache_utils import DynamicCache
    from transformers.models.qwen3_next import modeling_qwen3_next as hf
except ImportError as e:  # pragma: no cover - transformers is a test requirement
    sys.exit(f"qwen3_next.py: needs transformers with Qwen3-Next ({e})")


def make_model(seed, layers=4, hidden=128):
    """Qwen3NextForCausalLM scaled down: Gated DeltaNet with 2 key heads of
    K = 32 and 4 value heads of V = 48, conv width 4; attention every 4th
    layer (4 heads of 32, 2 KV heads); MoE of 4 experts, 2 per token."""
    config = Qwen3NextConfig(
        vocab_size=1000, hidden_size=hidden, intermediate_size=2 * hidden,
        num_hidden_layers=layers, num_attention_heads=4, num_key_value_heads=2,
        head_dim=32, linear_conv_kernel_dim=4, linear_key_head_dim=32,
        linear_value_head_dim=48, linear_num_key_heads=2,
        linear_num_value_heads=4, num_experts=4, num_experts_per_tok=2,
        moe_intermediate_size=64, shared_expert_intermediate_size=64)
    config._attn_implementation = "sdpa"
    torch.manual_seed(seed)
    return Qwen3NextForCausalLM(config).eval()


def compilations():
    """Modules compiled so far in this process (or loaded from the disk
    cache, when MIXIR_CACHE_DIR is set): mixir.cache.stats()."""
    stats = mixir.cache.stats()
    return stats["compiles"] + stats["disk_hits"]


COUNTS = {}  # MixIR function name -> [calls, compilations], by counted()


def counted(fn, *args, **kwargs):
    """fn(*args, **kwargs), counting the call and the compilations it
    caused under fn's name."""
    before = compilations()
    out = fn(*args, **kwargs)
    count = COUNTS.setdefault(fn.__name__, [0, 0])
    count[0] += 1
    count[1] += compilations() - before
    return out


class Packing:
    """N requests packed end to end: cu_seqlens and their pool slots."""

    def __init__(self, lengths, slots):
        self.lengths = [int(n) for n in lengths]
        self.cu = np.concatenate([[0], np.cumsum(self.lengths)]).astype(np.int32)
        self.slots = np.asarray(slots, np.int32)

    @property
    def tokens(self):
        return int(self.cu[-1])


class MixirGatedDeltaNet:
    """The core of one Qwen3NextGatedDeltaNet layer on MixIR, with its
    states in pools of `pool` slots: recurrent [P, Hv, K, V] and conv
    [P, D, W - 1] (float32)."""

    def __init__(self, layer, pool):
        self.layer = layer
        self.width = layer.conv_kernel_size
        self.conv_w = layer.conv1d.weight.detach()[:, 0].numpy().copy()
        self.neg_a = -layer.A_log.detach().float().exp()
        self.state = np.zeros((pool, layer.num_v_heads, layer.head_k_dim,
                               layer.head_v_dim), np.float32)
        self.conv = np.zeros((pool, layer.conv_dim, self.width - 1), np.float32)

    def reset(self):
        self.state[:] = 0
        self.conv[:] = 0

    def causal_conv(self, x, pack):
        """silu(conv) of the packed x [T, D], each request from and back to
        its conv state's pool slot."""
        y, _ = counted(mixir.causal_conv1d, x[None], self.conv_w,
                       activation="silu", cu_seqlens=pack.cu,
                       state_pool=self.conv, state_indices=pack.slots)
        return y[0]

    def core(self, q, k, v, a, b, pack):
        """Gate prologue and the gated delta rule over the packing, the
        recurrent states read from and written back to the pool."""
        g = self.neg_a * F.softplus(a.float() + self.layer.dt_bias)
        o, _ = counted(mixir.delta_rule, q, k, v, b.sigmoid().numpy(),
                       g.numpy(), gate="scalar", qk_l2norm=True,
                       cu_seqlens=pack.cu, state_pool=self.state,
                       state_indices=pack.slots)
        return torch.from_numpy(o)

    def __call__(self, hidden, pack):
        """hidden [1, T, hidden] (the packed tokens) -> [1, T, hidden]."""
        m = self.layer
        q, k, v, z, b, a = m.fix_query_key_value_ordering(
            m.in_proj_qkvz(hidden), m.in_proj_ba(hidden))
        mixed = torch.cat([x.reshape(pack.tokens, -1) for x in (q, k, v)], -1)
        y = self.causal_conv(mixed.numpy(), pack)
        q, k, v = np.split(y, [m.key_dim, 2 * m.key_dim], axis=1)
        shape = (1, pack.tokens, -1)
        o = self.core(q.reshape(*shape, m.head_k_dim),
                      k.reshape(*shape, m.head_k_dim),
                      v.reshape(*shape, m.head_v_dim), a, b, pack)
        o = m.norm(o.reshape(-1, m.head_v_dim), z.reshape(-1, m.head_v_dim))
        return m.out_proj(o.reshape(1, pack.tokens, -1))


class MixirServer:
    """Runs the transformers model layer by layer on packed tokens, with
    MixIR in every Gated DeltaNet layer and a KV cache per request in the
    attention layers."""

    def __init__(self, model, pool):
        self.model = model
        self.config = model.config
        self.gdn = {i: MixirGatedDeltaNet(layer.linear_attn, pool)
                    for i, layer in enumerate(model.model.layers)
                    if layer.block_type == "linear_attention"}
        self.caches, self.positions = [], []

    def reset(self, requests):
        for gdn in self.gdn.values():
            gdn.reset()
        self.caches = [DynamicCache(config=self.config) for _ in range(requests)]
        self.positions = [0] * requests

    def attention(self, layer, x, pack):
        """Full attention per request, with its own KV cache and positions."""
        out = []
        for n, (lo, hi) in enumerate(zip(pack.cu[:-1], pack.cu[1:])):
            xs = x[:, lo:hi]
            pos = torch.arange(hi - lo)[None] + self.positions[n]
            rope = self.model.model.rotary_emb(xs, pos)
            out.append(layer.self_attn(xs, position_embeddings=rope,
                                       attention_mask=None,
                                       cache=self.caches[n])[0])
        return torch.cat(out, 1)

    def forward(self, token_ids, pack):
        """Logits [T, vocab] of the packed tokens."""
        h = self.model.model.embed_tokens(token_ids[None])
        for i, layer in enumerate(self.model.model.layers):
            x = layer.input_layernorm(h)
            if i in self.gdn:
                h = h + self.gdn[i](x, pack)
            else:
                h = h + self.attention(layer, x, pack)
            x = layer.mlp(layer.post_attention_layernorm(h))
            h = h + (x[0] if isinstance(x, tuple) else x)
        for n, length in enumerate(pack.lengths):
            self.positions[n] += length
        return self.model.lm_head(self.model.model.norm(h))[0]


def run_server(server, prompts, tokens, slots):
    """Packed prefill, then a decode step per column of tokens [N, steps].
    Returns (prefill logits per prompt, decode logits [steps, N, vocab],
    prefill seconds, decode seconds)."""
    server.reset(len(prompts))
    start = time.perf_counter()
    pack = Packing([len(p) for p in prompts], slots)
    logits = server.forward(torch.cat(prompts), pack)
    prefill = [logits[lo:hi] for lo, hi in zip(pack.cu[:-1], pack.cu[1:])]
    mid = time.perf_counter()
    step = Packing([1] * len(prompts), slots)
    decode = torch.stack([server.forward(tokens[:, s], step)
                          for s in range(tokens.shape[1])])
    return prefill, decode, mid - start, time.perf_counter() - mid


def run_transformers(model, prompts, tokens):
    """The same with the unmodified model, per prompt with its own cache."""
    start = time.perf_counter()
    caches, prefill = [], []
    for p in prompts:
        out = model(p[None], use_cache=True)
        caches.append(out.cache)
        prefill.append(out.logits[0])
    mid = time.perf_counter()
    decode = []
    for s in range(tokens.shape[1]):
        decode.append(torch.cat([
            model(tokens[n, s].view(1, 1), cache=caches[n], use_cache=True).logits[0]
            for n in range(len(prompts))]))
    return prefill, torch.stack(decode), mid - start, time.perf_counter() - mid


def errors(ref, got):
    """(rel-RMS, max |ref - got| / max |ref|)."""
    ref, got = ref.double(), got.double()
    diff = ref - got
    return ((diff.norm() / ref.norm()).item(),
            (diff.abs().max() / ref.abs().max()).item())


def best_of(repeat, fn):
    """fn() once to warm up (MixIR compiles there), then repeat times: the
    last result, with the best prefill and decode times of the repeats."""
    runs = [fn() for _ in range(1 + repeat)][1:]
    out = list(runs[-1])
    out[2] = min(r[2] for r in runs)
    out[3] = min(r[3] for r in runs)
    return out


class CoreInputs:
    """Gated DeltaNet core inputs of one layer's shape for a packing:
    q, k [1, T, Hk, K], v [1, T, Hv, V], g, beta [1, T, Hv] (numpy), and the
    initial pool."""

    def __init__(self, rng, layer, pack, pool):
        hk, hv = layer.num_k_heads, layer.num_v_heads
        K, V, T = layer.head_k_dim, layer.head_v_dim, pack.tokens
        self.pack = pack
        self.q, self.k = (rng.standard_normal((1, T, hk, K), np.float32) for _ in "qk")
        self.v = rng.standard_normal((1, T, hv, V), np.float32)
        self.g = -rng.uniform(0.01, 2.0, (1, T, hv)).astype(np.float32)
        self.beta = rng.uniform(0.05, 0.95, (1, T, hv)).astype(np.float32)
        self.pool = rng.standard_normal((pool, hv, K, V), np.float32) * 0.1

    def sequences(self):
        cu = self.pack.cu
        return enumerate(zip(cu[:-1], cu[1:], self.pack.slots))


def core_mixir(x, pool):
    o, _ = counted(mixir.delta_rule, x.q, x.k, x.v, x.beta, x.g,
                   gate="scalar", qk_l2norm=True, cu_seqlens=x.pack.cu,
                   state_pool=pool, state_indices=x.pack.slots)
    return o


def core_transformers(x, pool, recurrent=False):
    """transformers' torch functions per sequence (the chunked one, or the
    recurrent one as its decode path uses it) from and back to the pool."""
    fn = (hf.torch_recurrent_gated_delta_rule if recurrent
          else hf.torch_chunk_gated_delta_rule)
    t = [torch.from_numpy(a) for a in (x.q, x.k, x.v, x.g, x.beta)]
    out = []
    for _, (lo, hi, slot) in x.sequences():
        o, s = fn(*(a[:, lo:hi] for a in t[:3]), g=t[3][:, lo:hi],
                  beta=t[4][:, lo:hi],
                  initial_state=torch.from_numpy(pool[slot][None]),
                  output_final_state=True, use_qk_l2norm_in_kernel=True)
        pool[slot] = s[0].numpy()
        out.append(o)
    return torch.cat(out, 1).numpy()


def ort_session(K):
    """An onnxruntime session of one com.microsoft GatedDeltaNet node
    (token-major, cu_seqlens, V-major state), or (None, why not)."""
    try:
        import onnxruntime as ort
        from onnx import TensorProto, helper
    except ImportError as e:
        return None, f"onnxruntime or onnx is not installed ({e})"
    f32, i32 = TensorProto.FLOAT, TensorProto.INT32
    spec = [("q", f32, 3), ("k", f32, 3), ("v", f32, 3), ("cu", i32, 1),
            ("g", f32, 2), ("beta", f32, 2), ("s0", f32, 4)]
    node = helper.make_node("GatedDeltaNet", [n for n, _, _ in spec],
                            ["o", "s"], domain="com.microsoft",
                            update_rule="gated_delta", qk_l2_norm=1,
                            scale=K ** -0.5)
    graph = helper.make_graph(
        [node], "gdn",
        [helper.make_tensor_value_info(n, t, [None] * r) for n, t, r in spec],
        [helper.make_tensor_value_info(n, f32, None) for n in "os"])
    model = helper.make_model(graph, ir_version=10, opset_imports=[
        helper.make_opsetid("", 23), helper.make_opsetid("com.microsoft", 1)])
    options = ort.SessionOptions()
    options.intra_op_num_threads = THREADS
    try:
        return ort.InferenceSession(model.SerializeToString(), options,
                                    providers=["CPUExecutionProvider"]), ""
    except Exception as e:  # noqa: BLE001 - any refusal means "not available"
        return None, (f"onnxruntime {ort.__version__} has no CPU "
                      f"com.microsoft GatedDeltaNet "
                      f"({str(e).splitlines()[0][:120]})")


def core_ort(session, x, pool):
    """com.microsoft GatedDeltaNet over the packing; its state is V-major
    and has no pool, so the slots are gathered and scattered around it."""
    slots = x.pack.slots
    feeds = {"q": x.q[0], "k": x.k[0], "v": x.v[0], "cu": x.pack.cu,
             "g": x.g[0], "beta": x.beta[0],
             "s0": np.ascontiguousarray(pool[slots].transpose(0, 1, 3, 2))}
    o, s = session.run(None, feeds)
    pool[slots] = s.transpose(0, 1, 3, 2)
    return o[None]


def timed(fn, repeat):
    """(last result, best seconds) of repeat calls after one warm-up."""
    result = fn()
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return result, best


def rel_rms(ref, got):
    ref, got = np.asarray(ref, np.float64), np.asarray(got, np.float64)
    return float(np.linalg.norm(ref - got) / np.linalg.norm(ref))


def core_benchmark(layer, lengths, slots, pool, repeat, rng):
    """The delta rule alone over the prefill packing and one decode step:
    seconds and rel-RMS against transformers' function, per implementation."""
    session, why = ort_session(layer.head_k_dim)
    rows = {}
    for phase, lens in (("prefill", lengths), ("decode", [1] * len(lengths))):
        x = CoreInputs(rng, layer, Packing(lens, slots), pool)
        ref, t_ref = timed(lambda: core_transformers(
            x, x.pool.copy(), recurrent=phase == "decode"), repeat)
        impls = {"mixir": lambda: core_mixir(x, x.pool.copy())}
        if session is not None:
            impls["onnxruntime"] = lambda: core_ort(session, x, x.pool.copy())
        rows[phase] = {"tokens": x.pack.tokens,
                       "transformers": {"seconds": t_ref, "rel_rms": 0.0}}
        for name, fn in impls.items():
            out, seconds = timed(fn, repeat)
            rows[phase][name] = {"seconds": seconds, "rel_rms": rel_rms(ref, out)}
    return rows, why


def random_packings(layer, count, pool, rng):
    """count random packings (1 to 8 requests of 0 to 40 tokens, random
    slots) through mixir.delta_rule, each checked per sequence against
    transformers' recurrent function; returns (compilations during the
    loop, worst rel-RMS of o and of the updated slots)."""
    before = compilations()
    worst = 0.0
    for _ in range(count):
        n = int(rng.integers(1, 9))
        lengths = rng.integers(0, 41, n)
        if lengths.sum() == 0:
            lengths[0] = 1
        slots = rng.permutation(pool)[:n].astype(np.int32)
        x = CoreInputs(rng, layer, Packing(lengths, slots), pool)
        got_pool, ref_pool = x.pool.copy(), x.pool.copy()
        got = core_mixir(x, got_pool)
        ref = core_transformers(x, ref_pool, recurrent=True)
        worst = max(worst, rel_rms(ref, got),
                    rel_rms(ref_pool[slots], got_pool[slots]))
    return compilations() - before, worst


def compare(ref, got):
    """Worst (rel-RMS, max-relative) over the prefill prompts and the decode
    steps (each request's logits at each step)."""
    pre = [errors(r, g) for r, g in zip(ref[0], got[0])]
    dec = [errors(ref[1][s, n], got[1][s, n])
           for s in range(ref[1].shape[0]) for n in range(ref[1].shape[1])]
    worst = lambda es: tuple(max(e[i] for e in es) for i in (0, 1))  # noqa: E731
    return worst(pre), worst(dec) if dec else (0.0, 0.0)


def print_core(rows, why):
    print("\nGated DeltaNet core alone (one layer's delta rule over the same "
          "packings, best of --repeat):")
    print(f"{'':>10} {'implementation':>14} {'time':>10} {'tokens/s':>10} "
          f"{'rel-RMS vs transformers':>24}")
    for phase, row in rows.items():
        for name in ("transformers", "mixir", "onnxruntime"):
            if name in row:
                r = row[name]
                print(f"{phase:>10} {name:>14} {r['seconds'] * 1e3:8.3f} ms "
                      f"{row['tokens'] / r['seconds']:10.0f} {r['rel_rms']:24.1e}")
    if why:
        print(f"onnxruntime: {why}")


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--lengths", default="37,5,64,1",
                   help="prompt lengths, comma-separated (default 37,5,64,1)")
    p.add_argument("--steps", type=int, default=32, help="decode steps")
    p.add_argument("--pool", type=int, default=16, help="state pool slots")
    p.add_argument("--packings", type=int, default=100,
                   help="random packings for the compile count")
    p.add_argument("--repeat", type=int, default=3,
                   help="timed runs (after a warm-up); the best is printed")
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--tol", type=float, default=1e-4)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", help="write the figures to this file")
    args = p.parse_args()
    args.lengths = [int(n) for n in args.lengths.split(",")]
    if min(args.lengths) < 1 or len(args.lengths) > args.pool:
        p.error("--lengths must be positive, at most --pool of them")
    if args.repeat < 1 or args.steps < 1:
        p.error("--repeat and --steps must be at least 1")
    return args


def main():
    args = parse_args()
    start_compiles = compilations()
    rng = np.random.default_rng(args.seed)
    model = make_model(args.seed, args.layers, args.hidden)
    vocab, n = model.config.vocab_size, len(args.lengths)
    prompts = [torch.from_numpy(rng.integers(0, vocab, L)) for L in args.lengths]
    tokens = torch.from_numpy(rng.integers(0, vocab, (n, args.steps)))
    slots = rng.permutation(args.pool)[:n].astype(np.int32)
    server = MixirServer(model, args.pool)
    got = best_of(args.repeat, lambda: run_server(server, prompts, tokens, slots))
    ref = best_of(args.repeat, lambda: run_transformers(model, prompts, tokens))
    (pre_rms, pre_max), (dec_rms, dec_max) = compare(ref, got)
    T = sum(args.lengths)
    print(f"Qwen3-Next, {args.layers} layers ({len(server.gdn)} Gated DeltaNet "
          f"on MixIR), hidden {args.hidden}, float32; prompts {args.lengths} "
          f"packed into one prefill of {T} tokens, {args.steps} decode steps "
          f"of {n} requests, states in a pool of {args.pool} slots {slots.tolist()}")
    print(f"logits vs transformers: prefill rel-RMS {pre_rms:.1e} (max "
          f"{pre_max:.1e}), decode rel-RMS {dec_rms:.1e} (max {dec_max:.1e}); "
          f"tolerance {args.tol:.0e}")
    print(f"{'':>14} {'prefill tokens/s':>17} {'decode ms/step':>15} "
          f"{'ms/token':>9}")
    for name, r in (("transformers", ref), ("mixir", got)):
        step = r[3] / args.steps
        print(f"{name:>14} {T / r[2]:17.0f} {step * 1e3:15.2f} "
              f"{step * 1e3 / n:9.2f}")
    layer = server.gdn[min(server.gdn)].layer
    rows, why = core_benchmark(layer, args.lengths, slots, args.pool,
                               args.repeat, rng)
    print_core(rows, why)
    during, packed_err = random_packings(layer, args.packings, args.pool, rng)
    total = compilations() - start_compiles
    print(f"\n{args.packings} random packings: {during} new compilations, "
          f"worst rel-RMS vs transformers {packed_err:.1e}")
    for name, (calls, compiles) in COUNTS.items():
        print(f"mixir.{name}: compiled {compiles}x for {calls} calls")
    print(f"compilations in this process: {total}")
    ok = max(pre_rms, pre_max, dec_rms, dec_max, packed_err) <= args.tol
    ok = ok and during == 0 and total == len(mixir.cache) == 2 and \
        all(c == 1 for _, c in COUNTS.values())
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"prefill_rel_rms": pre_rms, "prefill_max_rel": pre_max,
                       "decode_rel_rms": dec_rms, "decode_max_rel": dec_max,
                       "packings_rel_rms": packed_err, "compilations": total,
                       "compilations_during_packings": during,
                       "counts": COUNTS,
                       "functions": len(mixir.cache), "tokens": T,
                       "prefill_seconds": {"transformers": ref[2], "mixir": got[2]},
                       "decode_seconds": {"transformers": ref[3], "mixir": got[3]},
                       "core": rows, "onnxruntime": why or "available"}, f, indent=1)
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    torch.set_num_threads(THREADS)
    with torch.no_grad():
        sys.exit(main())
