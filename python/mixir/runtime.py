"""mixir.runtime: run compiled artifacts without the compiler.

A ctypes binding over libmixir_runtime's C API (mixir-c/Runtime.h). It needs
CPython >= 3.10 and numpy, nothing else: no `_mixir` extension, no MLIR or
LLVM, so it runs on a machine that only has the CUDA driver.

    from mixir import runtime
    m = runtime.load("la.mixir")           # an artifact (mixir-compile)
    o, state = m["la"](q, k, v)            # numpy in, numpy out (host)
    o, state = m["la"](q_cuda, k_cuda, v_cuda)   # torch CUDA tensors

Arguments are numpy arrays (host memory), or tensors on a CUDA device: torch
tensors, objects with `__dlpack__` / `__dlpack_device__` reporting kDLCUDA,
or objects with `__cuda_array_interface__`. Device tensors are passed to the
kernels without a copy; the call is queued on torch's current stream (for
torch tensors; else `stream=`, a CUstream handle, default the legacy default
stream) and returns without waiting. Results of torch calls are torch tensors
(on a CUDA device allocated by torch on that stream); results of other device calls are
`DeviceArray`s (device memory the runtime allocated, with
`__cuda_array_interface__` and `__dlpack__`). `out=` takes the outputs to
write instead (a list, one per result).

The library is $MIXIR_RUNTIME_LIB, else libmixir_runtime.so next to this
package (the GPU bundle) or in the build tree's lib/ (build/python/mixir ->
build/lib), else the loader's search path.
"""

import ctypes
import os
import sys

import numpy as np

__all__ = ["load", "empty", "Module", "Function", "DeviceArray",
           "MixirError", "library_path"]


class MixirError(RuntimeError):
    """A status from the runtime (its message names the problem)."""


# --- the C API -------------------------------------------------------------

F32, F16, BF16, F64, I8, I16, I32, I64 = range(8)
U8, U16, U32, U64, BOOL = range(8, 13)
CPU, CUDA = 0, 1
_NAMES = ["f32", "f16", "bf16", "f64", "i8", "i16", "i32", "i64", "u8", "u16",
          "u32", "u64", "i1"]
_BYTES = [4, 2, 2, 8, 1, 2, 4, 8, 1, 2, 4, 8, 1]


class _View(ctypes.Structure):
    _fields_ = [("data", ctypes.c_void_p), ("dtype", ctypes.c_int),
                ("rank", ctypes.c_int32),
                ("shape", ctypes.POINTER(ctypes.c_int64)),
                ("strides", ctypes.POINTER(ctypes.c_int64)),
                ("device", ctypes.c_int)]


class _TensorType(ctypes.Structure):
    _fields_ = [("dtype", ctypes.c_int), ("rank", ctypes.c_int32),
                ("shape", ctypes.POINTER(ctypes.c_int64))]


def _candidates():
    env = os.environ.get("MIXIR_RUNTIME_LIB")
    if env:
        return [env]
    here = os.path.dirname(os.path.abspath(__file__))
    name = "libmixir_runtime.so"
    return [os.path.join(here, name),
            os.path.join(here, "..", "..", "lib", name),
            os.path.join(here, "..", "..", name), name]


def _declare(lib):
    P, S, I64P = ctypes.c_void_p, ctypes.c_size_t, ctypes.POINTER(ctypes.c_int64)
    sigs = {
        "mixir_status_message": (ctypes.c_char_p, [P]),
        "mixir_status_free": (None, [P]),
        "mixir_module_load_artifact_file": (P, [ctypes.c_char_p, P]),
        "mixir_module_release": (None, [P]),
        "mixir_module_target": (ctypes.c_char_p, [P]),
        "mixir_module_num_functions": (S, [P]),
        "mixir_module_function_at": (P, [P, S, P]),
        "mixir_function_name": (ctypes.c_char_p, [P]),
        "mixir_function_num_args": (S, [P]),
        "mixir_function_num_results": (S, [P]),
        "mixir_function_arg_type": (P, [P, S, ctypes.POINTER(_TensorType)]),
        "mixir_function_result_type": (P, [P, S, ctypes.POINTER(_TensorType)]),
        "mixir_function_invoke": (P, [P, ctypes.POINTER(_View), S, P, S, P]),
        "mixir_function_invoke_into": (P, [P, ctypes.POINTER(_View), S,
                                           ctypes.POINTER(_View), S, P]),
        "mixir_function_result_shapes": (P, [P, ctypes.POINTER(_View), S,
                                             I64P, S]),
        "mixir_buffer_release": (None, [P]),
        "mixir_buffer_data": (P, [P]),
        "mixir_buffer_rank": (ctypes.c_int32, [P]),
        "mixir_buffer_shape": (I64P, [P]),
        "mixir_buffer_dtype": (ctypes.c_int, [P]),
        "mixir_buffer_size_bytes": (S, [P]),
        "mixir_buffer_device": (ctypes.c_int, [P]),
        "mixir_buffer_allocate": (P, [ctypes.c_int, ctypes.c_int,
                                      ctypes.c_int32, I64P, P]),
    }
    for name, (res, args) in sigs.items():
        fn = getattr(lib, name)
        fn.restype, fn.argtypes = res, args
    return lib


_lib = None
_lib_path = None


def _library():
    global _lib, _lib_path
    if _lib is None:
        errors = []
        for path in _candidates():
            if os.sep in path and not os.path.exists(path):
                continue
            try:
                _lib = _declare(ctypes.CDLL(path))
                _lib_path = os.path.realpath(path) if os.sep in path else path
                break
            except OSError as e:
                errors.append(str(e))
        if _lib is None:
            raise MixirError("cannot load libmixir_runtime (set "
                             "MIXIR_RUNTIME_LIB): " + "; ".join(errors))
    return _lib


def library_path():
    """The path of the loaded libmixir_runtime."""
    _library()
    return _lib_path


def _check(status):
    if status:
        lib = _library()
        message = lib.mixir_status_message(status).decode("utf-8", "replace")
        lib.mixir_status_free(status)
        raise MixirError(message)


# --- tensors -----------------------------------------------------------------

def _numpy_dtype(code):
    if code == BF16:
        try:
            import ml_dtypes
            return np.dtype(ml_dtypes.bfloat16)
        except ImportError:
            raise MixirError("bf16 numpy arrays need ml_dtypes") from None
    return np.dtype(["f4", "f2", None, "f8", "i1", "i2", "i4", "i8", "u1",
                     "u2", "u4", "u8", "?"][code])


def _code_of_numpy(dtype):
    if dtype.name == "bfloat16":
        return BF16
    table = {"float32": F32, "float16": F16, "float64": F64, "int8": I8,
             "int16": I16, "int32": I32, "int64": I64, "uint8": U8,
             "uint16": U16, "uint32": U32, "uint64": U64, "bool": BOOL}
    return table.get(dtype.name)


# DLPack type codes (kDLInt, kDLUInt, kDLFloat, kDLBfloat, kDLBool) and bits.
_DL_TO_CODE = {(2, 32): F32, (2, 16): F16, (4, 16): BF16, (2, 64): F64,
               (0, 8): I8, (0, 16): I16, (0, 32): I32, (0, 64): I64,
               (1, 8): U8, (1, 16): U16, (1, 32): U32, (1, 64): U64,
               (6, 8): BOOL}
_CODE_TO_DL = {v: k for k, v in _DL_TO_CODE.items()}
_KDLCPU, _KDLCUDA = 1, 2
_TYPESTR = {F32: "<f4", F16: "<f2", F64: "<f8", I8: "|i1", I16: "<i2",
            I32: "<i4", I64: "<i8", U8: "|u1", U16: "<u2", U32: "<u4",
            U64: "<u8", BOOL: "|b1"}


class _DLDevice(ctypes.Structure):
    _fields_ = [("device_type", ctypes.c_int32), ("device_id", ctypes.c_int32)]


class _DLDataType(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint8), ("bits", ctypes.c_uint8),
                ("lanes", ctypes.c_uint16)]


class _DLTensor(ctypes.Structure):
    _fields_ = [("data", ctypes.c_void_p), ("device", _DLDevice),
                ("ndim", ctypes.c_int32), ("dtype", _DLDataType),
                ("shape", ctypes.POINTER(ctypes.c_int64)),
                ("strides", ctypes.POINTER(ctypes.c_int64)),
                ("byte_offset", ctypes.c_uint64)]


_DELETER = ctypes.CFUNCTYPE(None, ctypes.c_void_p)


class _DLManagedTensor(ctypes.Structure):
    _fields_ = [("dl_tensor", _DLTensor), ("manager_ctx", ctypes.c_void_p),
                ("deleter", _DELETER)]


_capsule_get = ctypes.pythonapi.PyCapsule_GetPointer
_capsule_get.restype = ctypes.c_void_p
_capsule_get.argtypes = [ctypes.py_object, ctypes.c_char_p]


class _Arg:
    """One tensor as the C API sees it, with what keeps its memory alive."""

    def __init__(self, data, code, shape, strides, device, keep):
        self.data, self.code, self.device, self.keep = data, code, device, keep
        self.shape = list(shape)
        self.strides = None if strides is None else list(strides)

    def dense(self):
        if self.strides is None:
            return True
        expect = 1
        for size, stride in zip(reversed(self.shape), reversed(self.strides)):
            if size != 1 and stride != expect:
                return False
            expect *= size
        return True


def _is_torch(x):
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(x, torch.Tensor)


def _torch_code(t):
    name = str(t.dtype).replace("torch.", "")
    table = {"float32": F32, "float16": F16, "bfloat16": BF16,
             "float64": F64, "int8": I8, "int16": I16, "int32": I32,
             "int64": I64, "uint8": U8, "bool": BOOL}
    return table.get(name)


def _from_torch(t, where):
    code = _torch_code(t)
    if code is None:
        raise TypeError(f"{where}: unsupported torch dtype {t.dtype}")
    if t.device.type == "cpu":
        if code != BF16:
            return _from_numpy(t.numpy(), where)
        bits = t.contiguous().view(sys.modules["torch"].int16).numpy()
        return _from_numpy(bits.view(_numpy_dtype(BF16)), where)
    if t.device.type != "cuda":
        raise TypeError(f"{where}: a torch tensor on {t.device}")
    return _Arg(t.data_ptr(), code, t.shape, t.stride(), CUDA, t)


def element_strides(a):
    """(a, its strides in elements), or (a, None) when `a` is dense
    row-major; an array whose strides are not whole elements is copied into
    a dense one first. Dense arrays are read in place; the runtime packs
    other layouts."""
    if a.flags.c_contiguous:
        return a, None
    if all(s % a.itemsize == 0 for s in a.strides):
        return a, [s // a.itemsize for s in a.strides]
    return np.ascontiguousarray(a), None


def _to_torch(a):
    """A numpy result as a CPU torch tensor (sharing its memory)."""
    torch = sys.modules["torch"]
    if a.dtype.name == "bfloat16":
        return torch.from_numpy(a.view(np.int16)).view(torch.bfloat16)
    return torch.from_numpy(a)


def _from_numpy(a, where):
    code = _code_of_numpy(a.dtype)
    if code is None:
        raise TypeError(f"{where}: unsupported dtype {a.dtype}")
    a, strides = element_strides(a)
    return _Arg(a.ctypes.data, code, a.shape, strides, CPU, a)


def _from_dlpack(x, where, stream):
    kind, _ = x.__dlpack_device__()
    if kind == _KDLCPU:
        return _from_numpy(np.from_dlpack(x), where)
    if kind != _KDLCUDA:
        raise TypeError(f"{where}: a DLPack tensor on device type {kind} "
                        "(CPU or CUDA expected)")
    try:
        capsule = x.__dlpack__(stream=stream if stream else 1)
    except TypeError:
        capsule = x.__dlpack__()
    managed = ctypes.cast(_capsule_get(capsule, b"dltensor"),
                          ctypes.POINTER(_DLManagedTensor)).contents
    t = managed.dl_tensor
    code = _DL_TO_CODE.get((t.dtype.code, t.dtype.bits))
    if code is None or t.dtype.lanes != 1:
        raise TypeError(f"{where}: unsupported DLPack dtype (code "
                        f"{t.dtype.code}, {t.dtype.bits} bits, "
                        f"{t.dtype.lanes} lanes)")
    shape = [t.shape[i] for i in range(t.ndim)]
    strides = [t.strides[i] for i in range(t.ndim)] if t.strides else None
    # The capsule stays referenced (unconsumed) until the call returns; its
    # destructor gives the tensor back to the producer.
    return _Arg(t.data + t.byte_offset, code, shape, strides, CUDA,
                (x, capsule))


def _from_cai(x, where):
    cai = x.__cuda_array_interface__
    typestr = cai["typestr"]
    code = {v: k for k, v in _TYPESTR.items()}.get(typestr)
    if code is None:
        raise TypeError(f"{where}: unsupported typestr {typestr}")
    size = _BYTES[code]
    strides = cai.get("strides")
    if strides is not None:
        if any(s % size for s in strides):
            raise TypeError(f"{where}: strides {strides} are not whole "
                            "elements")
        strides = [s // size for s in strides]
    return _Arg(cai["data"][0], code, cai["shape"], strides, CUDA, x)


def _as_arg(x, where, stream):
    if isinstance(x, np.ndarray):
        return _from_numpy(x, where)
    if _is_torch(x):
        return _from_torch(x, where)
    if hasattr(x, "__dlpack_device__") and hasattr(x, "__dlpack__"):
        return _from_dlpack(x, where, stream)
    if hasattr(x, "__cuda_array_interface__"):
        return _from_cai(x, where)
    if hasattr(x, "__array__"):
        return _from_numpy(np.asarray(x), where)
    raise TypeError(f"{where}: expected a numpy array or a CUDA tensor, got "
                    f"{type(x).__name__}")


def _views(args):
    views = (_View * max(len(args), 1))()
    keep = []
    for v, a in zip(views, args):
        shape = (ctypes.c_int64 * max(len(a.shape), 1))(*a.shape)
        keep.append(shape)
        strides = None
        if a.strides is not None:
            strides = (ctypes.c_int64 * max(len(a.strides), 1))(*a.strides)
            keep.append(strides)
        v.data, v.dtype, v.rank = a.data, a.code, len(a.shape)
        v.shape = shape
        v.strides = strides
        v.device = a.device
    return views, keep


class DeviceArray:
    """A result in device memory the runtime allocated (freed with the
    object). Exposes `__cuda_array_interface__` and `__dlpack__`."""

    def __init__(self, buffer):
        lib = _library()
        self._buffer = buffer
        self.dtype = _NAMES[lib.mixir_buffer_dtype(buffer)]
        rank = lib.mixir_buffer_rank(buffer)
        dims = lib.mixir_buffer_shape(buffer)
        self.shape = tuple(dims[i] for i in range(rank))
        self.data_ptr = lib.mixir_buffer_data(buffer) or 0
        self._code = lib.mixir_buffer_dtype(buffer)
        self._exports = []

    def __del__(self):
        if getattr(self, "_buffer", None) and _lib is not None:
            _lib.mixir_buffer_release(self._buffer)
            self._buffer = None

    @property
    def __cuda_array_interface__(self):
        if self._code not in _TYPESTR:
            raise TypeError(f"{self.dtype} has no array-interface type string")
        return {"shape": self.shape, "typestr": _TYPESTR[self._code],
                "data": (self.data_ptr, False), "version": 3,
                "strides": None, "stream": None}

    def __dlpack_device__(self):
        return (_KDLCUDA, 0)

    def __dlpack__(self, stream=None, **_):
        return _export_dlpack(self)


def _export_dlpack(array):
    """A "dltensor" capsule viewing `array`, which it keeps alive until the
    consumer calls the deleter."""
    managed = _DLManagedTensor()
    shape = (ctypes.c_int64 * max(len(array.shape), 1))(*array.shape)
    code, bits = _CODE_TO_DL[array._code]
    t = managed.dl_tensor
    t.data, t.device = array.data_ptr, _DLDevice(_KDLCUDA, 0)
    t.ndim, t.dtype = len(array.shape), _DLDataType(code, bits, 1)
    t.shape, t.strides, t.byte_offset = shape, None, 0
    entry = [managed, shape, array]

    def deleter(_):
        if entry in array._exports:
            array._exports.remove(entry)
    callback = _DELETER(deleter)
    managed.deleter = callback
    entry.append(callback)
    array._exports.append(entry)
    new = ctypes.pythonapi.PyCapsule_New
    new.restype = ctypes.py_object
    new.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p]
    return new(ctypes.addressof(managed), b"dltensor", None)


# --- modules and functions ----------------------------------------------------

def _tensor_types(lib, fn, count, getter):
    out = []
    for i in range(count):
        t = _TensorType()
        _check(getter(fn, i, ctypes.byref(t)))
        out.append((_NAMES[t.dtype], [t.shape[d] for d in range(t.rank)]))
    return out


class Function:
    """A function of a loaded module; call it with tensors in argument
    order."""

    def __init__(self, module, handle):
        lib = _library()
        self._module, self._handle = module, handle
        self.name = lib.mixir_function_name(handle).decode()
        self.arg_types = _tensor_types(lib, handle,
                                       lib.mixir_function_num_args(handle),
                                       lib.mixir_function_arg_type)
        self.result_types = _tensor_types(
            lib, handle, lib.mixir_function_num_results(handle),
            lib.mixir_function_result_type)

    def __call__(self, *tensors, out=None, stream=None):
        where = f"@{self.name} argument"
        if stream is None and any(_is_torch(t) and t.is_cuda for t in tensors):
            torch = sys.modules["torch"]
            stream = torch.cuda.current_stream().cuda_stream
        args = [_as_arg(t, f"{where} {i}", stream)
                for i, t in enumerate(tensors)]
        views, keep = _views(args)
        on_device = bool(args) and args[0].device == CUDA
        if out is not None:
            self._invoke_into(views, len(args), out, stream)
            return out[0] if len(out) == 1 else tuple(out)
        if on_device and _is_torch(tensors[0]):
            outs = self._torch_outputs(views, len(args), tensors[0])
            self._invoke_into(views, len(args), outs, stream)
        else:
            outs = self._invoke(views, len(args), stream, on_device)
            if not on_device and tensors and _is_torch(tensors[0]):
                outs = [_to_torch(o) for o in outs]
        del keep
        return outs[0] if len(outs) == 1 else tuple(outs)

    def _invoke(self, views, n, stream, on_device):
        lib = _library()
        count = len(self.result_types)
        results = (ctypes.c_void_p * max(count, 1))()
        _check(lib.mixir_function_invoke(self._handle, views, n, results,
                                         count, stream or None))
        outs = []
        for i in range(count):
            if on_device:
                outs.append(DeviceArray(results[i]))
                continue
            size = lib.mixir_buffer_size_bytes(results[i])
            raw = ctypes.string_at(lib.mixir_buffer_data(results[i]), size) \
                if size else b""
            rank = lib.mixir_buffer_rank(results[i])
            dims = lib.mixir_buffer_shape(results[i])
            shape = [dims[d] for d in range(rank)]
            code = lib.mixir_buffer_dtype(results[i])
            lib.mixir_buffer_release(results[i])
            outs.append(np.frombuffer(bytearray(raw), _numpy_dtype(code))
                        .reshape(shape))
        return outs

    def result_shapes(self, views, n):
        """The result shapes of a device call on `views` (a dry run)."""
        total = sum(len(s) for _, s in self.result_types)
        dims = (ctypes.c_int64 * max(total, 1))()
        _check(_library().mixir_function_result_shapes(self._handle, views, n,
                                                       dims, total))
        shapes, at = [], 0
        for _, s in self.result_types:
            shapes.append([dims[at + d] for d in range(len(s))])
            at += len(s)
        return shapes

    def _torch_outputs(self, views, n, like):
        torch = sys.modules["torch"]
        dtypes = {"f32": torch.float32, "f16": torch.float16,
                  "bf16": torch.bfloat16, "f64": torch.float64,
                  "i32": torch.int32, "i64": torch.int64}
        return [torch.empty(shape, dtype=dtypes[t], device=like.device)
                for shape, (t, _) in zip(self.result_shapes(views, n),
                                         self.result_types)]

    def _invoke_into(self, views, n, outputs, stream):
        if len(outputs) != len(self.result_types):
            raise MixirError(f"@{self.name} returns "
                             f"{len(self.result_types)} results, "
                             f"{len(outputs)} outputs were given")
        outs = [_as_arg(o, f"@{self.name} output {i}", stream)
                for i, o in enumerate(outputs)]
        for i, o in enumerate(outs):
            if o.device == CPU and o.keep is not outputs[i]:
                raise MixirError(f"@{self.name} output {i}: a host output must "
                                 "be a numpy array (written in place)")
        out_views, keep = _views(outs)
        _check(_library().mixir_function_invoke_into(
            self._handle, views, n, out_views, len(outs), stream or None))
        del keep

    def __repr__(self):
        return f"<mixir.runtime function @{self.name}>"


class Module:
    """A loaded artifact; functions by name (`module["la"]`)."""

    def __init__(self, handle):
        lib = _library()
        self._handle = handle
        self.target = lib.mixir_module_target(handle).decode()
        self.functions = {}
        for i in range(lib.mixir_module_num_functions(handle)):
            fn = ctypes.c_void_p()
            _check(lib.mixir_module_function_at(handle, i, ctypes.byref(fn)))
            f = Function(self, fn.value)
            self.functions[f.name] = f

    def __getitem__(self, name):
        try:
            return self.functions[name]
        except KeyError:
            raise KeyError(f"no function @{name} in the module (it has "
                           f"{', '.join('@' + n for n in self.functions)})") \
                from None

    def __del__(self):
        if getattr(self, "_handle", None) and _lib is not None:
            _lib.mixir_module_release(self._handle)
            self._handle = None


def empty(shape, dtype):
    """A new DeviceArray of `shape` and `dtype` ("bf16", "f32", ...) on the
    default CUDA device (uninitialised; cuMemAlloc)."""
    if dtype not in _NAMES:
        raise ValueError(f"unknown dtype {dtype!r} (expected one of "
                         f"{', '.join(_NAMES)})")
    lib = _library()
    dims = (ctypes.c_int64 * max(len(shape), 1))(*shape)
    handle = ctypes.c_void_p()
    _check(lib.mixir_buffer_allocate(CUDA, _NAMES.index(dtype), len(shape),
                                     dims, ctypes.byref(handle)))
    return DeviceArray(handle.value)


def load(path):
    """Loads an artifact file (`mixir-compile --emit=artifact`)."""
    lib = _library()
    handle = ctypes.c_void_p()
    _check(lib.mixir_module_load_artifact_file(os.fsencode(path),
                                               ctypes.byref(handle)))
    return Module(handle.value)
