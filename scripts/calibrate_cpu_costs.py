#!/usr/bin/env python3
"""Measures the CPU cost table of mix-select-algorithm's cost model and
writes it to lib/Conversion/MixToLoops/CostTable.inc.

For every case of bench/select_cases.py (linear attention with gates none,
head, scalar and vector; the delta rule with scalar and vector gates;
mix.recurrence with R = 1 and a vector gate; the scan), in float32 and
bfloat16 (with MIXIR_AMX=0, in a second process: f32 tile products), and
on a CPU with AMX also "bf16+amx" (linear attention, whose bf16 tile
products then run on AMX), at K = V in --dims (default 64 and 128), it times the recurrent
form (chunk_size=0) and the chunked form with chunks of 16, 32, 64 and 128
tokens through mixir's numpy API on B=1, H=4, T=--T (default 2048), the
median of at least --repeat calls (and --min-seconds of calls) after a warm-up (bench/timing.py), and records
nanoseconds per token per state head (per row of K channels for the scan).
The compiler scales these by FLOPs to other head dimensions and ranks
(docs/MIXERS.md, "Choosing the form"). Rebuild after regenerating.

    PYTHONPATH=build/python python3 scripts/calibrate_cpu_costs.py
"""

import argparse
import datetime
import json
import os
import platform
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))
from select_cases import AMX_OPS, CANDIDATES, CASES, make_call  # noqa: E402
from timing import median_ms  # noqa: E402

OUT = os.path.join(ROOT, "lib", "Conversion", "MixToLoops", "CostTable.inc")
B, H = 1, 4


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--T", type=int, default=2048)
    p.add_argument("--dims", type=int, nargs="+", default=[64, 128])
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--out", default=OUT)
    p.add_argument("--keep", action="store_true",
                   help="keep the rows of --out whose K is not in --dims "
                   "(re-measure some dimensions only)")
    p.add_argument("--min-seconds", type=float, default=0.4,
                   help="repeat short calls for at least this long")
    p.add_argument("--worker", metavar="DTYPE",
                   help="measure this element type's rows only and print "
                   "them as JSON (the MIXIR_AMX=0 bf16 pass)")
    return p.parse_args()


def measure(case, dtype, T, K, repeat, min_seconds):
    """ns per token per state head of each candidate chunk length."""
    row = []
    for chunk in CANDIDATES:
        fn = make_call(case, dtype.split("+")[0], B, T, H, K, chunk)
        first = median_ms(fn, 1)  # compiles, then one timed call
        ms = median_ms(fn, max(repeat, int(min_seconds * 1e3 / first)))
        row.append(ms * 1e6 / (B * T * H))
        print(f"  {case[0]:16s} {case[1]:6s} {dtype:4s} K=V={K:3d} "
              f"chunk {chunk:3d}: {ms:8.2f} ms", file=sys.stderr, flush=True)
    return row


def kept_rows(path, dims):
    """The rows of the table at `path` measured at a K not in `dims`."""
    rows = []
    with open(path) as f:
        for line in f:
            m = re.match(r'\s*\{"\w+", "\w+", "[\w+]+", (\d+),', line)
            if m and int(m.group(1)) not in dims:
                rows.append(line.rstrip("\n"))
    return rows


def rows(dtype, K, args):
    """The table lines of one element type at K = V."""
    lines = []
    for case in CASES:
        if dtype == "bf16+amx" and case[0] not in AMX_OPS:
            continue
        costs = ", ".join(f"{c:.4g}" for c in
                          measure(case, dtype, args.T, K, args.repeat,
                                  args.min_seconds))
        lines.append(f'    {{"{case[0]}", "{case[1]}", "{dtype}", '
                     f'{K}, {K}, {{{costs}}}}},')
    return lines


def main():
    args = parse_args()
    if args.worker:
        print(json.dumps({K: rows(args.worker, K, args) for K in args.dims}))
        return
    # bf16 without AMX: a process of its own (the compiler decides once, when
    # its first context is made).
    worker = subprocess.run(
        [sys.executable, os.path.abspath(__file__), "--worker", "bf16",
         "--T", str(args.T), "--repeat", str(args.repeat),
         "--min-seconds", str(args.min_seconds), "--dims"] +
        [str(K) for K in args.dims],
        env={**os.environ, "MIXIR_AMX": "0"}, check=True,
        stdout=subprocess.PIPE, text=True)
    plain_bf16 = json.loads(worker.stdout)
    import mixir._mixir as native
    amx = native.host_has_amx()
    lines = kept_rows(args.out, args.dims) if args.keep else []
    for K in args.dims:
        lines += rows("f32", K, args)
        lines += plain_bf16[str(K)]
        if amx:
            lines += rows("bf16+amx", K, args)
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    with open(args.out, "w") as f:
        f.write(
            "//===- CostTable.inc - measured CPU costs of each form -----------"
            "-*- C++ -*-===//\n"
            "//\n"
            "// Generated by scripts/calibrate_cpu_costs.py; do not edit.\n"
            f"// Measured {stamp} on {platform.machine()}, {os.cpu_count()} "
            f"cores, B={B} H={H} T={args.T},\n"
            f"// median of >= {args.repeat} calls. Per row: op, gate, element "
            "type (bf16+amx: bf16 with\n"
            "// its tile products on AMX), K, V, then ns per token per state "
            "head of the\n"
            "// recurrent form and of chunks of 16, 32, 64 and 128 tokens.\n"
            "//\n"
            "//===-------------------------------------------------------------"
            "---------===//\n")
        f.write("\n".join(lines) + "\n")
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
