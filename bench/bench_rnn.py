#!/usr/bin/env python3
"""CPU benchmark of mix.rnn (mixir.rnn) against torch.nn.LSTM / torch.nn.GRU
at the same FLOPs.

Shape (defaults): B=16, T=1024, H=4 heads of D=64, float32. Head h reads its
own input x[:, :, h] of D features, so the layer is H independent RNNs of
hidden size D, which is what torch runs: one torch.nn.LSTM (or GRU) of
hidden D per head, called H times. Rows:

    mixir.rnn              the recurrence alone, from precomputed wx
    torch wx + mixir.rnn   wx = x W_ih^T + b_ih for every head (one batched
                           torch matmul, the BLAS torch's LSTM uses), then
                           mixir.rnn: torch's work
    torch.nn.LSTM x H      H modules, each with its input projection

The numbers are checked first: mixir's h and final states against torch's
(rel-RMS <= 1e-4, weights taken from the torch modules). Timing: after one
warm-up call each, --repeat rounds that time every variant once in turn
(so a change in the machine's load hits all rows alike); the median per
row. The ratio column is torch's time over the row's, so > 1 means faster
than torch.

    PYTHONPATH=build/python python3 bench/bench_rnn.py [--cell gru]
"""

import argparse
import os
import platform
import sys
import time

import numpy as np

import mixir

CHECK_TOL = 1e-4


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cell", choices=("lstm", "gru"), default="lstm")
    p.add_argument("--B", type=int, default=16)
    p.add_argument("--T", type=int, default=1024)
    p.add_argument("--H", type=int, default=4)
    p.add_argument("--D", type=int, default=64)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--threads", type=int, default=None,
                   help="torch threads (default: torch's own setting); MixIR "
                   "follows OMP_NUM_THREADS")
    return p.parse_args()


def rel_rms(ref, out):
    ref, out = np.asarray(ref, np.float64), np.asarray(out, np.float64)
    return float(np.sqrt(np.mean((ref - out) ** 2) / np.mean(ref ** 2)))


def interleaved_ms(fns, rounds):
    """Median wall time in ms of each of `fns`, timed in turn for `rounds`
    rounds after one warm-up call each."""
    for fn in fns:
        fn()
    times = [[] for _ in fns]
    for _ in range(rounds):
        for fn, t in zip(fns, times):
            time.sleep(0.3)  # libomp's workers spin for KMP_BLOCKTIME first
            t0 = time.perf_counter()
            fn()
            t.append(time.perf_counter() - t0)
    return [1e3 * float(np.median(t)) for t in times]


def torch_layer(torch, cell, H, D):
    """H torch modules of hidden D, and the same weights as mixir.rnn
    operands: W_ih [H, G*D, D], b_ih [H, G*D], r [H, G, D, D], b [H, G, D]."""
    torch.manual_seed(0)
    modules = [getattr(torch.nn, cell.upper())(D, D, batch_first=True)
               for _ in range(H)]
    G = 4 if cell == "lstm" else 3

    def stack(name):
        return np.stack([getattr(m, name).detach().numpy() for m in modules])
    w_ih, b_ih = stack("weight_ih_l0"), stack("bias_ih_l0")
    r = stack("weight_hh_l0").reshape(H, G, D, D)
    b = stack("bias_hh_l0").reshape(H, G, D)
    return modules, w_ih, b_ih, r, b


def main():
    args = parse_args()
    import torch  # the baseline; not a MixIR dependency
    if args.threads:
        torch.set_num_threads(args.threads)
    B, T, H, D, cell = args.B, args.T, args.H, args.D, args.cell
    G = 4 if cell == "lstm" else 3
    modules, w_ih, b_ih, r, b = torch_layer(torch, cell, H, D)
    x = np.random.default_rng(0).standard_normal((B, T, H, D)).astype(np.float32)
    xt = [torch.from_numpy(np.ascontiguousarray(x[:, :, h])) for h in range(H)]

    tx, tw, tb = (torch.from_numpy(a) for a in (x, w_ih, b_ih))

    def project():
        # [B, T, H, D] x [H, G*D, D] -> [B, T, H, G, D]
        with torch.no_grad():
            wx = torch.einsum("bthi,hoi->btho", tx, tw).add_(tb)
        # einsum returns a permuted view; mixir.rnn reads dense arrays in
        # place (a strided one is packed first, at a cost of its own).
        return wx.contiguous().numpy().reshape(B, T, H, G, D)

    def run_torch():
        with torch.no_grad():
            return [m(xh) for m, xh in zip(modules, xt)]

    wx = project()
    h, final = mixir.rnn(wx, r, b, cell=cell, output_final_state=True)
    outs = run_torch()
    want_h = np.stack([o[0].numpy() for o in outs], axis=2)
    if cell == "lstm":
        pairs = [(want_h, h),
                 (np.stack([o[1][0][0].numpy() for o in outs], 1), final[0]),
                 (np.stack([o[1][1][0].numpy() for o in outs], 1), final[1])]
    else:
        pairs = [(want_h, h),
                 (np.stack([o[1][0].numpy() for o in outs], 1), final)]
    err = max(rel_rms(w, g) for w, g in pairs)

    names = ["mixir.rnn (wx given)", "torch wx + mixir.rnn",
             f"torch.nn.{cell.upper()} x {H}"]
    times = interleaved_ms([lambda: mixir.rnn(wx, r, b, cell=cell),
                            lambda: mixir.rnn(project(), r, b, cell=cell),
                            run_torch], args.repeat)
    rows = list(zip(names, times))
    torch_ms = times[-1]

    cores = (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
             else os.cpu_count())
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"## mix.rnn {cell} vs torch.nn.{cell.upper()}, CPU\n")
    print(f"B={B}, T={T}, H={H} heads of D={D}, float32; "
          f"{platform.processor() or platform.machine()}, {cores} cores, "
          f"load {load:.1f}, torch threads {torch.get_num_threads()}; median "
          f"of {args.repeat}; rel-RMS vs torch {err:.1e}\n")
    if err > CHECK_TOL:
        print(f"mixir.rnn differs from torch: rel-RMS {err:.1e} > {CHECK_TOL:.0e}; "
              "not timed")
        return 1
    print("| variant | ms | tokens/s | x vs torch |")
    print("|---|---:|---:|---:|")
    for name, ms in rows:
        print(f"| {name} | {ms:.1f} | {B * T / (ms / 1e3):,.0f} | "
              f"{torch_ms / ms:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
