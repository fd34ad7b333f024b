"""Writes a damaged or foreign copy of a MixIR artifact (for the tests).

usage: patch_artifact.py IN OUT MODE, MODE one of
  flip      flip one payload byte (checksum no longer matches)
  truncate  drop the last 100 bytes
  version   format version 99, checksum recomputed
  arch      host arch field renamed (same length), checksum recomputed
  target    target field "cpu" -> "gpu", checksum recomputed
  elf       payload's ELF machine changed, checksum recomputed
The layout is in runtime/include/mixrt/Artifact.h. fnv1a64 and reseal are
also imported by test/python/test_artifact_damaged.py.
"""
import struct
import sys


def fnv1a64(data):
    h = 0xcbf29ce484222325
    for b in data:
        h = ((h ^ b) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h


def reseal(body):
    return body + struct.pack("<Q", fnv1a64(body))


def main():
    src, dst, mode = sys.argv[1:4]
    data = bytearray(open(src, "rb").read())
    assert data[:8] == b"MIXIRART", "not an artifact"
    unsealed = data[:-8]
    if mode == "flip":
        data[len(data) // 2] ^= 0x55
    elif mode == "truncate":
        data = data[:-100]
    elif mode == "version":
        unsealed[8:12] = struct.pack("<I", 99)
        data = reseal(unsealed)
    elif mode in ("arch", "target"):
        # body strings: compiler version, target, chip, arch, ...
        at = 24
        fields = []
        for _ in range(4):
            (n,) = struct.unpack_from("<I", unsealed, at)
            fields.append((at + 4, n))
            at += 4 + n
        start, n = fields[3] if mode == "arch" else fields[1]
        unsealed[start:start + n] = (b"qpu" if mode == "target" else b"z" * n)[:n]
        data = reseal(unsealed)
    elif mode == "elf":
        at = unsealed.find(b"\x7fELF")
        unsealed[at + 18:at + 20] = struct.pack("<H", 0xB7 if unsealed[at + 18] != 0xB7 else 0x3E)
        data = reseal(unsealed)
    else:
        sys.exit("unknown mode " + mode)
    open(dst, "wb").write(bytes(data))


if __name__ == "__main__":
    main()
