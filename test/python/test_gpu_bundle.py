"""The GPU bundle (bench/gpu/make_bundle.py, `make gpu-bundle`): written
fresh into a temporary folder (without the fla wheel, which needs the
network), at most 48 MiB, nothing in it linking LLVM, MLIR or Python or
being a CPython extension, and its `run.sh --fake-driver` passing inside a
mount namespace where /usr/lib/llvm-22 and the build tree are hidden by
empty tmpfs mounts, so a dependency on either fails here rather than on the
GPU machine."""

import os
import pathlib
import subprocess
import sys

import pytest

import mixir

ROOT = pathlib.Path(__file__).resolve().parents[2]
BUILD = pathlib.Path(mixir.__file__).resolve().parents[2]
FORBIDDEN = ("llvm", "mlir", "python")


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    home = os.environ.get("CUDA_HOME") or "/usr/local/cuda"
    if not os.access(os.path.join(home, "bin", "ptxas"), os.X_OK):
        pytest.skip(f"no ptxas in {home}/bin: cannot compile the artifacts")
    out = tmp_path_factory.mktemp("bundle") / "gpu-bundle"
    r = subprocess.run([sys.executable, str(ROOT / "bench" / "gpu" /
                                            "make_bundle.py"),
                        "--build", str(BUILD), "--out", str(out), "--no-fla"],
                       capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "27 artifacts" in r.stdout, r.stdout
    return out


def _elf_files(root):
    for p in sorted(root.rglob("*")):
        if p.is_file() and p.read_bytes()[:4] == b"\x7fELF":
            yield p


def test_bundle_is_small_and_links_no_llvm_mlir_or_python(bundle):
    size = sum(p.stat().st_size for p in bundle.rglob("*") if p.is_file())
    assert size <= 48 << 20, size
    elves = list(_elf_files(bundle))
    assert sorted(p.name for p in elves) == ["libmixir-fake-cuda.so",
                                             "libmixir_runtime.so"]
    for p in elves:
        ldd = subprocess.run(["ldd", str(p)], capture_output=True, text=True)
        assert ldd.returncode == 0 and "not found" not in ldd.stdout, ldd
        for word in FORBIDDEN:
            assert word not in ldd.stdout.lower(), (p, ldd.stdout)
        symbols = subprocess.run(["readelf", "--dyn-syms", "-W", str(p)],
                                 capture_output=True, text=True).stdout
        assert "PyInit_" not in symbols, f"{p} is a CPython extension"
    assert len(list((bundle / "artifacts").glob("*.mixir"))) == 27


def _in_namespace(script):
    """Runs `script` with bash in a new mount namespace (unshare -m, or -rm
    when unprivileged); None when neither is permitted here."""
    for flags in (["-m"], ["-rm"]):
        probe = subprocess.run(["unshare", *flags, "true"],
                               capture_output=True, text=True)
        if probe.returncode == 0:
            return subprocess.run(["unshare", *flags, "bash", "-c", script],
                                  capture_output=True, text=True, timeout=600)
    return None


def test_run_sh_fake_driver_without_llvm_and_build_tree(bundle):
    hidden = [p for p in ("/usr/lib/llvm-22", str(BUILD)) if os.path.isdir(p)]
    mounts = " && ".join(f"mount -t tmpfs tmpfs '{p}'" for p in hidden)
    checks = " && ".join(f"[ -z \"$(ls -A '{p}')\" ]" for p in hidden)
    script = (f"set -e; {mounts}; {checks}; "
              f"PYTHON='{sys.executable}' bash '{bundle}/run.sh' --fake-driver")
    r = _in_namespace(script)
    if r is None:
        pytest.skip("unshare -m and unshare -rm are not permitted on this "
                    "machine: the bundle ran only with LLVM and the build "
                    "tree visible (its ELF files were checked with ldd)")
    lines = r.stdout.strip().splitlines()
    assert r.returncode == 0 and lines, r.stdout + r.stderr
    assert lines[-1].startswith("SUMMARY: PASS fake driver: 27/27 artifacts"), \
        r.stdout + r.stderr
    assert f"# runtime {bundle}/lib/libmixir_runtime.so, binding " \
           f"{bundle}/python/mixir/runtime.py" in lines, lines
