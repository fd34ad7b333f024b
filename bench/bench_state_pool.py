#!/usr/bin/env python3
"""Decode through a state pool: the time of one mixir.delta_rule call of N
one-token sequences (Qwen3-Next's gated delta rule sizes: 2 key heads of
K = 32, 4 value heads of V = 48, qk_l2norm, a scalar gate) at growing pool
sizes P, each best of 5 rounds of 20 calls, with the ratio to the smallest
pool. A call's cost should not grow with P (the functional op gathers the
slots it uses).

    PYTHONPATH=build/python python3 bench/bench_state_pool.py [--slots 4,16,256,1024]
"""

import argparse
import time

import numpy as np

import mixir


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--slots", default="4,16,256,1024")
    ap.add_argument("--sequences", type=int, default=4)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    hk, hv, K, V, N = 2, 4, 32, 48, args.sequences
    q, k = (rng.standard_normal((1, N, hk, K)).astype(np.float32)
            for _ in range(2))
    v = rng.standard_normal((1, N, hv, V)).astype(np.float32)
    beta = rng.uniform(0, 1, (1, N, hv)).astype(np.float32)
    g = -rng.uniform(0, 1, (1, N, hv)).astype(np.float32)
    cu = np.arange(N + 1, dtype=np.int32)
    print(f"| pool slots P | pool MB | ms per call ({N} sequences) | "
          f"ratio to P = first |")
    print("|---|---|---|---|")
    first = None
    for P in (int(x) for x in args.slots.split(",")):
        pool = rng.standard_normal((P, hv, K, V)).astype(np.float32)
        slots = rng.choice(P, N, replace=False).astype(np.int32)

        def call():
            mixir.delta_rule(q, k, v, beta, g, gate="scalar", qk_l2norm=True,
                             cu_seqlens=cu, state_pool=pool,
                             state_indices=slots)
        call()
        best = float("inf")
        for _ in range(5):
            t = time.perf_counter()
            for _ in range(20):
                call()
            best = min(best, (time.perf_counter() - t) / 20)
        first = first or best
        print(f"| {P} | {pool.nbytes / 2**20:.1f} | {best * 1e3:.3f} | "
              f"{best / first:.2f} |")


if __name__ == "__main__":
    main()
