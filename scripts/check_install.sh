#!/usr/bin/env bash
# Checks that MixIR installs like a library, from clean folders outside the
# source tree:
#
#   scripts/check_install.sh BUILD_DIR
#
#   cmake-install   cmake --install BUILD_DIR into a fresh prefix
#   find-package    test/install/ (a separate CMake project) finds that prefix
#                   with find_package(MixIR), links MixIR::runtime and
#                   MixIR::compiler, and runs both programs; the runtime-only
#                   one links no LLVM/MLIR
#   pkg-config      a runtime program built with `pkg-config mixir-runtime`
#   pip-install     `pip install` of a copy of the tree into a fresh venv:
#                   import mixir, a mixer call checked against numpy,
#                   mixir.__version__ == the version `mixir-opt --version`
#                   prints, and find_package(MixIR) through the package
#
# Prints "PASS: name" or "FAIL: name" per check, then "N passed, M failed".
# PYTHON (default python3) makes the venv; the venv is made without system
# site packages, so `pip install` must bring numpy and ml_dtypes itself.
set -uo pipefail

if [[ $# -ne 1 || ! -d $1 ]]; then
  echo "usage: $0 BUILD_DIR" >&2
  exit 2
fi
BUILD=$(cd "$1" && pwd)
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PY=${PYTHON:-python3}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/mixir-install.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
PASSED=0 FAILED=0

# check NAME CMD...: runs CMD with its output in $WORK/NAME.log, shown on failure.
check() {
  local name=$1
  shift
  if "$@" >"$WORK/$name.log" 2>&1; then
    echo "PASS: $name"
    PASSED=$((PASSED + 1))
  else
    echo "FAIL: $name"
    sed 's/^/    /' "$WORK/$name.log" | tail -n 40
    FAILED=$((FAILED + 1))
  fi
}

# consumer PREFIX_PATH OUT: configures, builds and runs test/install.
consumer() {
  local prefix_path=$1 out=$2
  cmake -G Ninja -S "$ROOT/test/install" -B "$out" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_PREFIX_PATH="$prefix_path" &&
    cmake --build "$out" &&
    "$3" "$ROOT/test/Tools/Inputs/scan.mlir" --emit=artifact -o "$out/scan.mixir" &&
    "$out/run_artifact" "$out/scan.mixir" &&
    "$out/jit_gated_deltanet" 2 50 &&
    if ldd "$out/run_artifact" | grep -E 'libMLIR|libLLVM|libmixir[.]so'; then
      echo "run_artifact links LLVM/MLIR or the compiler"; false
    fi
}

PREFIX=$WORK/prefix
check cmake-install cmake --install "$BUILD" --prefix "$PREFIX"
check find-package consumer "$PREFIX" "$WORK/consumer" "$PREFIX/bin/mixir-compile"

pkgconfig_app() {
  local cflags libs
  cflags=$(PKG_CONFIG_PATH=$PREFIX/lib/pkgconfig pkg-config --cflags mixir-runtime) &&
    libs=$(PKG_CONFIG_PATH=$PREFIX/lib/pkgconfig pkg-config --libs mixir-runtime) &&
    # shellcheck disable=SC2086
    g++ -std=c++17 -O1 "$ROOT/examples/embed/run_artifact.cpp" $cflags $libs \
      -Wl,-rpath,"$PREFIX/lib" -o "$WORK/pc_run_artifact" &&
    "$PREFIX/bin/mixir-compile" "$ROOT/test/Tools/Inputs/scan.mlir" --emit=artifact \
      -o "$WORK/pc_scan.mixir" &&
    "$WORK/pc_run_artifact" "$WORK/pc_scan.mixir"
}
check pkg-config pkgconfig_app

pip_install() {
  local src=$WORK/src venv=$WORK/venv site version opt_version
  # Only what pip installed: not a build tree that make test puts on PYTHONPATH.
  unset PYTHONPATH
  # A copy of the working tree (tracked and untracked-but-not-ignored files).
  mkdir -p "$src" &&
    (cd "$ROOT" && git ls-files -co --exclude-standard -z | xargs -0 tar cf -) |
    (cd "$src" && tar xf -) &&
    "$PY" -m venv "$venv" &&
    # The compilers `make build` configures with (ccache keys on their names).
    CC=${CC:-cc} CXX=${CXX:-c++} "$venv/bin/python3" -m pip install -q "$src" &&
    cd "$WORK" &&
    version=$("$venv/bin/python3" -c 'import mixir; print(mixir.__version__)') &&
    opt_version=$("$venv/bin/mixir-opt" --version) &&
    echo "mixir.__version__ = $version; mixir-opt --version: $opt_version" &&
    [[ $opt_version == "mixir-opt $version "* ]] &&
    "$venv/bin/python3" - <<'PYEOF' &&
import numpy as np
import mixir
rng = np.random.default_rng(0)
x = rng.standard_normal((2, 37, 5)).astype(np.float32)
g = -rng.uniform(0.01, 0.5, (2, 37, 5)).astype(np.float32)
o, h = mixir.scan(x, g)
ref = np.zeros((2, 5))
for t in range(37):
    ref = np.exp(g[:, t].astype(np.float64)) * ref + x[:, t]
    assert np.allclose(o[:, t], ref, rtol=1e-5, atol=1e-5), t
assert np.allclose(h, ref, rtol=1e-5, atol=1e-5)
print("mixir.scan from the installed package matches numpy")
PYEOF
    site=$("$venv/bin/python3" -c 'import mixir, os; print(os.path.dirname(mixir.__file__))') &&
    echo "mixir imported from $site" &&
    [[ $site == "$venv"/* ]] &&
    consumer "$site" "$WORK/pip-consumer" "$venv/bin/mixir-compile"
}
check pip-install pip_install

echo "$PASSED passed, $FAILED failed"
((FAILED == 0))
