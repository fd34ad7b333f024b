#!/usr/bin/env bash
# The GPU checks in one call, for a machine with a GPU and a build carried
# from the build machine (nothing is built or downloaded here):
#
#   bash bench/gpu/device_check.sh [BUILD_DIR]      (default: <repo>/build)
#
#   1. the lit suite test/Integration/CUDA (numerics against the f64
#      reference), at most LIT_TIMEOUT seconds (default 200);
#   2. bench/gpu/run.py (the MixIR / fla / SDPA table), at most
#      BENCH_TIMEOUT seconds (default 290; its own budget 20 s less).
# Both always run; the whole stays under 9 minutes. Exit status: 0 when the
# suite passed and the table was printed, 1 otherwise. Without a GPU it says
# so in one line and exits 1 at once.
#
# The build may have been configured elsewhere: the lit site config is
# pointed at this checkout, this build and an existing Python (CMakeCache
# holds the old paths) before lit runs.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=$(cd "${1:-$ROOT/build}" 2>/dev/null && pwd) || {
  echo "device_check: no build directory '${1:-$ROOT/build}'"
  exit 1
}
LIT_TIMEOUT=${LIT_TIMEOUT:-200}
BENCH_TIMEOUT=${BENCH_TIMEOUT:-290}
START=$SECONDS

# --- a GPU? (the driver, asked directly; fast) ---------------------------------
PY=""
CONFIGURED_PY=$(sed -n 's/^Python3_EXECUTABLE:[A-Z]*=//p' "$BUILD/CMakeCache.txt" 2>/dev/null | head -n1)
for p in "$CONFIGURED_PY" "$(command -v python3 || true)"; do
  if [[ -n $p && -x $p ]]; then PY=$p; break; fi
done
if [[ -z $PY ]]; then
  echo "device_check: no python3"
  exit 1
fi
if ! WHY=$("$PY" - <<'EOF'
import ctypes, os, sys
path = os.environ.get("MIXIR_LIBCUDA_PATH") or "libcuda.so.1"
try:
    lib = ctypes.CDLL(path)
except OSError as e:
    print(f"no CUDA driver ({e})"); sys.exit(1)
n = ctypes.c_int(0)
r = lib.cuInit(0)
if r != 0:
    print(f"cuInit failed with CUresult {r}"); sys.exit(1)
if lib.cuDeviceGetCount(ctypes.byref(n)) != 0 or n.value <= 0:
    print("no CUDA device"); sys.exit(1)
EOF
); then
  echo "device_check: no GPU: $WHY"
  exit 1
fi

echo "=== device_check: $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null | head -n1)"
echo "build: $BUILD, python: $PY"
STATUS=0

# --- the build must load here -------------------------------------------------
if ! PYTHONPATH="$BUILD/python" "$PY" -c "import mixir; ok, why = mixir.cuda_status(); print('mixir: CUDA', why); assert ok" 2>&1 | tail -n 3; then
  echo "device_check: the carried build's Python extension does not load or sees no device (above)"
  STATUS=1
fi

# --- 1. the integration suite ----------------------------------------------------
LIT=${LIT:-}
if [[ -z $LIT ]]; then
  if [[ -x /usr/lib/llvm-22/bin/lit ]]; then LIT=/usr/lib/llvm-22/bin/lit
  elif command -v lit >/dev/null 2>&1; then LIT=$(command -v lit)
  elif "$PY" -c "import lit" 2>/dev/null; then LIT="$PY -m lit"
  fi
fi
SITE=$BUILD/test/lit.site.cfg.py
if [[ -z $LIT ]]; then
  echo "device_check: no lit (set LIT=...); integration suite not run"
  STATUS=1
elif [[ ! -f $SITE ]]; then
  echo "device_check: $SITE missing; integration suite not run"
  STATUS=1
else
  OLD_SRC=$(sed -n 's/^CMAKE_HOME_DIRECTORY:INTERNAL=//p' "$BUILD/CMakeCache.txt" | head -n1)
  OLD_BUILD=$(sed -n 's/^CMAKE_CACHEFILE_DIR:INTERNAL=//p' "$BUILD/CMakeCache.txt" | head -n1)
  cp "$SITE" "$SITE.orig" 2>/dev/null || true
  # Longest path first: the build usually lives inside the source tree.
  [[ -n $OLD_BUILD && $OLD_BUILD != "$BUILD" ]] && sed -i "s|$OLD_BUILD|$BUILD|g" "$SITE"
  [[ -n $OLD_SRC && $OLD_SRC != "$ROOT" ]] && sed -i "s|$OLD_SRC|$ROOT|g" "$SITE"
  [[ -n $CONFIGURED_PY && $CONFIGURED_PY != "$PY" ]] && sed -i "s|$CONFIGURED_PY|$PY|g" "$SITE"
  echo
  echo "=== 1. lit test/Integration/CUDA (timeout ${LIT_TIMEOUT}s)"
  # shellcheck disable=SC2086 # LIT may be "python -m lit"
  timeout "$LIT_TIMEOUT" $LIT -sv "$BUILD/test" --filter 'Integration/' 2>&1 | tail -n 60
  RC=${PIPESTATUS[0]}
  if ((RC == 124)); then echo "device_check: lit timed out after ${LIT_TIMEOUT}s"; fi
  ((RC != 0)) && STATUS=1
fi

# --- 2. the benchmark table --------------------------------------------------------
LEFT=$((530 - (SECONDS - START)))
((LEFT < BENCH_TIMEOUT)) && BENCH_TIMEOUT=$LEFT
if ((BENCH_TIMEOUT < 30)); then
  echo "device_check: no time left for bench/gpu/run.py"
  STATUS=1
else
  echo
  echo "=== 2. bench/gpu/run.py (timeout ${BENCH_TIMEOUT}s)"
  timeout "$BENCH_TIMEOUT" "$PY" "$ROOT/bench/gpu/run.py" --build "$BUILD" \
    --budget $((BENCH_TIMEOUT - 20))
  RC=$?
  if ((RC == 124)); then echo "device_check: bench/gpu/run.py timed out after ${BENCH_TIMEOUT}s"; fi
  ((RC != 0)) && STATUS=1
fi
echo
echo "=== device_check: $((SECONDS - START)) s, status $STATUS"
exit $STATUS
