#!/usr/bin/env python3
"""CPU benchmark of mix.recurrence's chunked form against its recurrent form
and against mix.delta_rule, the specialised op for the same recurrence.

Shape (defaults): B=1, T=4096, H=4 heads (Hq=Hk=Hv), K=V=128, float32, a
per-channel (vector) log gate in [-0.5, -0.01] (--gate scalar: one per
head and token), unit keys, beta in (0, 1).
The recurrence is KDA written as mix.recurrence: R = 1, a = d * k,
b = -beta k, v -> beta v (MIXERS.md), so all four rows compute the same
numbers:

    recurrence  chunked    mixir.recurrence(..., chunk_size=64)
    recurrence  recurrent  mixir.recurrence(..., chunk_size=0)
    delta_rule  chunked    mixir.delta_rule(..., gate="vector", chunk_size=64)
    delta_rule  recurrent  mixir.delta_rule(..., gate="vector", chunk_size=0)

Each variant is first checked against the float64 reference
(mixir.reference.recurrence / delta_rule) with the same compiled function at
a shorter length (--check-T, default 300: not a multiple of the chunk), and
not timed if its rel-RMS exceeds 1e-4. Timing: median of --repeat calls after
one warm-up (bench/timing.py). Ratios compare rows of this run only.

    PYTHONPATH=build/python python3 bench/bench_recurrence.py
"""

import argparse
import os
import platform
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from timing import median_ms  # noqa: E402

import mixir  # noqa: E402
from mixir import reference  # noqa: E402

CHUNK = 64
CHECK_TOL = 1e-4


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--T", type=int, default=4096)
    p.add_argument("--H", type=int, default=4)
    p.add_argument("--K", type=int, default=128, help="K = V")
    p.add_argument("--check-T", type=int, default=300)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--gate", choices=("vector", "scalar"), default="vector",
                   help="gate kind of both ops (default %(default)s)")
    return p.parse_args()


def inputs(rng, t, h, kd, gate):
    """KDA (Gated DeltaNet for the scalar gate) inputs and the same
    recurrence as mix.recurrence operands."""
    q = rng.normal(size=(1, t, h, kd)).astype(np.float32)
    k = rng.normal(size=(1, t, h, kd))
    k = (k / np.linalg.norm(k, axis=-1, keepdims=True)).astype(np.float32)
    v = rng.normal(size=(1, t, h, kd)).astype(np.float32)
    beta = rng.uniform(0.05, 0.95, (1, t, h)).astype(np.float32)
    g = rng.uniform(-0.5, -0.01, (1, t, h, kd) if gate == "vector" else (1, t, h))
    g = g.astype(np.float32)
    d = np.exp(g.astype(np.float64))
    if gate == "scalar":
        d = d[..., None]
    b64 = beta.astype(np.float64)[..., None]
    a = (d * k)[:, :, :, None, :].astype(np.float32)
    b = (-b64 * k)[:, :, :, None, :].astype(np.float32)
    bv = (b64 * v).astype(np.float32)
    return dict(q=q, k=k, v=v, beta=beta, g=g, a=a, b=b, bv=bv, gate=gate)


def call(op, x, chunk):
    if op == "recurrence":
        return mixir.recurrence(x["q"], x["k"], x["bv"], x["a"], x["b"], x["g"],
                                gate=x["gate"], output_final_state=True,
                                chunk_size=chunk)
    return mixir.delta_rule(x["q"], x["k"], x["v"], x["beta"], x["g"], gate=x["gate"],
                            output_final_state=True, chunk_size=chunk)


def want(op, x):
    if op == "recurrence":
        return reference.recurrence(x["q"], x["k"], x["bv"], x["a"], x["b"], x["g"],
                                    gate=x["gate"], output_final_state=True)
    return reference.delta_rule(x["q"], x["k"], x["v"], x["beta"], x["g"],
                                gate=x["gate"], output_final_state=True)


def main():
    args = parse_args()
    rng = np.random.default_rng(0)
    check = inputs(rng, args.check_T, args.H, args.K, args.gate)
    timed = inputs(rng, args.T, args.H, args.K, args.gate)
    variants = [("recurrence", CHUNK), ("recurrence", 0),
                ("delta_rule", CHUNK), ("delta_rule", 0)]
    rows = []
    for op, chunk in variants:
        o, s = call(op, check, chunk)  # compiles
        o_ref, s_ref = want(op, check)
        err = max(reference.rel_rms(o_ref, o), reference.rel_rms(s_ref, s))
        ms = None
        if err <= CHECK_TOL:
            ms = median_ms(lambda: call(op, timed, chunk), args.repeat)
        rows.append((op, chunk, err, ms))

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"## mix.recurrence (R = 1, {args.gate} gate) vs mix.delta_rule "
          f"({args.gate} gate), CPU\n")
    print(f"B=1, T={args.T}, H={args.H}, K=V={args.K}, float32; {platform.processor() or platform.machine()}, "
          f"{cores} cores, load {load:.1f}; median of {args.repeat}; check at T={args.check_T}\n")
    print("| op | form | rel-RMS (check) | ms | x vs its recurrent | x vs delta_rule chunked |")
    print("|---|---|---:|---:|---:|---:|")
    by = {(op, chunk): ms for op, chunk, _, ms in rows}
    for op, chunk, err, ms in rows:
        form = f"chunked (C={chunk})" if chunk else "recurrent"
        if ms is None:
            print(f"| {op} | {form} | {err:.1e} (> {CHECK_TOL:.0e}) | not timed | | |")
            continue
        rec = by.get((op, 0))
        dr = by.get(("delta_rule", CHUNK))
        vs_rec = f"{rec / ms:.2f}" if rec else "n/a"
        vs_dr = f"{dr / ms:.2f}" if dr else "n/a"
        print(f"| {op} | {form} | {err:.1e} | {ms:.1f} | {vs_rec} | {vs_dr} |")


if __name__ == "__main__":
    main()
