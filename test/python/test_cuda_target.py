"""target="cuda" through the Python API where no GPU is needed: the
one-line RuntimeError without a device, argument checks, and the runtime
against the unit tests' stand-in driver (unittests/FakeCuda.cpp, selected
with MIXIR_LIBCUDA_PATH in a child process, since the driver is loaded once
per process)."""

import os
import pathlib
import subprocess
import sys
import re
import textwrap

import numpy as np
import pytest

import mixir

_SOURCE = ("func.func @f(%a: tensor<4xf32>) -> tensor<4xf32> {\n"
           "  return %a : tensor<4xf32>\n}\n")


def _fake_driver():
    build = pathlib.Path(mixir.__file__).resolve().parents[2]
    path = build / "lib" / "libmixir-fake-cuda.so"
    if not path.exists():
        pytest.fail(f"no stand-in driver at {path}: build MixIR with its unit "
                    f"tests (MIXIR_BUILD_TESTS=ON, the default)")
    return str(path)


def _run_child(code, **env):
    full = dict(os.environ, **env)
    full["PYTHONPATH"] = os.pathsep.join(
        [str(pathlib.Path(mixir.__file__).resolve().parents[1])] +
        [p for p in [os.environ.get("PYTHONPATH")] if p])
    r = subprocess.run([sys.executable, "-c", textwrap.dedent(code)],
                       capture_output=True, text=True, env=full, timeout=300)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip().splitlines()


def test_targets_are_checked():
    # The compiler's names and messages (CompileOptions), not Python's own.
    with pytest.raises(ValueError, match=r"^unknown target 'tpu' \(expected "
                       r"cpu or cuda\)$"):
        mixir.compile(_SOURCE, target="tpu")
    with pytest.raises(ValueError, match=r"^unknown target 'gpu' \(expected "
                       r"cpu or cuda\)$"):
        mixir.scan(np.ones((1, 4, 2), np.float32), np.zeros((1, 4, 2), np.float32),
                   target="gpu")
    with pytest.raises(ValueError, match=r"^chip 'sm_80' needs target cuda, "
                       r"not cpu$"):
        mixir.compile(_SOURCE, chip="sm_80")


def test_the_chunk_rule_and_default_come_from_the_compiler():
    assert mixir._runtime.DEFAULT_CHUNK_SIZE == mixir._mixir.DEFAULT_CHUNK_SIZE
    message = ("chunk_size must be 0 (the recurrent form) or a power of two up "
               "to 128, got 48")
    with pytest.raises(mixir.CompileError, match=rf"^{re.escape(message)}$"):
        mixir.compile(_SOURCE, chunk_size=48)
    x = np.ones((1, 4, 2), np.float32)
    with pytest.raises(ValueError, match=rf"^{re.escape(message)}$"):
        mixir.scan(x, x, chunk_size=48)
    # The gate kinds are the dialect's.
    assert mixir._ops._GATES == ("none", "head", "scalar", "vector")


def test_without_a_device_every_entry_point_says_why_in_one_line():
    ok, why = mixir.cuda_status()
    if ok:
        pytest.skip(f"a CUDA device is present ({why}): no no-device path")
    assert why and "\n" not in why
    q = np.ones((1, 8, 2, 4), np.float32)
    calls = {
        "compile": lambda: mixir.compile(_SOURCE, target="cuda"),
        "linear_attention": lambda: mixir.linear_attention(q, q, q, target="cuda"),
        "delta_rule": lambda: mixir.delta_rule(
            q, q, q, np.ones((1, 8, 2), np.float32), target="cuda"),
        "attention": lambda: mixir.attention(q, q, q, target="cuda"),
        "scan": lambda: mixir.scan(np.ones((1, 8, 4), np.float32),
                                   np.zeros((1, 8, 4), np.float32), target="cuda"),
    }
    for name, call in calls.items():
        with pytest.raises(RuntimeError) as info:
            call()
        assert str(info.value) == f"target cuda: {why}", name


def test_fake_driver_without_device():
    lines = _run_child("""
        import mixir
        print(mixir.cuda_status())
        try:
            mixir.compile("func.func @f() { return }", target="cuda")
        except RuntimeError as e:
            print("RuntimeError:", e)
        """, MIXIR_LIBCUDA_PATH=_fake_driver(), MIXIR_FAKE_CUDA_FAIL="cuInit=100")
    assert lines == [
        "(False, 'cuInit failed: CUDA_ERROR_NO_DEVICE (no CUDA-capable device "
        "is detected)')",
        "RuntimeError: target cuda: cuInit failed: CUDA_ERROR_NO_DEVICE (no "
        "CUDA-capable device is detected)"]


def test_fake_driver_device_and_chip_checks():
    lines = _run_child("""
        import mixir
        print(mixir.cuda_status())
        print(mixir._mixir.cuda_chip())
        for chip in ("sm_75", "sm_100"):
            try:
                mixir.compile("func.func @f(%a: tensor<4xf32>) -> tensor<4xf32> {"
                              " return %a : tensor<4xf32> }", target="cuda",
                              chip=chip)
            except mixir.CompileError as e:
                print("CompileError:", e)
        try:
            mixir.compile("func.func @f() { return }", target="cuda")
        except mixir.CompileError as e:
            print("CompileError:", e)
        """, MIXIR_LIBCUDA_PATH=_fake_driver(), MIXIR_CUDA_CHIP="sm_72")
    assert lines == [
        "(True, 'Fake GPU (sm_90)')",
        "sm_90",
        "CompileError: target cuda: unsupported chip 'sm_75' (expected sm_80, "
        "sm_86, sm_89, sm_90 or sm_90a)",
        "CompileError: target cuda: unsupported chip 'sm_100' (expected sm_80, "
        "sm_86, sm_89, sm_90 or sm_90a)",
        "CompileError: target cuda: unsupported chip 'sm_72' (expected sm_80, "
        "sm_86, sm_89, sm_90 or sm_90a)"]


def _cuda_artifact(tmp_path):
    """test/Tools/Inputs/linear-attention-bf16.mlir as a CUDA artifact for
    sm_80 and sm_90a (mixir-compile needs ptxas for the cubins, no GPU)."""
    home = os.environ.get("CUDA_HOME") or "/usr/local/cuda"
    if not os.access(os.path.join(home, "bin", "ptxas"), os.X_OK):
        pytest.skip(f"no ptxas in {home}/bin (the CUDA toolkit): cannot "
                    f"compile cubins")
    build = pathlib.Path(mixir.__file__).resolve().parents[2]
    source = (pathlib.Path(__file__).resolve().parents[1] / "Tools" / "Inputs" /
              "linear-attention-bf16.mlir")
    out = tmp_path / "la.mixir"
    r = subprocess.run([str(build / "bin" / "mixir-compile"), str(source),
                        "--target=cuda", "--chip=sm_80,sm_90a",
                        "--emit=artifact", "-o", str(out)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return out


def test_cuda_artifact_loads_and_runs_on_the_fake_driver(tmp_path):
    # mixir.load runs the artifact through the runtime; the stand-in driver
    # runs no kernel, so only shapes and the named failures are checked.
    path = _cuda_artifact(tmp_path)
    code = f"""
        import ml_dtypes, numpy as np, mixir
        try:
            m = mixir.load({str(path)!r})
        except ValueError as e:
            print("ValueError:", e)
        else:
            for b, t in ((1, 9), (3, 70)):
                q = np.ones((b, t, 2, 64), ml_dtypes.bfloat16)
                o, s = m.la(q, q, q)
                print(o.shape, o.dtype, s.shape, s.dtype)
        """
    lines = _run_child(code, MIXIR_LIBCUDA_PATH=_fake_driver(),
                       MIXIR_FAKE_CUDA_CC="8.6")
    assert lines == ["(1, 9, 2, 64) bfloat16 (1, 2, 64, 64) float32",
                     "(3, 70, 2, 64) bfloat16 (3, 2, 64, 64) float32"]
    lines = _run_child(code, MIXIR_LIBCUDA_PATH=_fake_driver(),
                       MIXIR_FAKE_CUDA_CC="7.5")
    assert len(lines) == 1 and re.fullmatch(
        r"ValueError: .*la\.mixir: artifact for target cuda: no code for the "
        r"device \(sm_75\) in device module \w+: it has cubins for sm_80, "
        r"sm_90a, PTX for sm_80", lines[0]), lines
    lines = _run_child(code, MIXIR_LIBCUDA_PATH="/nonexistent/libcuda.so.1")
    assert len(lines) == 1 and lines[0].endswith(
        "la.mixir: artifact for target cuda: no CUDA driver "
        "(/nonexistent/libcuda.so.1: cannot open shared object file: No such "
        "file or directory)"), lines


def test_cuda_modules_go_through_the_runtime(tmp_path):
    # target cuda takes the path of every target (the C API's compiler and
    # the runtime): one compilation per source, artifacts saved and loaded,
    # host-only modules, CUDA failures as RuntimeError. The stand-in driver
    # runs no kernel, so shapes and dtypes are what is checked.
    source = (pathlib.Path(__file__).resolve().parents[1] / "Tools" / "Inputs" /
              "scan.mlir")
    saved = tmp_path / "scan.mixir"
    lines = _run_child(f"""
        import numpy as np, mixir
        text = open({str(source)!r}).read()
        m = mixir.compile(text, target="cuda")
        again = mixir.compile(text, target="cuda")
        s = mixir.cache.stats()
        print(s["compiles"], s["memory_hits"])
        m.save({str(saved)!r})
        back = mixir.load({str(saved)!r})
        x = np.ones((1, 37, 4), np.float32)
        for f in (m.scan, again.scan, back.scan):
            o, h = f(x, x)
            print(o.shape, o.dtype, h.shape)
        copy = mixir.compile("func.func @f(%a: tensor<4xf32>) -> tensor<4xf32> "
                             "{{ %b = arith.addf %a, %a : tensor<4xf32> "
                             "return %b : tensor<4xf32> }}", target="cuda")
        print(copy.f(np.arange(4, dtype=np.float32)))
        """, MIXIR_LIBCUDA_PATH=_fake_driver())
    assert lines == ["1 1"] + ["(1, 37, 4) float32 (1, 4)"] * 3 + \
        ["[0. 2. 4. 6.]"]
    lines = _run_child(f"""
        import numpy as np, mixir
        m = mixir.load({str(saved)!r})
        x = np.ones((1, 37, 4), np.float32)
        try:
            m.scan(x, x)
        except RuntimeError as e:
            print("RuntimeError:", e)
        """, MIXIR_LIBCUDA_PATH=_fake_driver(),
        MIXIR_FAKE_CUDA_FAIL="cuLaunchKernel=719")
    assert lines == ["RuntimeError: @scan: mgpuLaunchKernel: cuLaunchKernel "
                     "failed: CUDA error 719"], lines


def test_device_arrays_on_the_fake_driver():
    # CUDA memory in and out of calls: to_device/numpy round trips through
    # the driver's copies; a call on device arrays returns DeviceArrays of
    # the results' shapes (the stand-in driver runs no kernel, so their
    # contents are not checked here); any DLPack producer of CUDA memory is
    # taken; host and device arrays do not mix; a function whose host code
    # computes a result is refused on device buffers with the reason.
    source = (pathlib.Path(__file__).resolve().parents[1] / "Tools" / "Inputs" /
              "scan.mlir")
    lines = _run_child(f"""
        import ml_dtypes, numpy as np, mixir
        x = np.arange(37 * 4, dtype=np.float32).reshape(1, 37, 4)
        d = mixir.to_device(x)
        print(d, d.__dlpack_device__(), np.array_equal(d.numpy(), x))
        b = np.linspace(-3, 3, 10).astype(ml_dtypes.bfloat16).reshape(2, 5)
        print(np.array_equal(mixir.to_device(b).numpy(), b))
        print(mixir.to_device(np.float32(2.5)).numpy().shape,
              type(d.__dlpack__(stream=7)).__name__)
        m = mixir.compile(open({str(source)!r}).read(), target="cuda")

        class Producer:  # another library's CUDA tensor
            def __init__(self, a):
                self.a = a
            def __dlpack__(self, stream=None, **kwargs):
                return self.a.__dlpack__(stream=stream)
            def __dlpack_device__(self):
                return self.a.__dlpack_device__()

        for args in ((d, d), (Producer(d), d)):
            o, h = m.scan(*args)
            print(o, h)
        for args in ((d, x), (x, d)):
            try:
                m.scan(*args)
            except TypeError as e:
                print("TypeError:", e)
        ident = mixir.compile("func.func @f(%a: tensor<?x4xf32>) -> "
                              "tensor<?x4xf32> {{ return %a : tensor<?x4xf32> }}",
                              target="cuda")
        try:
            ident.f(mixir.to_device(x[0]))
        except ValueError as e:
            print("ValueError:", e)
        """, MIXIR_LIBCUDA_PATH=_fake_driver())
    dev = "<mixir DeviceArray (1, 37, 4) float32 on cuda:0>"
    res = dev + " <mixir DeviceArray (1, 4) float32 on cuda:0>"
    assert lines == [
        f"{dev} (2, 0) True", "True", "() PyCapsule", res, res,
        "TypeError: @scan argument 1: a host array among CUDA tensors (a call "
        "takes one kind)",
        "TypeError: @scan argument 0: a host array among CUDA tensors (a call "
        "takes one kind)",
        "ValueError: @f on device buffers: result 0 is not computed on the "
        "device (no kernel output is copied into it whole); the function "
        "needs host buffers"], lines


def test_torch_cuda_tensors_in_and_out():
    # Needs a GPU: torch CUDA tensors in, torch CUDA tensors out (written in
    # place on torch's current stream), against the float64 recurrence.
    torch = pytest.importorskip("torch")
    ok, why = mixir.cuda_status()
    if not ok or not torch.cuda.is_available():
        pytest.skip(f"UNSUPPORTED: no CUDA device ({why})")
    source = (pathlib.Path(__file__).resolve().parents[1] / "Tools" / "Inputs" /
              "scan.mlir")
    m = mixir.compile(source.read_text(), target="cuda")
    rng = np.random.default_rng(3)
    x = rng.standard_normal((1, 75, 4)).astype(np.float32)
    g = -rng.uniform(0.0, 1.0, (1, 75, 4)).astype(np.float32)
    o, h = m.scan(torch.from_numpy(x).cuda(), torch.from_numpy(g).cuda())
    assert o.is_cuda and h.is_cuda and o.dtype == torch.float32
    torch.cuda.synchronize()
    want, s = np.zeros((1, 75, 4)), np.zeros((1, 4))
    for t in range(75):
        s = np.exp(g[:, t].astype(np.float64)) * s + x[:, t]
        want[:, t] = s
    err = np.sqrt(np.mean((o.cpu().numpy() - want) ** 2) / np.mean(want ** 2))
    assert err < 1e-5, err
    d = torch.from_dlpack(mixir.to_device(x))
    assert d.is_cuda and torch.equal(d.cpu(), torch.from_numpy(x))
    # A functional op on torch CUDA tensors returns torch CUDA tensors.
    o2, h2 = mixir.scan(torch.from_numpy(x).cuda(), torch.from_numpy(g).cuda(),
                        target="cuda")
    torch.cuda.synchronize()
    assert o2.is_cuda
    err = np.sqrt(np.mean((o2.cpu().numpy() - want) ** 2) / np.mean(want ** 2))
    assert err < 1e-5, err


def test_functional_ops_take_device_arrays():
    # The functional ops on CUDA memory (target cuda): mixir.DeviceArrays in,
    # DeviceArrays out with the ops' result shapes and dtypes (the stand-in
    # driver runs no kernel); gates are not converted on the device; CUDA
    # tensors on another target, or mixed with host arrays, are TypeErrors,
    # except the packing offsets, which the host code reads.
    lines = _run_child("""
        import ml_dtypes, numpy as np, mixir
        rng = np.random.default_rng(0)
        q = rng.standard_normal((1, 37, 2, 64)).astype(ml_dtypes.bfloat16)
        g = -rng.uniform(0, 1, (1, 37, 2)).astype(np.float32)
        dq, dg = mixir.to_device(q), mixir.to_device(g)
        print(*mixir.linear_attention(dq, dq, dq, dg, gate="scalar",
                                      output_final_state=True, target="cuda"))
        print(*mixir.delta_rule(dq, dq, dq, dg, output_final_state=True,
                                target="cuda"))
        x = rng.standard_normal((1, 37, 8)).astype(np.float32)
        print(*mixir.scan(mixir.to_device(x), mixir.to_device(-np.abs(x)),
                          target="cuda"))
        print(mixir.attention(dq, dq, dq, target="cuda"))
        calls = [
            lambda: mixir.linear_attention(dq, dq, dq),
            lambda: mixir.linear_attention(dq, q, dq, target="cuda"),
            lambda: mixir.linear_attention(
                dq, dq, dq, mixir.to_device(g.astype(np.float16)),
                gate="scalar", target="cuda"),
            lambda: mixir.linear_attention(
                dq, dq, dq, target="cuda",
                cu_seqlens=mixir.to_device(np.array([0, 37], np.int32))),
            lambda: mixir.delta_rule(
                dq, dq, dq, dg, target="cuda",
                cu_seqlens=np.array([0, 37], np.int32),
                state_pool=np.zeros((3, 2, 64, 64), np.float32),
                state_indices=np.array([1], np.int32))]
        for call in calls:
            try:
                call()
            except TypeError as e:
                print("TypeError:", e)
        # Packed sequences: the offsets, which the host code checks, stay a
        # numpy array beside the device tensors; offsets it rejects are a
        # ValueError naming them, before anything runs.
        cu = np.array([0, 20, 20, 37], np.int32)
        print(*mixir.linear_attention(dq, dq, dq, dg, gate="scalar",
                                      cu_seqlens=cu, output_final_state=True,
                                      target="cuda"))
        try:
            mixir.linear_attention(dq, dq, dq, cu_seqlens=cu[::-1].copy(),
                                   target="cuda")
        except ValueError as e:
            print("ValueError:", "cu_seqlens" in str(e))
        """, MIXIR_LIBCUDA_PATH=_fake_driver())
    o = "<mixir DeviceArray (1, 37, 2, 64) bfloat16 on cuda:0>"
    s = "<mixir DeviceArray (1, 2, 64, 64) float32 on cuda:0>"
    assert lines == [
        f"{o} {s}", f"{o} {s}",
        "<mixir DeviceArray (1, 37, 8) float32 on cuda:0> "
        "<mixir DeviceArray (1, 8) float32 on cuda:0>", o,
        "TypeError: CUDA tensors need target='cuda' (target='cpu' takes numpy "
        "arrays)",
        "TypeError: @mixer argument 1: a host array among CUDA tensors (a call "
        "takes one kind)",
        "TypeError: g must be float32 on the device (a DeviceArray is not "
        "converted), got float16",
        "TypeError: cu_seqlens must be a numpy array: the packing and the pool "
        "slots are checked on the host (the other tensors may be CUDA "
        "tensors)",
        "TypeError: state pools take numpy arrays (the pool is updated in "
        "place on the host); CUDA tensors with a state pool are not "
        "supported yet",
        "<mixir DeviceArray (1, 37, 2, 64) bfloat16 on cuda:0> "
        "<mixir DeviceArray (3, 2, 64, 64) float32 on cuda:0>",
        "ValueError: True"], lines
