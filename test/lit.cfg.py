# -*- Python -*-
# Main lit configuration for MixIR's regression tests. CMake generates
# build/test/lit.site.cfg.py (from lit.site.cfg.py.in), which sets the paths
# and then loads this file. Run with `lit -sv build/test`.
#
# Substitutions: mixir-opt, mixir-run, mixir-compile (from build/bin),
# FileCheck, not, count (from /usr/lib/llvm-22/bin), %python (the Python the
# build was configured with), %mixir_src (source root), %mixir_obj (build
# root), %mixir_python (build/python), %shlibext.
# Environment: PYTHONPATH=build/python, so `%python -c "import mixir"` works;
# CUDA_HOME when a CUDA toolkit is found.
# Features: `gpu` when `nvidia-smi -L` lists a GPU (override with
# `lit --param gpu=0|1`); `cuda-device` when the CUDA driver (libcuda.so.1,
# or $MIXIR_LIBCUDA_PATH) loads, initialises and counts at least one device
# (override with `lit --param cuda-device=0|1`); `cuda-toolkit` when ptxas
# is found. %fake_libcuda is the stand-in driver built for the unit tests
# (unittests/FakeCuda.cpp; failures through MIXIR_FAKE_CUDA_FAIL).
# %gpu_emulation_plugin is the test plugin with the GPU emulator
# (test/lib/GpuEmulation); MIXIR_TEST_PLUGIN names it, so target
# cuda-emulation works in every RUN line (mixir-run, mixir-opt's
# mixir-cuda-emulation-pipeline, Python).
# Tests under Integration/CUDA need a device (`cuda-device`): without one they
# are reported UNSUPPORTED (never run, never "passed").

import copy
import os
import shutil
import subprocess
import sys

import lit.formats
import lit.util
from lit.llvm import llvm_config

config.name = "MIXIR"

config.suffixes = [".mlir", ".test"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.mixir_obj_root, "test")

# test/python runs under pytest, not lit.
config.excludes = [
    "Inputs",
    "lib",
    "python",
    "CMakeLists.txt",
    "README.txt",
    "README.md",
    "lit.cfg.py",
    "lit.site.cfg.py",
]


# --- GPU / CUDA detection ------------------------------------------------------
def _detect_gpu():
    forced = lit_config.params.get("gpu")
    if forced is not None:
        return forced.lower() in ("1", "on", "true", "yes")
    smi = shutil.which("nvidia-smi")
    if not smi:
        return False
    try:
        r = subprocess.run(
            [smi, "-L"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            universal_newlines=True,
            timeout=60,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return r.returncode == 0 and "GPU" in r.stdout


def _detect_cuda_device():
    """Whether the CUDA driver sees a device, asked in a child process (a
    broken driver must not take lit down) with ctypes."""
    forced = lit_config.params.get("cuda-device")
    if forced is not None:
        return forced.lower() in ("1", "on", "true", "yes")
    probe = (
        "import ctypes, os, sys\n"
        "try:\n"
        "    lib = ctypes.CDLL(os.environ.get('MIXIR_LIBCUDA_PATH') or 'libcuda.so.1')\n"
        "except OSError:\n"
        "    sys.exit(1)\n"
        "n = ctypes.c_int(0)\n"
        "ok = lib.cuInit(0) == 0 and lib.cuDeviceGetCount(ctypes.byref(n)) == 0\n"
        "sys.exit(0 if ok and n.value > 0 else 1)\n"
    )
    try:
        r = subprocess.run(
            [sys.executable, "-c", probe],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=60,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return r.returncode == 0


def _detect_cuda_home():
    for var in ("CUDA_HOME", "CUDA_PATH", "CUDA_ROOT"):
        d = os.environ.get(var)
        if d and os.path.exists(os.path.join(d, "bin", "ptxas")):
            return d
    if os.path.exists("/usr/local/cuda/bin/ptxas"):
        return "/usr/local/cuda"
    ptxas = shutil.which("ptxas")
    if ptxas:
        return os.path.dirname(os.path.dirname(os.path.realpath(ptxas)))
    return None


config.mixir_has_gpu = _detect_gpu()
if config.mixir_has_gpu:
    config.available_features.add("gpu")

config.mixir_has_cuda_device = _detect_cuda_device()
if config.mixir_has_cuda_device:
    config.available_features.add("cuda-device")

config.mixir_cuda_home = _detect_cuda_home()

# Tests that build ONNX models need the importer (protobuf) and the onnx
# Python package.
if os.path.exists(os.path.join(config.mixir_tools_dir, "mixir-import-onnx")):
    config.available_features.add("onnx-importer")
if config.mixir_cuda_home:
    config.available_features.add("cuda-toolkit")


# --- test format -----------------------------------------------------------------
class MixIRShTest(lit.formats.ShTest):
    """ShTest that reports tests under Integration/CUDA as UNSUPPORTED when no
    GPU is present. The decision is made at discovery time (in this process):
    lit pickles the format to its worker processes, where a class defined in
    this file cannot be imported, so pickling yields a plain ShTest, and
    copying (lit deep-copies configs for lit.local.cfg) keeps this object."""

    def __init__(self, execute_external, has_gpu):
        super().__init__(execute_external)
        self.has_gpu = has_gpu

    def __reduce__(self):
        return (
            lit.formats.ShTest,
            (self.execute_external, self.extra_substitutions, self.preamble_commands),
        )

    def __deepcopy__(self, memo):
        return self

    def getTestsInDirectory(self, testSuite, path_in_suite, litConfig, localConfig):
        tests = super().getTestsInDirectory(
            testSuite, path_in_suite, litConfig, localConfig
        )
        if self.has_gpu or tuple(path_in_suite[:2]) != ("Integration", "CUDA"):
            yield from tests
            return
        unsupported = copy.copy(localConfig)
        unsupported.unsupported = True
        for test in tests:
            test.config = unsupported
            yield test


# RUN lines always run in lit's internal shell (pipes, &&, ||, redirections,
# `not`, `env`; no $(...) or subshells): lit 23+ rejects the external one.
# (A device the CUDA driver can use, not only one nvidia-smi lists.)
config.test_format = MixIRShTest(False, config.mixir_has_cuda_device)

# --- environment -----------------------------------------------------------------
llvm_config.with_system_environment(
    ["HOME", "INCLUDE", "LIB", "TMP", "TEMP", "CUDA_VISIBLE_DEVICES", "OMP_NUM_THREADS",
     "MIXIR_LIBCUDA_PATH"]
)
if config.mixir_cuda_home:
    config.environment["CUDA_HOME"] = config.mixir_cuda_home
    llvm_config.with_environment(
        "PATH", os.path.join(config.mixir_cuda_home, "bin"), append_path=True
    )
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)
llvm_config.with_environment("PATH", config.mixir_tools_dir, append_path=True)
llvm_config.with_environment("PYTHONPATH", config.mixir_python_dir, append_path=True)

# --- substitutions ---------------------------------------------------------------
llvm_config.use_default_substitutions()
# use_default_substitutions() maps %python to the interpreter running lit
# (Debian's lit runs /usr/bin/python3); use the configured one instead, which
# the mixir extension was built for and which has numpy.
config.substitutions = [s for s in config.substitutions if s[0] != "%python"]
config.substitutions.append(("%python", '"%s"' % config.python_executable))
config.substitutions.append(("%mixir_src", config.mixir_src_root))
config.substitutions.append(("%mixir_obj", config.mixir_obj_root))
config.substitutions.append(("%mixir_python", config.mixir_python_dir))
config.substitutions.append(("%shlibext", config.llvm_shlib_ext))
config.substitutions.append(
    ("%fake_libcuda",
     os.path.join(config.mixir_libs_dir, "libmixir-fake-cuda" + config.llvm_shlib_ext)))
config.substitutions.append(("%PATH%", config.environment["PATH"]))
config.mixir_gpu_emulation_plugin = os.path.join(
    config.mixir_libs_dir, "libmixir-gpu-emulation" + config.llvm_shlib_ext)
config.substitutions.append(("%gpu_emulation_plugin",
                             config.mixir_gpu_emulation_plugin))
config.environment["MIXIR_TEST_PLUGIN"] = config.mixir_gpu_emulation_plugin

tool_dirs = [config.mixir_tools_dir, config.llvm_tools_dir]
tools = ["mixir-opt", "mixir-run", "mixir-compile", "mixir-import-onnx",
         "mixir-import-stablehlo"]
llvm_config.add_tool_substitutions(tools, tool_dirs)
