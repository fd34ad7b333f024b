"""The CPU's matrix unit: bf16 tile products on AMX.

Where this CPU has AMX-BF16 (the `amx_bf16` and `amx_tile` flags of
/proc/cpuinfo) and Linux grants the process its tiles (arch_prctl, asked
here through ctypes), the compiler runs the chunked form's tile products of
bf16 linear attention on the tile unit: the compiled code holds
`tdpbf16ps`, and the artifact's AMX flag is set. Otherwise, or with
MIXIR_AMX=0, it holds none and the flag is clear. An artifact with an
unknown flag is refused. Either way the results match a float64 evaluation
of the recurrent form, within MIXERS.md's bf16 bound, at head dims whose
products fill whole tiles and at head dims that do not.
"""

import ctypes
import os
import pathlib
import platform
import shutil
import subprocess
import sys

import ml_dtypes
import numpy as np
import pytest

import mixir
import mixir.reference as ref

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "test" / "Tools" / "Inputs"))
from patch_artifact import reseal  # noqa: E402

BF16 = np.dtype(ml_dtypes.bfloat16)
BOUND = 5e-3  # MIXERS.md's bf16 bound
SOURCE = """
func.func @mixer(%q: tensor<?x?x2x64xbf16>, %k: tensor<?x?x2x64xbf16>,
                 %v: tensor<?x?x2x64xbf16>, %g: tensor<?x?x2xf32>)
    -> tensor<?x?x2x64xbf16> {
  %o, %s = mix.linear_attention %q, %k, %v gate scalar(%g)
      : (tensor<?x?x2x64xbf16>, tensor<?x?x2x64xbf16>, tensor<?x?x2x64xbf16>,
         tensor<?x?x2xf32>) -> (tensor<?x?x2x64xbf16>, tensor<?x2x64x64xf32>)
  return %o : tensor<?x?x2x64xbf16>
}
"""


def cpu_has_amx():
    try:
        text = pathlib.Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    flags = set()
    for line in text.splitlines():
        if line.startswith("flags"):
            flags.update(line.split(":", 1)[1].split())
    if not {"amx_bf16", "amx_tile"} <= flags:
        return False
    if platform.machine() != "x86_64":
        return False
    # arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA): syscall 158.
    libc = ctypes.CDLL(None, use_errno=True)
    return libc.syscall(158, 0x1023, 18) == 0


def artifact_flags(path):
    """The flags word of an artifact: after the magic (8 bytes) and the
    format version (4)."""
    return int.from_bytes(pathlib.Path(path).read_bytes()[12:16], "little")


def disassembly(artifact):
    """objdump -d of the shared object inside a saved CPU artifact."""
    data = pathlib.Path(artifact).read_bytes()
    start = data.find(b"\x7fELF")
    assert start >= 0, "no ELF payload in the artifact"
    so = pathlib.Path(artifact).with_suffix(".so")
    so.write_bytes(data[start:])
    objdump = shutil.which("objdump")
    assert objdump, "objdump (binutils) is needed to read the compiled code"
    return subprocess.run([objdump, "-d", str(so)], check=True,
                          capture_output=True, text=True).stdout


def compile_and_save(path, env=None):
    """Compiles SOURCE chunked (chunk 64) in a fresh process and saves it."""
    code = ("import mixir, sys; "
            "mixir.compile(sys.argv[1], chunk_size=64).save(sys.argv[2])")
    subprocess.run([sys.executable, "-c", code, SOURCE, str(path)],
                   check=True, env={**os.environ, **(env or {})})
    return disassembly(path)


def test_tile_products_on_amx_where_the_cpu_has_it(tmp_path):
    asm = compile_and_save(tmp_path / "default.mixir")
    if cpu_has_amx():
        assert "tdpbf16ps" in asm and "tileloadd" in asm
        assert artifact_flags(tmp_path / "default.mixir") == 1
    else:
        assert "tdpbf16ps" not in asm
        assert artifact_flags(tmp_path / "default.mixir") == 0


def test_mixir_amx_0_keeps_f32_products(tmp_path):
    asm = compile_and_save(tmp_path / "off.mixir", {"MIXIR_AMX": "0"})
    assert "tdpbf16ps" not in asm and "tileloadd" not in asm
    assert artifact_flags(tmp_path / "off.mixir") == 0


def test_unknown_artifact_flag_is_refused(tmp_path):
    path = tmp_path / "flag.mixir"
    compile_and_save(path, {"MIXIR_AMX": "0"})
    unsealed = bytearray(path.read_bytes()[:-8])
    unsealed[12:16] = (2).to_bytes(4, "little")
    path.write_bytes(bytes(reseal(unsealed)))
    with pytest.raises(ValueError, match="artifact flags 2 are not supported"):
        mixir.load(str(path))


@pytest.mark.parametrize("gate", ["none", "head", "scalar", "vector"])
@pytest.mark.parametrize("T,K,V,chunk", [
    (333, 64, 128, 64),   # whole tiles
    (500, 96, 48, 32),    # K = 96: reductions of 32; V = 48: 3 column tiles
    (63, 60, 60, 16),     # no product fills a tile: the f32 path
    (1, 64, 64, 64),      # one token
])
def test_bf16_matches_float64(gate, T, K, V, chunk):
    rng = np.random.default_rng(T + K + V)
    B, H = 2, 3
    q = rng.standard_normal((B, T, H, K))
    k = rng.standard_normal((B, T, H, K))
    k /= np.linalg.norm(k, axis=-1, keepdims=True)
    v = rng.standard_normal((B, T, H, V))
    shape = {"none": None, "head": (H,), "scalar": (B, T, H),
             "vector": (B, T, H, K)}[gate]
    g = None if shape is None else \
        (-0.01 - 0.3 * rng.random(shape)).astype(np.float32)
    s0 = rng.standard_normal((B, H, K, V)).astype(np.float32) * 0.1
    args = [x.astype(BF16) for x in (q, k, v)]
    o, s = mixir.linear_attention(*args, g=g, gate=gate, initial_state=s0,
                                  output_final_state=True, chunk_size=chunk)
    want_o, want_s = ref.linear_attention(
        *[a.astype(np.float64) for a in args],
        g=None if g is None else g.astype(np.float64), gate=gate,
        initial_state=s0.astype(np.float64), output_final_state=True)
    assert o.dtype == BF16 and np.isfinite(o.astype(np.float64)).all()
    assert ref.rel_rms(want_o, o) < BOUND
    assert ref.rel_rms(want_s, s) < BOUND


@pytest.mark.parametrize("T,S,D,Hq,Hkv,causal,window", [
    (333, 333, 64, 4, 2, True, 0),     # whole tiles, GQA
    (500, 500, 128, 2, 2, True, 100),  # a window
    (130, 257, 96, 2, 1, False, 0),    # S != T, reductions of 96
    (75, 75, 60, 2, 2, True, 0),       # head dim 60: Q K^T stays f32
])
def test_bf16_attention_matches_float64(T, S, D, Hq, Hkv, causal, window):
    rng = np.random.default_rng(T + S + D)
    q = rng.standard_normal((1, T, Hq, D)).astype(BF16)
    k = rng.standard_normal((1, S, Hkv, D)).astype(BF16)
    v = rng.standard_normal((1, S, Hkv, D)).astype(BF16)
    o = mixir.attention(q, k, v, causal=causal, window=window)
    want = ref.attention(q.astype(np.float64), k.astype(np.float64),
                         v.astype(np.float64), causal=causal, window=window)
    assert o.dtype == BF16 and np.isfinite(o.astype(np.float64)).all()
    assert ref.rel_rms(want, o) < BOUND
