#!/usr/bin/env python3
"""Context parallel on paper: how the segment-summary scheme of
`mixir.torch`'s `cp_group=` (docs/MIXERS.md, "Segment summaries") would
scale with the number of ranks P.

Measured here, on this machine's CPU, for one rank's slice (default 2048
tokens, B=1, 2 heads, K=V=128, float32):

    summary   the op run on the slice from a zero state (C, its final
              state); for the gated delta rule also the op run on v = 0
              from the identity (M, the K x K product of the transitions).
              Both also compute outputs that the summary does not need.
    combine   one step of the exclusive scan over the summaries of earlier
              ranks: exp(m) * S + C (linear attention, scalar gate) or
              M @ S + C (delta rule); a rank does P - 1 of them.
    apply     the op run on the slice from the carried state (the outputs).

Modelled: the summaries are all-gathered, so each rank receives P - 1 of
them: (1 + K V) floats per head for linear attention with a scalar gate
(K + K V with a per-channel gate) and (K K + K V) for the delta rule and
mix.recurrence. Time per layer at T tokens on P ranks = (summary + apply)
per token x T / P + (P - 1) combines (compute, scaled linearly in tokens
and heads from the measurement) beside (P - 1) x summary bytes / bandwidth
(communication; bandwidth only, no latency, no overlap) for a layer of
--layer-heads heads, at NVLink (450 GB/s) and InfiniBand (50 GB/s). The
forward only: training's backward all-reduces the gradients of all P
summaries (mixir._cp), about twice the forward's volume again.

The compute figures come from a CPU (here: a shared 2-core machine, so they
are noisy), not from the GPUs whose links are modelled; a GPU computes the
slice far faster, which moves the point where communication overtakes
compute to fewer ranks (the last table gives it for compute 10x, 100x and
1000x faster than measured).

    PYTHONPATH=build/python python3 bench/bench_cp_scaling.py \
        --plot docs/cp_scaling.png
"""

import argparse
import os
import platform
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from timing import median_ms  # noqa: E402

import mixir  # noqa: E402

LINKS = (("NVLink", 450e9), ("InfiniBand", 50e9))
LENGTHS = (1 << 20, 1 << 24)
RANKS = [2 ** i for i in range(1, 11)]


def summary_bytes(op, K, V):
    """Bytes of one head's (M, C) summary, float32."""
    m = K * K if op == "gdn" else 1
    return 4 * (m + K * V)


def measure(op, L, H, K, V, reps):
    """(summary, combine step, apply) in ms for one rank's slice."""
    rng = np.random.default_rng(0)
    q, k = (rng.standard_normal((1, L, H, K), dtype=np.float32)
            for _ in range(2))
    v = rng.standard_normal((1, L, H, V), dtype=np.float32)
    g = -0.05 * rng.random((1, L, H), dtype=np.float32)
    s0 = rng.standard_normal((1, H, K, V), dtype=np.float32)
    if op == "la":
        def run(vv, state):
            return mixir.linear_attention(q, k, vv, g, "scalar",
                                          initial_state=state,
                                          output_final_state=True)
    else:
        beta = rng.random((1, L, H), dtype=np.float32)

        def run(vv, state):
            return mixir.delta_rule(q, k, vv, beta, g, "scalar",
                                    initial_state=state,
                                    output_final_state=True, qk_l2norm=True)
    zero = np.zeros_like(s0)
    v0 = np.zeros((1, L, H, K), np.float32)
    eye = np.broadcast_to(np.eye(K, dtype=np.float32), (1, H, K, K)).copy()

    def summary():
        run(v, zero)
        if op == "gdn":
            run(v0, eye)
    m = rng.standard_normal((1, H, K, K)).astype(np.float32) / K \
        if op == "gdn" else -rng.random((1, H, 1, 1)).astype(np.float32)

    def combine():
        return (m @ s0 if op == "gdn" else np.exp(m) * s0) + s0
    return (median_ms(summary, reps), median_ms(combine, reps),
            median_ms(lambda: run(v, s0), reps))


def model(per_token_ms, combine_ms, nbytes, T, P, bandwidth):
    """(compute, communication) in ms per layer on one rank."""
    compute = per_token_ms * T / P + (P - 1) * combine_ms
    return compute, 1e3 * (P - 1) * nbytes / bandwidth


def crossover(per_token_ms, combine_ms, nbytes, T, bandwidth):
    """The least P (a power of two up to 2^20) at which communication takes
    longer than compute, or None."""
    for i in range(1, 21):
        compute, comm = model(per_token_ms, combine_ms, nbytes, T, 2 ** i,
                              bandwidth)
        if comm > compute:
            return 2 ** i
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    for flag, default, what in (
            ("--slice", 2048, "tokens of the measured slice"),
            ("--heads", 2, "heads measured"), ("--dim", 128, "K = V"),
            ("--layer-heads", 16, "heads of the modelled layer"),
            ("--repeat", 5, "timed runs, median")):
        ap.add_argument(flag, type=int, default=default,
                        help=f"{what} (default {default})")
    ap.add_argument("--plot", help="write the figure to this PNG file "
                    "(needs matplotlib)")
    args = ap.parse_args()
    L, H, K = args.slice, args.heads, args.dim
    scale = args.layer_heads / H
    print(f"# Context parallel scaling (measured on {platform.machine()} "
          f"CPU, {os.cpu_count()} cores; shared and loaded, so the compute "
          "figures are noisy)\n")
    print(f"Measured: slice of {L} tokens, B=1, {H} heads, K=V={K}, float32 "
          f"(median of {args.repeat})\n")
    print("| op | summary (ms) | combine step (ms) | apply (ms) | "
          "summary bytes/head |")
    print("|---|---|---|---|---|")
    ops = {}
    for op, name in (("la", "linear attention (scalar gate)"),
                     ("gdn", "gated delta rule (qk_l2norm)")):
        summ, comb, appl = measure(op, L, H, K, K, args.repeat)
        nbytes = summary_bytes(op, K, K)
        print(f"| {name} | {summ:.2f} | {comb:.4f} | {appl:.2f} | {nbytes} |")
        ops[op] = (name, (summ + appl) * scale / L, comb * scale,
                   nbytes * args.layer_heads)
    print(f"\nModel: one layer of {args.layer_heads} heads, bandwidth only "
          "(no latency, no overlap); compute from the CPU measurement\n")
    print("| op | T | P | compute (ms) | " +
          " | ".join(f"comm {n} (ms)" for n, _ in LINKS) + " |")
    print("|---|---|---|---|" + "---|" * len(LINKS))
    curves = {}
    for op, (name, per_token, comb, nbytes) in ops.items():
        for T in LENGTHS:
            rows = []
            for P in RANKS:
                compute = model(per_token, comb, nbytes, T, P, 1)[0]
                comms = [model(per_token, comb, nbytes, T, P, bw)[1]
                         for _, bw in LINKS]
                rows.append((compute, *comms))
                if P in (2, 8, 64, 1024):
                    print(f"| {op} | {T >> 20}M | {P} | {compute:.1f} | " +
                          " | ".join(f"{c:.3f}" for c in comms) + " |")
            curves[(op, T)] = np.array(rows)
    print("\nCommunication overtakes compute at P (none: not below 2^20):\n")
    print("| op | T | link | measured | compute 10x | 100x | 1000x |")
    print("|---|---|---|---|---|---|---|")
    for op, (name, per_token, comb, nbytes) in ops.items():
        for T in LENGTHS:
            for link, bw in LINKS:
                cells = [crossover(per_token / f, comb / f, nbytes, T, bw)
                         for f in (1, 10, 100, 1000)]
                print(f"| {op} | {T >> 20}M | {link} | " +
                      " | ".join(str(c) if c else "none" for c in cells) +
                      " |")
    print("\nThe compute grows again at large P through the P - 1 combine "
          "steps, which a rank runs one after the other (K x K by K x V "
          "products for the delta rule); at these bandwidths they cost more "
          "than receiving the summaries, so on the measured CPU compute "
          "communication never overtakes compute.")
    print("\nLASP-2's and FlexLA's published scaling figures are not set "
          "beside these: no source for them was at hand (none quoted).")
    if args.plot:
        plot(args.plot, ops, curves)
        print(f"\nwrote {args.plot}")


def plot(path, ops, curves):
    try:
        import matplotlib
    except ImportError:
        sys.exit("bench_cp_scaling.py: --plot needs matplotlib "
                 "(python3 -m pip install -r bench/requirements.txt)")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(ops), figsize=(11, 4), sharey=True)
    for ax, (op, (name, *_)) in zip(axes, ops.items()):
        for T, color in zip(LENGTHS, ("tab:blue", "tab:red")):
            ax.plot(RANKS, curves[(op, T)][:, 0], color=color,
                    label=f"compute, T={T >> 20}M")
        # The summaries do not depend on T: one communication curve a link.
        for (link, _), style, col in zip(LINKS, ("--", ":"), (1, 2)):
            ax.plot(RANKS, curves[(op, LENGTHS[0])][:, col], style,
                    color="black", label=f"all-gather, {link}")
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("ranks P")
        ax.set_title(name)
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel("ms per layer per rank (CPU compute)")
    axes[0].legend(fontsize=8)
    fig.suptitle("Context parallel: compute (measured on a CPU, scaled) vs "
                 "summary all-gather (modelled)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


if __name__ == "__main__":
    main()
