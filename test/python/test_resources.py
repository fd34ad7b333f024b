"""Repeated calls hold no memory: 10^4 calls of a compiled function (and of
a module compiled from the in-memory cache each time) grow the resident set
by less than 1 MiB, measured in /proc/self/statm after a warm-up."""

import os

import numpy as np
import pytest

import mixir
from test_embedding import SCAN, scan_f64

CALLS = 10_000
PAGE = os.sysconf("SC_PAGE_SIZE")


def resident_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


@pytest.mark.parametrize("recompile", [False, True])
def test_repeated_calls_grow_memory_by_less_than_1mib(recompile):
    if not os.path.exists("/proc/self/statm"):
        pytest.fail("needs /proc/self/statm (Linux)")
    rng = np.random.default_rng(3)
    # Lengths vary per call (1 to 75 tokens): results of several sizes.
    inputs = []
    for t in (1, 63, 75, 2):
        x = rng.standard_normal((2, t, 3)).astype(np.float32)
        g = -rng.uniform(0.0, 0.7, (2, t, 3)).astype(np.float32)
        inputs.append((x, g, scan_f64(x, g)))
    module = mixir.compile(SCAN)

    def call(i):
        m = mixir.compile(SCAN) if recompile else module
        x, g, _ = inputs[i % len(inputs)]
        return m.scan(x, g)

    for i in range(1000):  # warm-up: allocator pools, caches
        call(i)
    before = resident_bytes()
    for i in range(CALLS):
        o, h = call(i)
    grown = resident_bytes() - before
    assert grown < 1 << 20, f"{CALLS} calls grew the resident set by " \
                            f"{grown / 1024:.0f} KiB"
    # The last call still computes the right thing.
    _, _, (ro, rh) = inputs[(CALLS - 1) % len(inputs)]
    np.testing.assert_allclose(o, ro, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(h, rh, rtol=1e-5, atol=1e-5)
