#!/usr/bin/env python3
"""Runs the paper examples in examples/models/ and prints one table.

    python3 examples/models/run_models.py --build build [--only MODULE]

Every example builds one small layer of its paper with seeded weights and
inputs (odd lengths), runs it in float32 through MixIR's ops, and compares
it with a float64 reference of the paper's equations written in numpy in
the same file. The table gives, per layer: the paper, the mix ops used,
what runs outside them, the rel-RMS against the reference (the largest over
the layer's outputs), its tolerance, and tokens per second of the whole
layer (median of 5 calls after a first, compiling one). MoM and the
negative-eigenvalue Mamba2 are .mlir examples run by examples/run_examples.py;
their rows point there. Exits non-zero if any example fails or raises.
"""

import argparse
import importlib
import os
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import _common as C  # noqa: E402  first: it sets numpy's thread count
import numpy as np  # noqa: E402

# In the order of the table.
MODULES = ["flashrnn", "flowformer", "inline", "lion", "devil", "tcnca",
           "lightning", "hedgehog", "liger", "lssl", "lightnet", "longvq",
           "slab", "soft", "clear"]

# Papers whose example is an .mlir file of examples/run_examples.py.
ELSEWHERE = [
    ("MoM (mixture of memories)", "mix.delta_rule (H*M state heads)",
     "examples/mom.mlir, run by run_examples.py"),
    ("Negative eigenvalues (Mamba2)", "mix.recurrence decay signed",
     "examples/mamba2_negeig.mlir, run by run_examples.py"),
]


def table(rows):
    header = ["paper", "ops used", "outside mix ops", "rel-RMS", "tol", "result",
              "tokens/s"]
    body = []
    for r in rows:
        if "err" not in r:
            body.append([r["paper"], r["ops"], r["outside"], "-", "-", "-", "-"])
            continue
        body.append([r["paper"], r["ops"], r["outside"], f"{r['err']:.2e}",
                     f"{r['tol']:.0e}", "PASS" if r["ok"] else "FAIL",
                     f"{r['tokens_per_s']:,.0f}"])
    widths = [max(len(x[c]) for x in [header] + body) for c in range(len(header))]
    line = lambda x: "  ".join(s.ljust(w) for s, w in zip(x, widths)).rstrip()  # noqa: E731
    print(line(header))
    print("  ".join("-" * w for w in widths))
    for x in body:
        print(line(x))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default="build", help="build directory (default: build)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--only", action="append", default=[],
                    help="run only this module (repeatable), e.g. --only lion")
    args = ap.parse_args()
    C.use_build(args.build)
    names = [m for m in MODULES if not args.only or m in args.only]
    if not names:
        sys.exit(f"run_models.py: no example named {args.only}; have " + ", ".join(MODULES))
    rows, failures = [], []
    for n, name in enumerate(names):
        t0 = time.time()
        module = importlib.import_module(name)
        try:
            got = module.run(np.random.default_rng(args.seed + n))
        except Exception as e:  # noqa: BLE001 - reported in the table, exit 1
            traceback.print_exc()
            got = [dict(paper=module.PAPER, ops="-", outside=f"error: {e}",
                        err=float("inf"), tol=0.0, ok=False, tokens_per_s=0.0)]
        for r in got:
            rows.append(r)
            if not r["ok"]:
                failures.append(r["paper"])
        print(f"  {name}: {'PASS' if all(r['ok'] for r in got) else 'FAIL'} "
              f"({time.time() - t0:.1f} s)", file=sys.stderr)
    if not args.only:
        rows += [dict(paper=p, ops=o, outside=w) for p, o, w in ELSEWHERE]
    table(rows)
    checked = sum("err" in r for r in rows)
    print("".join(f"{f}: FAILED\n" for f in failures)
          + (f"{len(failures)} of {checked} paper layers failed" if failures
             else f"all {checked} paper layers passed"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
