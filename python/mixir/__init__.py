"""MixIR: a compiler for sequence mixers.

Functional ops over numpy arrays (compiled on first call per signature and
cached), `compile` for MLIR text, and an f64 reference of every op.
"""

from . import reference
from ._ops import attention, delta_rule, linear_attention, scan
from ._runtime import (CompileError, Function, Module, cache, compile,
                       cuda_status, load)

__all__ = ["linear_attention", "delta_rule", "attention", "scan", "compile",
           "CompileError", "Module", "Function", "reference", "cache",
           "cuda_status", "load"]
