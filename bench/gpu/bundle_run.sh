#!/usr/bin/env bash
# The GPU bundle's entry point (bench/gpu/make_bundle.py copies this file to
# build/gpu-bundle/run.sh). On a machine with a GPU, the CUDA driver, Python
# >= 3.10, numpy and torch (no LLVM, no compiler, no network needed):
#
#   bash run.sh                 numerics, benchmark table, zero-copy torch
#                               call and CUDA graph; at most 8 minutes
#   bash run.sh --fake-driver   the same harness against the stand-in driver
#                               in lib/ (no GPU needed; no numerics)
#
# The last line printed is the summary; the exit status is 0 when it says
# PASS. PYTHON picks the interpreter (default python3); BUDGET the seconds
# for the GPU checks (default 420).
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PY=${PYTHON:-python3}
export MIXIR_RUNTIME_LIB="$HERE/lib/libmixir_runtime.so"
export PYTHONDONTWRITEBYTECODE=1
if [[ ${1:-} == --fake-driver ]]; then
  export MIXIR_LIBCUDA_PATH="$HERE/lib/libmixir-fake-cuda.so"
  export MIXIR_FAKE_CUDA_CC=12.0 # loads the PTX, whose parameters it reads
  exec timeout 300 "$PY" "$HERE/harness.py" --fake-driver
fi
timeout 470 "$PY" "$HERE/harness.py" --budget "${BUDGET:-420}"
RC=$?
if ((RC == 124)); then
  echo "SUMMARY: FAIL the harness ran past 470 s and was stopped"
fi
exit $RC
