"""examples/models/: the paper layers run, pass their float64 references,
and the checks are able to fail.

- run_models.py (what `make run` calls after run_examples.py) exits 0 and
  prints one table with a PASS row for every paper example;
- with every mix op's (and compiled function's) outputs and states
  perturbed by a relative 1e-3, every example that uses one fails its tolerance: the
  references check the MixIR results, not something computed around them.
"""

import importlib
import pathlib
import subprocess
import sys

import numpy as np
import pytest

import mixir

REPO = pathlib.Path(__file__).resolve().parents[2]
MODELS = REPO / "examples" / "models"
BUILD = pathlib.Path(mixir.__file__).resolve().parents[2]
sys.path.insert(0, str(MODELS))

import run_models  # noqa: E402


def test_run_models_table():
    proc = subprocess.run([sys.executable, str(MODELS / "run_models.py"),
                           "--build", str(BUILD)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].split()[:3] == ["paper", "ops", "used"]
    for name in run_models.MODULES:
        paper = importlib.import_module(name).PAPER
        rows = [l for l in lines if l.startswith(paper)]
        assert rows, f"no row for {paper}"
        assert all(" PASS " in r for r in rows), rows
    assert not any(" FAIL " in l for l in lines)
    n = sum(" PASS " in l for l in lines)
    assert lines[-1] == f"all {n} paper layers passed"


def test_run_models_unknown_name():
    proc = subprocess.run([sys.executable, str(MODELS / "run_models.py"),
                           "--build", str(BUILD), "--only", "no_such_paper"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0 and "no_such_paper" in proc.stderr


def _perturbed(fn, rng):
    """fn with each array it returns (outputs and final states) multiplied
    element-wise by 1 + 1e-3 N(0, 1)."""
    def bad(x):
        if not isinstance(x, np.ndarray):
            return x
        return (x * (1 + 1e-3 * rng.standard_normal(x.shape))).astype(x.dtype)

    def call(*args, **kwargs):
        out = fn(*args, **kwargs)
        return tuple(bad(x) for x in out) if isinstance(out, tuple) else bad(out)
    return call


class _PerturbedModule:
    def __init__(self, module, rng):
        self._module, self._rng = module, rng

    def __getattr__(self, name):
        return _perturbed(getattr(self._module, name), self._rng)


@pytest.mark.parametrize("name", run_models.MODULES)
def test_perturbed_mix_ops_fail(name, monkeypatch):
    rng = np.random.default_rng(7)
    for op in ("linear_attention", "attention", "rnn", "causal_conv1d", "scan",
               "delta_rule", "recurrence"):
        monkeypatch.setattr(mixir, op, _perturbed(getattr(mixir, op), rng))
    compile_ = mixir.compile
    monkeypatch.setattr(mixir, "compile",
                        lambda *a, **k: _PerturbedModule(compile_(*a, **k), rng))
    rows = importlib.import_module(name).run(np.random.default_rng(0))
    assert rows and not any(r["ok"] for r in rows), \
        [(r["paper"], r["err"]) for r in rows]
