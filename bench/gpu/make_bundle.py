#!/usr/bin/env python3
"""Writes the GPU bundle: what a machine with a GPU and the CUDA driver, but
no LLVM/MLIR, no compiler toolchain and no network, needs to check and time
MixIR's CUDA kernels (`make gpu-bundle` runs this).

    python3 bench/gpu/make_bundle.py [--build DIR] [--out DIR] [--no-fla]

DIR defaults to <repo>/build, the bundle to DIR/gpu-bundle:

    run.sh                 the entry point (bash run.sh [--fake-driver])
    harness.py, run.py     the checks and the benchmark (bench/gpu/)
    lib/                   libmixir_runtime.so, the stand-in driver
                           libmixir-fake-cuda.so (for --fake-driver)
    python/mixir/          mixir.runtime (ctypes) and the package stub
    artifacts/*.mixir      one CUDA artifact (sm_80 and sm_90a cubins, PTX
                           for sm_80) per op x gate kind x dtype x head shape
                           used (the chunked form's kernels, chunks of 16),
                           each also with chunks of 64 (wgmma in the sm_90a
                           cubin) at H8 D64 and H96 D128, and manifest.json
                           describing them
    wheels/                fla-core 0.6.0, when `pip download` reached it

Nothing in the bundle links LLVM or MLIR or is a CPython extension.
"""

import argparse
import concurrent.futures
import json
import os
import pathlib
import shutil
import subprocess
import sys

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]
LIMIT_BYTES = 48 << 20
CHIPS = "sm_80,sm_90a"
# (name, op, gate, description): what the checks and the benchmark run.
KINDS = [
    ("la_none", "linear_attention", "none", "linear attention"),
    ("la_scalar", "linear_attention", "scalar", "simple GLA (gate scalar)"),
    ("la_vector", "linear_attention", "vector", "GLA (gate vector)"),
    ("delta_scalar", "delta_rule", "scalar", "Gated DeltaNet (qk_l2norm)"),
    ("attention", "attention", "causal", "causal softmax attention"),
]
NUMERICS_HEADS = (8, 64)            # H, D of the numerics artifacts
BENCH_HEADS = [(96, 128), (64, 128), (8, 64)]
# What bench/gpu/run.py calls the bundle's kinds.
BENCH_OPS = {"la_scalar": "simple_gla_scalar", "la_vector": "gla_vector",
             "delta_scalar": "gated_deltanet", "attention": "attention"}


# mixir-compile's flags for each kind of kernels an entry asks for: the
# target's default (chunks of 16), or chunks of 64, whose tile products run
# as warpgroup MMAs in the sm_90a cubin.
KERNEL_FLAGS = {
    "default": [],
    "hopper": ["--chunk-size=64"],
}


def source(kind, dtype, h, d):
    """MLIR of one function @f: [B, T, H, D] tensors, B and T dynamic."""
    x = f"tensor<?x?x{h}x{d}x{dtype}>"
    gate_scalar, gate_vector = f"tensor<?x?x{h}xf32>", f"tensor<?x?x{h}x{d}xf32>"
    state = f"tensor<?x{h}x{d}x{d}xf32>"
    if kind == "attention":
        return (f"func.func @f(%q: {x}, %k: {x}, %v: {x}) -> {x} {{\n"
                f"  %o = mix.attention %q, %k, %v causal : ({x}, {x}, {x}) "
                f"-> {x}\n  return %o : {x}\n}}\n")
    if kind == "delta_scalar":
        args = f"%q: {x}, %k: {x}, %v: {x}, %beta: {gate_scalar}, %g: {gate_scalar}"
        op = "mix.delta_rule %q, %k, %v, %beta gate scalar(%g) qk_l2norm"
        types = f"{x}, {x}, {x}, {gate_scalar}, {gate_scalar}"
    else:
        gate = kind.split("_")[1]
        g = {"none": None, "scalar": gate_scalar, "vector": gate_vector}[gate]
        args = f"%q: {x}, %k: {x}, %v: {x}" + (f", %g: {g}" if g else "")
        op = "mix.linear_attention %q, %k, %v gate " + \
            (f"{gate}(%g)" if g else "none")
        types = f"{x}, {x}, {x}" + (f", {g}" if g else "")
    return (f"func.func @f({args}) -> ({x}, {state}) {{\n"
            f"  %o, %s = {op} : ({types}) -> ({x}, {state})\n"
            f"  return %o, %s : {x}, {state}\n}}\n")


def entries():
    """Every artifact: numerics in bf16 and f16, benchmark shapes in bf16;
    chunks of 64 in bf16 beside them."""
    out = []
    for name, op, gate, what in KINDS:
        for dtype in ("bf16", "f16"):
            out.append(dict(kind=name, op=op, gate=gate, what=what,
                            dtype=dtype, heads=NUMERICS_HEADS[0],
                            dim=NUMERICS_HEADS[1], numerics=True))
        for h, d in BENCH_HEADS:
            if (h, d) != NUMERICS_HEADS and name in BENCH_OPS:
                out.append(dict(kind=name, op=op, gate=gate, what=what,
                                dtype="bf16", heads=h, dim=d, numerics=False))
        # The chunked form with chunks of 64, whose sm_90a cubin runs the
        # tile products as warpgroup MMAs (wgmma): checked at the numerics
        # heads, timed there and at the first benchmark shape's heads.
        out.append(dict(kind=name, op=op, gate=gate, what=what, dtype="bf16",
                        heads=NUMERICS_HEADS[0], dim=NUMERICS_HEADS[1],
                        numerics=True, kernels="hopper"))
        if name in BENCH_OPS:
            out.append(dict(kind=name, op=op, gate=gate, what=what,
                            dtype="bf16", heads=BENCH_HEADS[0][0],
                            dim=BENCH_HEADS[0][1], numerics=False,
                            kernels="hopper"))
    for e in out:
        e.setdefault("kernels", "default")
        tag = {"default": "", "hopper": "_hopper"}[e["kernels"]]
        e["file"] = (f"{e['kind']}_{e['dtype']}_h{e['heads']}_d{e['dim']}"
                     f"{tag}.mixir")
        e["bench_op"] = BENCH_OPS.get(e["kind"])
    return out


def compile_one(build, e, folder):
    src = folder / (e["file"] + ".mlir")
    src.write_text(source(e["kind"], e["dtype"], e["heads"], e["dim"]))
    r = subprocess.run([str(build / "bin" / "mixir-compile"), str(src),
                        "--target=cuda", f"--chip={CHIPS}", "--emit=artifact",
                        *KERNEL_FLAGS[e["kernels"]],
                        "-o", str(folder / e["file"])],
                       capture_output=True, text=True)
    src.unlink()
    if r.returncode != 0:
        raise SystemExit(f"make_bundle: {e['file']}: mixir-compile failed:\n"
                         f"{r.stderr.strip()}")


def fetch_fla(build, out):
    """fla-core 0.6.0 from the package index into BUILD/wheels (ignored),
    copied into the bundle; the reason when pip cannot reach it."""
    cache = build / "wheels"
    cache.mkdir(exist_ok=True)
    have = sorted(cache.glob("fla_core-0.6.0-*.whl"))
    if not have:
        r = subprocess.run([sys.executable, "-m", "pip", "download", "-q",
                            "--no-deps", "fla-core==0.6.0", "-d", str(cache)],
                           capture_output=True, text=True, timeout=120)
        have = sorted(cache.glob("fla_core-0.6.0-*.whl"))
        if not have:
            lines = (r.stderr or r.stdout).strip().splitlines()
            return "pip download fla-core==0.6.0 failed: " + \
                (lines[-1] if lines else f"exit {r.returncode}")
    (out / "wheels").mkdir()
    shutil.copy(have[-1], out / "wheels")
    return ""


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default=str(ROOT / "build"))
    ap.add_argument("--out", default=None)
    ap.add_argument("--no-fla", action="store_true",
                    help="do not try to download the fla-core wheel")
    args = ap.parse_args()
    build = pathlib.Path(args.build).resolve()
    out = pathlib.Path(args.out or build / "gpu-bundle").resolve()
    if out.exists():
        shutil.rmtree(out)
    for sub in ("lib", "python/mixir", "artifacts"):
        (out / sub).mkdir(parents=True)
    for lib in ("libmixir_runtime.so", "libmixir-fake-cuda.so"):
        shutil.copy(build / "lib" / lib, out / "lib" / lib)
    for name in ("__init__.py", "_version.py", "runtime.py"):
        shutil.copy(build / "python" / "mixir" / name,
                    out / "python" / "mixir" / name)
    for name in ("harness.py", "run.py", "run.sh"):
        shutil.copy(HERE / ("bundle_run.sh" if name == "run.sh" else name),
                    out / name)
    os.chmod(out / "run.sh", 0o755)
    todo = entries()
    jobs = int(os.environ.get("JOBS", "2"))
    with concurrent.futures.ThreadPoolExecutor(jobs) as pool:
        list(pool.map(lambda e: compile_one(build, e, out / "artifacts"),
                      todo))
    fla = "not fetched (--no-fla)" if args.no_fla else fetch_fla(build, out)
    manifest = {"chips": CHIPS, "artifacts": todo, "fla_wheel": fla or "ok"}
    (out / "artifacts" / "manifest.json").write_text(
        json.dumps(manifest, indent=1))
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    if size > LIMIT_BYTES:
        raise SystemExit(f"make_bundle: {out} is {size / 2**20:.1f} MiB, more "
                         f"than {LIMIT_BYTES >> 20} MiB")
    print(f"wrote {out}: {len(todo)} artifacts, {size / 2**20:.1f} MiB"
          + (f"; fla: {fla}" if fla else "; fla-core 0.6.0 wheel included"))


if __name__ == "__main__":
    main()
