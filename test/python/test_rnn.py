"""Numerics and argument checks of mix.rnn (``mixir.rnn``): head-wise LSTM,
GRU and sLSTM cells,

    a_g = wx[t, g] + r[h, g] @ h + b[h, g]

followed by each cell's state update (docs/MIXERS.md). The kernels are
compared with ``explicit`` below, a float64 evaluation written here from the
equations (one batch, head and token at a time; it shares no code with the
compiler or with ``mixir.reference``), and for H = 1 with torch.nn.LSTM and
torch.nn.GRU (wx = x W_ih^T + b_ih, r = W_hh, b = b_hh).

Weights are uniform in +-1/sqrt(D), as torch initialises them; wx is
standard normal. Low-precision inputs are rounded before ``explicit`` sees
them, so only the kernel's error is measured. Limits: rel-RMS 1e-4 for f32
inputs, 5e-3 for bf16 and f16, on h and on every final state.

Target cuda runs 16-bit inputs (one thread block per (batch, head), the
head's weights in shared memory for all steps); ``cuda-emulation`` (the
test plugin, conftest.py) runs those kernels on the CPU and is checked here
against the same ``explicit``.
"""

import ml_dtypes
import numpy as np
import pytest

import mixir  # noqa: E402  (a missing native extension must fail, not skip)
from needs import need

DTYPES = {"f32": np.float32, "f16": np.float16, "bf16": ml_dtypes.bfloat16}
LIMIT = {"f32": 1e-4, "f16": 5e-3, "bf16": 5e-3}
GATES = {"lstm": 4, "gru": 3, "slstm": 4}
STATES = {"lstm": 2, "gru": 1, "slstm": 4}


# --------------------------------------------------------------------------
# Independent float64 evaluation and inputs
# --------------------------------------------------------------------------

def _sig(x):
    return 1.0 / (1.0 + np.exp(-x))


def _step(cell, wx_t, rh, bias, state, first):
    """One token of one head: wx_t [G, D], rh = r[h] @ h [G, D], bias [G, D];
    state the list of [D] states; returns the new list."""
    if cell == "lstm":
        i, f, z, o = wx_t + rh + bias
        c = _sig(f) * state[1] + _sig(i) * np.tanh(z)
        return [_sig(o) * np.tanh(c), c]
    if cell == "gru":
        r = _sig(wx_t[0] + rh[0] + bias[0])
        z = _sig(wx_t[1] + rh[1] + bias[1])
        n = np.tanh(wx_t[2] + r * (rh[2] + bias[2]))
        return [(1 - z) * n + z * state[0]]
    i, f, z, o = wx_t + rh + bias
    _, c, n, m = state
    log_f = -np.logaddexp(0.0, -f)  # log sigmoid(f)
    m_new = i if first else np.maximum(log_f + m, i)
    i_gate = np.exp(i - m_new)
    f_gate = np.exp(log_f + m - m_new)
    c = f_gate * c + i_gate * np.tanh(z)
    n = f_gate * n + i_gate
    return [_sig(o) * c / n, c, n, m_new]


def explicit(cell, wx, r, b=None, init=None):
    """h [B, T, H, D] and the final states, each [B, H, D], in float64."""
    wx, r = wx.astype(np.float64), r.astype(np.float64)
    nb, nt, nh, ng, d = wx.shape
    bias = np.zeros((nh, ng, d)) if b is None else b.astype(np.float64)
    out = np.zeros((nb, nt, nh, d))
    finals = [np.zeros((nb, nh, d)) for _ in range(STATES[cell])]
    for bi in range(nb):
        for h in range(nh):
            state = ([np.zeros(d) for _ in finals] if init is None else
                     [np.asarray(s[bi, h], dtype=np.float64) for s in init])
            for t in range(nt):
                state = _step(cell, wx[bi, t, h], r[h] @ state[0], bias[h],
                              state, first=(t == 0 and init is None))
                out[bi, t, h] = state[0]
            for k, s in enumerate(state):
                finals[k][bi, h] = s
    return out, finals


def rel_rms(ref, out):
    ref, out = np.asarray(ref, np.float64), np.asarray(out, np.float64)
    return float(np.sqrt(np.mean((ref - out) ** 2) / np.mean(ref ** 2)))


def make(cell, B, T, H, D, dtype, bias, init, seed):
    rng = np.random.default_rng(seed)
    bound = 1.0 / np.sqrt(D)
    G = GATES[cell]
    wx = rng.standard_normal((B, T, H, G, D)).astype(dtype)
    r = rng.uniform(-bound, bound, (H, G, D, D)).astype(dtype)
    b = rng.uniform(-bound, bound, (H, G, D)).astype(dtype) if bias else None
    states = None
    if init:
        states = [rng.uniform(-1, 1, (B, H, D)).astype(np.float32)
                  for _ in range(STATES[cell])]
        if cell == "slstm":  # a normaliser n > 0 and a stabiliser m
            states[2] = rng.uniform(0.5, 2.0, (B, H, D)).astype(np.float32)
            states[3] = rng.uniform(-1, 1, (B, H, D)).astype(np.float32)
        states = tuple(states)
    return wx, r, b, states


def run(cell, wx, r, b, states, target="cpu"):
    init = states
    if cell == "gru" and states is not None:
        init = states[0]  # a single array for the one-state cell
    h, final = mixir.rnn(wx, r, b, cell=cell, initial_state=init,
                         output_final_state=True, target=target)
    return h, ((final,) if cell == "gru" else final)


def check(cell, dtype_name, B, T, H, D, bias, init, seed=0, target="cpu"):
    wx, r, b, states = make(cell, B, T, H, D, DTYPES[dtype_name], bias, init,
                            seed)
    h, finals = run(cell, wx, r, b, states, target)
    assert h.dtype == wx.dtype and h.shape == (B, T, H, D)
    assert len(finals) == STATES[cell]
    want_h, want_finals = explicit(cell, wx, r, b, states)
    errors = [rel_rms(want_h, h)]
    for got, want in zip(finals, want_finals):
        assert got.dtype == np.float32 and got.shape == (B, H, D)
        errors.append(rel_rms(want, got))
    assert max(errors) <= LIMIT[dtype_name], errors


# --------------------------------------------------------------------------
# Numerics against the float64 evaluation
# --------------------------------------------------------------------------

# (B, T, D, H, bias, initial states): odd and long lengths, both head dims.
# The CPU form runs groups of 4 batch rows, then the rest one by one: B = 2
# takes the second path only, B = 4 the first only, B = 6 and 9 both.
F32_CASES = [(2, 1, 60, 3, True, False), (6, 1, 64, 1, False, True),
             (2, 63, 64, 1, False, False), (9, 63, 60, 3, True, True),
             (4, 75, 60, 2, True, False), (6, 1024, 64, 3, True, True),
             (2, 1024, 60, 1, False, False)]


@pytest.mark.parametrize("cell", ["lstm", "gru", "slstm"])
@pytest.mark.parametrize("B,T,D,H,bias,init", F32_CASES)
def test_f32_matches_f64(cell, B, T, D, H, bias, init):
    check(cell, "f32", B, T, H, D, bias, init)


@pytest.mark.parametrize("cell", ["lstm", "gru", "slstm"])
@pytest.mark.parametrize("B,T,D,H,bias,init", [(5, 1024, 64, 3, True, True),
                                               (2, 63, 60, 1, False, False)])
def test_bf16_matches_f64(cell, B, T, D, H, bias, init):
    check(cell, "bf16", B, T, H, D, bias, init)


@pytest.mark.parametrize("cell", ["lstm", "gru", "slstm"])
def test_f16_matches_f64(cell):
    check(cell, "f16", 5, 75, 2, 60, True, True)


@pytest.mark.parametrize("cell", ["lstm", "gru", "slstm"])
def test_empty_sequence_and_batch(cell):
    """T = 0 returns the initial states (zeros without them); B = 0 returns
    empty arrays."""
    wx, r, b, states = make(cell, 5, 1, 2, 16, np.float32, True, True, 5)
    h, finals = run(cell, wx[:, :0], r, b, states)
    assert h.shape == (5, 0, 2, 16)
    for got, want in zip(finals, states):
        np.testing.assert_array_equal(got, want)
    _, finals = run(cell, wx[:, :0], r, b, None)
    assert all(np.all(f == 0) for f in finals)
    h, finals = run(cell, wx[:0], r, b, None)
    assert h.shape == (0, 1, 2, 16) and finals[0].shape == (0, 2, 16)


def test_compiled_module_checks_state_batch_at_run_time():
    """Through mixir.compile, a batch size of h0 other than wx's is reported
    by the run-time shape check, naming both operands."""
    src = """
func.func @f(%wx: tensor<?x?x2x4x16xf32>, %r: tensor<2x4x16x16xf32>,
             %h0: tensor<?x2x16xf32>, %c0: tensor<?x2x16xf32>)
    -> (tensor<?x?x2x16xf32>, tensor<?x2x16xf32>, tensor<?x2x16xf32>) {
  %h, %s:2 = mix.rnn lstm %wx, %r init(%h0, %c0)
      : (tensor<?x?x2x4x16xf32>, tensor<2x4x16x16xf32>, tensor<?x2x16xf32>,
         tensor<?x2x16xf32>)
      -> (tensor<?x?x2x16xf32>, tensor<?x2x16xf32>, tensor<?x2x16xf32>)
  return %h, %s#0, %s#1 : tensor<?x?x2x16xf32>, tensor<?x2x16xf32>, tensor<?x2x16xf32>
}"""
    module = mixir.compile(src)
    z = np.zeros
    with pytest.raises(ValueError, match=r"mix.rnn: 'h0' dim 0 \(B\) does not "
                       r"match 'wx' dim 0 \(got 4, expected 5\)"):
        module.f(z((5, 3, 2, 4, 16), np.float32), z((2, 4, 16, 16), np.float32),
                 z((4, 2, 16), np.float32), z((5, 2, 16), np.float32))


@pytest.mark.parametrize("cell", ["lstm", "gru", "slstm"])
def test_wide_head_dim(cell):
    """D = 130: output tiles of 64 (16 for the groups of batch rows) lanes
    with a 2-lane remainder, each reading the whole old h; B = 5 runs one
    group and one single row."""
    check(cell, "f32", 5, 40, 2, 130, True, True)


def test_f32_weights_with_bf16_input():
    """r and b in float32 next to bf16 wx (the op takes either)."""
    wx, r, b, states = make("lstm", 2, 63, 3, 64, ml_dtypes.bfloat16, True,
                            True, 1)
    r32, b32 = r.astype(np.float32), b.astype(np.float32)
    h, finals = run("lstm", wx, r32, b32, states)
    want_h, want_finals = explicit("lstm", wx, r32, b32, states)
    assert rel_rms(want_h, h) <= LIMIT["bf16"]
    assert rel_rms(want_finals[1], finals[1]) <= LIMIT["f32"]


def test_slstm_first_step():
    """Without initial states the first step takes m = a_i: then i' = 1,
    n = 1, c = tanh(a_z), h = sigmoid(a_o) tanh(a_z), exactly."""
    wx, r, _, _ = make("slstm", 2, 1, 3, 60, np.float32, False, False, 2)
    h, (h_t, c_t, n_t, m_t) = run("slstm", wx, r, None, None)
    a = wx[:, 0].astype(np.float64)  # h = 0, so a = wx
    assert rel_rms(a[:, :, 0], m_t) <= 1e-6
    np.testing.assert_allclose(n_t, 1.0, rtol=1e-6)
    assert rel_rms(np.tanh(a[:, :, 2]), c_t) <= 1e-5
    assert rel_rms(_sig(a[:, :, 3]) * np.tanh(a[:, :, 2]), h[:, 0]) <= 1e-5


def test_slstm_zero_initial_states_use_the_max_rule():
    """Given initial states, the max rule holds from the first step: with
    h = c = n = 0 and m = 5 the first m is max(log f + 5, a_i), not a_i; h
    does not depend on the stabiliser."""
    wx, r, _, _ = make("slstm", 1, 3, 2, 64, np.float32, False, False, 3)
    zero = np.zeros((1, 2, 64), np.float32)
    init = (zero, zero, zero, zero + 5.0)
    h_given, (_, _, _, m_given) = run("slstm", wx, r, None, init)
    h_none, (_, _, _, m_none) = run("slstm", wx, r, None, None)
    want_h, want = explicit("slstm", wx, r, None, init)
    assert rel_rms(want[3], m_given) <= 1e-5
    assert rel_rms(want_h, h_given) <= 1e-5
    assert rel_rms(h_none, h_given) <= 1e-5
    assert np.max(np.abs(m_none - m_given)) > 1e-2


@pytest.mark.parametrize("cell", ["lstm", "gru", "slstm"])
@pytest.mark.parametrize("init", [False, True])
def test_reference_rnn_agrees(cell, init):
    """mixir.reference.rnn (what examples/run_examples.py compares with) is
    the same recurrence as ``explicit``, to float64 rounding."""
    wx, r, b, states = make(cell, 3, 17, 2, 12, np.float32, True, init, 6)
    want_h, want = explicit(cell, wx, r, b, states)
    got_h, got = mixir.reference.rnn(wx, r, b, cell=cell, initial_state=states)
    np.testing.assert_allclose(got_h, want_h, rtol=1e-12, atol=1e-12)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12)


# --------------------------------------------------------------------------
# Target cuda, run by the emulator (cuda-emulation)
# --------------------------------------------------------------------------

# (dtype, B, T, H, D, bias, initial states): both 16-bit types, one token
# and an odd length, one and four heads, an odd head dim (the block's
# threads are not a multiple of it) and D = 64.
CUDA_CASES = [("bf16", 2, 129, 4, 64, True, True),
              ("f16", 3, 1, 1, 37, False, False),
              ("f16", 2, 129, 1, 37, True, False),
              ("bf16", 1, 1, 4, 64, False, True)]


@pytest.mark.parametrize("cell", ["lstm", "gru", "slstm"])
@pytest.mark.parametrize("dtype,B,T,H,D,bias,init", CUDA_CASES)
def test_cuda_emulation_matches_f64(cell, dtype, B, T, H, D, bias, init):
    check(cell, dtype, B, T, H, D, bias, init, seed=T + D,
          target="cuda-emulation")


def test_cuda_emulation_h_only_and_f32_weights():
    """output_final_state=False returns h alone; r and b in float32 next to
    bf16 wx keep their f32 tile (64 KiB at D = 64: global scratch, not
    shared memory) and f32 products."""
    wx, r, b, states = make("lstm", 2, 33, 2, 64, ml_dtypes.bfloat16, True,
                            True, 7)
    r32, b32 = r.astype(np.float32), b.astype(np.float32)
    h, none = mixir.rnn(wx, r32, b32, initial_state=states,
                        target="cuda-emulation")
    assert none is None and h.dtype == wx.dtype
    want_h, _ = explicit("lstm", wx, r32, b32, states)
    assert rel_rms(want_h, h) <= LIMIT["bf16"]


@pytest.mark.parametrize("cell", ["lstm", "gru", "slstm"])
def test_cuda_emulation_empty_sequence_and_batch(cell):
    """T = 0 returns the initial states; B = 0 launches nothing."""
    wx, r, b, states = make(cell, 3, 1, 2, 16, np.float16, True, True, 5)
    h, finals = run(cell, wx[:, :0], r, b, states, "cuda-emulation")
    assert h.shape == (3, 0, 2, 16)
    for got, want in zip(finals, states):
        np.testing.assert_array_equal(got, want)
    h, finals = run(cell, wx[:0], r, b, None, "cuda-emulation")
    assert h.shape == (0, 1, 2, 16) and finals[0].shape == (0, 2, 16)


def test_cuda_emulation_takes_f32():
    """Target cuda runs f32 wx like the other ops (a block per (batch,
    head), without tensor cores)."""
    wx, r, b, states = make("gru", 2, 9, 2, 21, np.float32, True, True, 3)
    src = (
        "func.func @f(%wx: tensor<2x9x2x3x21xf32>, %r: tensor<2x3x21x21xf32>,"
        " %b: tensor<2x3x21xf32>, %h0: tensor<2x2x21xf32>)"
        " -> (tensor<2x9x2x21xf32>, tensor<2x2x21xf32>) {\n"
        "  %h, %s = mix.rnn gru %wx, %r bias(%b) init(%h0)"
        " : (tensor<2x9x2x3x21xf32>, tensor<2x3x21x21xf32>,"
        " tensor<2x3x21xf32>, tensor<2x2x21xf32>)"
        " -> (tensor<2x9x2x21xf32>, tensor<2x2x21xf32>)\n"
        "  return %h, %s : tensor<2x9x2x21xf32>, tensor<2x2x21xf32>\n}\n")
    module = mixir.compile(src, target="cuda-emulation")
    h, h_t = module.f(wx, r, b, states[0])
    want_h, want = explicit("gru", wx, r, b, states)
    assert rel_rms(want_h, h) <= LIMIT["f32"]
    assert rel_rms(want[0], h_t) <= LIMIT["f32"]


# --------------------------------------------------------------------------
# torch.nn.LSTM and torch.nn.GRU, H = 1
# --------------------------------------------------------------------------

def _torch_case(module_name, D, T, seed):
    torch = need("torch")
    torch.manual_seed(seed)
    C = 48  # input features
    module = getattr(torch.nn, module_name)(C, D, batch_first=True)
    x = torch.randn(5, T, C)  # a group of four batch rows and one more
    G = 4 if module_name == "LSTM" else 3
    with torch.no_grad():
        wx = (x @ module.weight_ih_l0.T + module.bias_ih_l0).numpy()
    wx = np.ascontiguousarray(wx.reshape(5, T, 1, G, D))
    r = module.weight_hh_l0.detach().numpy().reshape(1, G, D, D)
    b = module.bias_hh_l0.detach().numpy().reshape(1, G, D)
    return torch, module, x, wx, r, b


@pytest.mark.parametrize("D,T", [(64, 63), (60, 500)])
def test_lstm_matches_torch(D, T):
    torch, lstm, x, wx, r, b = _torch_case("LSTM", D, T, seed=D)
    h0, c0 = torch.randn(1, 5, D), torch.randn(1, 5, D)
    with torch.no_grad():
        want, (want_h, want_c) = lstm(x, (h0, c0))
    init = (h0[0].numpy()[:, None], c0[0].numpy()[:, None])
    h, (h_t, c_t) = mixir.rnn(wx, r, b, cell="lstm", initial_state=init,
                              output_final_state=True)
    assert rel_rms(want.numpy(), h[:, :, 0]) <= 1e-4
    assert rel_rms(want_h[0].numpy(), h_t[:, 0]) <= 1e-4
    assert rel_rms(want_c[0].numpy(), c_t[:, 0]) <= 1e-4


@pytest.mark.parametrize("D,T", [(64, 63), (60, 500)])
def test_gru_matches_torch(D, T):
    torch, gru, x, wx, r, b = _torch_case("GRU", D, T, seed=D + 1)
    h0 = torch.randn(1, 5, D)
    with torch.no_grad():
        want, want_h = gru(x, h0)
    h, h_t = mixir.rnn(wx, r, b, cell="gru", initial_state=h0[0].numpy()[:, None],
                       output_final_state=True)
    assert rel_rms(want.numpy(), h[:, :, 0]) <= 1e-4
    assert rel_rms(want_h[0].numpy(), h_t[:, 0]) <= 1e-4
    # Without an initial state torch starts from zero too.
    with torch.no_grad():
        want0, _ = gru(x)
    h_zero, none = mixir.rnn(wx, r, b, cell="gru")
    assert none is None
    assert rel_rms(want0.numpy(), h_zero[:, :, 0]) <= 1e-4


# --------------------------------------------------------------------------
# Bad arguments: ValueError / TypeError naming the argument
# --------------------------------------------------------------------------

def _lstm_args(D=16, H=2, G=4):
    wx = np.zeros((1, 5, H, G, D), np.float32)
    r = np.zeros((H, G, D, D), np.float32)
    return wx, r


@pytest.mark.parametrize("cell,G", [("gru", 4), ("lstm", 3), ("slstm", 3)])
def test_wrong_gate_count(cell, G):
    wx, r = _lstm_args(G=G)
    with pytest.raises(ValueError, match=rf"wx dim 3 \(G\) is {G}, but "
                       rf"cell='{cell}' has {GATES[cell]} gates"):
        mixir.rnn(wx, r, cell=cell)


def test_unknown_cell():
    wx, r = _lstm_args()
    with pytest.raises(ValueError, match="cell must be one of 'lstm', 'gru', "
                       "'slstm', got 'rnn'"):
        mixir.rnn(wx, r, cell="rnn")


def test_mismatched_head_dim():
    wx, _ = _lstm_args(D=16)
    _, r = _lstm_args(D=32)
    with pytest.raises(ValueError, match=r"r must have shape \[H, G, D, D\] = "
                       r"\(2, 4, 16, 16\), got \(2, 4, 32, 32\)"):
        mixir.rnn(wx, r)
    wx, r = _lstm_args()
    with pytest.raises(ValueError, match=r"r must have shape \[H, G, D, D\]"):
        mixir.rnn(wx, r[:, :, :, :8])
    with pytest.raises(ValueError, match=r"b must have shape \[H, G, D\] = "
                       r"\(2, 4, 16\), got \(2, 4, 15\)"):
        mixir.rnn(wx, r, np.zeros((2, 4, 15), np.float32))
    with pytest.raises(ValueError, match=r"r must have rank 4"):
        mixir.rnn(wx, r[0])


def test_wrong_state_count():
    wx, r = _lstm_args()
    s = np.zeros((1, 2, 16), np.float32)
    with pytest.raises(ValueError, match=r"initial_state must hold 2 arrays "
                       r"\(h, c\) for cell='lstm', got 1"):
        mixir.rnn(wx, r, initial_state=(s,))
    with pytest.raises(ValueError, match=r"initial_state must hold 4 arrays "
                       r"\(h, c, n, m\) for cell='slstm', got 2"):
        mixir.rnn(wx, r, cell="slstm", initial_state=(s, s))
    with pytest.raises(TypeError, match=r"initial_state must be a tuple of 2 "
                       r"arrays \(h, c\) for cell='lstm', got ndarray"):
        mixir.rnn(wx, r, initial_state=s)
    with pytest.raises(ValueError, match=r"initial_state c must have shape "
                       r"\[B, H, D\] = \(1, 2, 16\), got \(1, 3, 16\)"):
        mixir.rnn(wx, r, initial_state=(s, np.zeros((1, 3, 16), np.float32)))


def test_wrong_dtypes():
    wx, r = _lstm_args()
    with pytest.raises(TypeError, match="wx has dtype int32; expected float32, "
                       "float16 or bfloat16"):
        mixir.rnn(wx.astype(np.int32), r)
    with pytest.raises(TypeError, match="r must be a floating-point array, "
                       "got int64"):
        mixir.rnn(wx, r.astype(np.int64))
    with pytest.raises(TypeError, match="b must be a floating-point array"):
        mixir.rnn(wx, r, np.zeros((2, 4, 16), np.int16))
    s = np.zeros((1, 2, 16), np.float32)
    with pytest.raises(TypeError, match="initial_state h must be a "
                       "floating-point array"):
        mixir.rnn(wx, r, initial_state=(s.astype(np.int32), s))
    with pytest.raises(TypeError, match=r"wx must be a numpy array \(.*\), got list"):
        mixir.rnn(wx.tolist(), r)


def test_results_are_independent_of_other_heads_and_batches():
    """Each (batch, head) is its own recurrence: changing head 1 of one
    batch row leaves every other output as it was."""
    wx, r, b, _ = make("lstm", 6, 20, 3, 64, np.float32, True, False, 4)
    h, _ = mixir.rnn(wx, r, b)
    for row in (1, 5):  # in a group of four, and one run on its own
        wx2 = wx.copy()
        wx2[row, :, 1] += 1.0
        h2, _ = mixir.rnn(wx2, r, b)
        changed = np.abs(h2 - h).max(axis=(1, 3))  # [B, H]
        assert changed[row, 1] > 1e-3
        changed[row, 1] = 0.0
        assert np.all(changed == 0.0)
