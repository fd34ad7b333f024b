"""MixIR: a compiler for sequence mixers.

Functional ops over numpy arrays (compiled on first call per signature and
cached), `compile` for MLIR text, and an f64 reference of every op.
`from_jax` / `import_stablehlo` import JAX functions and StableHLO programs
(they need jax and jaxlib, imported on first use).
"""

from ._version import __version__

try:
    from . import _mixir  # noqa: F401 - the compiler extension
except ImportError as e:  # a runtime-only copy (the GPU bundle)
    _MISSING = e
else:
    _MISSING = None
    from . import reference
    from ._ops import (attention, causal_conv1d, delta_rule,
                       linear_attention, recurrence, rnn, scan)
    from ._runtime import (CompileError, DeviceArray, Function, Module, cache,
                           compile, cuda_status, load, to_device)


def __getattr__(name):
    # Without the extension only mixir.runtime (ctypes, no compiler) works.
    if _MISSING is not None and name in __all__:
        raise ImportError(f"mixir.{name} needs the compiler extension "
                          f"mixir._mixir, which does not load ({_MISSING}); "
                          "mixir.runtime runs artifacts without it")
    # mixir.stablehlo is loaded on first use: `python3 -m mixir.stablehlo`
    # must not find it imported already, and jax stays optional.
    if name in ("from_jax", "import_stablehlo"):
        from . import stablehlo
        return getattr(stablehlo, name)
    raise AttributeError(f"module 'mixir' has no attribute '{name}'")

__all__ = ["__version__", "linear_attention", "delta_rule", "recurrence",
           "attention", "scan", "rnn", "causal_conv1d", "compile", "CompileError", "Module",
           "Function", "reference", "cache", "cuda_status", "load", "to_device",
           "DeviceArray", "from_jax",
           "import_stablehlo"]
