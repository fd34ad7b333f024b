#!/usr/bin/env python3
"""Expected forward times at fla's benchmark shapes, from a model of the
H100 SXM (no GPU needed): what a lent GPU's table (bench/gpu/run.py) is to
be compared with, kernel by kernel.

    python3 bench/gpu/roofline.py [--chip h100|h200]

The machine: dense bf16 tensor-core peak, HBM bandwidth, SM count. The
work: run.py's nominal FLOPs of the chunked algorithm (chunk 64) and the
bytes every implementation must move (q, k, v and the 16-bit output once,
the gates, the final f32 state). Rows:

  roofline ms   max(FLOPs / peak, bytes / bandwidth): the whole machine,
                any algorithm that does this work.
  fused ms      MixIR's kernel as built today: one block (one warpgroup) per
                (batch, head) runs its chunks in sequence, so only B x H
                SMs work (in waves of the SM count); attention has one
                block per (batch, head, query block of 64), FlashAttention's
                schedule. Each tile product runs three times (bf16 high and
                low parts of f32 tiles: hi*hi + hi*lo + lo*hi).
  parallel ms   every SM working: for the recurrent ops the two-pass
                schedule (mix-split-segments: the op over segments for their
                summaries, a scan, the op again for the outputs), twice the
                work (three times for the delta rule, whose transition
                products cost a third run); for attention the fused
                schedule already is. Still three products per tile.
  SMs           blocks of the fused schedule / SMs, as used.

Both model rows are lower bounds: they count tensor-core work and HBM
traffic only (no latency, no scalar work such as the delta rule's
triangular solve, no global scratch for tiles beyond shared memory).
"""

import argparse
import math
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import run  # noqa: E402  (stdlib only at import: shapes, ops, FLOPs)

CHIPS = {
    # Dense bf16 tensor-core peak (wgmma), HBM bandwidth, SMs.
    "h100": dict(name="H100 SXM5", peak=989.4e12, hbm=3.35e12, sms=132),
    "h200": dict(name="H200 SXM", peak=989.4e12, hbm=4.8e12, sms=132),
}
SPLIT = 3  # products per tile: bf16 hi*hi + hi*lo + lo*hi


def bytes_moved(op, b, t, h, d):
    """HBM bytes a forward must move at least: bf16 q, k, v in and o out;
    f32 gates; the f32 final state of the recurrent ops."""
    x = b * t * h * d * 2
    if op == "attention":
        return 4 * x
    gate = {"simple_gla_head": 0, "simple_gla_scalar": b * t * h * 4,
            "gla_vector": b * t * h * d * 4,
            "gated_deltanet": 2 * b * t * h * 4}[op]
    return 4 * x + gate + b * h * d * d * 4


def row(chip, op, shape):
    b, t, h, d = shape
    flop = run.flops(op, b, t, h, d)
    moved = bytes_moved(op, b, t, h, d)
    memory = moved / chip["hbm"]
    roof = max(flop / chip["peak"], memory)
    blocks = b * h
    if op == "attention":
        blocks *= math.ceil(t / 64)
    waves = math.ceil(blocks / chip["sms"])
    used = blocks / (waves * chip["sms"])
    fused = max(SPLIT * flop / (chip["peak"] * used), memory)
    passes = {"gated_deltanet": 3, "attention": 1}.get(op, 2)
    parallel = max(passes * SPLIT * flop / chip["peak"], passes * memory)
    return (f"| {run.OPS[op]} | {b},{t},{h},{d} | {flop / 1e9:.0f} | "
            f"{moved / 2**20:.0f} | {roof * 1e3:.3f} | {fused * 1e3:.3f} | "
            f"{parallel * 1e3:.3f} | {blocks}/{chip['sms']} ({used:.0%}) |")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--chip", choices=sorted(CHIPS), default="h100")
    args = ap.parse_args()
    chip = CHIPS[args.chip]
    print(f"Model of the {chip['name']}: {chip['peak'] / 1e12:.0f} TFLOP/s "
          f"dense bf16, {chip['hbm'] / 1e12:.2f} TB/s HBM, {chip['sms']} "
          f"SMs\n")
    print("| op | B,T,H,D | GFLOP | MiB moved | roofline ms | fused ms "
          "| parallel ms | SMs (fused) |")
    print("|---|---|---|---|---|---|---|---|")
    for shape in run.SHAPES:
        for op in run.OPS:
            print(row(chip, op, shape))


if __name__ == "__main__":
    main()
