#!/usr/bin/env python3
"""The GPU bundle's checks (bench/gpu/make_bundle.py writes the bundle; its
run.sh runs this). Needs Python >= 3.10 and numpy; on a GPU also torch (and
Triton plus the bundled fla-core wheel for the fla column).

    python3 harness.py [--budget S]      on a machine with a GPU:
      1. numerics: every artifact marked for it, at T = 63 and 1500, against
         a float64 recurrent reference computed here with torch (rel-RMS of
         o and of the final state);
      2. the benchmark table of bench/gpu/run.py's cases (bf16 forward):
         MixIR vs fla's Triton chunk kernels vs torch SDPA; MixIR's kernels
         (the chunked form, chunks of 16) get rows with chunks of 64 too
         (their sm_90a cubins run wgmma) at H8 D64 and H96 D128;
      3. a zero-copy torch call (outputs written in place) and a decode step
         (T = 1) captured in a CUDA graph and replayed.
    python3 harness.py --fake-driver     against the stand-in driver
      (run.sh points the runtime at it): every artifact loads and is called
      on device buffers; the kernels get the buffers' pointers unchanged, on
      the stream passed, with no copy; driver errors, a device no image fits
      and wrong arguments are errors that name the problem. No numerics
      (the stand-in runs no kernel).

The last line is a one-line summary: "SUMMARY: PASS ..." or "SUMMARY: FAIL
...".
"""

import argparse
import ctypes
import json
import math
import os
import pathlib
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "python"))
sys.path.insert(0, str(HERE))

from mixir import runtime  # noqa: E402  (ctypes; no compiler)

LIMITS = {"bf16": 3e-2, "f16": 1e-2}   # rel-RMS of o and of the state
NUMERICS_T = (63, 1500)


def manifest():
    return json.loads((HERE / "artifacts" / "manifest.json").read_text())


def args_of(kind):
    """The function's argument names after q, k, v."""
    return {"la_none": [], "la_scalar": ["g"], "la_vector": ["g"],
            "delta_scalar": ["beta", "g"], "attention": []}[kind]


# --- float64 references (recurrent forms of docs/MIXERS.md) ---------------

def reference(torch, kind, x):
    """(o, final state or None) in float64 for inputs `x` (a dict)."""
    q, k, v = (x[n].double() for n in "qkv")
    b, t, h, d = q.shape
    scale = 1.0 / math.sqrt(d)
    if kind == "attention":
        qh, kh, vh = (y.transpose(1, 2) for y in (q, k, v))
        s = scale * qh @ kh.transpose(-1, -2)
        mask = torch.ones(t, t, dtype=torch.bool, device=q.device).triu(1)
        s = s.masked_fill(mask, float("-inf"))
        return (torch.softmax(s, -1) @ vh).transpose(1, 2), None
    if kind == "delta_scalar":
        def norm(y):
            return y * torch.rsqrt((y * y).sum(-1, keepdim=True) + 1e-6)
        q, k = norm(q), norm(k)
    state = torch.zeros(b, h, d, v.shape[-1], dtype=torch.float64,
                        device=q.device)
    o = torch.empty(b, t, h, v.shape[-1], dtype=torch.float64, device=q.device)
    g = x.get("g")
    for i in range(t):
        if g is not None and g.dim() == 3:
            state = torch.exp(g[:, i].double())[..., None, None] * state
        elif g is not None:
            state = torch.exp(g[:, i].double())[..., None] * state
        if kind == "delta_scalar":
            pred = torch.einsum("bhkv,bhk->bhv", state, k[:, i])
            u = x["beta"][:, i].double()[..., None] * (v[:, i] - pred)
            state = state + k[:, i, :, :, None] * u[:, :, None, :]
        else:
            state = state + k[:, i, :, :, None] * v[:, i, :, None, :]
        o[:, i] = torch.einsum("bhkv,bhk->bhv", state, scale * q[:, i])
    return o, state


def inputs(torch, kind, dtype, b, t, h, d, seed, device="cuda"):
    gen = torch.Generator(device=device).manual_seed(seed)
    dt = {"bf16": torch.bfloat16, "f16": torch.float16}[dtype]

    def normal(*shape):
        return torch.randn(*shape, generator=gen, device=device)
    x = {"q": normal(b, t, h, d).to(dt),
         "k": (normal(b, t, h, d) * d ** -0.5).to(dt),
         "v": normal(b, t, h, d).to(dt)}
    if kind in ("la_scalar", "delta_scalar"):
        x["g"] = torch.clamp(torch.nn.functional.logsigmoid(
            normal(b, t, h) * 1.5 + 1.5), min=-3.0)
    if kind == "la_vector":
        x["g"] = -torch.nn.functional.softplus(normal(b, t, h, d)) / 16
    if kind == "delta_scalar":
        x["beta"] = torch.sigmoid(normal(b, t, h))
    return x


def rel_rms(got, want):
    got, want = got.double(), want.double()
    return float(((got - want) ** 2).mean().sqrt() / (want ** 2).mean().sqrt())


def call(fn, kind, x, **kw):
    return fn(x["q"], x["k"], x["v"], *(x[n] for n in args_of(kind)), **kw)


def numerics(torch, entries, deadline):
    print("\n## 1. numerics against a float64 recurrent reference (rel-RMS)")
    print("| artifact | T | o | state | limit | |\n|---|---|---|---|---|---|")
    failed, worst = [], {}
    for e in (e for e in entries if e["numerics"]):
        fn = runtime.load(HERE / "artifacts" / e["file"])["f"]
        for t in NUMERICS_T:
            if time.monotonic() > deadline:
                failed.append(f"{e['file']} T={t}: no time left")
                continue
            x = inputs(torch, e["kind"], e["dtype"], 2, t, e["heads"],
                       e["dim"], seed=t)
            out = call(fn, e["kind"], x)
            o, s = out if isinstance(out, tuple) else (out, None)
            want_o, want_s = reference(torch, e["kind"], x)
            errs = [rel_rms(o, want_o)] + \
                ([rel_rms(s, want_s)] if s is not None else [])
            limit = LIMITS[e["dtype"]]
            ok = all(err < limit for err in errs) and o.dtype == x["q"].dtype
            key = e["dtype"]
            worst[key] = max(worst.get(key, 0.0), *errs)
            cells = [f"{err:.2e}" for err in errs] + ["-"] * (2 - len(errs))
            print(f"| {e['file']} | {t} | {' | '.join(cells)} | {limit:.0e} "
                  f"| {'ok' if ok else 'FAIL'} |")
            if not ok:
                failed.append(f"{e['file']} T={t}")
    return failed, worst


def bench(torch, entries, deadline, reps):
    import run as table  # bench/gpu/run.py: cases, FLOPs, fla, timing
    fla, why = table.load_fla(HERE / "wheels")
    name = torch.cuda.get_device_name()
    print(f"\n## 2. bf16 forward, {name}, torch {torch.__version__}"
          + (f", fla {sys.modules['fla'].__version__}" if fla
             else f"; fla column skipped: {why}"))
    print("| op | B,T,H,D | mixir ms | fla ms | sdpa ms | mixir TFLOP/s | "
          "fla TFLOP/s | sdpa TFLOP/s | fla/mixir | sdpa/mixir | rel diff |")
    print("|" + "---|" * 11)
    rows = 0
    for b, t, h, d in table.SHAPES:
        for e in entries:
            op = e["bench_op"]
            if not op or e["dtype"] != "bf16" or (e["heads"], e["dim"]) != (h, d):
                continue
            if time.monotonic() > deadline:
                print(f"| {op} | {b},{t},{h},{d} | no time left |")
                continue
            try:
                rows += bench_row(torch, table, fla, e, (b, t, h, d),
                                  deadline, reps)
            except Exception as err:  # noqa: BLE001 - a row, not a stop
                print(f"| {op} | {b},{t},{h},{d} | {type(err).__name__}: "
                      f"{str(err)[:120]} |", flush=True)
            torch.cuda.empty_cache()
    return rows


def bench_row(torch, table, fla, e, shape, deadline, reps):
    """Times one case and prints its row; 1."""
    op, (b, t, h, d) = e["bench_op"], shape
    fn = runtime.load(HERE / "artifacts" / e["file"])["f"]
    inp = table.Inputs(torch, op, b, t, h, d, "cuda")
    x = {"q": inp.q, "k": inp.k, "v": inp.v, "g": inp.gate,
         "beta": inp.beta}
    left = max(deadline - time.monotonic(), 1.0)
    ms = {}
    ms["mixir"], out = table.time_torch(
        torch, lambda: call(fn, e["kind"], x), reps, left / 4, True)
    mine = out[0] if isinstance(out, tuple) else out
    ref = None
    if fla:
        try:
            ms["fla"], ref = table.time_torch(
                torch, lambda: table.fla_call(fla, op, inp), reps,
                left / 4, True)
        except Exception as err:  # noqa: BLE001 - a cell, not a stop
            ms["fla"] = f"{type(err).__name__}"
    if op == "attention":
        ms["sdpa"], ref = table.time_torch(
            torch, lambda: table.sdpa_call(torch, inp), reps,
            left / 4, True)
    flop = table.flops(op, b, t, h, d)

    def cell(key, fmt):
        v = ms.get(key)
        return fmt(v) if isinstance(v, float) else (v or "-")
    tf = {k: cell(k, lambda v: f"{flop / v / 1e9:.1f}")
          for k in ("mixir", "fla", "sdpa")}
    ratio = {k: cell(k, lambda v: f"{v / ms['mixir']:.2f}")
             for k in ("fla", "sdpa")}
    diff = f"{rel_rms(mine, ref):.1e}" if ref is not None else "-"
    if e.get("kernels") == "hopper":
        op += " (chunk 64: wgmma on sm_90a)"
    print(f"| {op} | {b},{t},{h},{d} | {ms['mixir']:.3f} | "
          f"{cell('fla', lambda v: f'{v:.3f}')} | "
          f"{cell('sdpa', lambda v: f'{v:.3f}')} | {tf['mixir']} | "
          f"{tf['fla']} | {tf['sdpa']} | {ratio['fla']} | "
          f"{ratio['sdpa']} | {diff} |", flush=True)
    return 1


def zero_copy(torch, entries):
    """A call writing torch outputs in place, and a decode step in a CUDA
    graph; the problems found ([] when none)."""
    print("\n## 3. zero-copy torch call and a CUDA graph")
    e = next(e for e in entries if e["kind"] == "la_scalar" and
             e["dtype"] == "bf16" and e["numerics"])
    fn = runtime.load(HERE / "artifacts" / e["file"])["f"]
    problems = []
    x = inputs(torch, e["kind"], "bf16", 1, 257, e["heads"], e["dim"], 7)
    o, s = call(fn, e["kind"], x)
    o2, s2 = torch.empty_like(o), torch.empty_like(s)
    ptrs = (o2.data_ptr(), s2.data_ptr())
    r = call(fn, e["kind"], x, out=[o2, s2])
    same = r[0] is o2 and (o2.data_ptr(), s2.data_ptr()) == ptrs
    equal = torch.equal(o, o2) and torch.equal(s, s2)
    print(f"outputs written in place: {same}; equal to the returned ones: "
          f"{equal}")
    if not (same and equal):
        problems.append("zero-copy outputs")
    # Decode: T = 1, captured once, replayed on new inputs.
    step = inputs(torch, e["kind"], "bf16", 4, 1, e["heads"], e["dim"], 8)
    o1, s1 = call(fn, e["kind"], step)   # warm-up outside the capture
    torch.cuda.synchronize()
    graph = torch.cuda.CUDAGraph()
    try:
        with torch.cuda.graph(graph):
            call(fn, e["kind"], step, out=[o1, s1])
        new = inputs(torch, e["kind"], "bf16", 4, 1, e["heads"], e["dim"], 9)
        for n in step:
            step[n].copy_(new[n])
        graph.replay()
        torch.cuda.synchronize()
        want_o, want_s = call(fn, e["kind"], step)
        ok = torch.equal(o1, want_o) and torch.equal(s1, want_s)
        print(f"decode step captured in a CUDA graph and replayed on new "
              f"inputs: matches an eager call: {ok}")
        if not ok:
            problems.append("graph replay differs")
    except Exception as err:  # noqa: BLE001 - reported in the summary
        print(f"CUDA graph capture failed: {type(err).__name__}: {err}")
        problems.append("graph capture")
    return problems


def on_gpu(budget, reps):
    start = time.monotonic()
    try:
        import torch
    except ImportError as e:
        return f"FAIL no torch ({e})"
    if not torch.cuda.is_available():
        return "FAIL torch sees no CUDA device"
    entries = manifest()["artifacts"]
    failed, worst = numerics(torch, entries, start + 0.35 * budget)
    problems = zero_copy(torch, entries)
    rows = bench(torch, entries, start + 0.9 * budget, reps)
    worst_s = ", ".join(f"{k} {v:.1e}" for k, v in sorted(worst.items()))
    n = sum(len(NUMERICS_T) for e in entries if e["numerics"])
    verdict = "PASS" if not failed and not problems and rows else "FAIL"
    return (f"{verdict} numerics {n - len(failed)}/{n} within limits (worst "
            f"rel-RMS {worst_s}){'; failed: ' + ', '.join(failed) if failed else ''}"
            f"; bench {rows} rows; zero-copy and CUDA graph "
            f"{'ok' if not problems else 'FAILED: ' + ', '.join(problems)}; "
            f"{time.monotonic() - start:.0f} s")


# --- the stand-in driver --------------------------------------------------------

class Fake:
    def __init__(self):
        self.lib = ctypes.CDLL(os.environ["MIXIR_LIBCUDA_PATH"])
        self.lib.fakeCudaLaunchesWith.argtypes = [ctypes.c_uint64]
        self.lib.fakeCudaCalls.argtypes = [ctypes.c_char_p]
        self.lib.fakeCudaFail.argtypes = [ctypes.c_char_p, ctypes.c_int]
        self.lib.fakeCudaLastLaunch.restype = ctypes.POINTER(ctypes.c_uint)

    def calls(self, name):
        return self.lib.fakeCudaCalls(name.encode())

    def launched(self, ptr):
        return self.lib.fakeCudaLaunchesWith(ptr) > 0

    def launch_stream(self):
        launch, copy = ctypes.c_void_p(), ctypes.c_void_p()
        self.lib.fakeCudaLastStreams(ctypes.byref(launch), ctypes.byref(copy))
        return launch.value or 0


def device_inputs(fn, kind, b, t):
    """Uninitialised device arrays for fn's arguments at batch b, length t."""
    out = {}
    for name, (dtype, shape) in zip(["q", "k", "v"] + args_of(kind),
                                    fn.arg_types):
        out[name] = runtime.empty([b, t] + shape[2:], dtype)
    return out


def check_artifact(fake, e, stream):
    """One artifact on the stand-in driver; the problems found."""
    fn = runtime.load(HERE / "artifacts" / e["file"])["f"]
    x = device_inputs(fn, e["kind"], 2, 63)
    copies = fake.calls("cuMemcpyAsync") + fake.calls("cuStreamSynchronize")
    out = call(fn, e["kind"], x, stream=stream)
    outs = out if isinstance(out, tuple) else (out,)
    problems = []
    want = [[2, 63, e["heads"], e["dim"]],
            [2, e["heads"], e["dim"], e["dim"]]][:len(outs)]
    if [list(o.shape) for o in outs] != want:
        problems.append(f"result shapes {[o.shape for o in outs]}")
    if not all(fake.launched(a.data_ptr) for a in list(x.values()) + list(outs)):
        problems.append("a buffer's pointer did not reach the kernel")
    if fake.launch_stream() != stream:
        problems.append(f"launched on {fake.launch_stream():#x}, not the "
                        f"stream passed ({stream:#x})")
    if fake.calls("cuMemcpyAsync") + fake.calls("cuStreamSynchronize") != copies:
        problems.append("a copy or a host synchronisation")
    grid = fake.lib.fakeCudaLastLaunch()
    if grid[0] * grid[1] * grid[2] == 0 or grid[3] % 32:
        problems.append(f"launch grid {grid[0]}x{grid[1]}x{grid[2]}, block "
                        f"{grid[3]}")
    return problems


def expect_error(what, fn, text):
    try:
        fn()
    except runtime.MixirError as e:
        if text in str(e):
            print(f"{what}: {e}")
            return []
        return [f"{what}: unexpected message {e}"]
    return [f"{what}: no error"]


def fake_driver():
    fake = Fake()
    entries = manifest()["artifacts"]
    print(f"# stand-in driver {os.environ['MIXIR_LIBCUDA_PATH']}; numerics "
          "and benchmark skipped (the stand-in runs no kernel)")
    print(f"# runtime {runtime.library_path()}, binding {runtime.__file__}")
    problems = []
    for i, e in enumerate(entries):
        found = check_artifact(fake, e, 0x5000 + 0x10 * i)
        print(f"{e['file']}: {'ok' if not found else '; '.join(found)}")
        problems += [f"{e['file']}: {p}" for p in found]
    la = next(e for e in entries if e["kind"] == "la_none")
    fn = runtime.load(HERE / "artifacts" / la["file"])["f"]
    x = device_inputs(fn, "la_none", 1, 9)
    fake.lib.fakeCudaFail(b"cuLaunchKernel", 700)
    problems += expect_error(
        "driver error", lambda: call(fn, "la_none", x),
        "@f: mgpuLaunchKernel: cuLaunchKernel failed: "
        "CUDA_ERROR_ILLEGAL_ADDRESS")
    fake.lib.fakeCudaFail(b"cuLaunchKernel", 0)
    problems += expect_error(
        "wrong dtype", lambda: fn(x["q"], x["k"], runtime.empty(
            [1, 9, la["heads"], la["dim"]], "f32")),
        "@f argument 2: element type f32, expected")
    fake.lib.fakeCudaSetComputeCapability(7, 5)
    problems += expect_error(
        "no image for the device",
        lambda: runtime.load(HERE / "artifacts" / la["file"]),
        "no code for the device (sm_75)")
    fake.lib.fakeCudaSetComputeCapability(12, 0)
    n = len(entries)
    if problems:
        return f"FAIL fake driver: {len(problems)} problems: " + \
            "; ".join(problems[:5])
    return (f"PASS fake driver: {n}/{n} artifacts loaded and called on device "
            "buffers (pointers reach cuLaunchKernel unchanged, on the caller's "
            "stream, no cuMemcpy, no host sync); error paths named; numerics "
            "and benchmark not run (no GPU)")


def main():
    ap = argparse.ArgumentParser(description="the GPU bundle's checks")
    ap.add_argument("--fake-driver", action="store_true")
    ap.add_argument("--budget", type=float, default=420.0,
                    help="seconds for all the GPU checks (default 420)")
    ap.add_argument("--reps", type=int, default=10)
    args = ap.parse_args()
    try:
        line = fake_driver() if args.fake_driver else \
            on_gpu(args.budget, args.reps)
    except Exception as e:  # noqa: BLE001 - the summary must come last
        import traceback
        traceback.print_exc()
        line = f"FAIL {type(e).__name__}: {e}"
    print(f"SUMMARY: {line}", flush=True)
    return 0 if line.startswith("PASS") else 1


if __name__ == "__main__":
    sys.exit(main())
