#!/bin/sh
# A front stage that checks its arguments and the PYTHONPATH the tool sets,
# then writes a fixed flat-form module.
[ "$1" = "-m" ] && [ "$2" = "mixir.stablehlo" ] && [ "$4" = "-o" ] || { echo "bad arguments: $*" >&2; exit 2; }
case "$PYTHONPATH" in */python*) ;; *) echo "PYTHONPATH lacks the build tree: $PYTHONPATH" >&2; exit 2;; esac
cp "$(dirname "$0")/exp.flat" "$5"
