#!/usr/bin/env bash
# The unit tests and a part of the Python tests against an ASan + UBSan build.
#
#   scripts/run_asan_tests.sh [BUILD_DIR]      (default build-asan)
#
# Configures BUILD_DIR once like `make build` configures build/, plus
# -DMIXIR_SANITIZE=ON: the runtime, the C API, the JIT glue, the Python
# extension and the unit tests are compiled with
# -fsanitize=address,undefined -fno-sanitize-recover=undefined (the rest comes
# from ccache, as build/ compiled it). Then runs scripts/run_tests.sh on it
# with two suites:
#   gtest   every CTest test (unittests/, examples/embed/), leak checks on
#   pytest  the Python tests of the runtime and the C API ($MIXIR_ASAN_PYTEST,
#           default below), in a python3 that preloads the ASan runtime
#           (the interpreter itself is not instrumented; leak checks off,
#           since CPython keeps objects until exit by design)
# Any sanitizer report aborts its process, which fails its test. The last line
# is run_tests.sh's "N passed, M failed[, K skipped]"; the exit status is
# non-zero when anything failed. Reports not in MixIR's own code are
# suppressed in scripts/sanitizer-suppressions/ (one reason per entry).
#
# Environment: PYTHON (interpreter, default python3), JOBS (build and CTest
# parallelism, default 2), MIXIR_ASAN_PYTEST (pytest arguments).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${1:-$ROOT/build-asan}
JOBS=${JOBS:-2}
PY=$(command -v "${PYTHON:-python3}")
PY=$("$PY" -c 'import sys; print(sys.executable)')
SUPP=$ROOT/scripts/sanitizer-suppressions
start=$(date +%s)

# The Python tests that exercise the runtime, the C API, artifacts, .npy
# files, the caches, threads and packed sequences (see README, "Sanitizer
# build"); the numerics suites run the same runtime calls on many more shapes.
PYTEST_ARGS=(test/python/test_api_errors.py test/python/test_artifact_damaged.py
  test/python/test_runtime_ctypes.py test/python/test_concurrency.py
  test/python/test_packed.py
  test/python/test_edge_cases.py test/python/test_select.py)
if [[ -n ${MIXIR_ASAN_PYTEST:-} ]]; then read -r -a PYTEST_ARGS <<<"$MIXIR_ASAN_PYTEST"; fi

if [[ ! -f $BUILD/build.ninja ]] ||
   ! grep -qE "^Python3_EXECUTABLE:[A-Z]+=$PY\$" "$BUILD/CMakeCache.txt"; then
  (set -x && CC=${CC:-cc} CXX=${CXX:-c++} cmake -G Ninja -S "$ROOT" -B "$BUILD" \
    -DCMAKE_BUILD_TYPE=Release -DMIXIR_SANITIZE=ON \
    -DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir \
    -DLLVM_EXTERNAL_LIT=/usr/lib/llvm-22/bin/lit \
    -DPython3_EXECUTABLE="$PY" >/dev/null)
fi
# The instrumented sources carry line tables (-g1); without NOHASHDIR ccache
# would key them by the build directory's absolute path.
CCACHE_NOHASHDIR=1 cmake --build "$BUILD" -j "$JOBS"
built=$(date +%s)

# ASan and UBSan stop at the first report and print a stack trace.
common="abort_on_error=0:halt_on_error=1:print_stacktrace=1"
export ASAN_OPTIONS="$common:detect_leaks=1:suppressions=$SUPP/asan.supp"
export LSAN_OPTIONS="suppressions=$SUPP/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="$common:suppressions=$SUPP/ubsan.supp"

# python3 with the ASan runtime preloaded (first in the library list, as ASan
# requires): a wrapper, since run_tests.sh runs "$PYTHON" -m pytest.
libasan=$(${CC:-cc} -print-file-name=libasan.so)
wrapper=$BUILD/python3-asan
cat >"$wrapper" <<EOF
#!/bin/sh
# Written by scripts/run_asan_tests.sh: $PY with the ASan runtime preloaded.
export LD_PRELOAD="$libasan\${LD_PRELOAD:+:\$LD_PRELOAD}"
export ASAN_OPTIONS="\$ASAN_OPTIONS:detect_leaks=0"
exec "$PY" "\$@"
EOF
chmod +x "$wrapper"

status=0
PYTHON=$wrapper JOBS=$JOBS MIXIR_TEST_SUITES="gtest pytest" \
  MIXIR_PYTEST_ARGS="${PYTEST_ARGS[*]}" \
  bash "$ROOT/scripts/run_tests.sh" "$BUILD" || status=$?
end=$(date +%s)
printf 'run_asan_tests: build %ds, tests %ds (ASan+UBSan, %s)\n' \
  $((built - start)) $((end - built)) "$BUILD"
exit "$status"
