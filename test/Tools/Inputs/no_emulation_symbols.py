"""Runs nm -C and nm -DC on the Python extension (_mixir*.so in argv[1]) and
on mixir-import-onnx (in argv[2], when it was built) and fails naming any
symbol of the GPU emulator (release-has-no-emulation.test)."""
import glob
import os
import re
import subprocess
import sys

PATTERN = re.compile(r"mixEmu|GpuEmulat|EmulateGPU|Emulator")
files = glob.glob(os.path.join(sys.argv[1], "_mixir*.so"))
if not files:
    sys.exit(f"no _mixir*.so in {sys.argv[1]}")
files += glob.glob(os.path.join(sys.argv[2], "mixir-import-onnx"))
bad = []
for path in files:
    for flags in ("-C", "-DC"):
        out = subprocess.run(["nm", flags, path], capture_output=True,
                             text=True, check=True).stdout
        bad += [f"{path} (nm {flags}): {line}" for line in out.splitlines()
                if PATTERN.search(line)]
if bad:
    sys.exit("GPU emulator symbols in release files:\n" + "\n".join(bad))
print(f"checked {len(files)} files")
