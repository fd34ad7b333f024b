"""examples/mom.mlir, a Mixture-of-Memories layer (top-2 of 5 gated delta-rule
memories per head, routed by masking one mix.delta_rule over H * M state
heads), against ``mom_explicit`` below: MoM written from its definition in
float64, one token and one selected memory at a time, sharing no code with
the example or the compiler.

The example runs through ``mixir.compile`` on target cpu in the recurrent form
(chunk_size 0) and the chunked form (chunks of 16, and the target's choice,
64), at T = 1 (the run-time branch to the recurrent form), 63 (a partial
chunk of 16; shorter than one chunk of 64) and 300 (many chunks, a partial
last one), through ``mixir-run`` on .npy files, and on target
cuda-emulation (the GPU kernels on CPU threads; one short length, it is slow).
Inputs are model-like: normal q, k, v (normalised by the example's
qk_l2norm), beta logits, log gates in [-0.5, -0.01], normal router logits
with exact ties on some tokens (the lower memory index wins them), and an
initial state. Limits: MIXERS.md's 5e-3 rel-RMS for bf16 inputs, for o and
the state; on the CPU the state is held to the f32 bound of the delta rule,
1e-4, as every value is f32 there once loaded (o is rounded to bf16 twice:
each memory's output by the op, the weighted sum at the end).
"""

import os
import pathlib
import subprocess

import ml_dtypes
import numpy as np
import pytest

import mixir  # noqa: E402  (a missing native extension must fail, not skip)
from mixir import reference as ref  # noqa: E402

REPO = pathlib.Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "mom.mlir"
BUILD = pathlib.Path(mixir.__file__).resolve().parents[2]
BF16 = ml_dtypes.bfloat16
OP = "example mom"

# The sizes fixed in examples/mom.mlir.
H, M, TOPK, K, V = 3, 5, 2, 60, 48
LIMIT = {"o": 5e-3, "state": 1e-4}
LIMIT_GPU = {"o": 5e-3, "state": 5e-3}   # tensor cores take bf16 operands


def mom_explicit(q, k, v, b, g, r, s0, topk=TOPK):
    """MoM as defined in the example's header, in float64: per token, route
    to the topk largest router logits (ties to the lower index), weights the
    softmax over the selected logits; every selected memory takes one gated
    delta-rule step with its own key and value, the others stay as they are;
    o is the weighted sum of the selected memories' reads. Returns
    (o [B, T, H, V], memories [B, H, M, K, V])."""
    q, k, v, b, g, r, s0 = (np.asarray(x, dtype=np.float64) for x in (q, k, v, b, g, r, s0))
    nb, nt, nh, kd = q.shape
    nm, vd = k.shape[3], v.shape[4]
    scale = kd ** -0.5

    def l2(x):
        return x / np.sqrt(np.sum(x * x) + 1e-6)

    S = s0.copy()
    o = np.zeros((nb, nt, nh, vd))
    for bi in range(nb):
        for t in range(nt):
            logits = r[bi, t]
            sel = sorted(range(nm), key=lambda m: (-logits[m], m))[:topk]
            w = np.exp(logits[sel] - logits[sel].max())
            w = w / w.sum()
            for h in range(nh):
                beta = 1.0 / (1.0 + np.exp(-b[bi, t, h]))
                qt = scale * l2(q[bi, t, h])
                for wm, m in zip(w, sel):
                    km = l2(k[bi, t, h, m])
                    Sm = np.exp(g[bi, t, h]) * S[bi, h, m]
                    Sm = Sm + beta * np.outer(km, v[bi, t, h, m] - Sm.T @ km)
                    S[bi, h, m] = Sm
                    o[bi, t, h] += wm * (Sm.T @ qt)
    return o, S


def make_inputs(rng, nb, nt):
    """The example's arguments in order: q, k, v, b (bf16), g, r, s0 (f32)."""
    q = rng.normal(size=(nb, nt, H, K)).astype(BF16)
    k = rng.normal(size=(nb, nt, H, M, K)).astype(BF16)
    v = rng.normal(size=(nb, nt, H, M, V)).astype(BF16)
    b = rng.normal(size=(nb, nt, H)).astype(BF16)
    g = rng.uniform(-0.5, -0.01, (nb, nt, H)).astype(np.float32)
    r = rng.normal(size=(nb, nt, M)).astype(np.float32)
    # Exact ties on about a fifth of the tokens: memory 3 copies memory 1's
    # logit (the lower index, 1, wins when only one of them fits), and on
    # some of those memory 4 ties both.
    tie = rng.random((nb, nt)) < 0.2
    r[..., 3] = np.where(tie, r[..., 1], r[..., 3])
    r[..., 4] = np.where(tie & (rng.random((nb, nt)) < 0.5), r[..., 1], r[..., 4])
    s0 = (0.5 * rng.normal(size=(nb, H, M, K, V))).astype(np.float32)
    return [q, k, v, b, g, r, s0]


def check(record, case, got, want, limit=LIMIT, op=OP):
    assert got[0].dtype == np.dtype(BF16) and got[0].shape == want[0].shape
    assert got[1].dtype == np.float32 and got[1].shape == want[1].shape
    for what, w, x in zip(("o", "state"), want, got):
        assert np.isfinite(x.astype(np.float64)).all(), f"{what}: NaN or Inf"
        err = ref.rel_rms(w, x)
        record(op, "bf16", what, err, limit[what], case)
        assert err <= limit[what], f"{case} {what}: rel-RMS {err:.3e} > {limit[what]:.0e}"


def test_reference_routes_and_leaves_unrouted_memories_alone():
    """mom_explicit itself: a memory no token is routed to ends as it began,
    and with every memory selected (topk = M) each head is M independent
    gated delta rules, which reference.delta_rule computes."""
    rng = np.random.default_rng(3)
    q, k, v, b, g, r, s0 = make_inputs(rng, 2, 17)
    r[..., 2] = -100.0   # never in the top 2
    o, S = mom_explicit(q, k, v, b, g, r, s0)
    assert np.array_equal(S[:, :, 2], s0[:, :, 2].astype(np.float64))
    assert not np.allclose(S[:, :, 0], s0[:, :, 0])

    o_all, S_all = mom_explicit(q, k, v, b, g, r, s0, topk=M)
    beta = 1.0 / (1.0 + np.exp(-b.astype(np.float64)))
    r64 = r.astype(np.float64)
    w = np.exp(r64 - r64.max(-1, keepdims=True))
    w = w / w.sum(-1, keepdims=True)
    o_sum = np.zeros_like(o_all)
    for m in range(M):
        o_m, s_m = ref.delta_rule(q, k[:, :, :, m], v[:, :, :, m], beta, g, gate="scalar",
                                  initial_state=s0[:, :, m], output_final_state=True,
                                  qk_l2norm=True)
        o_sum += w[:, :, m, None, None] * o_m
        assert ref.rel_rms(s_m, S_all[:, :, m]) < 1e-12
    assert ref.rel_rms(o_sum, o_all) < 1e-12


@pytest.fixture(scope="module")
def source():
    return EXAMPLE.read_text()


# chunk_size 0: the recurrent form; 16: T = 63 and 300 end in partial chunks;
# None: the target's chunk (64), T = 63 takes the recurrent branch.
@pytest.mark.parametrize("chunk", [0, 16, None], ids=["recurrent", "C16", "Cdefault"])
def test_mom_example(chunk, source, record_rel_rms):
    fn = mixir.compile(source, target="cpu", chunk_size=chunk).mom
    for nt in (1, 63, 300):
        rng = np.random.default_rng(100 * nt + (64 if chunk is None else chunk))
        args = make_inputs(rng, 2, nt)
        got = fn(*args)
        want = mom_explicit(*args)
        check(record_rel_rms, f"C{chunk}-T{nt}", got, want)


def test_mom_mixir_run(tmp_path, record_rel_rms):
    """mixir-run compiles the example in process, reads the arguments from
    .npy files and writes o and the memories as out0.npy and out1.npy."""
    runner = BUILD / "bin" / "mixir-run"
    assert os.access(runner, os.X_OK), f"no mixir-run at {runner}"
    args = make_inputs(np.random.default_rng(7), 2, 75)
    cmd = [str(runner), str(EXAMPLE), "--entry=mom", f"--output-dir={tmp_path}"]
    for n, a in enumerate(args):
        np.save(tmp_path / f"in{n}.npy", a)
        cmd.append(f"--input={tmp_path / f'in{n}.npy'}")
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    o = np.load(tmp_path / "out0.npy")
    assert o.dtype.kind == "V" and o.dtype.itemsize == 2   # bf16 as numpy writes it
    got = (o.view(BF16), np.load(tmp_path / "out1.npy"))
    check(record_rel_rms, "mixir-run-T75", got, mom_explicit(*args))


def test_mom_cuda_emulation(source, record_rel_rms):
    """The same function compiled for target cuda (mix.delta_rule as the
    GPU kernel, the routing and the weighted sum as host code), the kernel
    run by the emulator on CPU threads."""
    fn = mixir.compile(source, target="cuda-emulation").mom
    for nt in (1, 63):
        args = make_inputs(np.random.default_rng(500 + nt), 1, nt)
        check(record_rel_rms, f"T{nt}", fn(*args), mom_explicit(*args), limit=LIMIT_GPU,
              op="example mom/cuda-emu")
