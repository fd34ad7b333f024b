#!/usr/bin/env python3
"""CPU benchmark of MixIR's sequence mixers against PyTorch, onnxruntime and
the machine's sgemm rate.

Shapes: B=1, T in --T (default 1024,4096,16384), H=4 heads (Hq=Hk=Hv),
K=V=128, float32, default scale K**-0.5. Ops (--ops):

    la-none la-head la-scalar la-vector   mix.linear_attention, per gate kind
    dr-none dr-scalar                     mix.delta_rule (DeltaNet, Gated DeltaNet)
    attn                                  mix.attention, causal

Variants (rows of each table):

    mixir-chunked    the functional op with the chunked lowering (C=64), when
                     the installed mixir lets a caller choose it (a keyword such
                     as chunk_size in the op's signature, see
                     mixir_algorithm_kwargs); otherwise the row says n/a
    mixir-recurrent  the functional op as built today (the recurrent form;
                     for attention one query row at a time, online softmax)
    torch-chunked    the chunkwise algorithm of docs/MIXERS.md written in
                     PyTorch CPU ops, C=64 (linear attention and delta rule)
    torch-sdpa       torch.nn.functional.scaled_dot_product_attention, causal
    ort-LA(...)      onnxruntime's LinearAttention CPU kernel (ONNX opset 27
                     and/or com.microsoft), where the installed version has it;
                     the "head" gate is fed as a [B,T,H] decay held constant

FLOP counts ("useful" FLOPs of the chunked algorithm, a multiply-add = 2;
every variant of an op is credited the same count, so GFLOP/s compare as
1/time; element-wise gate work is not counted). Per (batch, head), per token,
chunk C=64:

    linear attention (every gate kind):
        intra QK^T 2CK + intra (..)V 2CV + inter Q S 2KV + state K^T V 2KV
        = 2 * (C*K + C*V + 2*K*V)          -> total 2*B*H*T*(C*K + C*V + 2*K*V)
    delta rule (WY/UT form):
        KK^T 2CK + the two unit-triangular solves C*(K+V) + W S 2KV
        + Q K^T 2CK + (..)V' 2CV + Q S 2KV + K^T V' 2KV
        = 5*C*K + 3*C*V + 6*K*V            -> total B*H*T*(5CK + 3CV + 6KV)
    causal attention: QK^T and PV over the causal half,
        2*B*H*(T*(T+1)/2)*(K+V)            ~ B*H*T^2*(K+V)
    sgemm limit: numpy float32 n x n @ n x n, 2*n^3.

For K=V=128, C=64: linear attention 98,304 FLOP per token and head, delta
rule 163,840 (the recurrent form does 4*K*V = 65,536 and 6*K*V = 98,304).

Timing: one untimed warm-up call (compiles MixIR, creates the onnxruntime
session's kernels), then up to --repeat timed calls (time.perf_counter), the
median reported; a variant stops early once its timed calls pass --budget
seconds (at least one call). cpu/wall is process CPU time over wall time of
the timed calls: the number of cores a variant actually kept busy.

Before timing, every variant is checked against mixir.reference (float64
recurrent form) at B=1, T=200, H=2, K=V=32 (T not a multiple of the chunk),
with the benchmark's gates and with 16x stronger gates; a variant whose
rel-RMS exceeds 1e-4 is not timed.

OpenBLAS note: where OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE are set (some
machines set them for old OpenBLAS builds), a current numpy's sgemm runs a
slower kernel. Run as
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python3 bench/bench_cpu.py
and check the kernel printed under "OpenBLAS" (needs threadpoolctl).
"""

import argparse
import inspect
import math
import os
import platform
import statistics
import sys
import time

OPS = {
    # name: (family, gate kind)
    "la-none": ("la", "none"),
    "la-head": ("la", "head"),
    "la-scalar": ("la", "scalar"),
    "la-vector": ("la", "vector"),
    "dr-none": ("dr", "none"),
    "dr-scalar": ("dr", "scalar"),
    "attn": ("attn", None),
}
CHUNK = 64
SUB_CHUNK = 16          # secondary chunks for the vector gate's diagonal blocks
CHECK_TOL = 1e-4
# Pause before timing each variant: OpenMP runtimes keep their workers
# spinning after a parallel region (LLVM libomp, used by MixIR's generated
# code, for KMP_BLOCKTIME = 200 ms by default), which would steal the cores
# from the next variant. The runtimes' own settings are left alone.
SETTLE = 0.3
CHECK_SHAPE = dict(B=1, T=200, H=2, K=32, V=32)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--T", default="1024,4096,16384",
                   help="comma-separated sequence lengths (default %(default)s)")
    p.add_argument("--ops", default=",".join(OPS),
                   help="comma-separated ops from: " + ", ".join(OPS) +
                   " (default all)")
    p.add_argument("--repeat", type=int, default=None,
                   help="timed calls per variant, median reported (default 5; 3 "
                   "with --quick)")
    p.add_argument("--budget", type=float, default=None,
                   help="stop timing a variant once its timed calls exceed this "
                   "many seconds (default 20; 5 with --quick)")
    p.add_argument("--quick", action="store_true",
                   help="T=1024 only, fewer repeats")
    p.add_argument("--threads", type=int, default=None,
                   help="threads for PyTorch, onnxruntime, numpy's BLAS and "
                   "(OMP_NUM_THREADS) MixIR's OpenMP code (default: the usable "
                   "cores)")
    p.add_argument("--H", type=int, default=4, help=argparse.SUPPRESS)
    p.add_argument("--K", type=int, default=128, help=argparse.SUPPRESS)
    p.add_argument("--no-check", action="store_true",
                   help="skip the small-size correctness checks")
    a = p.parse_args(argv)
    a.T = [1024] if a.quick else [int(t) for t in a.T.split(",") if t]
    a.ops = [o.strip() for o in a.ops.split(",") if o.strip()]
    bad = [o for o in a.ops if o not in OPS]
    if bad:
        p.error(f"unknown op(s) {', '.join(bad)}; choose from {', '.join(OPS)}")
    if a.repeat is None:
        a.repeat = 3 if a.quick else 5
    if a.budget is None:
        a.budget = 5.0 if a.quick else 20.0
    if a.threads is None:
        a.threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") \
            else (os.cpu_count() or 1)
    return a


ARGS = parse_args() if __name__ == "__main__" else None
if ARGS is not None:
    # Before numpy/torch load their thread pools (threadpoolctl, when present,
    # also limits them at run time).
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(ARGS.threads)

import numpy as np  # noqa: E402

MISSING = {}   # optional dependency -> reason


def _optional(name):
    try:
        return __import__(name)
    except Exception as e:  # ImportError, or a broken install
        MISSING[name] = f"{type(e).__name__}: {e}"
        return None


threadpoolctl = _optional("threadpoolctl")
torch = _optional("torch")
onnx = _optional("onnx")
ort = _optional("onnxruntime")
try:
    import mixir
    from mixir import reference
except Exception as e:
    mixir = reference = None
    MISSING["mixir"] = f"{type(e).__name__}: {e} (set PYTHONPATH=<build>/python)"


# --------------------------------------------------------------------------
# FLOP counts (see the module docstring)

def flops(op, B, T, H, K, V, C=CHUNK):
    fam = OPS[op][0]
    if fam == "la":
        return 2.0 * B * H * T * (C * K + C * V + 2 * K * V)
    if fam == "dr":
        return 1.0 * B * H * T * (5 * C * K + 3 * C * V + 6 * K * V)
    return 2.0 * B * H * (T * (T + 1) / 2) * (K + V)


# --------------------------------------------------------------------------
# Inputs

def _logsigmoid(x):
    return -np.logaddexp(0.0, -x)


def make_inputs(op, B, T, H, K, V, seed=0, gate_div=16.0):
    """float32 numpy inputs in [B, T, H, D] layout. Gates are fla's test
    gates: logsigmoid(randn) / gate_div; "head" is RetNet's ln(1 - 2^(-5-h)).
    Delta-rule q and k are L2-normalised and beta = sigmoid(randn)."""
    fam, gate = OPS[op]
    rng = np.random.default_rng(seed)
    f32 = np.float32
    q = rng.standard_normal((B, T, H, K)).astype(f32)
    k = rng.standard_normal((B, T, H, K)).astype(f32)
    v = rng.standard_normal((B, T, H, V)).astype(f32)
    inp = {"op": op, "q": q, "k": k, "v": v, "g": None, "gate": gate}
    if fam == "dr":
        inp["q"] = (q / np.linalg.norm(q, axis=-1, keepdims=True)).astype(f32)
        inp["k"] = (k / np.linalg.norm(k, axis=-1, keepdims=True)).astype(f32)
        inp["beta"] = (1.0 / (1.0 + np.exp(-rng.standard_normal((B, T, H))))).astype(f32)
    if gate == "head":
        inp["g"] = np.log1p(-2.0 ** (-5.0 - np.arange(H))).astype(f32)
    elif gate == "scalar":
        inp["g"] = (_logsigmoid(rng.standard_normal((B, T, H))) / gate_div).astype(f32)
    elif gate == "vector":
        inp["g"] = (_logsigmoid(rng.standard_normal((B, T, H, K))) / gate_div).astype(f32)
    return inp


def reference_output(inp):
    fam = OPS[inp["op"]][0]
    if fam == "la":
        return reference.linear_attention(inp["q"], inp["k"], inp["v"],
                                          g=inp["g"], gate=inp["gate"])[0]
    if fam == "dr":
        return reference.delta_rule(inp["q"], inp["k"], inp["v"], inp["beta"],
                                    g=inp["g"], gate=inp["gate"])[0]
    return reference.attention(inp["q"], inp["k"], inp["v"], causal=True)


def rel_rms(ref, out):
    ref = np.asarray(ref, dtype=np.float64)
    out = np.asarray(out, dtype=np.float64)
    den = np.sqrt(np.mean(ref * ref))
    num = np.sqrt(np.mean((ref - out) ** 2))
    return float(num / den) if den > 0 else float(np.sqrt(np.mean(out * out)))


# --------------------------------------------------------------------------
# MixIR variants

def mixir_algorithm_kwargs(fn):
    """How to choose the chunked or the recurrent lowering through the
    functional op `fn`: {"chunked": kwargs, "recurrent": kwargs}, or None when
    the installed mixir offers no choice (then only the default, recurrent,
    form is benchmarked)."""
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return None
    if "chunk_size" in params:
        return {"chunked": {"chunk_size": CHUNK}, "recurrent": {"chunk_size": 0}}
    if "chunked" in params:
        return {"chunked": {"chunked": True}, "recurrent": {"chunked": False}}
    for name in ("algorithm", "mode", "impl", "lowering"):
        if name in params:
            return {"chunked": {name: "chunked"}, "recurrent": {name: "recurrent"}}
    return None


def _mixir_fn(fam):
    return {"la": mixir.linear_attention, "dr": mixir.delta_rule,
            "attn": mixir.attention}[fam]


def mixir_variant(algo):
    def make(inp):
        fam = OPS[inp["op"]][0]
        fn = _mixir_fn(fam)
        kw = dict((mixir_algorithm_kwargs(fn) or {}).get(algo, {}))
        q, k, v = inp["q"], inp["k"], inp["v"]
        if fam == "la":
            return lambda: fn(q, k, v, g=inp["g"], gate=inp["gate"], **kw)[0]
        if fam == "dr":
            return lambda: fn(q, k, v, inp["beta"], g=inp["g"],
                              gate=inp["gate"], **kw)[0]
        return lambda: fn(q, k, v, causal=True, **kw)

    def na(op):
        if mixir is None:
            return "mixir not importable"
        if algo == "chunked" and mixir_algorithm_kwargs(_mixir_fn(OPS[op][0])) is None:
            return "not implemented yet: the functional op has no chunk_size option"
        return None
    return {"name": f"mixir-{algo}", "make": make, "na": na}


# --------------------------------------------------------------------------
# PyTorch: the chunkwise algorithms of docs/MIXERS.md

def _to_chunks(x, C, N, pad):
    """[B, T, H, D] -> [B, H, N, C, D] (zero-padded to N*C tokens)."""
    x = x.transpose(1, 2)
    if pad:
        x = torch.nn.functional.pad(x, (0, 0, 0, pad))
    B, H = x.shape[:2]
    return x.reshape(B, H, N, C, x.shape[-1])


def _gate_chunks(g, gate, B, T, H, K, C, N, pad):
    """Log gate per token as [B, H, N, C] (head/scalar) or [B, H, N, C, K]
    (vector), padded with 0 (decay 1: padded tokens have k = v = 0)."""
    if gate == "none":
        return None
    if gate == "head":
        g = g.view(1, 1, H).expand(B, T, H)
    if gate == "vector":
        return _to_chunks(g, C, N, pad)
    return _to_chunks(g.unsqueeze(-1), C, N, pad).squeeze(-1)


def _from_chunks(o, T):
    """[B, H, N, C, V] -> [B, T, H, V]."""
    B, H, N, C, V = o.shape
    return o.reshape(B, H, N * C, V)[:, :, :T].transpose(1, 2)


def _state_scan(kv, decay):
    """States entering each chunk: S_0 = 0, S_{n+1} = decay_n * S_n + kv_n.
    kv [B, H, N, K, V]; decay None, [B, H, N, 1, 1] or [B, H, N, K, 1]."""
    if decay is None:
        return torch.cumsum(kv, dim=2) - kv
    states = torch.empty_like(kv)
    S = torch.zeros_like(kv[:, :, 0])
    for n in range(kv.shape[2]):
        states[:, :, n] = S
        S = decay[:, :, n] * S + kv[:, :, n]
    return states


def torch_chunked_linear_attention(q, k, v, g=None, gate="none", scale=None,
                                   C=CHUNK, sub=SUB_CHUNK):
    """Chunkwise gated linear attention; q/k/v [B, T, H, K|V] (Hq=Hk=Hv)."""
    B, T, H, K = q.shape
    V = v.shape[-1]
    scale = K ** -0.5 if scale is None else scale
    N = -(-T // C)
    pad = N * C - T
    Q = _to_chunks(q, C, N, pad) * scale
    Kc = _to_chunks(k, C, N, pad)
    Vc = _to_chunks(v, C, N, pad)
    lg = _gate_chunks(g, gate, B, T, H, K, C, N, pad)
    causal = torch.ones(C, C, dtype=torch.bool).tril()

    if gate == "none":
        A = (Q @ Kc.transpose(-1, -2)).masked_fill_(~causal, 0.0)
        states = _state_scan(Kc.transpose(-1, -2) @ Vc, None)
        return _from_chunks(A @ Vc + Q @ states, T)

    gc = torch.cumsum(lg, dim=3)                       # in-chunk cumsum, f32
    if gate != "vector":
        last = gc[..., -1:]                            # [B, H, N, 1]
        diff = gc.unsqueeze(-1) - gc.unsqueeze(-2)     # Gc_i - Gc_j
        A = (Q @ Kc.transpose(-1, -2)) * torch.exp(
            diff.masked_fill_(~causal, -math.inf))     # exponent <= 0
        kd = Kc * torch.exp(last - gc).unsqueeze(-1)   # <= 0
        states = _state_scan(kd.transpose(-1, -2) @ Vc,
                             torch.exp(last).unsqueeze(-1))
        inter = (Q * torch.exp(gc).unsqueeze(-1)) @ states
        return _from_chunks(A @ Vc + inter, T)

    # Vector gate: per-key-channel decay, gc [B, H, N, C, K].
    last = gc[..., -1:, :]                             # [B, H, N, 1, K]
    kd = Kc * torch.exp(last - gc)
    states = _state_scan(kd.transpose(-1, -2) @ Vc, torch.exp(last).transpose(-1, -2))
    out = (Q * torch.exp(gc)) @ states
    A = _vector_gate_intra(Q, Kc, gc, C, sub)
    return _from_chunks(out + A @ Vc, T)


def _vector_gate_intra(Q, Kc, gc, C, sub):
    """Intra-chunk scores A_ij = sum_k Q_ik K_jk exp(Gc_ik - Gc_jk), j <= i,
    with every exponent <= 0 (GLA paper's secondary chunking): sub-chunk I
    (rows) against the earlier columns j < I*sub is one matmul of
    Q*exp(Gc - Gc_r) and K*exp(Gc_r - Gc) with r = the first row of I; the
    diagonal sub x sub blocks are computed element-wise over the pairs
    j <= i, one sub-diagonal at a time. Processed in slices of chunks to
    bound the temporaries."""
    B, H, N, _, K = Q.shape
    M = C // sub
    A = torch.zeros(B, H, N, C, C, dtype=Q.dtype)
    per_chunk = B * H * C * C * K * 4
    step = max(1, (64 << 20) // per_chunk)
    for n0 in range(0, N, step):
        sl = slice(n0, min(N, n0 + step))
        q, k, g = Q[:, :, sl], Kc[:, :, sl], gc[:, :, sl]
        a = A[:, :, sl]
        n = q.shape[2]
        qs = q.reshape(B, H, n, M, sub, K)
        ks = k.reshape(B, H, n, M, sub, K)
        gs = g.reshape(B, H, n, M, sub, K)
        ref = gs[..., :1, :]                                       # [.., M, 1, K]
        qr = qs * torch.exp(gs - ref)                              # <= 0
        for i in range(1, M):                                      # off-diagonal
            r0, r1 = i * sub, (i + 1) * sub
            kr = k[..., :r0, :] * torch.exp(ref[..., i, :, :] - g[..., :r0, :])
            a[..., r0:r1, :r0] = qr[..., i, :, :] @ kr.transpose(-1, -2)
        diag = torch.zeros(B, H, n, M, sub, sub, dtype=Q.dtype)
        for d in range(sub):                                       # diagonal
            e = torch.exp(gs[..., d:, :] - gs[..., :sub - d, :])
            diag.diagonal(offset=-d, dim1=-2, dim2=-1).copy_(
                (qs[..., d:, :] * ks[..., :sub - d, :] * e).sum(-1))
        for i in range(M):
            a[..., i * sub:(i + 1) * sub, i * sub:(i + 1) * sub] = diag[:, :, :, i]
    return A


def torch_chunked_delta_rule(q, k, v, beta, g=None, gate="none", scale=None,
                             C=CHUNK):
    """Chunkwise (gated) delta rule in the WY/UT form of docs/MIXERS.md."""
    if gate not in ("none", "scalar"):
        raise ValueError(f"gate {gate!r} not implemented")
    B, T, H, K = q.shape
    V = v.shape[-1]
    scale = K ** -0.5 if scale is None else scale
    N = -(-T // C)
    pad = N * C - T
    Q = _to_chunks(q, C, N, pad) * scale
    Kc = _to_chunks(k, C, N, pad)
    Vc = _to_chunks(v, C, N, pad)
    bt = _to_chunks(beta.unsqueeze(-1), C, N, pad)          # [B, H, N, C, 1]
    causal = torch.ones(C, C, dtype=torch.bool).tril()
    if gate == "none":
        gamma = causal.to(Q.dtype)
        kg, kd, decay = Kc, Kc, None
    else:
        gc = torch.cumsum(_gate_chunks(g, gate, B, T, H, K, C, N, pad), dim=3)
        last = gc[..., -1:]
        gamma = torch.exp((gc.unsqueeze(-1) - gc.unsqueeze(-2))
                          .masked_fill_(~causal, -math.inf))  # Gamma, incl. diag
        kg = Kc * torch.exp(gc).unsqueeze(-1)                # K ⊙ exp(Gc)
        kd = Kc * torch.exp(last - gc).unsqueeze(-1)         # K ⊙ exp(Gc_last - Gc)
        decay = torch.exp(last).unsqueeze(-1)                # [B, H, N, 1, 1]
    # A = tril(diag(beta) (K K^T ⊙ Gamma), -1); T = (I + A)^-1 by forward
    # substitution (a unit lower-triangular solve): W = T diag(beta) (K ⊙ exp(Gc)),
    # U = T diag(beta) V.
    L = torch.tril(bt * (Kc @ Kc.transpose(-1, -2)) * gamma, -1)
    L.diagonal(dim1=-2, dim2=-1).fill_(1.0)
    WU = torch.linalg.solve_triangular(L, torch.cat([bt * kg, bt * Vc], -1),
                                       upper=False, unitriangular=True)
    W, U = WU[..., :K], WU[..., K:]
    # State pass, sequential over chunks: V' = U - W S_n,
    # S_{n+1} = exp(Gc_last) S_n + (K ⊙ exp(Gc_last - Gc))^T V'.
    states = torch.empty(B, H, N, K, V, dtype=Q.dtype)
    vp = torch.empty_like(U)
    kdt = kd.transpose(-1, -2)
    S = torch.zeros(B, H, K, V, dtype=Q.dtype)
    for n in range(N):
        states[:, :, n] = S
        vn = torch.baddbmm(U[:, :, n].reshape(B * H, C, V),
                           W[:, :, n].reshape(B * H, C, K),
                           S.view(B * H, K, V), alpha=-1.0).view(B, H, C, V)
        vp[:, :, n] = vn
        upd = kdt[:, :, n] @ vn
        S = S + upd if decay is None else decay[:, :, n] * S + upd
    # O = (Q ⊙ exp(Gc)) S_n + ((Q K^T) ⊙ Gamma) V'
    qg = Q if gate == "none" else Q * torch.exp(gc).unsqueeze(-1)
    A = (Q @ Kc.transpose(-1, -2)) * gamma
    return _from_chunks(qg @ states + A @ vp, T)


def torch_variants(fam, threads):
    """The PyTorch rows for an op family: with `threads` intra-op threads and,
    when that is more than 1, also with one (the comparison for a
    single-threaded MixIR build, and a fallback where multi-threaded torch
    stalls; see README)."""
    def na(op):
        return "torch not installed" if torch is None else None

    def make_chunked(inp):
        t = {n: (torch.from_numpy(inp[n]) if isinstance(inp.get(n), np.ndarray)
                 else None) for n in ("q", "k", "v", "g", "beta")}
        if fam == "la":
            return lambda: torch_chunked_linear_attention(
                t["q"], t["k"], t["v"], t["g"], inp["gate"])
        return lambda: torch_chunked_delta_rule(
            t["q"], t["k"], t["v"], t["beta"], t["g"], inp["gate"])

    def make_sdpa(inp):
        q, k, v = (torch.from_numpy(inp[n]) for n in "qkv")

        def run():
            return torch.nn.functional.scaled_dot_product_attention(
                q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2),
                is_causal=True).transpose(1, 2)
        return run

    def with_threads(make, n):
        def made(inp):
            fn = make(inp)

            def run():
                if torch.get_num_threads() != n:
                    torch.set_num_threads(n)
                return fn()
            return run
        return made

    base, make = ("torch-sdpa", make_sdpa) if fam == "attn" else \
        ("torch-chunked", make_chunked)
    out = [{"name": base, "make": with_threads(make, threads), "na": na}]
    if threads > 1:
        out.append({"name": base + "-1t", "make": with_threads(make, 1), "na": na})
    return out


# --------------------------------------------------------------------------
# onnxruntime LinearAttention

ORT_DOMAINS = (("", 27, "ai.onnx-27"), ("com.microsoft", 1, "com.microsoft"))
_ORT_SESSIONS = {}
_ORT_STATUS = {}


def _ort_rule(op):
    fam, gate = OPS[op]
    if fam == "la":
        return "linear" if gate == "none" else "gated"
    return "delta" if gate == "none" else "gated_delta"


def _ort_session(domain, opset, op, H, K, V, threads):
    key = (domain, op, H, K, V)
    if key in _ORT_SESSIONS:
        return _ORT_SESSIONS[key]
    from onnx import TensorProto, helper
    fam, gate = OPS[op]
    rule = _ort_rule(op)
    f = TensorProto.FLOAT
    ins = [helper.make_tensor_value_info("query", f, ["B", "T", H * K]),
           helper.make_tensor_value_info("key", f, ["B", "T", H * K]),
           helper.make_tensor_value_info("value", f, ["B", "T", H * V])]
    names = ["query", "key", "value", ""]
    if gate != "none":
        ins.append(helper.make_tensor_value_info(
            "decay", f, ["B", "T", H * K if gate == "vector" else H]))
        names.append("decay")
    else:
        names.append("")
    if fam == "dr":
        ins.append(helper.make_tensor_value_info("beta", f, ["B", "T", H]))
        names.append("beta")
    while names[-1] == "":
        names.pop()
    node = helper.make_node("LinearAttention", names, ["output", "present_state"],
                            domain=domain, q_num_heads=H, kv_num_heads=H,
                            update_rule=rule)
    outs = [helper.make_tensor_value_info("output", f, None),
            helper.make_tensor_value_info("present_state", f, None)]
    imports = [helper.make_opsetid("", opset if not domain else 21)]
    if domain:
        imports.append(helper.make_opsetid(domain, opset))
    model = helper.make_model(helper.make_graph([node], "la", ins, outs),
                              opset_imports=imports)
    model.ir_version = min(model.ir_version, 11)
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.log_severity_level = 3
    sess = ort.InferenceSession(model.SerializeToString(), so,
                                providers=["CPUExecutionProvider"])
    _ORT_SESSIONS[key] = sess
    return sess


def ort_variant(domain, opset, label, threads):
    def na(op):
        if ort is None or onnx is None:
            return "onnxruntime/onnx not installed"
        key = (domain, op)
        if key not in _ORT_STATUS:
            try:
                _ort_session(domain, opset, op, 2, 32, 32, threads)
                _ORT_STATUS[key] = None
            except Exception as e:
                msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
                _ORT_STATUS[key] = f"{type(e).__name__}: {msg[:160]}"
        return _ORT_STATUS[key]

    def make(inp):
        q, k, v = inp["q"], inp["k"], inp["v"]
        B, T, H, K = q.shape
        V = v.shape[-1]
        sess = _ort_session(domain, opset, inp["op"], H, K, V, threads)
        feed = {"query": q.reshape(B, T, H * K), "key": k.reshape(B, T, H * K),
                "value": v.reshape(B, T, H * V)}
        gate = inp["gate"]
        if gate == "head":   # constant per-head decay, fed per token
            feed["decay"] = np.ascontiguousarray(
                np.broadcast_to(inp["g"], (B, T, H)), dtype=np.float32)
        elif gate == "scalar":
            feed["decay"] = inp["g"]
        elif gate == "vector":
            feed["decay"] = inp["g"].reshape(B, T, H * K)
        if "beta" in inp:
            feed["beta"] = inp["beta"]
        names = {i.name for i in sess.get_inputs()}
        feed = {n: a for n, a in feed.items() if n in names}
        return lambda: sess.run(["output"], feed)[0].reshape(B, T, H, V)
    return {"name": f"ort-LA({label})", "make": make, "na": na,
            "families": ("la", "dr")}


# --------------------------------------------------------------------------
# Machine, BLAS, sgemm

def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            info = f.read()
    except OSError:
        return platform.processor() or "unknown", ""
    model, flags = "unknown", ""
    for line in info.splitlines():
        if line.startswith("model name") and model == "unknown":
            model = line.split(":", 1)[1].strip()
        if line.startswith("flags") and not flags:
            fl = set(line.split(":", 1)[1].split())
            flags = " ".join(x for x in ("avx2", "fma", "avx512f", "avx512_bf16",
                                         "amx_tile") if x in fl)
    return model, flags


def blas_limits(n):
    if threadpoolctl is None:
        return _NullCtx()
    return threadpoolctl.threadpool_limits(limits=n, user_api="blas")


class _NullCtx:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False


def sgemm_rate(n, threads, repeat=5):
    a = np.random.default_rng(1).standard_normal((n, n)).astype(np.float32)
    b = np.random.default_rng(2).standard_normal((n, n)).astype(np.float32)
    with blas_limits(threads):
        a @ b
        ts = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            a @ b
            ts.append(time.perf_counter() - t0)
    return 2.0 * n ** 3 / statistics.median(ts) / 1e9


def _cpu_jiffies():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + (v[4] if len(v) > 4 else 0)
    return sum(v[:8]), idle


def busy_cores(seconds=0.5):
    """Cores kept busy by other processes while this one sleeps (from
    /proc/stat), or None where that is not readable."""
    try:
        t0, i0 = _cpu_jiffies()
        c0, w0 = time.process_time(), time.perf_counter()
        time.sleep(seconds)
        t1, i1 = _cpu_jiffies()
        own = (time.process_time() - c0) / (time.perf_counter() - w0)
    except (OSError, ValueError, IndexError):
        return None
    total = t1 - t0
    if total <= 0:
        return None
    return max(0.0, (os.cpu_count() or 1) * (total - (i1 - i0)) / total - own)


def warn_if_busy(when, busy=None):
    busy = busy_cores() if busy is None else busy
    if busy is not None and busy > 0.2:
        print(f"WARNING ({when}): other processes keep {busy:.1f} of "
              f"{os.cpu_count()} cores busy; timings, multi-threaded ones most "
              "(every parallel region waits for a descheduled thread), are "
              "unreliable. Rerun on an idle machine or with --threads 1.\n")
    return busy


def _thread_pools():
    """BLAS/OpenMP libraries loaded in this process (threadpoolctl)."""
    if threadpoolctl is None:
        return []
    out = []
    for lib in threadpoolctl.threadpool_info():
        name = " ".join(str(x) for x in (lib.get("internal_api"), lib.get("version"))
                        if x)
        arch = lib.get("architecture")
        out.append(f"{name} ({os.path.basename(lib.get('filepath', ''))}): "
                   + (f"core type/architecture {arch}, " if arch else "")
                   + f"threads {lib.get('num_threads')}")
    return out


def print_machine(args):
    model, flags = cpu_model()
    print("## Machine\n")
    print(f"- CPU: {model} ({flags}); usable cores {len(os.sched_getaffinity(0))}"
          f" of {os.cpu_count()}; threads: {args.threads} (OMP_NUM_THREADS for "
          f"MixIR's OpenMP code where the build has it, torch, onnxruntime, "
          f"numpy BLAS)")
    print(f"- Python {platform.python_version()}, numpy {np.__version__}"
          + (f", torch {torch.__version__} (intra-op threads "
             f"{torch.get_num_threads()})" if torch else "")
          + (f", onnxruntime {ort.__version__}" if ort else "")
          + (f", onnx {onnx.__version__}" if onnx else ""))
    if mixir is not None:
        print(f"- mixir from {os.path.dirname(mixir.__file__)}")
    ct = os.environ.get("OPENBLAS_CORETYPE")
    l2 = os.environ.get("OPENBLAS_L2_SIZE")
    print(f"- OPENBLAS_CORETYPE={ct!s}, OPENBLAS_L2_SIZE={l2!s}")
    if ct or l2:
        print("  WARNING: these force an older/slower OpenBLAS kernel in a "
              "current numpy; for the sgemm limit run\n  `env -u "
              "OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python3 bench/bench_cpu.py`")
    for pool in _thread_pools():
        print(f"- {pool}")
    for name, why in MISSING.items():
        print(f"- optional dependency missing: {name} ({why}); its rows print n/a")
    busy = busy_cores()
    if busy is not None:
        print(f"- load from other processes at start: {busy:.1f} cores busy")
    print()
    warn_if_busy("start", busy)


# --------------------------------------------------------------------------
# Checking and timing

def as_numpy(o):
    if torch is not None and isinstance(o, torch.Tensor):
        return o.detach().contiguous().numpy()
    return np.asarray(o)


def variants_for(op, args):
    fam = OPS[op][0]
    vs = [mixir_variant("chunked"), mixir_variant("recurrent"),
          *torch_variants(fam, args.threads)]
    if fam != "attn":
        vs += [ort_variant(d, o, lbl, args.threads) for d, o, lbl in ORT_DOMAINS]
    return vs


def run_checks(args):
    """Every variant against the float64 reference at a small shape.
    Returns {(op, variant name): error text or None}."""
    print(f"## Correctness (rel-RMS vs mixir.reference f64; B=1, T=200, H=2, "
          f"K=V=32; tolerance {CHECK_TOL:g})\n")
    if reference is None:
        print("n/a: mixir not importable, nothing can be checked\n")
        return {}
    s = CHECK_SHAPE
    rows, status = [], {}
    for op in args.ops:
        divs = (16.0, 1.0) if OPS[op][1] in ("scalar", "vector") else (16.0,)
        cases = []
        for div in divs:
            inp = make_inputs(op, s["B"], s["T"], s["H"], s["K"], s["V"], seed=7,
                              gate_div=div)
            cases.append((div, inp, reference_output(inp)))
        for var in variants_for(op, args):
            na = var["na"](op)
            if na:
                status[(op, var["name"])] = na
                rows.append((op, var["name"], f"n/a ({na})", ""))
                continue
            errs = []
            try:
                for div, inp, ref in cases:
                    errs.append((div, rel_rms(ref, as_numpy(var["make"](inp)()))))
            except Exception as e:
                msg = f"{type(e).__name__}: {str(e).splitlines()[0][:160] if str(e) else ''}"
                status[(op, var["name"])] = f"check raised {msg}"
                rows.append((op, var["name"], f"error: {msg}", "FAIL"))
                continue
            worst = max(e for _, e in errs)
            txt = ", ".join(f"{e:.1e}" + (" (strong gates)" if d == 1.0 else "")
                            for d, e in errs)
            ok = worst <= CHECK_TOL and math.isfinite(worst)
            status[(op, var["name"])] = None if ok else f"check failed: rel-RMS {worst:.2e}"
            rows.append((op, var["name"], txt, "ok" if ok else "FAIL"))
    print("| op | variant | rel-RMS | status |")
    print("|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(r) + " |")
    print()
    return status


def time_variant(fn, repeat, budget):
    """(median seconds, timed calls, cpu/wall, output). A warm-up call that
    alone takes over `budget` seconds is the one sample (compilation, cached
    per signature and independent of T, is negligible at that size)."""
    c0, t0 = time.process_time(), time.perf_counter()
    out = fn()                     # warm-up: compiles / creates kernels
    warm = time.perf_counter() - t0
    if warm > budget:
        return warm, 1, (time.process_time() - c0) / warm, out
    ts, cpu0, wall = [], time.process_time(), 0.0
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        dt = time.perf_counter() - t0
        ts.append(dt)
        wall += dt
        if wall > budget:
            break
    cpu = time.process_time() - cpu0
    return statistics.median(ts), len(ts), cpu / wall if wall > 0 else float("nan"), out


def fmt(x, spec):
    return "-" if x is None or (isinstance(x, float) and not math.isfinite(x)) \
        else format(x, spec)


def bench_T(T, args, sg1, sgN, status):
    B, H, K, V = 1, args.H, args.K, args.K
    print(f"## T = {T} (B={B}, H={H}, K=V={K}, f32, chunk {CHUNK})\n")
    busy = busy_cores()
    print(f"sgemm limit (numpy float32, measured above): {sg1:.1f} GFLOP/s on 1 "
          f"thread, {sgN:.1f} GFLOP/s on {args.threads}\n")
    print("Ratios: × = time(ref) / time(variant), > 1 means the variant is "
          "faster; \"torch best\" is the fastest torch row of the op. Δ out = rel-RMS of the variant's output against "
          "mixir-recurrent's (else the first row that ran) at this size; "
          "\"0 (=rec)\" = bit-identical, i.e. the chunked option fell back "
          "to the recurrent form for this op.\n")
    print(f"| op | variant | time ms | n | GFLOP/s | % sgemm 1t | % sgemm {args.threads}t "
          f"| cpu/wall | × vs mixir-rec | × vs torch best | Δ out |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    sys.stdout.flush()
    stalled = []
    for op in args.ops:
        fam = OPS[op][0]
        fl = flops(op, B, T, H, K, V)
        inp = make_inputs(op, B, T, H, K, V, seed=0)
        results = []
        for var in variants_for(op, args):
            na = var["na"](op)
            if na is None and status.get((op, var["name"])):
                na = status[(op, var["name"])]
            if na:
                results.append((var["name"], None, na))
                continue
            try:
                fn = var["make"](inp)
                time.sleep(SETTLE)  # let the previous variant's pool stop spinning
                med, n, par, out = time_variant(fn, args.repeat, args.budget)
                results.append((var["name"], (med, n, par, as_numpy(out)), None))
            except Exception as e:
                results.append((var["name"], None, f"error: {type(e).__name__}: "
                                f"{str(e).splitlines()[0][:120] if str(e) else ''}"))
        timed = {name: r for name, r, _ in results if r}
        rec = timed.get("mixir-recurrent")
        torch_rows = [r for name, r in timed.items() if name.startswith("torch-")]
        tref = min(torch_rows, key=lambda r: r[0]) if torch_rows else None
        base_out = (rec or next(iter(timed.values()), None))
        for name, r, na in results:
            if r is None:
                print(f"| {op} | {name} | n/a ({na}) | | | | | | | | |")
                continue
            med, n, par, out = r
            gf = fl / med / 1e9
            d = rel_rms(base_out[3], out) if base_out is not None and base_out is not r else None
            dtxt = fmt(d, ".1e")
            if d == 0.0 and name == "mixir-chunked":
                dtxt = "0 (=rec)"   # bit-identical: no chunked lowering for this op
            print(f"| {op} | {name} | {med * 1e3:.2f} | {n} | {gf:.1f} | "
                  f"{100 * gf / sg1:.0f}% | {100 * gf / sgN:.0f}% | {par:.1f} | "
                  f"{fmt(rec[0] / med if rec else None, '.2f')} | "
                  f"{fmt(tref[0] / med if tref else None, '.2f')} | "
                  f"{dtxt} |")
            sys.stdout.flush()
            if args.threads > 1 and par < 1.15 and not name.endswith("-1t") and \
                    name.startswith(("torch-", "ort-")):
                stalled.append(f"{op} {name}")
    print()
    after = busy_cores()
    if busy is not None and after is not None:
        print(f"Other processes kept {busy:.1f} cores busy before this table "
              f"and {after:.1f} after it"
              + (": these timings are unreliable." if max(busy, after) > 0.2
                 else ".") + "\n")
    if stalled:
        print(f"NOTE: {', '.join(stalled)} kept about one core busy although "
              f"given {args.threads} threads (cpu/wall < 1.15): either little "
              "parallel work, or parallel regions stalling (seen with PyTorch's "
              "OpenMP pool on small VMs: every op then costs a scheduler tick; "
              "compare the -1t row, see bench/README.md).\n")


def main(args):
    if torch is not None:
        torch.set_num_threads(args.threads)
        try:
            torch.set_num_interop_threads(1)
        except RuntimeError:
            pass
    t_start = time.perf_counter()
    print("# MixIR CPU benchmark\n")
    print_machine(args)
    print("## sgemm limit (numpy float32 matmul, same run)\n")
    if threadpoolctl is None:
        print("(threadpoolctl missing: BLAS threads fixed by OPENBLAS_NUM_THREADS"
              f"={os.environ.get('OPENBLAS_NUM_THREADS')}; the 1-thread rate "
              "below is not limited)\n")
    print("| n | 1 thread GFLOP/s | " f"{args.threads} threads GFLOP/s |")
    print("|---|---|---|")
    rates = {}
    for n in (1024, 2048):
        rates[n] = (sgemm_rate(n, 1), sgemm_rate(n, args.threads))
        print(f"| {n} | {rates[n][0]:.1f} | {rates[n][1]:.1f} |")
    sg1 = max(r[0] for r in rates.values())
    sgN = max(r[1] for r in rates.values())
    print(f"\nLimit used below: the better of the two sizes: {sg1:.1f} (1 thread), "
          f"{sgN:.1f} ({args.threads} threads) GFLOP/s.\n")
    sys.stdout.flush()
    pools = _thread_pools()
    status = {} if args.no_check else run_checks(args)
    new = [p for p in _thread_pools() if p not in pools]
    if new:
        print("Thread pools loaded since the start (by the checks): "
              + "; ".join(new) + "\n")
    sys.stdout.flush()
    for T in args.T:
        bench_T(T, args, sg1, sgN, status)
    print(f"Total wall time {time.perf_counter() - t_start:.1f} s.")


if __name__ == "__main__":
    main(ARGS)
