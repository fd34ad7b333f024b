#!/usr/bin/env bash
# Builds the libFuzzer targets of test/fuzz in their own build directory
# (clang-22, -DMIXIR_FUZZ=ON: ASan + UBSan + fuzzer coverage) and runs each
# for SECONDS over its seed corpus.
#
#   scripts/run_fuzzers.sh SECONDS [TARGET...]
#
# TARGET is npy, artifact, mlir, onnx or stablehlo (default: all;
# test/fuzz/TARGET.dict, where there is one, is its dictionary); only those
# targets and what they link are built. New inputs go to a scratch
# corpus ($MIXIR_FUZZ_WORK, default build-fuzz/corpus/TARGET), not to the
# committed seeds; crash, leak and timeout inputs are written to
# build-fuzz/findings/TARGET/. The exit status is non-zero when a target
# finds anything. MIXIR_FUZZ_BUILD overrides the build directory and
# MIXIR_FUZZ_JOBS the build's parallelism (default 2); PYTHON the interpreter
# the configure step asks for nanobind (default python3; `make`'s PYTHON).
set -euo pipefail

if [[ $# -lt 1 || ! $1 =~ ^[0-9]+$ ]]; then
  echo "usage: $0 SECONDS [npy|artifact|mlir|onnx|stablehlo ...]" >&2
  exit 2
fi
seconds=$1
shift
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=(npy artifact mlir onnx stablehlo)

repo=$(cd "$(dirname "$0")/.." && pwd)
build=${MIXIR_FUZZ_BUILD:-$repo/build-fuzz}
llvm=/usr/lib/llvm-22
if [[ ! -f $build/build.ninja ]]; then
  CC=${CC_FUZZ:-clang-22} CXX=${CXX_FUZZ:-clang++-22} cmake -G Ninja \
    -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DMIXIR_FUZZ=ON -DMIXIR_BUILD_TESTS=OFF \
    -DPython3_EXECUTABLE="$(command -v "${PYTHON:-python3}")" \
    -DMLIR_DIR=$llvm/lib/cmake/mlir >/dev/null
fi
ninja_targets=()
for t in "${targets[@]}"; do
  [[ -d $repo/test/fuzz/corpus/$t ]] || {
    echo "$0: unknown fuzz target '$t' (no test/fuzz/corpus/$t)" >&2
    exit 2
  }
  ninja_targets+=("mixir-fuzz-$t")
done
# Only the targets asked for and what they link, not the whole tree.
ninja -C "$build" -j "${MIXIR_FUZZ_JOBS:-2}" "${ninja_targets[@]}"

status=0
for t in "${targets[@]}"; do
  work=${MIXIR_FUZZ_WORK:-$build/corpus}/$t
  findings=$build/findings/$t
  mkdir -p "$work" "$findings"
  dict=()
  [[ -f $repo/test/fuzz/$t.dict ]] && dict=(-dict="$repo/test/fuzz/$t.dict")
  echo "== mixir-fuzz-$t: $seconds s"
  if ! "$build/bin/mixir-fuzz-$t" -max_total_time="$seconds" -timeout=10 \
      "${dict[@]}" \
      -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$findings/" "$work" "$repo/test/fuzz/corpus/$t"; then
    echo "mixir-fuzz-$t found a failure: see $findings" >&2
    status=1
  fi
done
exit $status
