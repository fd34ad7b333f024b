#!/usr/bin/env bash
# Checks that the C/C++ lines changed since the style was adopted (the commit
# that added .clang-format, LLVM style) are formatted as clang-format-22 from
# the LLVM 22 packages formats them:
#
#   scripts/check_format.sh           check; prints the diff clang-format wants
#   scripts/check_format.sh --fix     reformat those lines in the work tree
#
# BASE (a commit) overrides where "changed" starts. Last line
# "N passed, M failed" (1 passed when the changed lines are formatted).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 2
GCF=${GIT_CLANG_FORMAT:-git-clang-format-22}
fail() { echo "check_format: $*"; echo "0 passed, 1 failed"; exit 1; }
command -v "$GCF" >/dev/null 2>&1 ||
  fail "$GCF not found (scripts/setup.sh installs clang-format-22)"
base=${BASE:-$(git log --diff-filter=A --format=%H -- .clang-format | tail -n 1)}
[[ -n $base ]] || fail "no commit adds .clang-format (set BASE)"
args=(--binary clang-format-22 --extensions c,cpp,h,hpp "$base" --)
if [[ ${1:-} == --fix ]]; then
  "$GCF" "${args[@]}"
  exit 0
fi
out=$("$GCF" --diff "${args[@]}" 2>&1)
case $out in
  "" | "no modified files to format"* | "clang-format did not modify any files"*)
    echo "C/C++ lines changed since ${base:0:12} are formatted"
    echo "1 passed, 0 failed" ;;
  *)
    echo "$out"
    echo "check_format: the lines above are not formatted (scripts/check_format.sh --fix)"
    echo "0 passed, 1 failed"
    exit 1 ;;
esac
