"""mix.causal_conv1d (MIXERS.md) against a float64 numpy evaluation of its
definition and against torch's depthwise conv1d, with and without bias,
conv state and silu, for T shorter and longer than the window, odd D, and
the element types; bad arguments raise errors naming them."""

import ml_dtypes
import numpy as np
import pytest

import mixir

BF16 = ml_dtypes.bfloat16


def reference(x, w, bias, state, silu):
    """float64: the inputs before t = 0 come from the state (zeros)."""
    x, w = x.astype(np.float64), w.astype(np.float64)
    B, T, D = x.shape
    W = w.shape[1]
    past = (np.zeros((B, W - 1, D)) if state is None
            else state.astype(np.float64).transpose(0, 2, 1))
    full = np.concatenate([past, x], 1)
    y = np.zeros((B, T, D))
    for t in range(T):
        for i in range(W):
            y[:, t] += w[:, i] * full[:, t + i]
    if bias is not None:
        y += bias.astype(np.float64)
    if silu:
        y = y / (1 + np.exp(-y))
    return y, full[:, -(W - 1):].transpose(0, 2, 1)


def rel_rms(got, want):
    got = np.asarray(got, np.float64)
    return np.sqrt(np.mean((got - want) ** 2)) / np.sqrt(np.mean(want ** 2))


@pytest.mark.parametrize("dtype,limit", [(np.float32, 1e-6), (BF16, 5e-3)])
@pytest.mark.parametrize("W", [2, 4, 8])
@pytest.mark.parametrize("T", [1, 3, 75])
@pytest.mark.parametrize("bias,state,silu", [(False, False, False),
                                             (True, True, True),
                                             (True, False, True),
                                             (False, True, False)])
def test_against_float64(dtype, limit, W, T, bias, state, silu):
    rng = np.random.default_rng(W * 100 + T)
    B, D = 3, 70
    x = rng.standard_normal((B, T, D)).astype(dtype)
    w = (rng.standard_normal((D, W)) / W).astype(dtype)
    b = rng.standard_normal(D).astype(dtype) if bias else None
    s = rng.standard_normal((B, D, W - 1)).astype(dtype) if state else None
    y, new = mixir.causal_conv1d(x, w, b, s, "silu" if silu else None,
                                 output_final_state=True)
    want_y, want_s = reference(x, w, b, s, silu)
    assert y.dtype == x.dtype and new.dtype == x.dtype
    assert new.shape == (B, D, W - 1)
    assert rel_rms(y, want_y) < limit
    # The state is a copy of inputs: exact.
    assert np.array_equal(np.asarray(new, np.float64), want_s)


def test_matches_torch_conv1d_and_streams():
    """Depthwise F.conv1d with W - 1 zeros of left padding, and the same
    result when the sequence is fed in pieces with the state carried."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    B, T, D, W = 2, 50, 33, 4
    x = rng.standard_normal((B, T, D)).astype(np.float32)
    w = rng.standard_normal((D, W)).astype(np.float32)
    b = rng.standard_normal(D).astype(np.float32)
    want = torch.nn.functional.silu(torch.nn.functional.conv1d(
        torch.from_numpy(x).transpose(1, 2), torch.from_numpy(w)[:, None],
        torch.from_numpy(b), padding=W - 1, groups=D)[..., :T]).transpose(1, 2)
    y, _ = mixir.causal_conv1d(x, w, b, activation="silu")
    assert rel_rms(y, want.double().numpy()) < 1e-6
    pieces, state = [], None
    for lo, hi in ((0, 1), (1, 2), (2, 20), (20, 50)):
        piece, state = mixir.causal_conv1d(x[:, lo:hi], w, b, state, "silu",
                                           output_final_state=True)
        pieces.append(piece)
    assert np.allclose(np.concatenate(pieces, 1), y, rtol=0, atol=1e-6)


@pytest.mark.parametrize("call,error,match", [
    (lambda x, w: mixir.causal_conv1d(x, w[:, :1]), ValueError, "W, the taps"),
    (lambda x, w: mixir.causal_conv1d(x, np.zeros((4, 9), np.float32)),
     ValueError, r"W, the taps\) must be in \[2, 8\], got 9"),
    (lambda x, w: mixir.causal_conv1d(x, np.zeros((5, 3), np.float32)),
     ValueError, "w must have shape"),
    (lambda x, w: mixir.causal_conv1d(x, w, np.zeros(5, np.float32)),
     ValueError, "bias must have shape"),
    (lambda x, w: mixir.causal_conv1d(x, w, conv_state=np.zeros((2, 4, 3))),
     ValueError, "conv_state must have shape"),
    (lambda x, w: mixir.causal_conv1d(x, w, activation="relu"), ValueError,
     "activation"),
    (lambda x, w: mixir.causal_conv1d(x.astype(np.int32), w), TypeError,
     "x has dtype"),
    (lambda x, w: mixir.causal_conv1d(x[0], w), ValueError, "rank 3"),
])
def test_bad_arguments(call, error, match):
    x = np.zeros((2, 5, 4), np.float32)
    w = np.zeros((4, 3), np.float32)
    with pytest.raises(error, match=match):
        call(x, w)
