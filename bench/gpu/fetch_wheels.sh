#!/usr/bin/env bash
# Downloads the wheels bench/gpu/run.py needs on the GPU machine (which has no
# network) into BUILD_DIR/wheels, from the default Python package index:
#
#   bash bench/gpu/fetch_wheels.sh [BUILD_DIR]      (default: <repo>/build)
#
# fla-core (fla's Triton kernels, the speed reference) and einops (fla needs
# it). Nothing of either is committed to the repository.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
OUT=${1:-$ROOT/build}/wheels
mkdir -p "$OUT"
"${PYTHON:-python3}" -m pip download -q --no-deps -d "$OUT" fla-core==0.6.0 einops==0.8.2
ls "$OUT"
