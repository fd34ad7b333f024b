"""The Python layer on the C API: compile returns callables, caches (in
memory and on disk), artifacts, strided and DLPack inputs. Numerics are
checked against a float64 recurrence written here."""

import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

import mixir

SCAN = """
func.func @scan(%x: tensor<?x?x3xf32>, %g: tensor<?x?x3xf32>)
    -> (tensor<?x?x3xf32>, tensor<?x3xf32>) {
  %o, %h = mix.scan %x, %g : (tensor<?x?x3xf32>, tensor<?x?x3xf32>)
      -> (tensor<?x?x3xf32>, tensor<?x3xf32>)
  return %o, %h : tensor<?x?x3xf32>, tensor<?x3xf32>
}
"""


def scan_f64(x, g):
    x, g = x.astype(np.float64), g.astype(np.float64)
    h = np.zeros((x.shape[0], x.shape[2]))
    o = np.empty_like(x)
    for t in range(x.shape[1]):
        h = np.exp(g[:, t]) * h + x[:, t]
        o[:, t] = h
    return o, h


def data(b=2, t=40, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((b, t, 3)).astype(np.float32)
    g = -rng.uniform(0.0, 0.5, (b, t, 3)).astype(np.float32)
    return x, g


def check(o, h, x, g):
    want_o, want_h = scan_f64(x, g)
    assert np.max(np.abs(o - want_o)) < 1e-4
    assert np.max(np.abs(h - want_h)) < 1e-4


def test_compile_returns_callables_and_caches():
    before = mixir.cache.stats()
    m1 = mixir.compile(SCAN)
    m2 = mixir.compile(SCAN)
    after = mixir.cache.stats()
    assert after["memory_hits"] - before["memory_hits"] >= 1
    assert after["compiles"] - before["compiles"] <= 1
    x, g = data()
    check(*m1.scan(x, g), x, g)
    check(*m2["scan"](x, g), x, g)
    assert m1.scan.arg_types == [("f32", [-1, -1, 3])] * 2
    assert m1.scan.result_types == [("f32", [-1, -1, 3]), ("f32", [-1, 3])]


def test_functional_ops_reuse_compiled_modules():
    x, g = data(t=33)
    mixir.scan(x, g)
    before = mixir.cache.stats()
    x2, g2 = data(t=57, seed=3)  # another length: same compiled module
    o, _ = mixir.scan(x2, g2)
    after = mixir.cache.stats()
    assert after["compiles"] == before["compiles"]
    want_o, _ = scan_f64(x2, g2)
    assert np.max(np.abs(o - want_o)) < 1e-4


def test_strided_inputs_are_read_through_their_strides():
    m = mixir.compile(SCAN)
    x, g = data(t=25)
    # Non-contiguous views: transposed storage, reversed time, every other
    # row of a bigger array.
    xt = np.ascontiguousarray(x.transpose(0, 2, 1)).transpose(0, 2, 1)
    assert not xt.flags.c_contiguous
    g_rev = np.ascontiguousarray(g[:, ::-1])[:, ::-1]
    assert g_rev.strides[1] < 0
    big = np.zeros((4, 25, 3), np.float32)
    big[::2] = x
    every_other = big[::2]
    assert not every_other.flags.c_contiguous
    for xi, gi in [(xt, g), (x, g_rev), (every_other, g_rev)]:
        check(*m.scan(xi, gi), x, g)


def test_results_are_writable_arrays_that_outlive_the_module():
    x, g = data()
    o, h = mixir.compile(SCAN + " ").scan(x, g)  # module dropped at once
    import gc
    gc.collect()
    check(o, h, x, g)
    o[...] = 0  # owned by the array, writable
    assert o.dtype == np.float32 and o.shape == x.shape


def test_artifact_round_trip_and_corruption(tmp_path):
    path = tmp_path / "scan.mixir"
    mixir.compile(SCAN).save(path)
    m = mixir.load(path)
    x, g = data(t=70)
    check(*m.scan(x, g), x, g)
    data_bytes = bytearray(path.read_bytes())
    assert data_bytes[:8] == b"MIXIRART"
    bad = tmp_path / "bad.mixir"
    data_bytes[len(data_bytes) // 2] ^= 1
    bad.write_bytes(bytes(data_bytes))
    with pytest.raises(ValueError, match="checksum mismatch"):
        mixir.load(bad)
    short = tmp_path / "short.mixir"
    short.write_bytes(path.read_bytes()[:100])
    with pytest.raises(ValueError, match="truncated artifact"):
        mixir.load(short)
    with pytest.raises(ValueError, match="cannot open"):
        mixir.load(tmp_path / "missing.mixir")
    text = tmp_path / "text.mlir"
    text.write_text(SCAN)
    with pytest.raises(ValueError, match="bad magic"):
        mixir.load(text)


class DLPackOnly:
    """An object that offers only the DLPack protocol (like a CPU tensor of
    another framework)."""

    def __init__(self, array):
        self._a = array

    def __dlpack__(self, **kwargs):
        return self._a.__dlpack__(**kwargs)

    def __dlpack_device__(self):
        return self._a.__dlpack_device__()


def test_dlpack_inputs():
    m = mixir.compile(SCAN)
    x, g = data(t=12)
    check(*m.scan(DLPackOnly(x), DLPackOnly(g)), x, g)


def test_wrong_arguments_raise():
    m = mixir.compile(SCAN)
    x, g = data()
    with pytest.raises(ValueError, match="argument 1: element type f64"):
        m.scan(x, g.astype(np.float64))
    with pytest.raises(ValueError, match="takes 2 arguments, got 1"):
        m.scan(x)
    with pytest.raises(ValueError, match="does not match"):
        m.scan(x, g[:, :-1])
    with pytest.raises(TypeError, match="expected a numpy array, got list"):
        m.scan([1.0], g)


def test_disk_cache_is_shared_between_processes(tmp_path):
    script = (
        "import mixir, sys\n"
        "m = mixir.compile(open(sys.argv[1]).read())\n"
        "print(mixir.cache.stats()['compiles'], mixir.cache.stats()['disk_hits'])\n")
    src = tmp_path / "scan.mlir"
    src.write_text(SCAN)
    env = dict(os.environ, MIXIR_CACHE_DIR=str(tmp_path / "cache"))
    runs = [subprocess.run([sys.executable, "-c", script, str(src)], env=env,
                           capture_output=True, text=True, timeout=300)
            for _ in range(2)]
    for r in runs:
        assert r.returncode == 0, r.stderr
    assert runs[0].stdout.split() == ["1", "0"]
    assert runs[1].stdout.split() == ["0", "1"]
    files = list((tmp_path / "cache").glob("*.mixir"))
    assert len(files) == 1


COMPARE = """
func.func @positive(%a: tensor<?xf32>) -> tensor<?xi1> {
  %c0 = arith.constant 0 : index
  %n = tensor.dim %a, %c0 : tensor<?xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty(%n) : tensor<?xi1>
  %r = linalg.generic {indexing_maps = [affine_map<(i) -> (i)>, affine_map<(i) -> (i)>],
                       iterator_types = ["parallel"]}
      ins(%a : tensor<?xf32>) outs(%e : tensor<?xi1>) {
  ^bb0(%x: f32, %o: i1):
    %c = arith.cmpf ogt, %x, %zero : f32
    linalg.yield %c : i1
  } -> tensor<?xi1>
  return %r : tensor<?xi1>
}
"""


def test_boolean_results_are_zero_or_one():
    # LLVM leaves the upper bits of a stored i1 unspecified; a result must
    # still read as the comparison's value, byte by byte.
    x = np.array([1, -1, 2, -2, 3, -3, 0, 5, -0.5, 7, -8], np.float32)
    r = mixir.compile(COMPARE).positive(x)
    assert r.dtype == np.bool_
    np.testing.assert_array_equal(r, x > 0)
    assert set(r.view(np.uint8).tolist()) <= {0, 1}
