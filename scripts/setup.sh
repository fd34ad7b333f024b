#!/usr/bin/env bash
# Installs what MixIR needs on Debian 12 (bookworm), from Debian's apt and the
# default Python package index only (no other index, no URL).
#
#   scripts/setup.sh           what building and running MixIR needs (make run)
#   scripts/setup.sh --tests   that, plus what the test suites need (make test):
#                              lit, pytest, onnx, onnxruntime, jax, torch and
#                              NVIDIA's binary CUDA tools (ptxas, cuobjdump)
#
# Idempotent and non-interactive: every package is checked first (dpkg for apt
# packages, importlib for Python packages), so a second run installs nothing
# and takes about a second. `apt-get update` only runs when an apt package is
# missing. Prints one line per thing it installs.
#
# Python packages go into the default `python3` on PATH (override with
# PYTHON=/path/to/python3). That can be a pyenv/venv interpreter or Debian's
# /usr/bin/python3; for the latter python3-pip and python3-dev come from apt
# and pip gets --break-system-packages (PEP 668) when it needs it.
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive
export PIP_ROOT_USER_ACTION=ignore
export PIP_DISABLE_PIP_VERSION_CHECK=1

APT_PACKAGES=(
  libmlir-22-dev mlir-22-tools llvm-22-dev llvm-22-tools clang-22 libomp-22-dev
  ccache ninja-build cmake make libgtest-dev g++ python3 python3-venv pkg-config
  clang-format-22
  libprotobuf-dev protobuf-compiler libonnx-dev
)
# The fuzz targets (scripts/run_fuzzers.sh, run by CI) also need clang's
# sanitizer and libFuzzer runtimes.
TEST_APT_PACKAGES=(libclang-rt-22-dev)
# Python packages: "import-name:pip-name". jax/jaxlib (pinned: the StableHLO
# front stage relies on jaxlib's MLIR bindings) for the StableHLO importer;
# flax (pinned to a release that keeps that jax) for the Flax NNX attention
# import test.
# numpy, ml_dtypes and nanobind build and run MixIR; the rest only the tests.
PIP_PACKAGES=(numpy:numpy ml_dtypes:ml_dtypes nanobind:nanobind)
TEST_PIP_PACKAGES=(lit:lit pytest:pytest onnx:onnx onnxruntime:onnxruntime
                   jax:jax==0.10.2 jaxlib:jaxlib==0.10.2
                   torch:torch transformers:transformers onnxscript:onnxscript
                   flax:flax==0.12.8)
# torch (the tests that export ONNX through torch.onnx) comes from the default
# index like everything else: its wheel there is the CUDA build, which also
# runs on a machine without a GPU.

WITH_TESTS=0
for arg in "$@"; do
  case $arg in
    --tests) WITH_TESTS=1 ;;
    -h | --help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "setup: error: unknown argument '$arg' (see --help)" >&2; exit 2 ;;
  esac
done
if ((WITH_TESTS)); then PIP_PACKAGES+=("${TEST_PIP_PACKAGES[@]}"); fi

log() { echo "setup: $*"; }
die() { echo "setup: error: $*" >&2; exit 1; }

SUDO=()
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=(sudo -E); fi
fi

apt_installed() {
  [[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) == "install ok installed" ]]
}

APT_UPDATED=0
apt_install() {  # apt_install PKG... (only missing ones are passed in)
  (($# == 0)) && return 0
  if [[ $(id -u) -ne 0 && ${#SUDO[@]} -eq 0 ]]; then
    die "need root (or sudo) to install: $*"
  fi
  local logf
  logf=$(mktemp)
  if ((APT_UPDATED == 0)); then
    if ! "${SUDO[@]}" apt-get update -qq >"$logf" 2>&1; then
      cat "$logf" >&2; rm -f "$logf"; die "apt-get update failed"
    fi
    APT_UPDATED=1
  fi
  if ! "${SUDO[@]}" apt-get install -y -qq "$@" >"$logf" 2>&1; then
    cat "$logf" >&2; rm -f "$logf"; die "apt-get install failed: $*"
  fi
  rm -f "$logf"
  local p
  for p in "$@"; do log "installed apt package $p"; done
}

installed_something=0

# --- 1. apt packages ----------------------------------------------------------
if ((WITH_TESTS)); then APT_PACKAGES+=("${TEST_APT_PACKAGES[@]}"); fi
missing=()
for p in "${APT_PACKAGES[@]}"; do
  apt_installed "$p" || missing+=("$p")
done
if ((${#missing[@]})); then
  apt_install "${missing[@]}"
  installed_something=1
fi

# --- 2. the Python interpreter: pip and headers --------------------------------
PY=${PYTHON:-python3}
command -v "$PY" >/dev/null 2>&1 || die "no '$PY' on PATH"

# One interpreter call gathers everything (keeps the no-op run fast):
# is-Debian's-python, has-pip, has-Python.h, externally-managed, missing modules.
py_probe() {
  "$PY" - "${PIP_PACKAGES[@]}" <<'EOF'
import importlib.util, os, sys, sysconfig
debian = sys.base_prefix == "/usr"  # Debian's python3, or a venv made from it
has_pip = importlib.util.find_spec("pip") is not None
inc = sysconfig.get_path("include") or ""
has_h = os.path.exists(os.path.join(inc, "Python.h"))
managed = (sys.prefix == sys.base_prefix and os.path.exists(
    os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED")))
missing = [a.split(":", 1)[1] for a in sys.argv[1:]
           if importlib.util.find_spec(a.split(":", 1)[0]) is None]
system = sys.prefix == "/usr"  # Debian's own interpreter, not a venv
print(int(debian), int(system), int(has_pip), int(has_h), int(managed), " ".join(missing))
EOF
}

probe() {
  local out
  out=$(py_probe) || die "could not run '$PY'"
  read -r IS_DEBIAN IS_SYSTEM HAS_PIP HAS_PYH MANAGED PIP_MISSING <<<"$out" || true
}
probe

py_apt=()
if [[ $HAS_PIP == 0 ]]; then
  if [[ $IS_SYSTEM == 1 ]]; then
    apt_installed python3-pip || py_apt+=(python3-pip)
  else
    "$PY" -m ensurepip --upgrade >/dev/null 2>&1 ||
      die "'$PY' has no pip and ensurepip failed; install pip for it"
    log "installed pip (ensurepip) for $PY"
    installed_something=1
  fi
fi
if [[ $HAS_PYH == 0 ]]; then
  if [[ $IS_DEBIAN == 1 ]]; then
    apt_installed python3-dev || py_apt+=(python3-dev)
  else
    echo "setup: warning: no Python.h for '$PY'; the Python extension will not build" >&2
  fi
fi
if ((${#py_apt[@]})); then
  apt_install "${py_apt[@]}"
  installed_something=1
  probe
fi

# --- 3. pip packages -----------------------------------------------------------
# CUDA's binary tools for the PTX/SASS checks (no GPU needed): ptxas comes
# with the toolkit in /usr/local/cuda; where it or cuobjdump/nvdisasm are
# missing, NVIDIA's pip wheels provide them (found by scripts/ptx_report.py).
if ((WITH_TESTS)); then
  for tool in ptxas:nvidia-cuda-nvcc cuobjdump:nvidia-cuda-cuobjdump nvdisasm:nvidia-cuda-nvdisasm; do
    if ! "$PY" "$(dirname "${BASH_SOURCE[0]}")/ptx_report.py" --find "${tool%%:*}" >/dev/null 2>&1; then
      PIP_MISSING="${PIP_MISSING:-} ${tool#*:}"
    fi
  done
fi
PIP_MISSING="${PIP_MISSING# }"
if [[ -n ${PIP_MISSING:-} ]]; then
  read -r -a pip_pkgs <<<"$PIP_MISSING"
  pip_flags=(-q)
  if [[ $MANAGED == 1 ]] && "$PY" -m pip install --help 2>/dev/null | grep -q -- '--break-system-packages'; then
    pip_flags+=(--break-system-packages)
  fi
  if [[ $(id -u) -ne 0 && $IS_SYSTEM == 1 ]]; then
    pip_flags+=(--user)
  fi
  logf=$(mktemp)
  if ! "$PY" -m pip install "${pip_flags[@]}" "${pip_pkgs[@]}" >"$logf" 2>&1; then
    cat "$logf" >&2; rm -f "$logf"; die "pip install failed: ${pip_pkgs[*]}"
  fi
  rm -f "$logf"
  # pyenv puts console scripts (lit, pytest) behind shims that need a rehash.
  if command -v pyenv >/dev/null 2>&1; then pyenv rehash >/dev/null 2>&1 || true; fi
  for p in "${pip_pkgs[@]}"; do log "installed pip package $p"; done
  installed_something=1
fi

if ((installed_something == 0)); then
  log "nothing to install"
fi
