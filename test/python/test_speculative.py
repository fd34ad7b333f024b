"""Speculative verification: ``all_states=True`` on linear_attention,
delta_rule and recurrence returns the state after every token,
[B, T, Hv, K, V], in place of the final state (MIXERS.md "Packed sequences
and state pools"), and a state pool is read but not written.

Every state and output is compared with a float64 evaluation of the
recurrent form (test_packed.py's loop, which shares no code with the
compiler or with ``mixir.reference``), at odd lengths and head dims, with
shared heads, in f32 and bf16, dense and packed with a pool whose slots are
shuffled and padded. The serving loop this is for is run end to end: a packed prefill
into a pool, a verification of draft tokens, a commit of each sequence's
accepted prefix taken from the returned states, then decoding; it must
equal the reference run on the accepted tokens only, so a rejected draft
costs no recomputation. Refusals (a chunked form, the bidirectional form,
the backward) are errors that name the attribute.
"""

import ml_dtypes
import numpy as np
import pytest

import mixir
from test_packed import reference as packed_reference

DTYPES = {"f32": np.float32, "bf16": ml_dtypes.bfloat16}
LIMIT = {"f32": 1e-5, "bf16": 5e-3}
# (Hq, Hk, Hv): one of each, or two query heads per key/value head (GQA).
HEADS = {"mha": (2, 2, 2), "gqa": (4, 2, 2)}


def f64(x):
    return np.asarray(x, np.float64)


def rel_rms(got, want):
    got, want = f64(got), f64(want)
    return np.sqrt(np.mean((got - want) ** 2) / max(np.mean(want ** 2), 1e-30))


def reference(cu, q, k, v, decay, s0, scale, beta=None, a=None, b=None):
    """test_packed's float64 loop (its arguments), returning o [T, Ho, V]
    and the state after every token [T, Hv, K, V]."""
    states = np.zeros((q.shape[0], v.shape[1], k.shape[2], v.shape[2]))
    o, _ = packed_reference(cu, q, k, v, decay, f64(s0), scale, beta=beta,
                            a=a, b=b, every_token=states)
    return o, states


class Case:
    """Random inputs of one op on one packed row ([1, T, ...]) or a batch,
    and the call that runs it."""

    def __init__(self, rng, op, gate, dtype, heads, T, K, V, batch=1):
        hq, hk, hv = HEADS[heads]
        dt = DTYPES[dtype]
        self.op, self.gate, self.dtype = op, gate, dtype
        shape = lambda h, d: (batch, T, h, d)  # noqa: E731
        self.q = rng.standard_normal(shape(hq, K)).astype(dt)
        k = rng.standard_normal(shape(hk, K))
        self.k = (k / np.linalg.norm(k, axis=-1, keepdims=True)).astype(dt)
        self.v = rng.standard_normal(shape(hv, V)).astype(dt)
        self.g = None
        if gate == "scalar":
            self.g = rng.uniform(-0.5, -0.01, (batch, T, hv)).astype(np.float32)
        elif gate == "vector":
            self.g = rng.uniform(-0.5, -0.01,
                                 (batch, T, hv, K)).astype(np.float32)
        self.beta = self.a = self.b = None
        if op == "dr":
            self.beta = rng.uniform(0.1, 1.0, (batch, T, hv)).astype(np.float32)
        if op == "rc":
            a = rng.standard_normal((batch, T, hv, 1, K))
            a /= np.linalg.norm(a, axis=-1, keepdims=True)
            self.a = a.astype(np.float32)
            self.b = (-0.6 * a).astype(np.float32)
        self.scale = K ** -0.5

    def run(self, **kw):
        common = dict(gate=self.gate, **kw)
        if self.op == "la":
            return mixir.linear_attention(self.q, self.k, self.v, self.g,
                                          **common)
        if self.op == "dr":
            return mixir.delta_rule(self.q, self.k, self.v, self.beta, self.g,
                                    **common)
        return mixir.recurrence(self.q, self.k, self.v, self.a, self.b,
                                self.g, **common)

    def want(self, row, cu, s0):
        """The reference for batch row `row` packed as `cu`."""
        T, hv, K = self.k.shape[1], self.v.shape[2], self.k.shape[3]
        decay = np.ones((T, hv, K))
        if self.gate == "scalar":
            decay = np.broadcast_to(np.exp(f64(self.g[row]))[:, :, None],
                                    (T, hv, K))
        elif self.gate == "vector":
            decay = np.exp(f64(self.g[row]))
        pick = lambda x: None if x is None else f64(x[row])  # noqa: E731
        return reference(cu, f64(self.q[row]), f64(self.k[row]),
                         f64(self.v[row]), decay, s0, self.scale,
                         beta=pick(self.beta), a=pick(self.a), b=pick(self.b))


OPS = [("la", "scalar"), ("la", "vector"), ("dr", "scalar"),
       ("rc", "vector")]


@pytest.mark.parametrize("dtype", ["f32", "bf16"])
@pytest.mark.parametrize("op,gate", OPS)
@pytest.mark.parametrize("T,K,V,heads", [(1, 60, 60, "mha"),
                                         (33, 60, 64, "gqa"),
                                         (75, 7, 9, "mha")])
def test_every_state_of_a_batch(op, gate, dtype, T, K, V, heads):
    """A dense batch of two rows with an initial state: the state after
    every token and the outputs equal the reference; the last state is the
    ordinary final state."""
    rng = np.random.default_rng(T * 131 + K + len(op))
    case = Case(rng, op, gate, dtype, heads, T, K, V, batch=2)
    hv = case.v.shape[2]
    s0 = rng.standard_normal((2, hv, K, V)).astype(np.float32) * 0.3
    o, states = case.run(initial_state=s0, all_states=True)
    assert states.shape == (2, T, hv, K, V) and states.dtype == np.float32
    for row in range(2):
        want_o, want_s = case.want(row, [0, T], s0[row:row + 1])
        assert rel_rms(o[row], want_o) <= LIMIT[dtype]
        assert rel_rms(states[row], want_s) <= LIMIT[dtype]
    _, final = case.run(initial_state=s0, output_final_state=True,
                        chunk_size=0)
    np.testing.assert_array_equal(states[:, -1], final)


def packing(rng, n, max_len=6):
    lengths = rng.integers(0, max_len, n)
    lengths[0], lengths[-1] = 0, 1  # an empty and a one-token sequence
    return np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)


@pytest.mark.parametrize("op,gate", OPS)
def test_packed_pool_is_read_not_written(op, gate):
    """Packed sequences over a pool with shuffled slots and padding: each
    token's state is its sequence's, padding tokens give zero outputs and
    states, and the pool is left exactly as it was."""
    rng = np.random.default_rng(7 + len(gate))
    n, K, V, P = 9, 12, 10, 16
    cu = packing(rng, n)
    case = Case(rng, op, gate, "f32", "gqa", int(cu[-1]), K, V)
    hv = case.v.shape[2]
    pool = rng.standard_normal((P, hv, K, V)).astype(np.float32)
    slots = rng.permutation(P)[:n].astype(np.int32)
    slots[[2, 5]] = -1
    before = pool.copy()
    o, states = case.run(cu_seqlens=cu, state_pool=pool,
                         state_indices=slots, all_states=True)
    np.testing.assert_array_equal(pool, before)
    s0 = np.where((slots >= 0)[:, None, None, None], pool[slots],
                  0.0).astype(np.float64)
    want_o, want_s = case.want(0, cu, s0)
    for pad in (2, 5):  # padding: no token runs
        want_o[cu[pad]:cu[pad + 1]] = 0
        want_s[cu[pad]:cu[pad + 1]] = 0
    assert rel_rms(o[0], want_o) <= 1e-5
    assert rel_rms(states[0], want_s) <= 1e-5
    for pad in (2, 5):
        assert not states[0, cu[pad]:cu[pad + 1]].any()


@pytest.mark.parametrize("op,gate", [("dr", "scalar"), ("rc", "vector")])
def test_draft_accept_commit_decode(op, gate):
    """The serving loop: prefill packed prompts into a pool, verify four
    draft tokens per sequence with all_states, commit each sequence's
    accepted prefix (0 to 4 tokens) from the returned states, then decode
    one more token per sequence. Everything equals the reference run on the
    accepted tokens alone."""
    rng = np.random.default_rng(11)
    n, K, V, P, drafts = 5, 16, 12, 8, 4
    prompt_cu = packing(rng, n, max_len=9)
    prompt = Case(rng, op, gate, "f32", "mha", int(prompt_cu[-1]), K, V)
    hv = prompt.v.shape[2]
    pool = np.zeros((P, hv, K, V), np.float32)
    slots = rng.permutation(P)[:n].astype(np.int32)
    prompt.run(cu_seqlens=prompt_cu, state_pool=pool, state_indices=slots)

    draft_cu = np.arange(n + 1, dtype=np.int32) * drafts
    draft = Case(rng, op, gate, "f32", "mha", n * drafts, K, V)
    _, states = draft.run(cu_seqlens=draft_cu, state_pool=pool,
                          state_indices=slots, all_states=True)
    accepted = np.array([0, 4, 1, 3, 2])
    for i in range(n):
        if accepted[i]:
            pool[slots[i]] = states[0, draft_cu[i] + accepted[i] - 1]

    step_cu = np.arange(n + 1, dtype=np.int32)
    step = Case(rng, op, gate, "f32", "mha", n, K, V)
    o_step, _ = step.run(cu_seqlens=step_cu, state_pool=pool,
                         state_indices=slots)

    # The reference: each sequence's prompt, its accepted drafts, the step.
    for i in range(n):
        parts = [(prompt, np.r_[prompt_cu[i]:prompt_cu[i + 1]]),
                 (draft, np.r_[draft_cu[i]:draft_cu[i] + accepted[i]]),
                 (step, np.r_[i:i + 1])]
        merged = Case.__new__(Case)
        merged.op, merged.gate, merged.scale = op, gate, prompt.scale
        for name in ("q", "k", "v", "g", "beta", "a", "b"):
            xs = [getattr(c, name) for c, _ in parts]
            setattr(merged, name, None if xs[0] is None else np.concatenate(
                [x[:, idx] for x, (_, idx) in zip(xs, parts)], axis=1))
        total = merged.k.shape[1]
        want_o, want_s = merged.want(0, [0, total], np.zeros((1, hv, K, V)))
        assert rel_rms(o_step[0, i], want_o[-1]) <= 1e-5
        assert rel_rms(pool[slots[i]], want_s[-1]) <= 1e-5


@pytest.mark.parametrize("op,gate", [("la", "vector"), ("dr", "scalar"),
                                     ("rc", "vector")])
def test_cuda_emulation(op, gate):
    """The CUDA pipeline maps the same recurrent form."""
    rng = np.random.default_rng(5)
    cu = packing(rng, 6)
    case = Case(rng, op, gate, "f32", "gqa", int(cu[-1]), 16, 16)
    hv = case.v.shape[2]
    pool = rng.standard_normal((8, hv, 16, 16)).astype(np.float32)
    slots = np.array([3, -1, 0, 7, 5, 1], np.int32)
    before = pool.copy()
    o, states = case.run(cu_seqlens=cu, state_pool=pool, state_indices=slots,
                         all_states=True, target="cuda-emulation")
    np.testing.assert_array_equal(pool, before)
    s0 = np.where((slots >= 0)[:, None, None, None], pool[slots], 0.0)
    want_o, want_s = case.want(0, cu, s0)
    want_o[cu[1]:cu[2]] = 0
    want_s[cu[1]:cu[2]] = 0
    assert rel_rms(o[0], want_o) <= 1e-5
    assert rel_rms(states[0], want_s) <= 1e-5


def test_refusals():
    rng = np.random.default_rng(3)
    for op in ("la", "dr", "rc"):
        case = Case(rng, op, "scalar", "f32", "mha", 20, 8, 8)
        with pytest.raises(ValueError, match="all_states=True .* only the "
                                             "recurrent form .* got 16"):
            case.run(all_states=True, chunk_size=16)
    la = Case(rng, "la", "scalar", "f32", "mha", 20, 8, 8)
    with pytest.raises(ValueError, match="'causal = false' has no state after "
                                         "every token"):
        la.run(all_states=True, causal=False)
    with pytest.raises(ValueError, match="'normalize' has no state after"):
        la.run(all_states=True, normalize=True)


def test_backward_is_refused():
    """The derived backward names the attribute instead of returning wrong
    gradients."""
    src = """
func.func @f(%q: tensor<1x5x1x4xf32>, %k: tensor<1x5x1x4xf32>,
             %v: tensor<1x5x1x4xf32>)
    -> (tensor<1x5x1x4xf32>, tensor<1x5x1x4x4xf32>)
    attributes {mix.derive_backward} {
  %o, %s = mix.linear_attention %q, %k, %v gate none all_states
      : (tensor<1x5x1x4xf32>, tensor<1x5x1x4xf32>, tensor<1x5x1x4xf32>)
      -> (tensor<1x5x1x4xf32>, tensor<1x5x1x4x4xf32>)
  return %o, %s : tensor<1x5x1x4xf32>, tensor<1x5x1x4x4xf32>
}
"""
    with pytest.raises(mixir.CompileError, match="'all_states'"):
        mixir.compile(src)
