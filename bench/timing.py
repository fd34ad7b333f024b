"""Timing shared by the benchmarks."""

import time

import numpy as np


def median_ms(fn, reps):
    """Median wall time of `fn()` over `reps` runs after one warm-up, in ms.

    Sleeps 0.3 s first: libomp's workers spin for KMP_BLOCKTIME (200 ms)
    after MixIR's parallel regions, and on 2 cores they would slow whatever
    is timed next (onnxruntime or JAX)."""
    time.sleep(0.3)
    fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1e3 * float(np.median(times))
