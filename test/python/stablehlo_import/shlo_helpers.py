"""Shared helpers for the StableHLO importer tests: export JAX functions,
import them with mixir.from_jax (front stage + mixir-import-stablehlo),
compile with mixir.compile, compare with JAX's own outputs.

jax is required: when it is missing these tests fail (scripts/setup.sh
installs it), they do not skip."""

import os
import pathlib
import shutil
import subprocess
import sys

from needs import need

need("jax")
import jax
import numpy as np

import mixir
from mixir import stablehlo as shlo

# MIXERS.md: f32 rel-RMS limits (the delta rule's triangular solve loses more).
TOL = 1e-5
TOL_DELTA = 1e-4

MLIR_OPT = os.environ.get("MIXIR_MLIR_OPT", "/usr/lib/llvm-22/bin/mlir-opt")


def mlir_opt_path():
    if os.path.exists(MLIR_OPT):
        return MLIR_OPT
    found = shutil.which("mlir-opt-22") or shutil.which("mlir-opt")
    if found:
        return found
    raise RuntimeError("mlir-opt (LLVM 22) not found; set MIXIR_MLIR_OPT")


def check_parses(flat, tmp_path, name="flat.mlir"):
    """Asserts that MLIR 22's mlir-opt parses the flat text (unregistered
    dialects allowed) and returns its output."""
    assert flat.startswith(shlo.FLAT_HEADER + "\n")
    path = tmp_path / name
    path.write_text(flat)
    r = subprocess.run([mlir_opt_path(), "--allow-unregistered-dialect", str(path)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return r.stdout


def python_env():
    """Environment for a subprocess that imports this process's `mixir`."""
    env = dict(os.environ)
    pkg_parent = str(pathlib.Path(mixir.__file__).parent.parent)
    env["PYTHONPATH"] = os.pathsep.join([pkg_parent] + [p for p in sys.path if p])
    return env


def importer_path():
    return shlo.importer_path()


def run_importer(path, *args):
    return subprocess.run([importer_path(), str(path), *args], capture_output=True,
                          text=True, timeout=600, env=python_env())


def rel_rms(ref, out):
    """mixir.reference.rel_rms after checking that the shapes agree (0 for
    empty arrays)."""
    assert np.shape(ref) == np.shape(out), (np.shape(ref), np.shape(out))
    return mixir.reference.rel_rms(ref, out) if np.size(ref) else 0.0


def rng(seed=0):
    return np.random.default_rng(seed)


def randn(r, *shape, scale=1.0):
    return (r.standard_normal(shape) * scale).astype(np.float32)


def log_gate(r, *shape, scale=0.1):
    """Natural-log decay values in (-scale*3, 0]."""
    return (-np.abs(r.standard_normal(shape)) * scale).astype(np.float32)


def unit_keys(r, *shape):
    k = r.standard_normal(shape)
    return (k / np.linalg.norm(k, axis=-1, keepdims=True)).astype(np.float32)


def compile_and_run(text, args):
    module = mixir.compile(text)
    fn = module["main"] if "main" in module.functions else next(iter(module.functions.values()))
    out = fn(*[np.asarray(a, order="C") for a in args])
    return list(out) if isinstance(out, tuple) else [out]


def check_refs(text, args, refs, tol=TOL):
    """Compiles `text`, runs it on `args` and compares every output with the
    matching (float64) reference."""
    outs = compile_and_run(text, args)
    assert len(outs) == len(refs)
    for i, (ref, out) in enumerate(zip(refs, outs)):
        err = rel_rms(ref, np.asarray(out, np.float64))
        assert err <= tol, f"output {i}: rel-RMS {err:.3e} > {tol:.0e}"


def check_jax(fn, args, *, tol=TOL, expect=None, raise_=True, record=None, case=""):
    """Imports `fn` for `args` (pytrees of numpy arrays) with mixir.from_jax,
    compiles, runs on the CPU (arguments flattened in pytree order) and
    compares every output with jax.jit(fn)(*args). `expect`: an op name
    (or names) the imported IR must contain. Returns the imported text."""
    text = mixir.from_jax(fn, *args, raise_=raise_)
    for name in ([expect] if isinstance(expect, str) else (expect or [])):
        assert name in text, f"{name} not in the imported IR:\n{text[:4000]}"
    outs = compile_and_run(text, jax.tree_util.tree_leaves(args))
    refs = [np.asarray(r) for r in jax.tree_util.tree_leaves(jax.jit(fn)(*args))]
    assert len(outs) == len(refs), (len(outs), len(refs))
    for i, (ref, out) in enumerate(zip(refs, outs)):
        assert np.asarray(out).shape == ref.shape, (i, np.asarray(out).shape, ref.shape)
        if np.issubdtype(ref.dtype, np.floating) or str(ref.dtype) == "bfloat16":
            err = rel_rms(ref.astype(np.float64), np.asarray(out).astype(np.float64))
            if record is not None:
                record("jax " + (case or getattr(fn, "__name__", "fn")),
                       str(ref.dtype), f"out{i}", err, tol, "jax")
            assert err <= tol, f"{case} output {i}: rel-RMS {err:.3e} > {tol:.0e}"
        else:
            np.testing.assert_array_equal(np.asarray(out), ref)
    return text
