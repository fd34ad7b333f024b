"""mixir.runtime, the ctypes binding over libmixir_runtime: it imports
without the compiler extension, runs a CPU artifact on numpy arrays
(checked against a float64 recurrence written here), and passes CUDA
tensors (a DLPack producer reporting kDLCUDA, written here, and a
__cuda_array_interface__ object) to the kernels without a copy, on the
stand-in driver (unittests/FakeCuda.cpp, in a child process since the
driver is loaded once per process). The fake runs no kernel: it records
the launch parameters, which it reads from the artifact's PTX."""

import os
import pathlib
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import mixir
from mixir import runtime
from needs import need

BUILD = pathlib.Path(mixir.__file__).resolve().parents[2]
LIB = BUILD / "lib" / "libmixir_runtime.so"
FAKE = BUILD / "lib" / "libmixir-fake-cuda.so"


def _child(code, **env):
    full = dict(os.environ, MIXIR_RUNTIME_LIB=str(LIB), **env)
    full["PYTHONPATH"] = str(BUILD / "python")
    r = subprocess.run([sys.executable, "-c", textwrap.dedent(code)],
                       capture_output=True, text=True, env=full, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout.strip().splitlines()


def test_imports_without_the_compiler_extension(tmp_path):
    pkg = tmp_path / "mixir"
    pkg.mkdir()
    for name in ("__init__.py", "_version.py", "runtime.py"):
        shutil.copy(BUILD / "python" / "mixir" / name, pkg / name)
    full = dict(os.environ, MIXIR_RUNTIME_LIB=str(LIB),
                PYTHONPATH=str(tmp_path))
    code = """
        import sys, mixir
        from mixir import runtime
        print(runtime.library_path())
        print("mixir._mixir" in sys.modules, "mlir" in str(sys.modules))
        try:
            mixir.linear_attention
        except ImportError as e:
            print(str(e).split(" (")[0])
        """
    r = subprocess.run([sys.executable, "-c", textwrap.dedent(code)],
                       capture_output=True, text=True, env=full, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [
        str(LIB.resolve()), "False False",
        "mixir.linear_attention needs the compiler extension mixir._mixir, "
        "which does not load"]


_GLA = """
func.func @gla(%q: tensor<?x?x2x60xf32>, %k: tensor<?x?x2x60xf32>,
               %v: tensor<?x?x2x64xf32>, %g: tensor<?x?x2xf32>)
    -> (tensor<?x?x2x64xf32>, tensor<?x2x60x64xf32>) {
  %o, %s = mix.linear_attention %q, %k, %v gate scalar(%g) scale = 0.25
      : (tensor<?x?x2x60xf32>, tensor<?x?x2x60xf32>, tensor<?x?x2x64xf32>,
         tensor<?x?x2xf32>) -> (tensor<?x?x2x64xf32>, tensor<?x2x60x64xf32>)
  return %o, %s : tensor<?x?x2x64xf32>, tensor<?x2x60x64xf32>
}
"""


def _gla_f64(q, k, v, g, scale):
    q, k, v, g = (np.asarray(x, np.float64) for x in (q, k, v, g))
    b, t, h, kd = q.shape
    o = np.zeros((b, t, h, v.shape[-1]))
    s = np.zeros((b, h, kd, v.shape[-1]))
    for i in range(t):
        s = np.exp(g[:, i])[:, :, None, None] * s + \
            k[:, i, :, :, None] * v[:, i, :, None, :]
        o[:, i] = np.einsum("bhkv,bhk->bhv", s, scale * q[:, i])
    return o, s


@pytest.mark.parametrize("tokens", [1, 63, 75])
def test_cpu_artifact_matches_a_float64_recurrence(tmp_path, tokens):
    path = tmp_path / "gla.mixir"
    mixir.compile(_GLA).save(path)
    fn = runtime.load(path)["gla"]
    assert fn.arg_types[0] == ("f32", [-1, -1, 2, 60])
    rng = np.random.default_rng(tokens)
    q, k = (rng.standard_normal((2, tokens, 2, 60), np.float32) for _ in "qk")
    v = rng.standard_normal((2, tokens, 2, 64), np.float32)
    g = -rng.uniform(0.01, 0.5, (2, tokens, 2)).astype(np.float32)
    o, s = fn(q, k, v, g)
    want_o, want_s = _gla_f64(q, k, v, g, 0.25)
    assert o.dtype == np.float32 and o.shape == want_o.shape
    for got, want in ((o, want_o), (s, want_s)):
        err = np.sqrt(np.mean((got - want) ** 2) / np.mean(want ** 2))
        assert err < 1e-5, err
    # Outputs written in place (out=), strided views included.
    wide = np.full((2, tokens, 2, 128), 7.0, np.float32)
    state = np.zeros_like(s)
    fn(q, k, v, g, out=[wide[..., :64], state])
    assert np.array_equal(wide[..., :64], o) and np.all(wide[..., 64:] == 7)
    assert np.array_equal(state, s)
    with pytest.raises(runtime.MixirError,
                       match=r"^@gla argument 3: element type f64, expected "
                             r"f32"):
        fn(q, k, v, g.astype(np.float64))
    # torch tensors on the CPU: read in place, torch tensors back.
    torch = need("torch")
    to, ts = fn(*(torch.from_numpy(a) for a in (q, k, v, g)))
    assert isinstance(to, torch.Tensor) and torch.equal(to, torch.from_numpy(o))
    assert torch.equal(ts, torch.from_numpy(s))


def _cuda_artifact(tmp_path):
    home = os.environ.get("CUDA_HOME") or "/usr/local/cuda"
    if not os.access(os.path.join(home, "bin", "ptxas"), os.X_OK):
        pytest.skip(f"no ptxas in {home}/bin: cannot compile cubins")
    source = (pathlib.Path(__file__).resolve().parents[1] / "Tools" /
              "Inputs" / "linear-attention-bf16.mlir")
    out = tmp_path / "la.mixir"
    r = subprocess.run([str(BUILD / "bin" / "mixir-compile"), str(source),
                        "--target=cuda", "--chip=sm_80", "--emit=artifact",
                        "-o", str(out)], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    return out


# A DLPack producer on "CUDA" over numpy memory (the fake's device memory
# is host memory), and a __cuda_array_interface__ one; the fake's counters.
_PRODUCERS = """
import ctypes, numpy as np
from mixir import runtime

class DLTensor(ctypes.Structure):
    _fields_ = [("data", ctypes.c_void_p), ("device_type", ctypes.c_int32),
                ("device_id", ctypes.c_int32), ("ndim", ctypes.c_int32),
                ("code", ctypes.c_uint8), ("bits", ctypes.c_uint8),
                ("lanes", ctypes.c_uint16),
                ("shape", ctypes.POINTER(ctypes.c_int64)),
                ("strides", ctypes.POINTER(ctypes.c_int64)),
                ("byte_offset", ctypes.c_uint64)]

class Managed(ctypes.Structure):
    _fields_ = [("t", DLTensor), ("ctx", ctypes.c_void_p),
                ("deleter", ctypes.c_void_p)]

capsule_new = ctypes.pythonapi.PyCapsule_New
capsule_new.restype = ctypes.py_object
capsule_new.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p]

class OnCuda:
    # bf16 is DLPack code 4, f32 code 2.
    def __init__(self, array, code):
        self.array, self.code, self.streams = array, code, []
    def __dlpack_device__(self):
        return (2, 0)
    def __dlpack__(self, stream=None):
        self.streams.append(stream)
        a = self.array
        self.shape = (ctypes.c_int64 * a.ndim)(*a.shape)
        self.m = Managed(DLTensor(a.ctypes.data, 2, 0, a.ndim, self.code,
                                  8 * a.itemsize, 1, self.shape, None, 0))
        return capsule_new(ctypes.addressof(self.m), b"dltensor", None)

class Cai:
    def __init__(self, array):
        self.array = array
        self.__cuda_array_interface__ = {
            "shape": array.shape, "typestr": "<f4", "version": 3,
            "data": (array.ctypes.data, False), "strides": None}

fake = ctypes.CDLL(FAKE)
fake.fakeCudaLaunchesWith.argtypes = [ctypes.c_uint64]
fake.fakeCudaCalls.argtypes = [ctypes.c_char_p]
def launched(p):
    return fake.fakeCudaLaunchesWith(p) > 0
def last_launch_stream():
    launch, copy = ctypes.c_void_p(), ctypes.c_void_p()
    fake.fakeCudaLastStreams(ctypes.byref(launch), ctypes.byref(copy))
    return launch.value
def bf16(shape):
    return OnCuda(np.full(shape, 0x3f80, np.uint16), 4)
"""


def test_cuda_tensors_reach_the_kernel_without_a_copy(tmp_path):
    path = _cuda_artifact(tmp_path)
    code = f"FAKE = {str(FAKE)!r}\n" + _PRODUCERS + f"""
fn = runtime.load({str(path)!r})["la"]
q, k, v = bf16((3, 75, 2, 64)), bf16((3, 75, 2, 64)), bf16((3, 75, 2, 64))
o, s = fn(q, k, v, stream=4096)
print(type(o).__name__, o.shape, o.dtype, s.shape, s.dtype)
print(all(launched(x.array.ctypes.data) for x in (q, k, v)),
      launched(o.data_ptr), launched(s.data_ptr))
print(fake.fakeCudaCalls(b"cuMemcpyAsync"),
      fake.fakeCudaCalls(b"cuStreamSynchronize"), last_launch_stream(),
      q.streams)

# out=: the producer's memory is written in place; a CAI state.
oo = bf16((3, 75, 2, 64))
ss = Cai(np.zeros((3, 2, 64, 64), np.float32))
r = fn(q, k, v, out=[oo, ss], stream=8192)
print(r[0] is oo, launched(oo.array.ctypes.data),
      launched(ss.array.ctypes.data), last_launch_stream())

# A result goes back in through its own __dlpack__, without a copy.
cai = s.__cuda_array_interface__
print(cai["typestr"], cai["shape"], cai["data"][0] == s.data_ptr)
before = fake.fakeCudaLaunchesWith(o.data_ptr)
fn(o, k, v)
print(fake.fakeCudaLaunchesWith(o.data_ptr) > before,
      fake.fakeCudaCalls(b"cuMemcpyAsync"))

fake.fakeCudaFail(b"cuLaunchKernel", 700)
try:
    fn(q, k, v)
except runtime.MixirError as e:
    print("MixirError:", e)
try:
    fn(q, k, np.ones((3, 75, 2, 64), np.float32))
except runtime.MixirError as e:
    print("MixirError:", e)
"""
    lines = _child(code, MIXIR_LIBCUDA_PATH=str(FAKE), MIXIR_FAKE_CUDA_CC="12.0")
    assert lines == [
        "DeviceArray (3, 75, 2, 64) bf16 (3, 2, 64, 64) f32",
        "True True True",
        "0 0 4096 [4096]",
        "True True True 8192",
        "<f4 (3, 2, 64, 64) True",
        "True 0",
        "MixirError: @la: mgpuLaunchKernel: cuLaunchKernel failed: "
        "CUDA_ERROR_ILLEGAL_ADDRESS (an illegal memory access was "
        "encountered)",
        "MixirError: @la argument 2: a host buffer among device buffers (a "
        "call takes one kind)"], lines
