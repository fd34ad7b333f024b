"""Writes the seed corpora of the fuzz targets (corpus/npy, corpus/artifact,
corpus/mlir, corpus/stablehlo, corpus/onnx).

    PYTHONPATH=build/python python3 test/fuzz/make_corpus.py [ARTIFACT]

ARTIFACT, when given, is an artifact written by mixir-compile
--emit=artifact; its header and signatures seed the artifact corpus with the
payload cut down to an ELF header (the seeds stay small). The other seeds
are written from scratch in the artifact format (runtime/include/mixrt/
Artifact.h) and with numpy; the importers' seeds come from their tests
(importer_seeds.py; the ONNX models need the onnx and mixir packages, and
are left alone, with a message, without them).
"""

import io
import pathlib
import struct
import sys

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "Tools" / "Inputs"))
from patch_artifact import reseal  # noqa: E402  (checksum appended)
from importer_seeds import onnx_seeds, stablehlo_seeds  # noqa: E402
ELF = b"\x7fELF\x02\x01\x01" + b"\0" * 9 + struct.pack("<HH", 3, 62) + b"\0" * 44


def s(text):
    b = text.encode()
    return struct.pack("<I", len(b)) + b


def tensor(dtype, dims):
    return struct.pack("<BI", dtype, len(dims)) + b"".join(
        struct.pack("<q", d) for d in dims)


def artifact(target, chip, functions, images, payload, version=2):
    body = s("0.1.0") + s(target) + s(chip) + s("x86_64") + s("generic")
    body += s("+sse4.2,-avx512f") + struct.pack("<I", len(functions))
    for name, args, results in functions:
        body += s(name) + struct.pack("<I", len(args))
        body += b"".join(tensor(*t) for t in args)
        body += struct.pack("<I", len(results))
        body += b"".join(tensor(*t) for t in results)
    if version >= 2:
        body += struct.pack("<I", len(images))
        for module, ichip, kind, data in images:
            body += s(module) + s(ichip) + struct.pack("<IQ", kind, len(data))
            body += data
    body += struct.pack("<IQ", 1, len(payload)) + payload
    return reseal(b"MIXIRART" + struct.pack("<IIQ", version, 0, len(body)) +
                  body)


def from_compiled(path):
    """The compiled artifact at `path` with its payload replaced by ELF."""
    data = pathlib.Path(path).read_bytes()
    body = data[24:-8]
    # The payload is the body's tail: u32 kind, u64 size, bytes.
    for cut in range(len(body) - 12, 0, -1):
        kind, n = struct.unpack_from("<IQ", body, cut)
        if kind == 1 and n == len(body) - cut - 12:
            body = body[:cut] + struct.pack("<IQ", 1, len(ELF)) + ELF
            break
    return reseal(data[:16] + struct.pack("<Q", len(body)) + body)


def artifact_seeds():
    f32, f16, bf16 = 0, 1, 2
    la = ("la", [(f32, [1, -1, 4, 64])] * 3,
          [(f32, [1, -1, 4, 64]), (f32, [1, 4, 64, 64])])
    yield "cpu", artifact("cpu", "", [la], [], ELF)
    yield "cpu-v1", artifact("cpu", "", [la], [], ELF, version=1)
    two = [la, ("scan", [(bf16, [-1, 3]), (f16, [])], [(bf16, [-1, 3])])]
    yield "cpu-two-functions", artifact("cpu", "", two, [], ELF)
    ptx = b".version 8.0\n.target sm_80\n\0"
    images = [("kern", "sm_80", 2, ptx), ("kern", "sm_80", 1, b"\x7fELF"),
              ("kern", "sm_90a", 1, b"\x7fELF"), ("k2", "sm_86", 2, ptx)]
    yield "cuda", artifact("cuda", "sm_80,sm_90a", [la], images, ELF)
    yield "cuda-emulation", artifact("cuda-emulation", "sm_80", [la],
                                     images[:1], ELF)


def npy_seeds():
    arrays = {
        "f32-2x3": np.arange(6, dtype=np.float32).reshape(2, 3),
        "f16-5": np.ones(5, np.float16),
        "f64-scalar": np.array(1.5),
        "i64-0x4": np.zeros((0, 4), np.int64),
        "bool-3": np.array([True, False, True]),
        "u8-1x1x2": np.array([[[1, 2]]], np.uint8),
        "i32-3x1": np.array([[1], [2], [3]], np.int32),
        "bf16-4": np.zeros(4, np.dtype("V2")),
    }
    for name, a in arrays.items():
        buf = io.BytesIO()
        np.save(buf, a)
        yield name, buf.getvalue()
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.ones(3, np.float32), version=(2, 0))
    yield "f32-3-v2", buf.getvalue()


def mlir_seeds():
    """The split inputs of the mix dialect's tests and the examples, without
    comment lines (RUN and CHECK lines); small ones only."""
    repo = HERE.parents[1]
    files = sorted((repo / "test" / "Dialect").rglob("*.mlir"))
    files += sorted((repo / "examples").glob("*.mlir"))
    seen = set()
    for f in files:
        for i, chunk in enumerate(f.read_text().split("// -----")):
            lines = [l for l in chunk.splitlines()
                     if l.strip() and not l.lstrip().startswith("//")]
            text = "\n".join(lines) + "\n"
            if len(lines) < 2 or len(text) > 2048 or text in seen:
                continue
            seen.add(text)
            yield f"{f.stem}-{i}", text.encode()


def write(sub, seeds):
    d = HERE / "corpus" / sub
    d.mkdir(parents=True, exist_ok=True)
    for name, data in seeds:
        (d / name).write_bytes(data)


def main():
    for sub, seeds in (("npy", npy_seeds()), ("artifact", artifact_seeds()),
                       ("mlir", mlir_seeds()), ("stablehlo", stablehlo_seeds())):
        write(sub, seeds)
    try:
        write("onnx", onnx_seeds())
    except ImportError as e:
        print(f"corpus/onnx not written: {e} (needs onnx, and mixir on "
              "PYTHONPATH)", file=sys.stderr)
    if len(sys.argv) > 1:
        (HERE / "corpus" / "artifact" / "compiled").write_bytes(
            from_compiled(sys.argv[1]))


if __name__ == "__main__":
    main()
