"""Bad arguments to the functional ops raise ValueError or TypeError with a
message naming the offending argument (DESIGN.md, user-facing contract)."""

import numpy as np
import pytest

import mixir  # noqa: E402  (a missing native extension must fail, not skip)


B, T, H, K, V = 1, 4, 2, 8, 8
F32 = np.float32


def arr(*shape, dtype=F32):
    return np.ones(shape, dtype=dtype) * 0.1


def qkv(dtype=F32):
    return arr(B, T, H, K, dtype=dtype), arr(B, T, H, K, dtype=dtype), arr(B, T, H, V, dtype=dtype)


def beta():
    return arr(B, T, H)


def la(**kw):
    q, k, v = qkv()
    args = dict(q=q, k=k, v=v)
    args.update(kw)
    return mixir.linear_attention(**args)


def dr(**kw):
    q, k, v = qkv()
    args = dict(q=q, k=k, v=v, beta=beta())
    args.update(kw)
    return mixir.delta_rule(**args)


def attn(**kw):
    q, k, v = qkv()
    args = dict(q=q, k=k, v=v)
    args.update(kw)
    return mixir.attention(**args)


def scan(**kw):
    args = dict(x=arr(B, T, K), g=-arr(B, T, K))
    args.update(kw)
    return mixir.scan(**args)


def word(*names):
    """Regex: any of the argument names as a whole word."""
    return r"\b(" + "|".join(names) + r")\b"


VALUE_ERRORS = [
    # shapes
    ("la_q_rank", lambda: la(q=arr(T, H, K)), word("q")),
    ("dr_q_rank", lambda: dr(q=arr(B, T, H, K, 1)), word("q")),
    ("attn_q_rank", lambda: attn(q=arr(B, T, K)), word("q")),
    ("la_k_dim", lambda: la(k=arr(B, T, H, K + 1)), word("q", "k")),
    ("dr_k_dim", lambda: dr(k=arr(B, T, H, K - 1)), word("q", "k")),
    ("attn_k_dim", lambda: attn(k=arr(B, T, H, K + 4)), word("q", "k")),
    ("la_v_len", lambda: la(v=arr(B, T + 1, H, V)), word("v")),
    ("scan_g_shape", lambda: scan(g=-arr(B, T, K + 1)), word("g")),
    # gates
    ("la_vector_gate_scalar_shape", lambda: la(g=-arr(B, T, H), gate="vector"), word("g")),
    ("la_scalar_gate_vector_shape", lambda: la(g=-arr(B, T, H, K), gate="scalar"), word("g")),
    ("la_head_gate_shape", lambda: la(g=-arr(B, T, H), gate="head"), word("g")),
    ("dr_vector_gate_scalar_shape", lambda: dr(g=-arr(B, T, H), gate="vector"), word("g")),
    ("la_scalar_gate_missing", lambda: la(gate="scalar"), word("g")),
    ("dr_vector_gate_missing", lambda: dr(gate="vector"), word("g")),
    ("la_g_with_gate_none", lambda: la(g=-arr(B, T, H)), word("g", "gate")),
    ("dr_g_with_gate_none", lambda: dr(g=-arr(B, T, H)), word("g", "gate")),
    ("la_unknown_gate", lambda: la(g=-arr(B, T, H), gate="diagonal"), word("gate")),
    ("dr_unknown_gate", lambda: dr(g=-arr(B, T, H), gate="Scalar"), word("gate")),
    ("dr_head_gate", lambda: dr(g=-arr(H), gate="head"), word("gate")),
    ("attn_g_shape", lambda: attn(g=-arr(B, T, H, K)), word("g")),
    # states
    ("la_state_shape", lambda: la(initial_state=arr(B, H, K, V + 1)), word("initial_state")),
    ("dr_state_rank", lambda: dr(initial_state=arr(H, K, V)), word("initial_state")),
    ("scan_state_shape", lambda: scan(initial_state=arr(B, K + 2)), word("initial_state")),
    # attributes
    ("la_negative_scale", lambda: la(scale=-1.0), word("scale")),
    ("dr_negative_scale", lambda: dr(scale=-0.5), word("scale")),
    ("attn_negative_scale", lambda: attn(scale=-0.125), word("scale")),
    ("attn_negative_window", lambda: attn(window=-1), word("window")),
    ("dr_beta_shape", lambda: dr(beta=arr(B, T, H, 1)), word("beta")),
    ("dr_beta_len", lambda: dr(beta=arr(B, T + 1, H)), word("beta")),
]


@pytest.mark.parametrize("call,pattern", [pytest.param(c, p, id=i) for i, c, p in VALUE_ERRORS])
def test_value_error_names_argument(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()


TYPE_ERRORS = [
    ("la_q_float64", lambda: la(q=arr(B, T, H, K, dtype=np.float64)), word("q")),
    ("la_q_int32", lambda: la(q=np.ones((B, T, H, K), np.int32)), word("q")),
    ("dr_q_float64", lambda: dr(q=arr(B, T, H, K, dtype=np.float64)), word("q")),
    ("attn_q_int32", lambda: attn(q=np.ones((B, T, H, K), np.int32)), word("q")),
    ("scan_x_float64", lambda: scan(x=arr(B, T, K, dtype=np.float64)), word("x")),
]


@pytest.mark.parametrize("call,pattern", [pytest.param(c, p, id=i) for i, c, p in TYPE_ERRORS])
def test_type_error_names_argument(call, pattern):
    with pytest.raises(TypeError, match=pattern):
        call()


MIXED_DTYPES = [
    ("la_k_f16", lambda: la(k=arr(B, T, H, K, dtype=np.float16)), word("k")),
    ("la_v_f16", lambda: la(v=arr(B, T, H, V, dtype=np.float16)), word("v")),
    ("dr_v_f16", lambda: dr(v=arr(B, T, H, V, dtype=np.float16)), word("v")),
    ("attn_k_f16", lambda: attn(k=arr(B, T, H, K, dtype=np.float16)), word("k")),
]


@pytest.mark.parametrize("call,pattern", [pytest.param(c, p, id=i) for i, c, p in MIXED_DTYPES])
def test_mixed_input_dtypes_name_argument(call, pattern):
    # q, k, v must share one element type; either error class is allowed.
    with pytest.raises((TypeError, ValueError), match=pattern):
        call()


def test_valid_baseline_calls_succeed():
    # The error cases above differ from these calls in one argument only.
    assert la()[0].shape == (B, T, H, V)
    assert dr()[0].shape == (B, T, H, V)
    assert attn().shape == (B, T, H, V)
    assert scan()[1].shape == (B, K)


_SPLIT = """
func.func @f(%x: tensor<?x8xf32>, %shape: tensor<?x?xf32>) -> tensor<?x?x8xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %b = tensor.dim %shape, %c0 : tensor<?x?xf32>
  %t = tensor.dim %shape, %c1 : tensor<?x?xf32>
  %y = tensor.expand_shape %x [[0, 1], [2]] output_shape [%b, %t, 8]
      : tensor<?x8xf32> into tensor<?x?x8xf32>
  return %y : tensor<?x?x8xf32>
}
"""


def test_dynamic_split_of_one_dimension():
    # [B*T, D] -> [B, T, D] with B and T known at run time only (MLIR 22's
    # expand-strided-metadata crashed on it): the values of a row-major
    # reshape, and sizes whose product is not the source's are an error
    # naming the reshape, with nothing read beyond the source.
    m = mixir.compile(_SPLIT)
    x = np.arange(15 * 8, dtype=F32).reshape(15, 8)
    y = m.f(x, np.zeros((3, 5), F32))
    assert y.shape == (3, 5, 8) and np.array_equal(y, x.reshape(3, 5, 8))
    with pytest.raises(ValueError, match=r"tensor.expand_shape: .* source "
                       r"dim 0 differs .* \(got 20, expected 15\)"):
        m.f(x, np.zeros((4, 5), F32))
    assert m.f(x[:0], np.zeros((0, 7), F32)).shape == (0, 7, 8)
