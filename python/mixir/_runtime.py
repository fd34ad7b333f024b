"""Compiling MLIR text and calling its functions on numpy arrays.

Everything goes through the C API (mixir-c/Mixir.h) via the `_mixir`
extension: one compiler context per (target, chunk size, chip), each with its
in-memory cache of compiled modules and, when MIXIR_CACHE_DIR is set, an
on-disk cache of artifacts shared between processes.
"""

import os
import threading

import numpy as np

try:
    import ml_dtypes
    _BF16 = np.dtype(ml_dtypes.bfloat16)
except ImportError:  # pragma: no cover - ml_dtypes is a dependency
    _BF16 = None

from . import _mixir
from .runtime import element_strides

_NAME_OF = {np.dtype(np.float32): "f32", np.dtype(np.float16): "f16",
            np.dtype(np.float64): "f64", np.dtype(np.bool_): "i1",
            np.dtype(np.int8): "i8", np.dtype(np.int16): "i16",
            np.dtype(np.int32): "i32", np.dtype(np.int64): "i64"}
if _BF16 is not None:
    _NAME_OF[_BF16] = "bf16"
_DTYPE_OF = {name: dtype for dtype, name in _NAME_OF.items()}


#: The compiler's kDefaultChunkSize: the CPU's query and key block of
#: attention when chunk_size is None (the other ops' form and chunk are then
#: chosen by the CPU cost model).
DEFAULT_CHUNK_SIZE = _mixir.DEFAULT_CHUNK_SIZE


class CompileError(ValueError):
    """The source could not be parsed, verified or lowered."""


def dtype_name(dtype):
    """MLIR spelling of a numpy or torch dtype ("f32", "bf16"), or None."""
    if type(dtype).__module__ == "torch":
        _torch_dtypes()
        return _TORCH_NAMES.get(dtype)
    try:
        return _NAME_OF.get(np.dtype(dtype))
    except TypeError:
        return None


class Function:
    """A compiled function: call it with numpy arrays, in argument order."""

    def __init__(self, module, name, args, results):
        self._module = module
        self.name = name
        self.arg_types = args        # [(dtype name, shape with -1 dynamic)]
        self.result_types = results
        self._host_reads = None      # arguments its host code reads

    def __call__(self, *arrays):
        if any(_on_cuda(a) for a in arrays):
            return self._call_on_device(arrays)
        packed, keep = [], []
        for i, a in enumerate(arrays):
            if not isinstance(a, np.ndarray):
                if hasattr(a, "__dlpack__"):
                    a = _from_dlpack(a, self.name, i)
                else:
                    raise TypeError(f"@{self.name} argument {i}: expected a "
                                    f"numpy array, got {type(a).__name__}")
            name = _NAME_OF.get(a.dtype)
            if name is None:
                raise TypeError(f"@{self.name} argument {i}: unsupported "
                                f"dtype {a.dtype}")
            a, strides = element_strides(a)
            keep.append(a)
            packed.append((a.ctypes.data, name, list(a.shape), strides))
        outs = []
        for raw, name, shape in self._module.call(self.name, packed):
            outs.append(raw.view(_DTYPE_OF[name]).reshape(shape))
        return outs[0] if len(outs) == 1 else tuple(outs)

    def _call_on_device(self, arrays):
        """Arguments in CUDA memory: the results are written in place on
        the device (torch tensors for torch arguments, queued on torch's
        current stream; DeviceArrays otherwise, on the default stream).
        Arguments the compiled host code reads itself (cu_seqlens) may be
        numpy arrays among them."""
        views, torch_device, foreign, keep = [], None, False, []
        if self._host_reads is None:
            self._host_reads = frozenset(self._module.host_read_args(self.name))
        for i, a in enumerate(arrays):
            where = f"@{self.name} argument {i}"
            if (isinstance(a, np.ndarray) and a.dtype in _NAME_OF and
                    i in self._host_reads):
                a = np.ascontiguousarray(a)
                keep.append(a)
                views.append((a.ctypes.data, _NAME_OF[a.dtype],
                               list(a.shape), True))
            elif not _on_cuda(a):
                raise TypeError(f"{where}: a host array among CUDA tensors "
                                f"(a call takes one kind)")
            elif _is_torch(a):
                torch_device = a.device
                views.append(_torch_view(a, where))
            else:
                foreign = True
                views.append(_dlpack_cuda_view(a, where))
        if torch_device is not None and any(
                _is_torch(arrays[i]) for i in self._host_reads
                if i < len(arrays)):
            # The result shapes download the arguments the host code reads
            # on the legacy default stream: let torch's stream finish them.
            import torch
            torch.cuda.current_stream(torch_device).synchronize()
        shapes = self._module.result_shapes(self.name, views)
        if torch_device is not None:
            import torch
            outs = [torch.empty(s, dtype=_torch_dtypes()[t], device=torch_device)
                    for (t, _), s in zip(self.result_types, shapes)]
            out_views = [_torch_view(o, "") for o in outs]
            stream = torch.cuda.current_stream(torch_device).cuda_stream
            if foreign and stream != 0:
                # Other arrays were written on the legacy default stream,
                # which a non-blocking torch stream does not wait for.
                _mixir.cuda_synchronize()
        else:
            outs = [DeviceArray(_mixir.DeviceBuffer(t, s))
                    for (t, _), s in zip(self.result_types, shapes)]
            out_views = [_dlpack_cuda_view(o, "") for o in outs]
            stream = 0
        self._module.call_into(self.name, views, out_views, stream)
        return outs[0] if len(outs) == 1 else tuple(outs)

    def __repr__(self):
        def fmt(ts):
            return ", ".join("x".join("?" if d < 0 else str(d) for d in s)
                             + ("x" if s else "") + t for t, s in ts)
        return f"<mixir function @{self.name}({fmt(self.arg_types)}) -> " \
               f"({fmt(self.result_types)})>"


class Module:
    """A compiled module; each public function is an attribute."""

    def __init__(self, native):
        self._native = native
        self.functions = {}
        for name, args, results in native.functions():
            fn = Function(native, name, args, results)
            self.functions[name] = fn
            if name.isidentifier() and not hasattr(self, name):
                setattr(self, name, fn)

    def __getitem__(self, name):
        return self.functions[name]

    def save(self, path):
        """Writes the compiled module as an artifact (see `load`)."""
        self._native.save(str(path))


_KDL_CUDA = 2  # DLPack's device type of CUDA memory


def _on_cuda(a):
    """Whether `a` is a tensor in CUDA memory (a DLPack producer)."""
    if isinstance(a, DeviceArray):
        return True
    dev = getattr(a, "__dlpack_device__", None)
    if dev is None or isinstance(a, np.ndarray):
        return False
    try:
        return int(dev()[0]) == _KDL_CUDA
    except (TypeError, ValueError, IndexError):
        return False


def _is_torch(a):
    return type(a).__module__.startswith("torch")


_TORCH_DTYPES, _TORCH_NAMES = {}, {}


def _torch_dtypes():
    """Element type names to torch dtypes (filled on first use)."""
    if not _TORCH_DTYPES:
        import torch
        table = {
            "f32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16,
            "f64": torch.float64, "i1": torch.bool, "i8": torch.int8,
            "i16": torch.int16, "i32": torch.int32, "i64": torch.int64}
        # The reverse table first: another thread that finds _TORCH_DTYPES
        # filled must find _TORCH_NAMES filled too.
        _TORCH_NAMES.update({v: k for k, v in table.items()})
        _TORCH_DTYPES.update(table)
    return _TORCH_DTYPES


def _torch_view(t, where):
    """(address, dtype name, shape, False: not on the host) of a dense
    torch CUDA tensor."""
    _torch_dtypes()
    names = _TORCH_NAMES
    if t.dtype not in names:
        raise TypeError(f"{where}: unsupported dtype {t.dtype}")
    _check_cuda_device(t.device.index or 0, where)
    if not t.is_contiguous():
        raise ValueError(f"{where}: a strided CUDA tensor (device tensors "
                         f"must be dense row-major: call .contiguous())")
    return (t.data_ptr(), names[t.dtype], list(t.shape), False)


def _dlpack_cuda_view(a, where):
    """(address, dtype name, shape, False: not on the host) of a dense
    DLPack CUDA tensor."""
    if isinstance(a, DeviceArray):
        return (a._native.address, a._native.dtype, list(a._native.shape),
                False)
    try:
        addr, dtype, shape, _, device_id, dense = _mixir.dlpack_view(a)
    except TypeError as e:
        raise TypeError(f"{where}: {e}") from None
    _check_cuda_device(device_id, where)
    if not dense:
        raise ValueError(f"{where}: a strided CUDA tensor (device tensors "
                         f"must be dense row-major)")
    return (addr, dtype, list(shape), False)


def _check_cuda_device(index, where):
    if index != 0:
        raise ValueError(f"{where}: on CUDA device {index}; MixIR runs on "
                         f"device 0 (select it with CUDA_VISIBLE_DEVICES)")


class DeviceArray:
    """An array in CUDA memory that MixIR allocated: the results of calls on
    CUDA tensors other than torch's, and `to_device(array)`. `numpy()`
    copies it to the host; it is a DLPack producer, so `torch.from_dlpack`
    (or CuPy, JAX) takes it without a copy."""

    def __init__(self, native):
        self._native = native

    @property
    def shape(self):
        return tuple(self._native.shape)

    @property
    def dtype(self):
        return _DTYPE_OF[self._native.dtype]

    @property
    def ndim(self):
        return len(self._native.shape)

    def numpy(self):
        """A host copy (waits for the default stream)."""
        out = np.empty(self.shape, self.dtype)
        if out.size:
            self._native.copy(out.ctypes.data, True)
        return out

    def __dlpack__(self, stream=None, **kwargs):
        # The memory was written on the legacy default stream: a consumer on
        # that stream (None or 1) is ordered after it; for any other stream
        # the work is finished first.
        if stream not in (None, 1):
            _mixir.cuda_synchronize()
        return self._native.dlpack()

    def __dlpack_device__(self):
        return (_KDL_CUDA, 0)

    def __repr__(self):
        return f"<mixir DeviceArray {self.shape} {self.dtype} on cuda:0>"


def to_device(array):
    """A copy of the numpy array `array` in CUDA memory (a DeviceArray),
    for calls of target cuda modules that keep their data on the device.
    Raises ValueError without a CUDA driver or device."""
    a = np.require(array, requirements="C")
    name = _NAME_OF.get(a.dtype)
    if name is None:
        raise TypeError(f"to_device: unsupported dtype {a.dtype}")
    out = DeviceArray(_mixir.DeviceBuffer(name, list(a.shape)))
    if a.size:
        out._native.copy(a.ctypes.data, False)
    return out


def _from_dlpack(obj, fn, i):
    """A CPU DLPack tensor as a numpy array, without a copy."""
    try:
        return np.from_dlpack(obj)
    except (TypeError, ValueError, BufferError, RuntimeError) as e:
        raise TypeError(f"@{fn} argument {i}: cannot read the DLPack tensor "
                        f"{type(obj).__name__} on the CPU ({e})") from None


_compilers = {}
_compilers_lock = threading.Lock()


def _compiler(target, chunk_size, chip):
    """The compiler context for (target, chunk size, chip), created once."""
    key = (target, chunk_size, chip)
    with _compilers_lock:
        c = _compilers.get(key)
        if c is None:
            c = _mixir.Compiler(target, chunk_size, chip=chip)
            _compilers[key] = c
        return c


def load(path):
    """Loads an artifact written by `Module.save` or
    `mixir-compile --emit=artifact`. Raises ValueError naming the problem
    for a missing, corrupt, truncated or foreign file."""
    return Module(_mixir.load(str(path)))


def cuda_status():
    """(True, device description) or (False, one-line reason)."""
    return _mixir.cuda_status()


def _check_target(target):
    """The target called `target` (the compiler's names and message):
    ValueError for an unknown one, RuntimeError for cuda without a device."""
    if not isinstance(target, str):
        raise TypeError(f"target must be a str, got {type(target).__name__}")
    t = _mixir.parse_target(target)
    if t == _mixir.Target.cuda:
        ok, why = _mixir.cuda_status()
        if not ok:
            raise RuntimeError(f"target cuda: {why}")
    return t


def compile(source, target="cpu", chunk_size=None, chip=None):
    """Compiles MLIR text (mix ops and upstream dialects on tensors).

    `chunk_size` is the chunk length of the chunkwise-parallel lowering for
    the ops that have one (sequences shorter than a chunk take the recurrent
    form on the CPU): 0 or a power of two up to 128; 0 selects the recurrent
    form; None leaves it to the target (on the CPU a cost model chooses each
    op's form and chunk, attention takes blocks of 64; on CUDA chunks of 16,
    and the kernels run 16 to 64: another length is an error).
    Returns a Module whose public functions are callables over numpy arrays.
    Raises CompileError (a ValueError) with the first diagnostic, or with the
    rule an option breaks.

    target="cuda" compiles GPU kernels for `chip` (default: $MIXIR_CUDA_CHIP,
    else the device's, e.g. "sm_90") and runs them through the CUDA driver; functions still take
    and return numpy arrays (copied to and from the device on each call).
    Without a CUDA driver or device it raises RuntimeError with the reason
    in one line; CUDA failures during a call raise RuntimeError too. Every
    op runs in the chunked form, the one algorithm every target lowers,
    mapped onto thread blocks.
    """
    if not isinstance(source, str):
        raise TypeError(f"source must be a str of MLIR text, got "
                        f"{type(source).__name__}")
    _check_target(target)
    try:
        native = _compiler(target, chunk_size, chip).compile(source,
                                                             "<source>")
    except ValueError as e:
        raise CompileError(str(e)) from None
    return Module(native)


class _Cache:
    """Compiled modules by signature key; compiles each key once."""

    def __init__(self):
        self._lock = threading.Lock()
        self._modules = {}

    def get(self, key, make_source, chunk_size=None, target="cpu"):
        with self._lock:
            mod = self._modules.get(key)
            if mod is None:
                mod = compile(make_source(), target=target,
                              chunk_size=chunk_size)
                self._modules[key] = mod
            return mod

    def __len__(self):
        return len(self._modules)

    def clear(self):
        """Forgets every compiled module (here and in the compilers)."""
        with self._lock:
            self._modules.clear()
            with _compilers_lock:
                for c in _compilers.values():
                    c.clear()

    def stats(self):
        """Summed counters of the compiler contexts: compiles, memory_hits,
        disk_hits, disk_rejects."""
        totals = [0, 0, 0, 0]
        with _compilers_lock:
            for c in _compilers.values():
                totals = [a + b for a, b in zip(totals, c.stats())]
        return dict(zip(("compiles", "memory_hits", "disk_hits",
                         "disk_rejects"), totals))


cache = _Cache()
