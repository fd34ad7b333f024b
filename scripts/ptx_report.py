#!/usr/bin/env python3
"""Reports on the device code that mixir-cuda-pipeline embeds in a module.

    ptx_report.py MODULE.mlir [--arch sm_80 --arch sm_90] [--sass]
    ptx_report.py --find TOOL      (prints the tool's path, or exits 1)
    ptx_report.py --print-ptx MODULE.mlir   (the PTX text, for FileCheck)

MODULE.mlir is the output of `mixir-opt --mixir-cuda-pipeline=format=isa`:
every `gpu.binary` holds PTX as its `assembly`. For each binary and each
architecture the script runs `ptxas -v` and prints one line

    <binary> <arch> registers=N spill-stores=B spill-loads=B smem=B

and with --sass also `<binary> <arch> HMMA=N` counted in `cuobjdump -sass`
(for sm_90a also `HGMMA=N UTMALDG=N`: warpgroup MMAs and TMA loads).
Exit status 1 when ptxas rejects a kernel, spills registers (unless named
with --allow-spills), or (with --sass) no tensor-core instruction (HMMA or
HGMMA) is found, or with --require-hgmma no HGMMA on sm_90a (unless named
with --allow-no-hmma); 2 when a tool is missing.
Tools are looked up on PATH, in $CUDA_HOME/bin, /usr/local/cuda/bin, and
in the pip packages nvidia-cuda-cuobjdump / nvidia-cuda-nvcc.
"""
import argparse
import glob
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile


def find_tool(name):
    found = shutil.which(name)
    if found:
        return found
    dirs = []
    for var in ("CUDA_HOME", "CUDA_PATH", "CUDA_ROOT"):
        if os.environ.get(var):
            dirs.append(os.path.join(os.environ[var], "bin"))
    dirs.append("/usr/local/cuda/bin")
    site = sysconfig.get_paths()["purelib"]
    dirs += sorted(glob.glob(os.path.join(site, "nvidia", "*", "bin")))
    for d in dirs:
        path = os.path.join(d, name)
        if os.access(path, os.X_OK):
            return path
    return None


def binaries(text):
    """(symbol, ptx) for every gpu.binary with an `assembly` string."""
    pattern = re.compile(
        r'gpu\.binary\s+@(\w+).*?assembly\s*=\s*"((?:[^"\\]|\\.)*)"', re.S)
    for m in pattern.finditer(text):
        ptx = re.sub(r"\\([0-9A-Fa-f]{2})",
                     lambda h: chr(int(h.group(1), 16)), m.group(2))
        ptx = ptx.replace('\\"', '"').replace("\\\\", "\\")
        yield m.group(1), ptx


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--find":
        path = find_tool(sys.argv[2])
        if path:
            print(path)
        return 0 if path else 1
    if len(sys.argv) == 3 and sys.argv[1] == "--print-ptx":
        with open(sys.argv[2]) as f:
            found = list(binaries(f.read()))
        for name, ptx in found:
            print("// gpu.binary @" + name)
            print(ptx)
        return 0 if found else 1
    ap = argparse.ArgumentParser()
    ap.add_argument("module")
    ap.add_argument("--arch", action="append", default=[])
    ap.add_argument("--sass", action="store_true")
    ap.add_argument("--allow-no-hmma", action="append", default=[],
                    help="a binary without matmuls (no HMMA expected)")
    ap.add_argument("--require-hgmma", action="store_true",
                    help="on sm_90a, a binary with matmuls must use HGMMA")
    ap.add_argument("--allow-spills", action="append", default=[],
                    help="a binary whose spills are reported, not failed "
                         "(the one-thread kernels of convert-chunked-to-gpu)")
    args = ap.parse_args()
    arches = args.arch or ["sm_80"]
    ptxas = find_tool("ptxas")
    cuobjdump = find_tool("cuobjdump") if args.sass else None
    if not ptxas or (args.sass and not cuobjdump):
        print("ptx_report: ptxas/cuobjdump not found (scripts/setup.sh "
              "installs them)", file=sys.stderr)
        return 2
    with open(args.module) as f:
        found = list(binaries(f.read()))
    if not found:
        print("ptx_report: no gpu.binary with PTX in " + args.module,
              file=sys.stderr)
        return 1
    status = 0
    with tempfile.TemporaryDirectory() as tmp:
        for name, ptx in found:
            src = os.path.join(tmp, name + ".ptx")
            with open(src, "w") as f:
                f.write(ptx)
            for arch in arches:
                cubin = os.path.join(tmp, "%s.%s.cubin" % (name, arch))
                r = subprocess.run([ptxas, "-arch=" + arch, "-v", src, "-o",
                                    cubin], capture_output=True, text=True)
                if r.returncode != 0:
                    print("%s %s ptxas failed: %s" % (name, arch,
                                                      r.stderr.strip()))
                    status = 1
                    continue
                info = r.stderr
                regs = re.findall(r"Used (\d+) registers", info)
                stores = re.findall(r"(\d+) bytes spill stores", info)
                loads = re.findall(r"(\d+) bytes spill loads", info)
                smem = re.findall(r"(\d+) bytes smem", info)
                spills = sum(map(int, stores + loads))
                print("%s %s registers=%s spill-stores=%s spill-loads=%s "
                      "smem=%s" % (name, arch, max(map(int, regs or [0])),
                                   sum(map(int, stores)), sum(map(int, loads)),
                                   max(map(int, smem or [0]))))
                if spills and name not in args.allow_spills:
                    status = 1
                if args.sass:
                    # cuobjdump runs nvdisasm, looked up on PATH.
                    env = dict(os.environ)
                    extra = [os.path.dirname(cuobjdump)]
                    nvdisasm = find_tool("nvdisasm")
                    if nvdisasm:
                        extra.append(os.path.dirname(nvdisasm))
                    env["PATH"] = os.pathsep.join(extra + [env.get("PATH", "")])
                    d = subprocess.run([cuobjdump, "-sass", cubin],
                                       capture_output=True, text=True, env=env)
                    hmma = len(re.findall(r"\bHMMA\.", d.stdout))
                    print("%s %s HMMA=%d" % (name, arch, hmma))
                    # Hopper's warpgroup MMA and TMA loads.
                    hgmma = len(re.findall(r"\bHGMMA\.", d.stdout))
                    utma = len(re.findall(r"\bUTMALDG\b", d.stdout))
                    if arch == "sm_90a":
                        print("%s %s HGMMA=%d UTMALDG=%d" % (name, arch, hgmma,
                                                            utma))
                    if d.returncode != 0 or (
                            hmma + hgmma == 0 and
                            name not in args.allow_no_hmma):
                        status = 1
                    if (arch == "sm_90a" and args.require_hgmma and
                            hgmma == 0 and name not in args.allow_no_hmma):
                        status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
