#!/usr/bin/env python3
"""Decoding with softmax attention over a KV cache on the CPU: one query
token per row (T = 1) against rows holding different numbers of cached keys
(`kv_lens`), GQA with 32 query heads over 8 key/value heads of 128 (Llama 3
8B, Qwen2.5 7B), f32. MixIR's `mixir.attention(..., kv_lens=)` beside torch's
scaled_dot_product_attention on the same cache (`enable_gqa`, no expanded
copy) with a boolean mask of the valid keys (what a torch serving loop does
without a varlen kernel; it reads all S keys, MixIR only the valid ones),
each the median of 10 calls after a warm-up, in the same run. The last
column is MixIR's rate of reading the cache's valid keys and values (the
bytes a decode step must read) as a share of this machine's copy
bandwidth, measured here with torch's multi-threaded copy.

    PYTHONPATH=build/python python3 bench/bench_decode_attention.py [--batches 1,16,64] [--cache 1024,4096]
"""

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from timing import median_ms  # noqa: E402

import mixir  # noqa: E402


def copy_bandwidth(torch):
    """GB/s of a 256 MiB copy (read + write) on every thread (torch's
    parallel copy), best of 5."""
    src = torch.ones(2**26)
    dst = torch.empty_like(src)
    best = min(median_ms(lambda: dst.copy_(src), 3) for _ in range(5))
    return 2 * src.numel() * 4 / best / 1e6


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--batches", default="1,16,64")
    ap.add_argument("--cache", default="1024,4096")
    args = ap.parse_args()
    import torch
    torch.set_num_threads(os.cpu_count())
    hq, hk, D = 32, 8, 128
    rng = np.random.default_rng(0)
    bandwidth = copy_bandwidth(torch)
    print(f"copy bandwidth: {bandwidth:.1f} GB/s; {os.cpu_count()} threads")
    print("| B | cache S | mean keys | MixIR ms | torch SDPA ms | "
          "SDPA / MixIR | MixIR share of copy bandwidth |")
    print("|---|---|---|---|---|---|---|")
    for S in (int(x) for x in args.cache.split(",")):
        for B in (int(x) for x in args.batches.split(",")):
            q = rng.standard_normal((B, 1, hq, D)).astype(np.float32)
            k = rng.standard_normal((B, S, hk, D)).astype(np.float32)
            v = rng.standard_normal((B, S, hk, D)).astype(np.float32)
            lens = rng.integers(S // 2, S + 1, B).astype(np.int32)
            ours = median_ms(lambda: mixir.attention(
                q, k, v, causal=True, kv_lens=lens), 10)
            tq = torch.from_numpy(q).transpose(1, 2)        # [B, Hq, 1, D]
            tk = torch.from_numpy(k).transpose(1, 2)        # [B, Hkv, S, D]
            tv = torch.from_numpy(v).transpose(1, 2)
            mask = (torch.arange(S)[None, :] <
                    torch.from_numpy(lens)[:, None])[:, None, None, :]
            with torch.no_grad():
                peer = median_ms(lambda: torch.nn.functional.
                                 scaled_dot_product_attention(
                                     tq, tk, tv, attn_mask=mask,
                                     enable_gqa=True), 10)
            # The bytes a step must read: the valid keys and values.
            read = float(lens.sum()) * hk * D * 4 * 2
            share = read / ours / 1e6 / bandwidth
            print(f"| {B} | {S} | {lens.mean():.0f} | {ours:.3f} | "
                  f"{peer:.3f} | {peer / ours:.2f} | {share:.2f} |",
                  flush=True)


if __name__ == "__main__":
    main()
