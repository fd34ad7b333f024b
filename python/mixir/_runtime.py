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
    """MLIR spelling of a numpy dtype ("f32", "bf16"), or None."""
    return _NAME_OF.get(np.dtype(dtype))


class Function:
    """A compiled function: call it with numpy arrays, in argument order."""

    def __init__(self, module, name, args, results):
        self._module = module
        self.name = name
        self.arg_types = args        # [(dtype name, shape with -1 dynamic)]
        self.result_types = results

    def __call__(self, *arrays):
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


def _from_dlpack(obj, fn, i):
    """A CPU DLPack tensor as a numpy array, without a copy."""
    try:
        return np.from_dlpack(obj)
    except (TypeError, ValueError, BufferError, RuntimeError) as e:
        raise TypeError(f"@{fn} argument {i}: cannot read the DLPack tensor "
                        f"{type(obj).__name__} on the CPU ({e})") from None


_compilers = {}
_compilers_lock = threading.Lock()


def _compiler(target, chunk_size, chip, gpu_kernels=None):
    """The compiler context for (target, chunk size, chip, GPU kernels),
    created once."""
    key = (target, chunk_size, chip, gpu_kernels)
    with _compilers_lock:
        c = _compilers.get(key)
        if c is None:
            c = _mixir.Compiler(target, chunk_size, chip=chip,
                                gpu_kernels=gpu_kernels)
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


def compile(source, target="cpu", chunk_size=None, chip=None,
            gpu_kernels=None):
    """Compiles MLIR text (mix ops and upstream dialects on tensors).

    `chunk_size` is the chunk length of the chunkwise-parallel lowering for
    the ops that have one (sequences shorter than a chunk take the recurrent
    form): 0 or a power of two up to 128; 0 selects the recurrent form; None
    leaves it to the target (on the CPU a cost model chooses each op's form
    and chunk, attention takes blocks of 64; on CUDA each kernel takes the
    largest chunk that fits, and an explicit one it cannot run is an error).
    Returns a Module whose public functions are callables over numpy arrays.
    Raises CompileError (a ValueError) with the first diagnostic, or with the
    rule an option breaks.

    target="cuda" compiles GPU kernels for `chip` (default: $MIXIR_CUDA_CHIP,
    else the device's, e.g. "sm_90") and runs them through the CUDA driver; functions still take
    and return numpy arrays (copied to and from the device on each call).
    Without a CUDA driver or device it raises RuntimeError with the reason
    in one line; CUDA failures during a call raise RuntimeError too.

    `gpu_kernels` (target cuda): "tuned" (None, the default) takes the
    hand-scheduled kernels for the ops that have one and the chunked form
    for the rest; "chunked" runs every op in the chunked form, the one
    algorithm every target lowers, mapped onto thread blocks.
    """
    if not isinstance(source, str):
        raise TypeError(f"source must be a str of MLIR text, got "
                        f"{type(source).__name__}")
    _check_target(target)
    try:
        native = _compiler(target, chunk_size, chip,
                           gpu_kernels).compile(source, "<source>")
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
