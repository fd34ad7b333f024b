"""mix-select-algorithm's default choice follows the measured cost table.

Reads lib/Conversion/MixToLoops/CostTable.inc itself and, for ops at a
row's own K and V (where the model's FLOPs scaling is 1), checks through
the IR (mixir-opt --mix-select-algorithm) that the op gets the row's
cheapest form: with a dynamic length the cheapest per token, with a static
one the cheapest among chunks no longer than T once the padding of the last
chunk is paid. An explicit chunk_size and a given pass option are kept.
Whatever form the default picks matches a float64 recurrent loop written
here. No timing: bench/bench_select.py measures how good the choice is.
"""

import math
import pathlib
import re
import subprocess

import numpy as np
import pytest

import mixir
from mixir._tools import tool_path

ROOT = pathlib.Path(__file__).resolve().parents[2]
TABLE = ROOT / "lib" / "Conversion" / "MixToLoops" / "CostTable.inc"
CANDIDATES = [0, 16, 32, 64, 128]
H = 4


def table():
    rows = {}
    pattern = re.compile(r'\{"(\w+)", "(\w+)", "([\w+]+)", (\d+), (\d+), '
                         r'\{([^}]*)\}\}')
    for m in pattern.finditer(TABLE.read_text()):
        costs = [float(c) for c in m.group(6).split(",")]
        assert len(costs) == len(CANDIDATES), m.group(0)
        rows[m.groups()[:3] + (int(m.group(4)),)] = costs
    return rows


def expected(costs, length=None, max_chunk=128):
    """The cheapest candidate of a row at its own K, V: the recurrent form
    unless a chunk is more than 5% cheaper, else the shortest of the
    cheapest chunks."""
    best, best_cost = None, math.inf
    for chunk, cost in zip(CANDIDATES, costs):
        if chunk > max_chunk or (length is not None and chunk > length):
            continue
        if chunk and length:
            cost *= math.ceil(length / chunk) * chunk / length
        if chunk == 0:  # a chunk must be more than 5% cheaper
            cost /= 1.05
        if cost < best_cost:
            best, best_cost = chunk, cost
    return best


def ty(*dims):
    return "tensor<" + "x".join(str(d) for d in dims) + ">"


def op_text(op, gate, dtype, T, K, attrs=""):
    """A function with one mix op: q, v [1, T, H, K] (K = V), the scan on
    [1, T, K]; returns its IR."""
    if op == "scan":
        x, g = ty(1, T, K, dtype), ty(1, T, K, "f32")
        return (f"func.func @f(%x: {x}, %g: {g}) -> {x} {{\n"
                f"  %o, %s = mix.scan %x, %g{attrs} : ({x}, {g}) -> "
                f"({x}, {ty(1, K, 'f32')})\n  return %o : {x}\n}}\n")
    q = ty(1, T, H, K, dtype)
    args, types, operands = ["%q: " + q], [q, q, q], "%q, %q, %q"
    if op == "delta_rule":
        args.append("%beta: " + ty(1, T, H, "f32"))
        types.append(ty(1, T, H, "f32"))
        operands += ", %beta"
    if op == "recurrence":
        a = ty(1, T, H, 1, K, dtype)
        args.append("%a: " + a)
        types += [a, a]
        operands += " lowrank(%a, %a)"
    gate_text = f" gate {gate}"
    if gate != "none":
        g = {"head": ty(H, "f32"), "scalar": ty(1, T, H, "f32"),
             "vector": ty(1, T, H, K, "f32")}[gate]
        args.append("%g: " + g)
        types.append(g)
        gate_text += "(%g)"
    s = ty(1, H, K, K, "f32")
    return (f"func.func @f({', '.join(args)}) -> {q} {{\n"
            f"  %o, %s = mix.{op} {operands}{gate_text}{attrs} : "
            f"({', '.join(types)}) -> ({q}, {s})\n  return %o : {q}\n}}\n")


def chosen(text, *options):
    opt = tool_path("mixir-opt", "MIXIR_OPT")
    assert opt, "mixir-opt not found (build tree bin/, PATH or $MIXIR_OPT)"
    flag = "--mix-select-algorithm" + ("=" + ",".join(options) if options else "")
    r = subprocess.run([opt, flag, "-"], input=text, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr + text
    m = re.findall(r"chunk_size = (\d+)", r.stdout)
    assert len(m) == 1, r.stdout
    return int(m[0])


ROWS = table()
# The bf16+amx rows price bf16 ops whose tile products run on AMX: checked
# through mix-select-algorithm's amx option.
CASES = sorted(c for c in ROWS if "+" not in c[2])
AMX_CASES = sorted(c for c in ROWS if c[2] == "bf16+amx")


def case_id(case):
    return "-".join(map(str, case))


def test_table_covers_every_case():
    ops = {(op, gate) for op, gate, _, _ in ROWS}
    assert {("linear_attention", g) for g in ("none", "head", "scalar",
                                              "vector")} <= ops
    assert {("delta_rule", "scalar"), ("delta_rule", "vector"),
            ("recurrence", "vector"), ("scan", "none")} <= ops
    assert all(c > 0 for costs in ROWS.values() for c in costs)


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_dynamic_length_takes_the_cheapest_form(case):
    op, gate, dtype, K = case
    assert chosen(op_text(op, gate, dtype, "?", K)) == expected(ROWS[case])


@pytest.mark.parametrize("case", AMX_CASES, ids=case_id)
def test_amx_rows_price_bf16_on_amx(case):
    op, gate, _, K = case
    text = op_text(op, gate, "bf16", "?", K)
    assert chosen(text, "amx=true") == expected(ROWS[case])
    # Without amx the same op takes the plain bf16 row.
    assert chosen(text) == expected(ROWS[(op, gate, "bf16", K)])


@pytest.mark.parametrize("T", [1, 40, 75, 500])
@pytest.mark.parametrize("case", [c for c in CASES if c[3] == 64], ids=case_id)
def test_static_length_pays_the_padding(case, T):
    op, gate, dtype, K = case
    want = expected(ROWS[case], length=T)
    assert chosen(op_text(op, gate, dtype, T, K)) == want
    if T == 1:
        assert want == 0


def test_f16_uses_bf16_rows():
    costs = ROWS[("linear_attention", "vector", "bf16", 128)]
    assert chosen(op_text("linear_attention", "vector", "f16", "?", 128)) \
        == expected(costs)


@pytest.mark.parametrize("attrs,options,want", [
    (" {chunk_size = 16 : i64}", (), 16),
    (" {chunk_size = 0 : i64}", ("chunk-size=64",), 0),
    ("", ("chunk-size=32",), 32),
    ("", ("chunk-size=0",), 0)])
def test_explicit_chunk_size_wins(attrs, options, want):
    for op, gate in (("linear_attention", "vector"), ("delta_rule", "scalar"),
                     ("scan", "none")):
        assert chosen(op_text(op, gate, "f32", "?", 64, attrs), *options) \
            == want


def ref_recurrent(op, q, k, v, g, gate, beta=None):
    """float64 recurrent form of linear attention and the delta rule
    (MIXERS.md), every head at once; default scale K^-1/2."""
    q, k, v = (x.astype(np.float64) for x in (q, k, v))
    B, T, H, K = q.shape
    S = np.zeros((B, H, K, v.shape[3]))
    o = np.zeros(v.shape)
    for t in range(T):
        if gate == "head":
            S *= np.exp(g.astype(np.float64))[None, :, None, None]
        elif gate == "scalar":
            S *= np.exp(g[:, t].astype(np.float64))[:, :, None, None]
        elif gate == "vector":
            S *= np.exp(g[:, t].astype(np.float64))[:, :, :, None]
        kt, vt = k[:, t], v[:, t]
        if op == "delta_rule":
            u = beta[:, t, :, None] * (vt - np.einsum("bhkv,bhk->bhv", S, kt))
        else:
            u = vt
        S += kt[:, :, :, None] * u[:, :, None, :]
        o[:, t] = np.einsum("bhkv,bhk->bhv", S, q[:, t]) / np.sqrt(K)
    return o


@pytest.mark.parametrize("T", [1, 63, 75, 500])
@pytest.mark.parametrize("op,gate", [
    ("linear_attention", "none"), ("linear_attention", "head"),
    ("linear_attention", "scalar"), ("linear_attention", "vector"),
    ("delta_rule", "scalar"), ("delta_rule", "vector")])
def test_default_form_matches_float64(op, gate, T):
    """Whatever form the model picks (chunk_size unset) computes the op:
    against the float64 recurrent form, K = 60, V = 64."""
    rng = np.random.default_rng(T)
    B, K, V = 2, 60, 64
    q = rng.normal(size=(B, T, H, K)).astype(np.float32)
    k = rng.normal(size=(B, T, H, K))
    k = (k / np.linalg.norm(k, axis=-1, keepdims=True)).astype(np.float32)
    v = rng.normal(size=(B, T, H, V)).astype(np.float32)
    g = None if gate == "none" else rng.uniform(-0.5, -0.01, {
        "head": (H,), "scalar": (B, T, H), "vector": (B, T, H, K)}[gate]
    ).astype(np.float32)
    if op == "delta_rule":
        beta = rng.uniform(0.05, 0.95, (B, T, H)).astype(np.float32)
        o, _ = mixir.delta_rule(q, k, v, beta, g, gate=gate)
        want = ref_recurrent(op, q, k, v, g, gate, beta)
    else:
        o, _ = mixir.linear_attention(q, k, v, g, gate=gate)
        want = ref_recurrent(op, q, k, v, g, gate)
    err = np.abs(o.astype(np.float64) - want).max()
    assert err <= 1e-4 * max(1.0, np.abs(want).max()), err
