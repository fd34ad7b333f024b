#!/usr/bin/env python3
"""FlashRNN (Pöppel et al. 2024): head-wise LSTM, GRU and sLSTM layers.

FlashRNN splits an RNN's hidden state into H heads of D channels, each head
with its own recurrent matrices (a block-diagonal R). The layer is

    wx = x W_ih + b_ih                  one matmul over all tokens  [B,T,H,G,D]
    h  = RNN(wx, R, b)                  the cell's recurrence, per head
    y  = h W_o                          output projection

with the cells of the paper: LSTM (gates i, f, z, o), GRU (r, z, n; r gates
R_n h + b_n) and sLSTM (exponential input gate, normaliser state n:
c = f c + exp(a_i) tanh(a_z), n = f n + exp(a_i), h = sigmoid(a_o) c / n).
The recurrence is one mix.rnn; the two projections are numpy matmuls. The
reference runs the cells token by token in float64; sLSTM's without the
stabiliser (exp(a_i) is finite at these sizes, and the stabiliser cancels
in c / n).
"""

import _common as C  # first: it sets numpy's thread count
import numpy as np

PAPER = "FlashRNN"
GATES = {"lstm": 4, "gru": 3, "slstm": 4}


def layer(mixir, x, w_ih, b_ih, r, b, w_o, cell):
    B, T, _ = x.shape
    H, G, D, _ = r.shape
    wx = (x @ w_ih + b_ih).reshape(B, T, H, G, D)
    h, _ = mixir.rnn(wx, r, b, cell=cell)
    return h.reshape(B, T, H * D) @ w_o


def reference(x, w_ih, b_ih, r, b, w_o, cell):
    x, w_ih, b_ih, r, b, w_o = (a.astype(np.float64) for a in (x, w_ih, b_ih, r, b, w_o))
    B, T, _ = x.shape
    H, G, D, _ = r.shape
    sig = C.sigmoid
    wx = (x @ w_ih + b_ih).reshape(B, T, H, G, D)
    h = np.zeros((B, H, D))
    c = np.zeros((B, H, D))
    n = np.zeros((B, H, D))
    out = np.zeros((B, T, H, D))
    for t in range(T):
        rh = np.einsum("hgij,bhj->bhgi", r, h)          # R_g h per head
        if cell == "gru":
            a = wx[:, t] + rh + b
            rg, z = sig(a[:, :, 0]), sig(a[:, :, 1])
            nn = np.tanh(wx[:, t, :, 2] + rg * (rh[:, :, 2] + b[:, 2]))
            h = (1 - z) * nn + z * h
        else:
            a = wx[:, t] + rh + b
            ai, af, az, ao = (a[:, :, g] for g in range(4))
            if cell == "lstm":
                c = sig(af) * c + sig(ai) * np.tanh(az)
                h = sig(ao) * np.tanh(c)
            else:
                c = sig(af) * c + np.exp(ai) * np.tanh(az)
                n = sig(af) * n + np.exp(ai)
                h = sig(ao) * c / n
        out[:, t] = h
    return out.reshape(B, T, H * D) @ w_o


def run(rng, B=2, T=151, H=3, D=20):
    import mixir
    rows = []
    for cell, G in GATES.items():
        dm = H * D
        x = rng.standard_normal((B, T, dm)).astype(np.float32)
        w_ih = C.weight(rng, dm, H * G * D)
        b_ih = (0.1 * rng.standard_normal(H * G * D)).astype(np.float32)
        bound = 1.0 / np.sqrt(D)
        r = rng.uniform(-bound, bound, (H, G, D, D)).astype(np.float32)
        b = rng.uniform(-bound, bound, (H, G, D)).astype(np.float32)
        w_o = C.weight(rng, dm, dm)
        args = (x, w_ih, b_ih, r, b, w_o, cell)
        y, sec = C.timed(lambda: layer(mixir, *args))
        err = C.rel_rms(reference(*args), y)
        rows.append(C.row(f"{PAPER} ({cell}, {H} heads)", f"mix.rnn {cell}",
                          "numpy: in/out projections", err, C.LONG_TOL, B * T, sec))
    return rows


if __name__ == "__main__":
    C.main(__name__)
