"""Threads, processes and the disk cache (target cpu).

- 8 threads compile and call at once, two threads per source text (the same
  key compiled twice at once) and four texts (different keys), each thread
  at its own lengths: every result is bitwise the single-threaded one, which
  matches a float64 evaluation of the recurrent form.
- Two processes started together share one empty MIXIR_CACHE_DIR, 8 threads
  each: the same results, and the cache holds one whole artifact per key and
  nothing else.
- Cache entries cut short, emptied or with a flipped byte are rejected and
  rebuilt (never run), and the rebuilt entries load in the next process.
- Two such processes on a cache bounded (MIXIR_CACHE_MAX_BYTES) below its
  three entries evict each other's entries while they run: the same results,
  and the directory ends within the bound (every write is followed by its
  own eviction, which lists the directory after that write).

Run as a script (`python test_concurrency.py OUT.npz threads|serial`), this
file is the worker of the process tests: it writes its results to OUT.npz
and the cache counters to stdout.
"""

import json
import os
import pathlib
import subprocess
import sys
import threading

import numpy as np

import mixir
from test_embedding import SCAN, scan_f64  # 3 channels, dynamic B and T

# Linear attention with a scalar gate, K = 60, V = 64, dynamic B and T.
LA = """
func.func @la(%q: tensor<?x?x2x60xf32>, %k: tensor<?x?x2x60xf32>,
              %v: tensor<?x?x2x64xf32>, %g: tensor<?x?x2xf32>)
    -> (tensor<?x?x2x64xf32>, tensor<?x2x60x64xf32>) {
  %o, %s = mix.linear_attention %q, %k, %v gate scalar(%g)
      : (tensor<?x?x2x60xf32>, tensor<?x?x2x60xf32>, tensor<?x?x2x64xf32>,
         tensor<?x?x2xf32>) -> (tensor<?x?x2x64xf32>, tensor<?x2x60x64xf32>)
  return %o, %s : tensor<?x?x2x64xf32>, tensor<?x2x60x64xf32>
}
"""

# The same op at one static shape (B = 1, T = 75): another module.
LA_STATIC = (LA.replace("?x?x", "1x75x").replace("?x2x60x64", "1x2x60x64"))

LENGTHS = (1, 63, 75, 500)
THREADS = 8


def scan_inputs(t, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, t, 3)).astype(np.float32)
    g = -rng.uniform(0.0, 0.7, (2, t, 3)).astype(np.float32)
    return x, g


def la_inputs(t, seed, b=1):
    rng = np.random.default_rng(1000 + seed)
    q = rng.standard_normal((b, t, 2, 60)).astype(np.float32)
    k = (rng.standard_normal((b, t, 2, 60)) / 8).astype(np.float32)
    v = rng.standard_normal((b, t, 2, 64)).astype(np.float32)
    g = -rng.uniform(0.0, 0.3, (b, t, 2)).astype(np.float32)
    return q, k, v, g


def la_f64(q, k, v, g):
    q, k, v, g = (a.astype(np.float64) for a in (q, k, v, g))
    b, n, h, kd = q.shape
    s = np.zeros((b, h, kd, v.shape[3]))
    o = np.empty(v.shape)
    for t in range(n):
        s = np.exp(g[:, t])[:, :, None, None] * s + \
            k[:, t, :, :, None] * v[:, t, :, None, :]
        o[:, t] = np.einsum("bhkv,bhk->bhv", s, q[:, t] * kd ** -0.5)
    return o, s


def calls(i):
    """What thread `i` runs: (name, source, function, inputs) at its own
    lengths, every module of the test."""
    t = LENGTHS[i % len(LENGTHS)]
    u = LENGTHS[(i + 1) % len(LENGTHS)]
    return [(f"scan-{i}-{t}", SCAN, "scan", scan_inputs(t, i)),
            (f"la-{i}-{u}", LA, "la", la_inputs(u, i)),
            (f"la2-{i}", LA, "la", la_inputs(7, i, b=2)),
            (f"static-{i}", LA_STATIC, "la", la_inputs(75, i))]


def run_calls(i, variant=""):
    """Compiles each source (with `variant` appended: another cache key for
    the same code) and calls it; results by name."""
    out = {}
    for name, source, fn, args in calls(i):
        module = mixir.compile(source + variant)
        for j, r in enumerate(getattr(module, fn)(*args)):
            out[f"{name}-{j}"] = r
    return out


def run_threads(variant_of):
    """THREADS threads at once; thread i compiles with variant_of(i)."""
    results, errors = [None] * THREADS, []
    start = threading.Barrier(THREADS)

    def work(i):
        try:
            start.wait()
            results[i] = run_calls(i, variant_of(i))
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(f"thread {i}: {e!r}")

    threads = [threading.Thread(target=work, args=(i,))
               for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    merged = {}
    for r in results:
        merged.update(r)
    return merged


def single_threaded():
    out = {}
    for i in range(THREADS):
        out.update(run_calls(i))
    return out


def assert_identical(got, want):
    assert sorted(got) == sorted(want)
    for name, w in want.items():
        assert got[name].dtype == w.dtype and got[name].shape == w.shape, name
        assert np.array_equal(got[name], w, equal_nan=True), name


def rel_err(got, want):
    return np.linalg.norm(got - want) / max(np.linalg.norm(want), 1e-30)


def test_single_threaded_results_match_float64():
    want = single_threaded()
    for i in range(THREADS):
        for name, _, fn, args in calls(i):
            ref = (scan_f64 if fn == "scan" else la_f64)(*args)
            for j, r in enumerate(ref):
                assert rel_err(want[f"{name}-{j}"], r) < 2e-5, (name, j)


def test_eight_threads_compile_and_call_at_once():
    want = single_threaded()
    # Pairs of threads compile one new text (the same key at once); the
    # four pairs compile different keys.
    tag = f"// threads {os.getpid()} {threading.get_ident()}\n"
    got = run_threads(lambda i: tag + " " * (i // 2 + 1))
    assert_identical(got, want)
    # And with every module in the cache: calls only, all at once.
    assert_identical(run_threads(lambda i: ""), want)


def run_workers(cache, outs, mode="threads", env=None):
    """Starts one worker process per path in `outs` at once (with `env`
    added to the environment); returns their cache counters. A worker runs
    THREADS threads, or with mode "serial" the same calls one after
    another."""
    env = dict(os.environ, MIXIR_CACHE_DIR=str(cache), **(env or {}))
    procs = [subprocess.Popen([sys.executable, __file__, str(o), mode],
                              env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for o in outs]
    stats = []
    for p in procs:
        out, err = p.communicate(timeout=600)
        assert p.returncode == 0, err
        stats.append(json.loads(out.splitlines()[-1]))
    return stats


def load_results(path):
    with np.load(path) as z:
        return {k: z[k] for k in z.files}


def cache_files(cache):
    return sorted(p.name for p in pathlib.Path(cache).iterdir())


def test_two_processes_share_one_disk_cache(tmp_path):
    want = single_threaded()
    cache = tmp_path / "cache"
    outs = [tmp_path / "a.npz", tmp_path / "b.npz"]
    stats = run_workers(cache, outs)
    for o in outs:
        assert_identical(load_results(o), want)
    # Three keys (SCAN, LA, LA_STATIC), one whole artifact each, no
    # temporary files left behind.
    files = cache_files(cache)
    assert len(files) == 3 and all(f.endswith(".mixir") for f in files), files
    for f in files:
        assert mixir.load(str(cache / f)) is not None
    for s in stats:
        assert s["disk_rejects"] == 0, stats
        # Each key loaded or compiled once per process, however many of
        # its threads asked for it at once.
        assert s["compiles"] + s["disk_hits"] == 3, stats

    # A third process finds all three on disk.
    (again,) = run_workers(cache, [tmp_path / "c.npz"])
    assert again["compiles"] == 0 and again["disk_hits"] == 3, again
    assert_identical(load_results(tmp_path / "c.npz"), want)


def test_damaged_cache_entries_are_rebuilt_not_run(tmp_path):
    want = single_threaded()
    cache = tmp_path / "cache"
    run_workers(cache, [tmp_path / "fill.npz"])
    files = [cache / f for f in cache_files(cache)]
    assert len(files) == 3
    sizes = [f.stat().st_size for f in files]
    # Cut short (inside the payload), emptied, one flipped payload byte.
    data = files[0].read_bytes()
    files[0].write_bytes(data[: len(data) // 2])
    files[1].write_bytes(b"")
    data = bytearray(files[2].read_bytes())
    data[len(data) // 2] ^= 0x40
    files[2].write_bytes(bytes(data))

    # One thread: each key is read (and rejected) once.
    (stats,) = run_workers(cache, [tmp_path / "after.npz"], "serial")
    assert stats["disk_rejects"] == 3 and stats["compiles"] == 3, stats
    assert stats["disk_hits"] == 0, stats
    assert_identical(load_results(tmp_path / "after.npz"), want)
    # Rebuilt whole: the next process loads all three.
    assert [f.stat().st_size for f in files] == sizes
    (next_run,) = run_workers(cache, [tmp_path / "next.npz"], "serial")
    assert next_run["disk_hits"] == 3 and next_run["compiles"] == 0, next_run
    assert_identical(load_results(tmp_path / "next.npz"), want)


def test_two_processes_share_a_bounded_disk_cache(tmp_path):
    want = single_threaded()
    probe = tmp_path / "probe"
    run_workers(probe, [tmp_path / "probe.npz"], "serial")
    sizes = sorted(f.stat().st_size for f in probe.iterdir())
    assert len(sizes) == 3
    bound = sizes[0] + sizes[1]  # room for two of the three entries
    cache = tmp_path / "cache"
    outs = [tmp_path / "a.npz", tmp_path / "b.npz"]
    stats = run_workers(cache, outs,
                        env={"MIXIR_CACHE_MAX_BYTES": str(bound)})
    for o in outs:
        assert_identical(load_results(o), want)
    for s in stats:
        assert s["disk_rejects"] == 0, stats
    files = [cache / f for f in cache_files(cache)]
    assert 1 <= len(files) <= 2 and all(f.suffix == ".mixir" for f in files)
    assert sum(f.stat().st_size for f in files) <= bound, files
    for f in files:
        assert mixir.load(str(f)) is not None


def _worker(out, mode):
    results = run_threads(lambda i: "") if mode == "threads" else \
        single_threaded()
    np.savez(out, **results)
    print(json.dumps(mixir.cache.stats()))


if __name__ == "__main__":
    _worker(sys.argv[1], sys.argv[2])
