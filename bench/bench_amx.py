#!/usr/bin/env python3
"""CPU benchmark of bf16 on the matrix unit: MixIR's bf16 linear attention
and causal softmax attention with their tile products on AMX against the
same op in f32 and in bf16 without AMX (MIXIR_AMX=0: bf16 loads, f32
products), beside torch's bf16 and f32 matmul (oneDNN, AMX where the CPU
has it) as the limit of what bf16 can gain.

Shape (defaults): B=1, T=4096, H=4, K=V=128, chunks (attention: query and
key blocks) of 64 tokens. Linear attention gates: no gate, one per head,
one per token (scalar), one per channel (vector; its reads of 16-token
sub-chunks reduce over 16 tokens, too few for an AMX tile, and stay f32). Timing: median of --repeat calls after a
warm-up (bench/timing.py); every row is measured twice in the same run, to
show the noise. Each bf16 row is checked against a float64 evaluation of
the recurrent form first (rel-RMS, MIXERS.md's bf16 bound is 5e-3).

    PYTHONPATH=build/python python3 bench/bench_amx.py
"""

import argparse
import json
import os
import platform
import subprocess
import sys

import ml_dtypes
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from timing import median_ms  # noqa: E402

import mixir  # noqa: E402
import mixir.reference as ref  # noqa: E402

BF16 = np.dtype(ml_dtypes.bfloat16)
GATES = ["none", "head", "scalar", "vector", "attention"]


def inputs(gate, B, T, H, K, seed=0):
    rng = np.random.default_rng(seed)
    q = rng.standard_normal((B, T, H, K)).astype(np.float32)
    k = rng.standard_normal((B, T, H, K)).astype(np.float32)
    k /= np.linalg.norm(k, axis=-1, keepdims=True)
    v = rng.standard_normal((B, T, H, K)).astype(np.float32)
    shape = {"none": None, "head": (H,), "scalar": (B, T, H),
             "vector": (B, T, H, K)}[gate]
    g = None if shape is None else \
        (-0.01 - 0.49 * rng.random(shape)).astype(np.float32)
    return q, k, v, g


def op(gate, qkv, g, chunk):
    if gate == "attention":
        return mixir.attention(*qkv, causal=True)
    return mixir.linear_attention(*qkv, g=g, gate=gate, chunk_size=chunk)[0]


def call(gate, dtype, args, chunk):
    q, k, v, g = inputs("none" if gate == "attention" else gate, args.B,
                        args.T, args.H, args.K)
    qkv = [x.astype(dtype) for x in (q, k, v)]
    return lambda: op(gate, qkv, g, chunk)


def error(gate, chunk):
    """rel-RMS of bf16 against float64 at a short odd length."""
    q, k, v, g = inputs("none" if gate == "attention" else gate, 1, 333, 2,
                        128, seed=1)
    qkv = [x.astype(BF16) for x in (q, k, v)]
    o = op(gate, qkv, g, chunk)
    qkv64 = [x.astype(np.float64) for x in qkv]
    if gate == "attention":
        want = ref.attention(*qkv64, causal=True)
    else:
        want, _ = ref.linear_attention(
            *qkv64, g=None if g is None else g.astype(np.float64), gate=gate)
    return ref.rel_rms(want, o)


def measure(args, dtypes):
    """{gate: {dtype: [ms, ms]}} for this process's compiler settings."""
    out = {}
    for gate in GATES:
        out[gate] = {}
        for name in dtypes:
            fn = call(gate, BF16 if name == "bf16" else np.float32, args,
                      args.chunk)
            out[gate][name] = [median_ms(fn, args.repeat) for _ in range(2)]
        if "bf16" in dtypes:
            out[gate]["err"] = error(gate, args.chunk)
    return out


def torch_limit():
    """GFLOP/s of torch's f32 and bf16 matmul at n = 2048 (oneDNN)."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(os.cpu_count() or 1)
    n = 2048
    rates = {}
    for name, dtype in (("f32", torch.float32), ("bf16", torch.bfloat16)):
        a = torch.randn(n, n, dtype=dtype)
        b = torch.randn(n, n, dtype=dtype)
        ms = median_ms(lambda: a @ b, 5)
        rates[name] = 2 * n ** 3 / ms / 1e6
    return rates


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--B", type=int, default=1)
    p.add_argument("--T", type=int, default=4096)
    p.add_argument("--H", type=int, default=4)
    p.add_argument("--K", type=int, default=128, help="K = V")
    p.add_argument("--chunk", type=int, default=64)
    p.add_argument("--repeat", type=int, default=7)
    p.add_argument("--worker", action="store_true",
                   help="measure bf16 only and print JSON (MIXIR_AMX=0 run)")
    args = p.parse_args()
    if args.worker:
        print(json.dumps(measure(args, ["bf16"])))
        return
    with_amx = measure(args, ["f32", "bf16"])
    worker = subprocess.run(
        [sys.executable, os.path.abspath(__file__), "--worker"] +
        [f"--{a}={getattr(args, a)}" for a in ("B", "T", "H", "K", "chunk",
                                                "repeat")],
        env={**os.environ, "MIXIR_AMX": "0"}, check=True,
        capture_output=True, text=True)
    without = json.loads(worker.stdout)
    limit = torch_limit()
    print(f"## bf16 on the matrix unit: linear attention and attention, "
          f"B={args.B} "
          f"T={args.T} H={args.H} K=V={args.K}, chunk {args.chunk}; "
          f"{platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} threads")
    print()
    if limit:
        print(f"Limit: torch matmul n=2048, f32 {limit['f32']:.0f} GFLOP/s, "
              f"bf16 {limit['bf16']:.0f} GFLOP/s: bf16 / f32 = "
              f"{limit['bf16'] / limit['f32']:.2f}")
        print()
    print("| gate | f32 ms (two runs) | bf16 ms, AMX | bf16 ms, MIXIR_AMX=0 "
          "| f32 / bf16 AMX | bf16 no-AMX / AMX | bf16 rel-RMS AMX / no-AMX |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for gate in GATES:
        f32 = with_amx[gate]["f32"]
        amx = with_amx[gate]["bf16"]
        off = without[gate]["bf16"]
        print(f"| {gate} | {f32[0]:.1f}, {f32[1]:.1f} | {amx[0]:.1f}, "
              f"{amx[1]:.1f} | {off[0]:.1f}, {off[1]:.1f} | "
              f"{min(f32) / min(amx):.2f} | {min(off) / min(amx):.2f} | "
              f"{with_amx[gate]['err']:.1e} / {without[gate]['err']:.1e} |")


if __name__ == "__main__":
    main()
