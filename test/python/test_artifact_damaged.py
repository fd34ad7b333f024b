"""Damaged artifacts and .npy inputs never crash the runtime: the C API's
loaders (mixir_module_load_artifact_file and mixir_module_load_artifact)
return an error status, mixir.load raises ValueError, and mixir-run exits
with code 1 and one line on stderr. The seed is examples/gla.mlir compiled for the CPU; a seeded
generator flips and cuts its bytes anywhere (the checksum's job), or edits
the header and signatures and recomputes the checksum (the parser's job:
lengths, counts, dtypes and ranks that disagree with the file), and writes
.npy files with broken magic, versions, header lengths, dtypes, shapes and
data sizes."""

import os
import pathlib
import random
import struct
import subprocess
import sys

import numpy as np
import pytest

import mixir  # noqa: E402  (a missing native extension must fail, not skip)

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "test" / "Tools" / "Inputs"))
import patch_artifact  # noqa: E402
BUILD = pathlib.Path(mixir.__file__).resolve().parents[2]
B, T = 1, 5
# gla(q, k, v: bf16 [B, T, 4, 64], g: f32 [B, T, 4, 64], s0: f32 [B, 4, 64, 64])
ARGS = [("q", "<V2", (B, T, 4, 64)), ("k", "<V2", (B, T, 4, 64)),
        ("v", "<V2", (B, T, 4, 64)), ("g", "<f4", (B, T, 4, 64)),
        ("s0", "<f4", (B, 4, 64, 64))]


@pytest.fixture(scope="module")
def artifact(tmp_path_factory):
    path = tmp_path_factory.mktemp("gla") / "gla.mixir"
    r = subprocess.run([str(BUILD / "bin" / "mixir-compile"), str(ROOT / "examples" / "gla.mlir"),
                        "--emit=artifact", "-o", str(path)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return path.read_bytes()


def npy_bytes(descr, shape, data, fortran=False):
    """A version 1.0 .npy file written by hand, so that tests can break it."""
    header = (f"{{'descr': '{descr}', 'fortran_order': {fortran}, "
              f"'shape': {tuple(shape)!r}, }}")
    header += " " * (63 - (10 + len(header)) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + data


def good_inputs():
    rng = np.random.default_rng(7)
    files = {}
    for name, descr, shape in ARGS:
        x = (rng.standard_normal(shape) * 0.3).astype(np.float32)
        if name == "g":
            x = -np.abs(x)
        if descr == "<V2":  # bfloat16: the top half of each f32
            data = (x.view(np.uint32) >> 16).astype("<u2").tobytes()
        else:
            data = x.astype("<f4").tobytes()
        files[name] = npy_bytes(descr, shape, data)
    return files


def run_tool(artifact_path, inputs, out_dir):
    cmd = [str(BUILD / "bin" / "mixir-run"), str(artifact_path)]
    cmd += [f"--input={p}" for p in inputs] + [f"--output-dir={out_dir}"]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60)


def outcome(r, tool):
    """'ran', 'rejected', or a description of what is wrong."""
    lines = r.stderr.strip().split("\n")
    if r.returncode == 0:
        return "ran"
    if r.returncode == 1 and len(lines) == 1 and lines[0].startswith(tool + ": "):
        return "rejected"
    return f"exit {r.returncode}: {r.stderr[-300:]!r}"


# --- artifacts ------------------------------------------------------------------------
def reseal(data):
    """`data` with its checksum recomputed (the lit tests' artifact patcher)."""
    return patch_artifact.reseal(data[:-8])


def damage_artifact(data, rng):
    data = bytearray(data)
    kind = rng.random()
    if kind < 0.2:
        return bytes(data[:rng.randrange(len(data))])
    if kind < 0.4:
        for _ in range(rng.randint(1, 4)):
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
        return bytes(data)
    # Inside the header and the signatures (before the payload's ELF image,
    # including the payload's kind and size), then a valid checksum.
    end = data.find(b"\x7fELF")
    for _ in range(rng.randint(1, 3)):
        at = rng.randrange(8, end)
        if rng.random() < 0.5:
            data[at] ^= 1 << rng.randrange(8)
        else:  # a 32-bit length or count turned into something large or odd
            data[at:at + 4] = struct.pack("<I", rng.choice([0, 1, 7, 0xFFFF, 0x7FFFFFFF,
                                                            0xFFFFFFFF]))
    return reseal(bytes(data))


C_API_DRIVER = r"""
import ctypes, sys
lib = ctypes.CDLL(sys.argv[1])
P = ctypes.c_void_p
lib.mixir_module_load_artifact_file.restype = P
lib.mixir_module_load_artifact_file.argtypes = [ctypes.c_char_p, ctypes.POINTER(P)]
lib.mixir_module_load_artifact.restype = P
lib.mixir_module_load_artifact.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.POINTER(P)]
lib.mixir_status_message.restype = ctypes.c_char_p
lib.mixir_status_message.argtypes = [P]
lib.mixir_status_free.argtypes = [P]
lib.mixir_module_release.argtypes = [P]
lib.mixir_module_num_functions.restype = ctypes.c_size_t
lib.mixir_module_num_functions.argtypes = [P]
lib.mixir_module_function_at.restype = P
lib.mixir_module_function_at.argtypes = [P, ctypes.c_size_t, ctypes.POINTER(P)]
lib.mixir_function_num_args.restype = ctypes.c_size_t
lib.mixir_function_num_args.argtypes = [P]

def report(status, module):
    if status:
        message = lib.mixir_status_message(status).decode(errors="backslashreplace")
        lib.mixir_status_free(status)
        one_line = message and not any(ord(c) < 32 for c in message)
        return "error " + message if one_line and not module.value else "bad"
    if not module.value:
        return "bad"
    fns = lib.mixir_module_num_functions(module)
    for i in range(fns):
        f = P()
        st = lib.mixir_module_function_at(module, i, ctypes.byref(f))
        if st or not f.value:
            return "bad"
        lib.mixir_function_num_args(f)
    lib.mixir_module_release(module)
    return f"loaded {fns}"

for path in sys.argv[2:]:
    m = P()
    by_file = report(lib.mixir_module_load_artifact_file(path.encode(), ctypes.byref(m)), m)
    data = open(path, "rb").read()
    m = P()
    in_memory = report(lib.mixir_module_load_artifact(data, len(data), ctypes.byref(m)), m)
    print(by_file.split(" ")[0] + " " + in_memory, flush=True)
"""


def test_damaged_artifacts_never_crash(artifact, tmp_path):
    rng = random.Random(20261206)
    paths = []
    for i in range(160):
        path = tmp_path / f"case{i}.mixir"
        path.write_bytes(damage_artifact(artifact, rng))
        paths.append(str(path))
    driver = tmp_path / "load.py"
    driver.write_text(C_API_DRIVER)
    r = subprocess.run([sys.executable, str(driver), str(BUILD / "lib" / "libmixir_runtime.so"),
                        *paths], capture_output=True, text=True, timeout=120)
    lines = r.stdout.strip().split("\n")
    assert r.returncode == 0 and len(lines) == len(paths), (r.returncode, r.stderr[-600:],
                                                             paths[len(lines) - 1])
    loaded = 0
    for path, line in zip(paths, lines):
        by_file, in_memory = line.split(" ", 1)
        # Both loaders agree, and an error is a one-line message.
        assert "bad" not in line and by_file == in_memory.split(" ")[0], (path, line)
        loaded += in_memory.startswith("loaded")
    # Resealed edits of the compiler version or the CPU name load; nothing
    # else the generator makes may.
    assert 0 < loaded < len(paths) // 2, loaded

    # mixir.load (the Python package's loader) agrees with the C API.
    for path, line in zip(paths[:60], lines):
        if line.startswith("loaded"):
            assert len(mixir.load(path).functions) == 1
        else:
            with pytest.raises(ValueError, match=r"artifact"):
                mixir.load(path)

    inputs = []
    for name, data in good_inputs().items():
        inputs.append(tmp_path / f"{name}.npy")
        inputs[-1].write_bytes(data)
    seen = {"ran": 0, "rejected": 0}
    failures = []
    for path in paths[:40]:
        result = outcome(run_tool(path, inputs, tmp_path / "out"), "mixir-run")
        if result in seen:
            seen[result] += 1
        else:
            failures.append((path, result))
    assert not failures, failures
    assert seen["rejected"] > 20, seen


# --- .npy inputs ----------------------------------------------------------------------
def damage_npy(data, rng):
    header_len = struct.unpack("<H", data[8:10])[0]
    header, body = data[10:10 + header_len].decode(), data[10 + header_len:]
    kind = rng.randrange(9)
    if kind == 0:
        return rng.choice([b"\x93NUMPZ", b"NUMPY!", b""]) + data[6:]
    if kind == 1:
        return data[:6] + bytes([rng.choice([0, 3, 9, 255]), 0]) + data[8:]
    if kind == 2:
        return data[:8] + struct.pack("<H", rng.choice([0, 1, 9, header_len + 7, 0xFFFF])) + data[10:]
    if kind == 3:
        return data[:rng.randrange(len(data))]
    if kind == 4:
        return data + bytes(rng.randint(1, 64))
    if kind == 5:
        descr = rng.choice(["<f8", "<i4", "|b1", ">f4", "<f2", "<V2", "<f4", "|O", "<c8",
                            "garbage", ""])
        header = header.replace(header.split("'")[3], descr, 1)
    elif kind == 6:
        shape = rng.choice(["()", "(1,)", "(1, 5, 4, 64, 1)", "(-1, 5, 4, 64)",
                            "(4611686018427387904, 5, 4, 64)", "(1, 1099511627776, 4, 64)",
                            "(0, 5, 4, 64)", "(1, 5, 4, 0)", "(1, 5, 4, 64", "(a, b)",
                            "(1, 7, 4, 64)", "(2, 5, 4, 64)", "(18446744073709551616,)"])
        start = header.index("'shape': ") + len("'shape': ")
        header = header[:start] + shape + header[header.index(")", start) + 1:]
    elif kind == 7:
        header = header.replace("False", rng.choice(["True", "1", "Maybe"]))
    else:
        header = rng.choice([header.replace("{", "", 1), header.rstrip("\n") + " ",
                             header.replace("'descr'", "'dtype'"), "[]" + header[2:],
                             header.replace(", }", ", 'extra': 5, }")])
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + body


def test_damaged_npy_inputs_never_crash(artifact, tmp_path):
    art = tmp_path / "gla.mixir"
    art.write_bytes(artifact)
    good = good_inputs()
    rng = random.Random(61206)
    seen = {"ran": 0, "rejected": 0}
    failures = []
    for i in range(90):
        victim = rng.choice(list(good))
        inputs = []
        for name, data in good.items():
            inputs.append(tmp_path / f"{name}-{i}.npy")
            inputs[-1].write_bytes(damage_npy(data, rng) if name == victim else data)
        result = outcome(run_tool(art, inputs, tmp_path / "out"), "mixir-run")
        if result in seen:
            seen[result] += 1
        else:
            failures.append((i, victim, result))
        for p in inputs:
            os.unlink(p)
    assert not failures, failures
    assert seen["rejected"] > 50 and seen["ran"] > 0, seen


def test_control_bytes_in_artifact_strings_are_rejected(artifact, tmp_path):
    """A newline in a string of the header (here the architecture, which the
    host check quotes) is named as corruption; it used to reach the C API's
    status message as a raw line break."""
    at = artifact.index(b"x86_64") if b"x86_64" in artifact else artifact.index(b"aarch64")
    path = tmp_path / "newline.mixir"
    path.write_bytes(reseal(artifact[:at + 3] + b"\n" + artifact[at + 4:]))
    inputs = []
    for name, data in good_inputs().items():
        inputs.append(tmp_path / f"{name}.npy")
        inputs[-1].write_bytes(data)
    r = run_tool(path, inputs, tmp_path / "out")
    assert outcome(r, "mixir-run") == "rejected", r.stderr
    assert "corrupt artifact: architecture has control byte 10 at byte" in r.stderr, r.stderr
