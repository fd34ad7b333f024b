#!/bin/sh
# A front stage that fails with a traceback: the tool reports the last line.
echo "Traceback (most recent call last):" >&2
echo "  File \"stablehlo.py\", line 1" >&2
echo "mixir.stablehlo: $3: unsupported op 'chlo.top_k'" >&2
exit 1
