#!/usr/bin/env python3
"""MixIR vs fla's Triton chunk kernels vs torch SDPA on one GPU, bf16 forward.

    python3 bench/gpu/run.py [--build DIR] [--budget S] [--reps N]
                             [--shapes B,T,H,D;...] [--ops a,b]

Builds nothing and needs no network: MixIR comes from an existing build
(DIR/python, default <repo>/build), fla from the fla-core wheel that bench/gpu/fetch_wheels.sh puts in
build/wheels (unpacked to a temporary directory; einops beside it),
PyTorch and Triton from the machine. Prints one markdown table; a piece that
is missing (no fla, no Triton, an op the CUDA target does not compile yet)
becomes a row or cell with the reason, never an abort. Without a GPU it
prints one line and exits 1. `--cpu-smoke` checks the script itself on a
machine without a GPU (tiny shapes, MixIR and SDPA on the CPU).

Columns (all times are medians over the timed calls):
  mixir ms      device time of MixIR's kernels, from the first launch to the
                end of the last (CUDA events in the runtime), inputs already on
                the device: comparable with fla and SDPA, which are timed the
                same way (torch.cuda.Event around the call, device tensors).
  mixir e2e ms  the whole call through the Python API: numpy bf16 arrays in
                and out, device allocation and host<->device copies included.
  fla ms        fla's chunk kernel (fla.ops.*.chunk_*), [B, T, H, D] layout.
  sdpa ms       torch.nn.functional.scaled_dot_product_attention(is_causal).
  TFLOP/s       nominal FLOPs of the chunked algorithm (chunk 64; see
                FLOPS below, the same count for every implementation) / time.
  fla/mixir     fla ms / mixir ms (> 1: MixIR is faster); sdpa/mixir alike.
  rel diff      rel-RMS of MixIR's o against fla's (or SDPA's): a sanity
                check that both computed the same thing (bf16: ~1e-3).
"""

import argparse
import ctypes
import glob
import math
import os
import pathlib
import statistics
import sys
import tempfile
import time
import zipfile

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]
CHUNK = 64
SHAPES = [(1, 8192, 96, 128), (4, 4096, 64, 128), (8, 1024, 8, 64)]
SMOKE_SHAPES = [(1, 128, 2, 32)]

OPS = {
    "simple_gla_head": "simple GLA, gate head (RetNet decay)",
    "simple_gla_scalar": "simple GLA, gate scalar",
    "gla_vector": "GLA, gate vector",
    "gated_deltanet": "Gated DeltaNet (qk_l2norm)",
    "attention": "causal softmax attention",
}


def flops(op, b, t, h, d):
    """Nominal forward FLOPs (K = V = d, chunk C = 64) of the chunked forms,
    as bench/bench_cpu.py counts them: linear attention 2T(C(K+V) + 2KV) per
    head (intra-chunk QK^T and AV, the query-state product, the state
    update); the delta rule T(5CK + 3CV + 6KV); causal attention 2T^2 D (the
    causal half of QK^T and PV)."""
    c, k, v = CHUNK, d, d
    if op == "attention":
        return 2.0 * b * h * t * t * d
    if op == "gated_deltanet":
        return 1.0 * b * h * t * (5 * c * k + 3 * c * v + 6 * k * v)
    return 2.0 * b * h * t * (c * (k + v) + 2 * k * v)


def one_line_exit(message, code=1):
    print(f"bench/gpu/run.py: {message}", flush=True)
    sys.exit(code)


def probe_driver():
    """(True, '') when libcuda loads and counts a device, else (False, why);
    asks the driver directly, so it is fast and needs neither torch nor a
    MixIR build."""
    path = os.environ.get("MIXIR_LIBCUDA_PATH") or "libcuda.so.1"
    try:
        lib = ctypes.CDLL(path)
    except OSError as e:
        return False, f"no CUDA driver ({e})"
    n = ctypes.c_int(0)
    r = lib.cuInit(0)
    if r != 0:
        return False, f"cuInit failed with CUresult {r}"
    r = lib.cuDeviceGetCount(ctypes.byref(n))
    if r != 0 or n.value <= 0:
        return False, "no CUDA device"
    return True, ""


def load_mixir(build):
    """The mixir package of the build, or (None, reason)."""
    pkg = pathlib.Path(build) / "python"
    if not (pkg / "mixir" / "__init__.py").exists():
        return None, f"no MixIR build at {build} (expected {pkg}/mixir)"
    sys.path.insert(0, str(pkg))
    try:
        import mixir
    except Exception as e:  # noqa: BLE001 - any import failure is a reason
        return None, f"cannot import mixir from {pkg}: {e}"
    if not hasattr(mixir, "cuda_status"):
        return None, "this MixIR build has no CUDA runtime"
    return mixir, ""


def load_fla(wheel_dir):
    """Unpacks fla-core (and einops when missing) from `wheel_dir` to a
    temporary directory and imports the chunk kernels: (dict, '') or
    (None, reason)."""
    wheels = sorted(glob.glob(str(pathlib.Path(wheel_dir) / "fla_core-*.whl")))
    if not wheels:
        return None, f"no fla_core wheel in {wheel_dir}"
    try:
        import triton  # noqa: F401
    except Exception as e:  # noqa: BLE001
        return None, f"no Triton ({e})"
    target = tempfile.mkdtemp(prefix="mixir-bench-fla-")
    try:
        with zipfile.ZipFile(wheels[-1]) as z:
            z.extractall(target)
        try:
            import einops  # noqa: F401
        except ImportError:
            for w in glob.glob(str(pathlib.Path(wheel_dir) / "einops-*.whl")):
                with zipfile.ZipFile(w) as z:
                    z.extractall(target)
        sys.path.insert(0, target)
        from fla.ops.gated_delta_rule import chunk_gated_delta_rule
        from fla.ops.gla import chunk_gla
        from fla.ops.simple_gla import chunk_simple_gla
        fns = {"chunk_simple_gla": chunk_simple_gla, "chunk_gla": chunk_gla,
               "chunk_gated_delta_rule": chunk_gated_delta_rule}
        try:
            from fla.ops.attn import parallel_attn
            fns["parallel_attn"] = parallel_attn
        except Exception:  # noqa: BLE001 - optional
            pass
        return fns, ""
    except Exception as e:  # noqa: BLE001
        return None, f"fla import failed: {type(e).__name__}: {e}"


class Inputs:
    """One case's tensors on the device (torch, bf16 / f32 gates) and the
    same values as numpy arrays for MixIR's Python API."""

    def __init__(self, torch, op, b, t, h, d, device, seed=0):
        # Drawn on the device: a few hundred MB per tensor at the largest shape.
        g = torch.Generator(device=device).manual_seed(seed)

        def normal(*shape):
            return torch.randn(*shape, generator=g, device=device)

        def randn(*shape, scale=1.0, dtype=torch.bfloat16):
            return (normal(*shape) * scale).to(dtype)

        self.q = randn(b, t, h, d)
        self.k = randn(b, t, h, d, scale=d ** -0.5)
        self.v = randn(b, t, h, d)
        self.gate = None
        self.beta = None
        if op == "simple_gla_head":
            self.gate = torch.log1p(-(2.0 ** (-5.0 - torch.arange(
                h, dtype=torch.float32, device=device))))
        elif op in ("simple_gla_scalar", "gated_deltanet"):
            x = normal(b, t, h) * 1.5 + 1.5
            self.gate = torch.clamp(torch.nn.functional.logsigmoid(x), min=-3.0)
        elif op == "gla_vector":
            self.gate = -torch.nn.functional.softplus(normal(b, t, h, d)) / 16
        if op == "gated_deltanet":
            self.beta = torch.sigmoid(normal(b, t, h))

    def numpy(self, ml_dtypes, torch):
        def bf16(x):
            return x.view(torch.int16).cpu().numpy().view(ml_dtypes.bfloat16)

        def f32(x):
            return None if x is None else x.float().cpu().numpy()
        return bf16(self.q), bf16(self.k), bf16(self.v), f32(self.gate), f32(self.beta)


def time_torch(torch, fn, reps, budget, cuda):
    """Median ms of fn() over up to `reps` calls (CUDA events on the GPU),
    after one warm-up call (Triton compiles and autotunes there)."""
    out = fn()
    if cuda:
        torch.cuda.synchronize()
    times = []
    start_all = time.perf_counter()
    for _ in range(reps):
        if cuda:
            e0, e1 = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            e0.record()
            fn()
            e1.record()
            e1.synchronize()
            times.append(e0.elapsed_time(e1))
        else:
            t0 = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t0) * 1e3)
        if time.perf_counter() - start_all > budget:
            break
    return statistics.median(times), out


def mixir_call(mixir, op, arrays, target):
    q, k, v, g, beta = arrays
    if op == "simple_gla_head":
        return mixir.linear_attention(q, k, v, g, gate="head", target=target)[0]
    if op == "simple_gla_scalar":
        return mixir.linear_attention(q, k, v, g, gate="scalar", target=target)[0]
    if op == "gla_vector":
        return mixir.linear_attention(q, k, v, g, gate="vector", target=target)[0]
    if op == "gated_deltanet":
        return mixir.delta_rule(q, k, v, beta, g, gate="scalar", qk_l2norm=True,
                                target=target)[0]
    return mixir.attention(q, k, v, causal=True, target=target)


def time_mixir(mixir, op, arrays, reps, budget, target):
    """(kernel ms or None, end-to-end ms, output) medians after a warm-up
    call (which compiles)."""
    native = mixir._mixir
    out = mixir_call(mixir, op, arrays, target)
    kernel, e2e = [], []
    start_all = time.perf_counter()
    for _ in range(reps):
        if target == "cuda":
            native.cuda_profile_kernels(True)
            native.cuda_take_kernel_ms()
        t0 = time.perf_counter()
        out = mixir_call(mixir, op, arrays, target)
        e2e.append((time.perf_counter() - t0) * 1e3)
        if target == "cuda":
            kernel.append(native.cuda_take_kernel_ms())
            native.cuda_profile_kernels(False)
        if time.perf_counter() - start_all > budget:
            break
    return (statistics.median(kernel) if kernel else None), statistics.median(e2e), out


def fla_call(fns, op, inp):
    if op == "simple_gla_head":
        return fns["chunk_simple_gla"](inp.q, inp.k, inp.v, g_gamma=inp.gate)[0]
    if op == "simple_gla_scalar":
        return fns["chunk_simple_gla"](inp.q, inp.k, inp.v, g=inp.gate)[0]
    if op == "gla_vector":
        return fns["chunk_gla"](inp.q, inp.k, inp.v, inp.gate)[0]
    if op == "gated_deltanet":
        return fns["chunk_gated_delta_rule"](inp.q, inp.k, inp.v, inp.gate, inp.beta,
                                             use_qk_l2norm_in_kernel=True)[0]
    if "parallel_attn" not in fns:
        raise RuntimeError("fla has no parallel_attn")
    out = fns["parallel_attn"](inp.q, inp.k, inp.v)  # causal (fla's default)
    return out[0] if isinstance(out, tuple) else out


def sdpa_call(torch, inp):
    q, k, v = (x.transpose(1, 2) for x in (inp.q, inp.k, inp.v))
    return torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2)


def rel_rms(torch, ref, out):
    ref = ref.float()
    out = out.float()
    den = torch.sqrt(torch.mean(ref * ref))
    return float(torch.sqrt(torch.mean((ref - out) ** 2)) / den)


def short(e, n=70):
    text = f"{type(e).__name__}: {e}".splitlines()[0] if str(e) else type(e).__name__
    return text if len(text) <= n else text[: n - 3] + "..."


def fmt_ms(x):
    return "-" if x is None else (f"{x:.3f}" if x < 10 else f"{x:.1f}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default=str(ROOT / "build"), help="MixIR build directory")
    ap.add_argument("--wheels", default=str(HERE.parents[1] / "build" / "wheels"),
                    help="where fla_core-*.whl is (bench/gpu/fetch_wheels.sh fills build/wheels)")
    ap.add_argument("--budget", type=float, default=270.0,
                    help="seconds for the whole table; later cells read 'skipped (budget)'")
    ap.add_argument("--reps", type=int, default=10, help="timed calls per cell (median)")
    ap.add_argument("--mixir-reps", type=int, default=5,
                    help="timed MixIR calls (each copies inputs through the host)")
    ap.add_argument("--shapes", help="B,T,H,D;B,T,H,D (default: the three of the issue)")
    ap.add_argument("--ops", help=",".join(OPS))
    ap.add_argument("--chip", help="MixIR's GPU architecture (default: the device's, "
                    "e.g. sm_90; sm_90a enables Hopper-only instructions)")
    ap.add_argument("--cpu-smoke", action="store_true",
                    help="self-test without a GPU: tiny shape, MixIR and SDPA on the CPU")
    args = ap.parse_args()
    t_start = time.perf_counter()
    if args.chip:
        os.environ["MIXIR_CUDA_CHIP"] = args.chip

    ops = list(OPS) if not args.ops else args.ops.split(",")
    for op in ops:
        if op not in OPS:
            one_line_exit(f"unknown op '{op}' (expected {', '.join(OPS)})", 2)
    shapes = SMOKE_SHAPES if args.cpu_smoke else SHAPES
    if args.shapes:
        try:
            shapes = [tuple(int(x) for x in s.split(",")) for s in args.shapes.split(";")]
            assert all(len(s) == 4 for s in shapes)
        except (ValueError, AssertionError):
            one_line_exit(f"--shapes expects B,T,H,D;... got '{args.shapes}'", 2)

    cuda = not args.cpu_smoke
    if cuda:
        ok, why = probe_driver()
        if not ok:
            one_line_exit(f"no GPU: {why}")
    try:
        import torch
    except ImportError as e:
        one_line_exit(f"PyTorch is needed for the inputs and the baselines ({e})")
    if cuda and not torch.cuda.is_available():
        one_line_exit("no GPU: torch.cuda.is_available() is False")
    device = "cuda" if cuda else "cpu"

    mixir, mixir_why = load_mixir(args.build)
    target = "cuda" if cuda else "cpu"
    if mixir is not None and cuda:
        ok, why = mixir.cuda_status()
        if not ok:
            mixir, mixir_why = None, f"MixIR: {why}"
    try:
        import ml_dtypes
    except ImportError:
        ml_dtypes = None
        if mixir is not None:
            mixir, mixir_why = None, "no ml_dtypes (MixIR takes bf16 numpy arrays)"
    fla, fla_why = (None, "no GPU (Triton)") if not cuda else load_fla(args.wheels)

    gpu_name = torch.cuda.get_device_name(0) if cuda else "cpu (smoke test)"
    print(f"# MixIR vs fla vs torch SDPA, bf16 forward, {gpu_name}")
    print(f"torch {torch.__version__}"
          + (f", fla {sys.modules['fla'].__version__}" if fla else f", fla: {fla_why}")
          + (f", MixIR {args.build}" if mixir else f", MixIR: {mixir_why}"))
    print()
    header = ["op", "B,T,H,D", "mixir ms", "mixir e2e ms", "fla ms", "sdpa ms",
              "mixir TFLOP/s", "fla TFLOP/s", "sdpa TFLOP/s", "fla/mixir", "sdpa/mixir",
              "rel diff", "notes"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))

    for shape in shapes:
        b, t, h, d = shape
        for op in ops:
            notes = []
            cells = dict.fromkeys(["mixir", "e2e", "fla", "sdpa"])
            outs = {}

            def over_budget():
                return time.perf_counter() - t_start > args.budget

            remaining = lambda: max(1.0, args.budget - (time.perf_counter() - t_start))
            if over_budget():
                print(f"| {op} | {b},{t},{h},{d} | " + " | ".join(["-"] * 10)
                      + " | skipped (time budget) |", flush=True)
                continue
            try:
                inp = Inputs(torch, op, b, t, h, d, device)
            except Exception as e:  # noqa: BLE001 - e.g. out of memory
                print(f"| {op} | {b},{t},{h},{d} | " + " | ".join(["-"] * 10)
                      + f" | inputs: {short(e)} |", flush=True)
                continue
            # fla (linear family; attention through parallel_attn if present)
            if fla is None:
                notes.append(f"fla: {fla_why}")
            elif not over_budget():
                try:
                    cells["fla"], outs["fla"] = time_torch(
                        torch, lambda: fla_call(fla, op, inp), args.reps, remaining(), cuda)
                except Exception as e:  # noqa: BLE001
                    notes.append(f"fla: {short(e)}")
            if op == "attention" and not over_budget():
                try:
                    cells["sdpa"], outs["sdpa"] = time_torch(
                        torch, lambda: sdpa_call(torch, inp), args.reps, remaining(), cuda)
                except Exception as e:  # noqa: BLE001
                    notes.append(f"sdpa: {short(e)}")
            # MixIR
            if mixir is None:
                notes.append(f"mixir: {mixir_why}")
            elif over_budget():
                notes.append("mixir: skipped (time budget)")
            else:
                try:
                    arrays = inp.numpy(ml_dtypes, torch)
                    cells["mixir"], cells["e2e"], out = time_mixir(
                        mixir, op, arrays, args.mixir_reps, remaining(), target)
                    if not cuda:
                        cells["mixir"] = cells["e2e"]
                    outs["mixir"] = torch.from_numpy(
                        out.view("int16").copy()).view(torch.bfloat16).to(device)
                except (ValueError, RuntimeError, TypeError) as e:
                    # The ops report what the compiler refused as ValueError.
                    notes.append(f"mixir ({target}): {short(e)}")
            # agreement
            diff = "-"
            base = outs.get("fla") if op != "attention" else outs.get("sdpa", outs.get("fla"))
            if base is not None and "mixir" in outs:
                diff = f"{rel_rms(torch, base, outs['mixir']):.1e}"
            elif "fla" in outs and "sdpa" in outs:
                diff = f"fla vs sdpa {rel_rms(torch, outs['sdpa'], outs['fla']):.1e}"

            f = flops(op, b, t, h, d)
            tf = {k: (None if v is None else f / (v * 1e-3) / 1e12) for k, v in cells.items()}
            ratio = lambda other: ("-" if cells[other] is None or cells["mixir"] is None
                                   else f"{cells[other] / cells['mixir']:.2f}")
            row = [op, f"{b},{t},{h},{d}", fmt_ms(cells["mixir"]), fmt_ms(cells["e2e"]),
                   fmt_ms(cells["fla"]), fmt_ms(cells["sdpa"]),
                   *("-" if tf[k] is None else f"{tf[k]:.1f}" for k in ("mixir", "fla", "sdpa")),
                   ratio("fla"), ratio("sdpa"), diff, "; ".join(notes)]
            print("| " + " | ".join(row) + " |", flush=True)
            del inp, outs
            if cuda:
                torch.cuda.empty_cache()
    print()
    print("ops: " + "; ".join(f"{k} = {v}" for k, v in OPS.items() if k in ops))
    print(f"total {time.perf_counter() - t_start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
