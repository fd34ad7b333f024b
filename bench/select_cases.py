"""The mixers whose form mix-select-algorithm chooses, as callables: shared
by scripts/calibrate_cpu_costs.py (which writes the cost table) and
bench/bench_select.py (which checks the choice against the best form).

A case is (op, gate): op one of linear_attention, delta_rule, recurrence
(R = 1, log decay) and scan. `make_call(case, dtype, B, T, H, K, chunk)`
returns a function running that mixer once on fixed random inputs with
`chunk_size=chunk` (None: the compiler's choice)."""

import numpy as np

import mixir

try:
    import ml_dtypes
    BF16 = np.dtype(ml_dtypes.bfloat16)
except ImportError:  # pragma: no cover - ml_dtypes is a dependency of mixir
    BF16 = None

CASES = [("linear_attention", "none"), ("linear_attention", "head"),
         ("linear_attention", "scalar"), ("linear_attention", "vector"),
         ("delta_rule", "scalar"), ("delta_rule", "vector"),
         ("recurrence", "vector"), ("scan", "none")]
CANDIDATES = [0, 16, 32, 64, 128]
DTYPES = {"f32": np.float32, "bf16": BF16}
#: The cases whose bf16 tile products run on AMX where the CPU has it
#: (convert-mix-to-chunked's bf16-products): the cost table gives them
#: "bf16+amx" rows as well.
AMX_OPS = ("linear_attention",)


def _gate(rng, gate, B, T, H, K):
    shape = {"none": None, "head": (H,), "scalar": (B, T, H),
             "vector": (B, T, H, K)}[gate]
    if shape is None:
        return None
    return rng.uniform(-0.5, -0.01, shape).astype(np.float32)


def make_call(case, dtype, B, T, H, K, chunk, seed=0):
    """One call of `case` at [B, T, H, K] (K = V) in `dtype` ("f32" or
    "bf16"); scan runs on [B * H, T, K]."""
    op, gate = case
    rng = np.random.default_rng(seed)
    dt = DTYPES[dtype]

    def arr(*shape):
        return rng.normal(size=shape).astype(np.float32).astype(dt)

    if op == "scan":
        x = arr(B * H, T, K)
        g = rng.uniform(-0.5, -0.01, (B * H, T, K)).astype(np.float32)
        return lambda: mixir.scan(x, g, chunk_size=chunk)
    q, v = arr(B, T, H, K), arr(B, T, H, K)
    k = rng.normal(size=(B, T, H, K))
    k = (k / np.linalg.norm(k, axis=-1, keepdims=True)).astype(np.float32)
    k = k.astype(dt)
    g = _gate(rng, gate, B, T, H, K)
    if op == "linear_attention":
        return lambda: mixir.linear_attention(q, k, v, g, gate=gate,
                                              chunk_size=chunk)
    beta = rng.uniform(0.05, 0.95, (B, T, H)).astype(np.float32)
    if op == "delta_rule":
        return lambda: mixir.delta_rule(q, k, v, beta, g, gate=gate,
                                        chunk_size=chunk)
    kf = k.astype(np.float64)
    a = (np.exp(g.astype(np.float64)) * kf)[:, :, :, None, :].astype(dt)
    b = (-beta[..., None] * kf)[:, :, :, None, :].astype(dt)
    return lambda: mixir.recurrence(q, k, v, a, b, g, gate=gate,
                                    chunk_size=chunk)
