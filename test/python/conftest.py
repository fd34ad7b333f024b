"""Shared set-up for the Python tests: finds the package, points the runtime
at the build's test plugin (target cuda-emulation) and prints the numerics
summary (worst rel-RMS per op and dtype) at the end of the session."""

import importlib.util
import os
import pathlib
import sys

import pytest

# Use an installed or PYTHONPATH `mixir` when there is one; otherwise the
# source tree (enough for the reference, which needs no native extension).
if importlib.util.find_spec("mixir") is None:
    sys.path.append(str(pathlib.Path(__file__).resolve().parents[2] / "python"))

# The GPU emulator (test target cuda-emulation) is a plugin of the test build,
# BUILD/lib/libmixir-gpu-emulation.so next to BUILD/python/mixir; the runtime
# loads $MIXIR_TEST_PLUGIN when the target is first asked for.
_spec = importlib.util.find_spec("mixir")
if _spec is not None and _spec.origin:
    _plugin = (pathlib.Path(_spec.origin).resolve().parents[2] / "lib" /
               "libmixir-gpu-emulation.so")
    if _plugin.exists():
        os.environ.setdefault("MIXIR_TEST_PLUGIN", str(_plugin))

_WORST = pytest.StashKey[dict]()


def pytest_configure(config):
    config.stash[_WORST] = {}


@pytest.fixture(scope="session")
def record_rel_rms(pytestconfig):
    """record(op, dtype, what, err, limit, case): keeps the worst err per
    (op, dtype, what) for the summary table."""
    worst = pytestconfig.stash[_WORST]

    def record(op, dtype, what, err, limit, case):
        key = (op, dtype, what)
        if key not in worst or not err <= worst[key][0]:  # NaN counts as worst
            worst[key] = (err, limit, case)

    return record


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    worst = config.stash.get(_WORST, {})
    if not worst:
        return
    tr = terminalreporter
    tr.section("mixir numerics: worst rel-RMS against the f64 reference")
    tr.write_line(f"{'op':<27}{'dtype':<6}{'result':<8}{'worst':>10}{'limit':>9}  case")
    for (op, dtype, what), (err, limit, case) in sorted(worst.items()):
        tr.write_line(f"{op:<27}{dtype:<6}{what:<8}{err:>10.2e}{limit:>9.0e}  {case}")
