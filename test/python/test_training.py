"""The training example (examples/training/train_gla.py) at a small size: a
two-layer GLA language model trained with MixIR's mixers and derived
backward follows, step by step, the same model trained with the mixer as a
plain torch loop differentiated by autograd."""

import os
import subprocess
import sys

import pytest

pytest.importorskip("torch")

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_training_curves_match():
    script = os.path.join(REPO, "examples", "training", "train_gla.py")
    r = subprocess.run([sys.executable, script, "--steps", "30", "--batch", "8",
                        "--d", "32", "--n", "12", "--tol", "1e-5"],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "worst relative difference" in r.stdout
    # The curve moved: training happened (first vs last row of the table).
    rows = [line.split("|") for line in r.stdout.splitlines()
            if line.startswith("| ") and line[2].isdigit()]
    first, last = float(rows[0][2]), float(rows[-1][2])
    assert last < first - 0.05, r.stdout
