#!/usr/bin/env python3
"""Trains a two-layer gated-linear-attention (GLA) language model with
MixIR's mixers and their derived backward (`mixir.torch.chunk_gla`), and the
same model with the mixer written as a plain torch loop (the recurrent form
of docs/MIXERS.md, differentiated by torch autograd). Both start from the
same weights and see the same batches; the script prints both loss curves
side by side and fails if they drift apart by more than --tol (relative).

Task: copy. Each sequence is N random tokens, a separator, and the same N
tokens again; the loss is the next-token cross-entropy on the copy, which a
model can only bring near zero by remembering the first half.

    PYTHONPATH=build/python python3 examples/training/train_gla.py
    PYTHONPATH=build/python python3 examples/training/train_gla.py --steps 300 --plot loss.png

Full size (the defaults): 300 steps, batch 16, 24 tokens to copy, d_model
64, 2 heads of K=V=32. The two curves agree to about 1e-7 for the first
hundred steps; after that training amplifies the float32 rounding
differences of the two mixers (chunked vs per-token sums) to about 1e-3 by
step 300, hence --tol 5e-3. `make test` runs it at 30 steps with --tol 1e-5
(test/python/test_training.py).
"""

import argparse
import math
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

import mixir.torch as mt


def gla_recurrent(q, k, v, g):
    """o_t = S_t^T (scale q_t), S_t = diag(exp(g_t)) S_{t-1} + k_t v_t^T."""
    B, T, H, K = q.shape
    S = q.new_zeros(B, H, K, v.shape[-1])
    out = []
    for t in range(T):
        S = torch.exp(g[:, t])[..., None] * S + \
            k[:, t, :, :, None] * v[:, t, :, None, :]
        out.append(torch.einsum("bhkv,bhk->bhv", S, q[:, t] * K ** -0.5))
    return torch.stack(out, 1)


def gla_mixir(q, k, v, g):
    return mt.chunk_gla(q, k, v, g)[0]


class GLALayer(nn.Module):
    def __init__(self, d, heads, mixer):
        super().__init__()
        self.h, self.dk = heads, d // heads
        self.norm1, self.norm2 = nn.RMSNorm(d), nn.RMSNorm(d)
        self.qkv = nn.Linear(d, 3 * d, bias=False)
        self.gate = nn.Linear(d, d)
        self.out = nn.Linear(d, d, bias=False)
        self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(),
                                 nn.Linear(4 * d, d))
        self.mixer = mixer

    def forward(self, x):
        B, T, d = x.shape
        y = self.norm1(x)
        q, k, v = self.qkv(y).view(B, T, 3, self.h, self.dk).unbind(2)
        # GLA's gate: a log-sigmoid, scaled so decays stay near 1.
        g = F.logsigmoid(self.gate(y)).view(B, T, self.h, self.dk) / 16
        x = x + self.out(self.mixer(q, k, v, g).reshape(B, T, d))
        return x + self.mlp(self.norm2(x))


class Model(nn.Module):
    def __init__(self, vocab, d, heads, layers, mixer):
        super().__init__()
        self.embed = nn.Embedding(vocab, d)
        self.layers = nn.ModuleList(GLALayer(d, heads, mixer)
                                    for _ in range(layers))
        self.norm = nn.RMSNorm(d)
        self.head = nn.Linear(d, vocab, bias=False)

    def forward(self, tokens):
        x = self.embed(tokens)
        for layer in self.layers:
            x = layer(x)
        return self.head(self.norm(x))


def batches(steps, batch, n, vocab, seed):
    gen = torch.Generator().manual_seed(seed)
    sep = vocab - 1
    for _ in range(steps):
        first = torch.randint(0, vocab - 1, (batch, n), generator=gen)
        seq = torch.cat([first, torch.full((batch, 1), sep), first], 1)
        yield seq[:, :-1], seq[:, 1:]


def train(mixer, args):
    torch.manual_seed(args.seed)
    model = Model(args.vocab, args.d, args.heads, 2, mixer)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr)
    losses = []
    for inp, tgt in batches(args.steps, args.batch, args.n, args.vocab,
                            args.seed):
        logits = model(inp)
        # Only the copy (after the separator) is predictable.
        loss = F.cross_entropy(logits[:, args.n:].reshape(-1, args.vocab),
                               tgt[:, args.n:].reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--n", type=int, default=24, help="tokens to copy")
    p.add_argument("--vocab", type=int, default=17)
    p.add_argument("--d", type=int, default=64)
    p.add_argument("--heads", type=int, default=2)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--tol", type=float, default=5e-3,
                   help="largest relative loss difference allowed per step")
    p.add_argument("--plot", help="write the two curves to this PNG")
    args = p.parse_args()
    torch.set_num_threads(1)  # same reduction order in every run

    t0 = time.perf_counter()
    ours = train(gla_mixir, args)
    t1 = time.perf_counter()
    ref = train(gla_recurrent, args)
    t2 = time.perf_counter()
    print(f"| step | loss (mixir) | loss (torch recurrent) | rel. diff |")
    print("|---:|---:|---:|---:|")
    worst = 0.0
    for i, (a, b) in enumerate(zip(ours, ref)):
        diff = abs(a - b) / abs(b)
        worst = max(worst, diff)
        if i % max(1, args.steps // 15) == 0 or i == args.steps - 1:
            print(f"| {i} | {a:.5f} | {b:.5f} | {diff:.1e} |")
    print(f"\nchance level ln({args.vocab - 1}) = {math.log(args.vocab - 1):.3f}; "
          f"final loss {ours[-1]:.4f}; worst relative difference {worst:.1e}; "
          f"training time: mixir {t1 - t0:.1f} s, torch loop {t2 - t1:.1f} s")
    if args.plot:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        plt.plot(ours, label="mixir (derived backward)")
        plt.plot(ref, "--", label="torch recurrent loop")
        plt.xlabel("step")
        plt.ylabel("copy loss")
        plt.legend()
        plt.savefig(args.plot)
    if not worst <= args.tol:
        sys.exit(f"train_gla.py: the loss curves differ by {worst:.1e} "
                 f"(> {args.tol:.0e})")


if __name__ == "__main__":
    main()
