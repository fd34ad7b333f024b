#!/usr/bin/env python3
"""CPU benchmark of mix-select-algorithm's default choice: for every mixer
whose form it chooses, the time with chunk_size unset (the cost model's
choice) against the best of the recurrent form and chunks of 16, 32, 64
and 128 tokens, each timed the same way.

Mixers (bench/select_cases.py): linear attention with gates none, head,
scalar and vector; the delta rule with scalar and vector gates (unit keys,
beta in (0, 1)); mix.recurrence with R = 1 and a vector gate (KDA written
as a DPLR recurrence); the scan on [B * H, T, K]. Shapes: H = 4 heads,
K = V = --K (default 128), B * H in --bh (default 4 and 64: B = 1 and 16,
so one compilation serves both), T in --T (default 256 and 4096; --long
adds 16384), float32 and bfloat16. Timing: median of --repeat calls, or
of as many as fill --min-seconds when calls are short, after a warm-up
(bench/timing.py). The last column is default / best: 1.00 when
the model picked the fastest form; the aim is at most 1.10 on every row.
Asserts nothing.

    PYTHONPATH=build/python python3 bench/bench_select.py
"""

import argparse
import os
import platform
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from select_cases import CANDIDATES, CASES, DTYPES, make_call  # noqa: E402
from timing import median_ms  # noqa: E402

H = 4


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--T", type=int, nargs="+", default=[256, 4096])
    p.add_argument("--long", action="store_true", help="add T = 16384")
    p.add_argument("--bh", type=int, nargs="+", default=[4, 64],
                   help="B * H (multiples of H = 4)")
    p.add_argument("--K", type=int, default=128, help="K = V")
    p.add_argument("--dtype", nargs="+", default=list(DTYPES),
                   choices=list(DTYPES))
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--min-seconds", type=float, default=0.5,
                   help="repeat short calls for at least this long")
    return p.parse_args()


def form(chunk):
    return "recurrent" if chunk == 0 else f"C={chunk}"


def main():
    args = parse_args()
    lengths = args.T + ([16384] if args.long else [])
    print(f"# {platform.machine()}, {os.cpu_count()} cores, H={H}, "
          f"K=V={args.K}, median of >= {args.repeat} calls and "
          f">= {args.min_seconds} s; times in ms")
    print(f"{'op':16s} {'gate':6s} {'dtype':5s} {'T':>6s} {'B*H':>4s} "
          f"{'default':>9s} {'best':>9s} {'best form':>10s} {'ratio':>6s}")
    worst = 0.0
    for dtype in args.dtype:
        for case in CASES:
            for T in lengths:
                for bh in args.bh:
                    B = max(bh // H, 1)
                    def measure(chunk):
                        fn = make_call(case, dtype, B, T, H, args.K, chunk)
                        first = median_ms(fn, 1)  # compiles, times one call
                        return median_ms(fn, max(
                            args.repeat, int(args.min_seconds * 1e3 / first)))
                    default = measure(None)
                    best, chunk = min((measure(c), c) for c in CANDIDATES)
                    ratio = default / best
                    worst = max(worst, ratio)
                    print(f"{case[0]:16s} {case[1]:6s} {dtype:5s} {T:6d} "
                          f"{B * H:4d} {default:9.2f} {best:9.2f} "
                          f"{form(chunk):>10s} {ratio:6.2f}", flush=True)
    print(f"# worst default/best: {worst:.2f}")


if __name__ == "__main__":
    main()
