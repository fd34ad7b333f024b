"""mix.causal_conv1d (MIXERS.md) against a float64 numpy evaluation of its
definition and against torch's depthwise conv1d, with and without bias,
conv state and silu, for T shorter and longer than the window, odd D, and
the element types; bad arguments raise errors naming them.

Packed sequences and state pools ("Packed sequences", "State pools"):
random packings with empty and one-token sequences (N up to 64, W 2 and 4,
D = 37) against a float64 loop that keeps each sequence's window token by
token, pools with shuffled slots and padding, streaming through the pool
(a packed prefill, then one token per sequence per call) against one long
run, and bad packings or slots that are errors naming the broken rule and
write nothing (NaN canaries around the caller's input and pool)."""

import zlib

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


# --------------------------------------------------------------------------
# Packed sequences and state pools
# --------------------------------------------------------------------------

D_ODD = 37  # a full tile of 32 channels and a remainder of 5


def packed_reference(x, w, bias, cu, states, silu):
    """float64, one sequence at a time: the window holds the W - 1 inputs
    before the token (from the sequence's initial state [D, W - 1], oldest
    first), shifted by one per token. Returns (y [T, D], the new states
    [N, D, W - 1])."""
    x, w = np.asarray(x, np.float64), np.asarray(w, np.float64)
    W = w.shape[1]
    b = np.zeros(x.shape[1]) if bias is None else np.asarray(bias, np.float64)
    y = np.zeros(x.shape)
    new = np.array(states, np.float64, copy=True)
    for n in range(len(cu) - 1):
        window = [new[n][:, i] for i in range(W - 1)]
        for t in range(cu[n], cu[n + 1]):
            taps = window + [x[t]]
            acc = b + sum(w[:, i] * taps[i] for i in range(W))
            y[t] = acc / (1 + np.exp(-acc)) if silu else acc
            window = taps[1:]
        new[n] = np.stack(window, 1)
    return y, new


def pooled_reference(x, w, bias, cu, slots, pool, silu):
    """The reference on a pool: sequence n starts from pool[slots[n]] and
    writes its new state there; padding (a negative slot) gives zero rows
    and touches no slot."""
    pool = np.asarray(pool, np.float64)
    s0 = np.stack([pool[i] if i >= 0 else np.zeros(pool.shape[1:])
                   for i in slots])
    y, new = packed_reference(x, w, bias, cu, s0, silu)
    want = pool.copy()
    for n, slot in enumerate(slots):
        if slot < 0:
            y[cu[n]:cu[n + 1]] = 0
        else:
            want[slot] = new[n]
    return y, want


def packing(rng, n, max_len=12):
    """Offsets of n sequences of random lengths, with empty and one-token
    ones among them (and shorter than W - 1)."""
    lengths = rng.integers(0, max_len, n)
    lengths[rng.random(n) < 0.2] = 0
    lengths[rng.random(n) < 0.2] = 1
    if n >= 3:
        empty, single = rng.choice(n, 2, replace=False)
        lengths[empty], lengths[single] = 0, 1
    return np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)


def guarded_pool(rng, shape, dtype):
    """A random pool between two NaN canary slots on each side of one
    buffer (the pool itself is C-contiguous): (pool, buffer)."""
    buf = np.full((shape[0] + 4,) + shape[1:], np.nan, np.float32)
    buf[2:-2] = rng.standard_normal(shape)
    buf = buf.astype(dtype)
    return buf[2:-2], buf


def conv_inputs(rng, T, W, dtype, bias):
    x = rng.standard_normal((1, T, D_ODD)).astype(np.float32).astype(dtype)
    w = (rng.standard_normal((D_ODD, W)) / W).astype(dtype)
    b = rng.standard_normal(D_ODD).astype(dtype) if bias else None
    return x, w, b


def seeded(*key):
    return np.random.default_rng(zlib.crc32(repr(key).encode()))


@pytest.mark.parametrize("dtype,limit", [(np.float32, 1e-6), (BF16, 5e-3)])
@pytest.mark.parametrize("W", [2, 4])
@pytest.mark.parametrize("N", [1, 9, 64])
@pytest.mark.parametrize("silu,bias,state", [(True, True, True),
                                             (False, False, True),
                                             (True, False, False)])
def test_packed_against_float64(dtype, limit, W, N, silu, bias, state):
    rng = seeded("packed", dtype.__name__, W, N, silu, bias, state)
    cu = packing(rng, N)
    T = int(cu[-1])
    x, w, b = conv_inputs(rng, T, W, dtype, bias)
    s0 = (rng.standard_normal((N, D_ODD, W - 1)).astype(dtype) if state
          else None)
    y, new = mixir.causal_conv1d(x, w, b, s0, "silu" if silu else None,
                                 output_final_state=True,
                                 cu_seqlens=cu if N % 2 else cu.astype(np.int64))
    start = np.zeros((N, D_ODD, W - 1)) if s0 is None else s0
    want_y, want_s = packed_reference(x[0], w, b, cu, start, silu)
    assert y.shape == (1, T, D_ODD) and new.shape == (N, D_ODD, W - 1)
    assert y.dtype == x.dtype and new.dtype == x.dtype
    if T:
        assert rel_rms(y[0], want_y) < limit
    # The states are copies of inputs (or of the old state): exact, also for
    # the empty and short sequences, whose old entries are shifted.
    assert np.array_equal(np.asarray(new, np.float64), want_s)
    empty = np.flatnonzero(np.diff(cu) == 0)
    if s0 is not None and len(empty):
        assert np.array_equal(new[empty], s0[empty])


@pytest.mark.parametrize("dtype,limit", [(np.float32, 1e-6), (BF16, 5e-3)])
@pytest.mark.parametrize("W,N,packed,silu", [(4, 64, True, True),
                                             (2, 13, True, False),
                                             (4, 5, False, False),
                                             (2, 3, False, True)])
def test_pool_against_float64(dtype, limit, W, N, packed, silu):
    """Shuffled slots of a larger pool with padding (-1) among them: the
    live slots are updated in place, the others and the canary slots
    around the pool stay as they were, padding rows of y are 0."""
    rng = seeded("pool", dtype.__name__, W, N, packed, silu)
    P = N + 7
    if packed:
        cu, B = packing(rng, N), 1
        T = int(cu[-1])
    else:
        B, T = N, 11
        cu = np.arange(0, N * T + 1, T, dtype=np.int32)  # for the reference
    slots = rng.permutation(P)[:N].astype(np.int32)
    slots[rng.choice(N, max(1, N // 4), replace=False)] = -1
    x, w, b = conv_inputs(rng, B * T, W, dtype, True)
    x = x.reshape(B, T, D_ODD)
    pool, buf = guarded_pool(rng, (P, D_ODD, W - 1), dtype)
    before = buf.copy()
    y, s = mixir.causal_conv1d(x, w, b, activation="silu" if silu else None,
                               output_final_state=True,
                               cu_seqlens=cu if packed else None,
                               state_pool=pool, state_indices=slots)
    assert s is pool
    flat = y.reshape(B * T, D_ODD)
    want_y, want_pool = pooled_reference(x.reshape(B * T, D_ODD), w, b, cu,
                                         slots, before[2:-2], silu)
    assert rel_rms(flat, want_y) < limit
    for n in np.flatnonzero(slots < 0):
        assert not np.asarray(flat[cu[n]:cu[n + 1]], np.float64).any()
    assert np.array_equal(np.asarray(pool, np.float64), want_pool)
    untouched = np.setdiff1d(np.arange(P), slots)
    assert np.array_equal(pool[untouched], before[2:-2][untouched])
    np.testing.assert_array_equal(buf[:2], before[:2])  # NaN canaries
    np.testing.assert_array_equal(buf[-2:], before[-2:])


@pytest.mark.parametrize("W,silu", [(4, True), (2, False)])
def test_streaming_through_the_pool(W, silu):
    """A packed prefill of N prompts from their pool slots, then decode
    calls of T = 1 per sequence (N sequences of one token) on the same
    pool, give each sequence the outputs of one long run over its prompt
    and decoded tokens, and leave its slot at that run's final state."""
    rng = seeded("stream", W, silu)
    N, P, steps = 23, 40, 5
    act = "silu" if silu else None
    cu = packing(rng, N)
    slots = rng.permutation(P)[:N].astype(np.int32)
    x, w, b = conv_inputs(rng, int(cu[-1]), W, np.float32, True)
    pool = rng.standard_normal((P, D_ODD, W - 1)).astype(np.float32)
    start = pool.copy()
    y, _ = mixir.causal_conv1d(x, w, b, activation=act, cu_seqlens=cu,
                               state_pool=pool, state_indices=slots)
    ones = np.arange(N + 1, dtype=np.int32)
    tokens = rng.standard_normal((steps, 1, N, D_ODD)).astype(np.float32)
    decoded = [mixir.causal_conv1d(tokens[i], w, b, activation=act,
                                   cu_seqlens=ones, state_pool=pool,
                                   state_indices=slots)[0]
               for i in range(steps)]
    for n, slot in enumerate(slots):
        lo, hi = cu[n], cu[n + 1]
        whole = np.concatenate([x[:, lo:hi], tokens[:, 0, n][None]], 1)
        want, state = mixir.causal_conv1d(whole, w, b, start[slot][None], act,
                                          output_final_state=True)
        got = np.concatenate([y[:, lo:hi]] + [d[:, n:n + 1] for d in decoded],
                             1)
        np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(pool[slot], state[0])
        ref, ref_state = packed_reference(whole[0], w, b, [0, whole.shape[1]],
                                          start[slot][None], silu)
        assert rel_rms(got[0], ref) < 1e-6
        assert np.array_equal(pool[slot], ref_state[0])


T_BAD, N_BAD, P_BAD = 12, 3, 6

BAD_CONV = [
    # (name, offsets, slots, expected message)
    ("first-not-zero", [1, 4, 8, 12], [0, 1, 2],
     r"'cu_seqlens'\[0\] must be 0 \(got 1, expected 0\)"),
    ("decreasing", [0, 8, 4, 12], [0, 1, 2],
     r"non-decreasing.*\(got 2, expected 4\)"),
    ("last-short", [0, 4, 8, 11], [0, 1, 2],
     r"must be T.*\(got 11, expected 12\)"),
    ("last-long", [0, 4, 8, 2**31 - 1], [0, 1, 2], r"must be T.*expected 12\)"),
    ("middle-beyond-T", [0, 4, 100, 12], [0, 1, 2], r"non-decreasing"),
    ("no-offsets", [], [], r"must hold N \+ 1 >= 1 offsets"),
    ("too-few-slots", [0, 4, 8, 12], [0, 1],
     r"'state_indices' dim 0 does not match the number of sequences"
     r".*\(got 2, expected 3\)"),
    ("slot-beyond", [0, 4, 8, 12], [0, 6, 2],
     r"must be below P \(the pool's slots, 'conv_state' dim 0\).*"
     r"\(got 1, expected 3\)"),
    ("slot-far-beyond", [0, 4, 8, 12], [0, -1, 2**31 - 1],
     r"must be below P.*\(got 2, expected 3\)"),
    ("slot-twice", [0, 4, 8, 12], [4, 2, 4],
     r"must not name a slot twice.*\(got 2, expected 3\)"),
    ("batch-two", [0, 4, 8, 12], [0, 1, 2],
     r"batch \(B, dim 0 of the inputs\) must be 1 with 'cu_seqlens'"
     r".*\(got 2, expected 1\)"),
]


@pytest.mark.parametrize("name,cu,slots,message", BAD_CONV,
                         ids=[c[0] for c in BAD_CONV])
def test_bad_packing_or_slots_write_nothing(name, cu, slots, message):
    """A ValueError naming the broken rule; the pool, the canary slots
    around it and the canary rows around x are as they were."""
    rng = seeded("bad", name)
    batch = 2 if name == "batch-two" else 1
    xbuf = np.full((batch, T_BAD + 4, D_ODD), np.nan, np.float32)
    xbuf[:, 2:-2] = rng.standard_normal((batch, T_BAD, D_ODD))
    x = xbuf[:, 2:-2]
    w = rng.standard_normal((D_ODD, 4)).astype(np.float32)
    pool, buf = guarded_pool(rng, (P_BAD, D_ODD, 3), np.float32)
    kept = (xbuf.copy(), buf.copy())
    with pytest.raises(ValueError, match=message):
        mixir.causal_conv1d(x, w, activation="silu",
                            cu_seqlens=np.array(cu, np.int32),
                            state_pool=pool,
                            state_indices=np.array(slots, np.int32))
    np.testing.assert_array_equal(xbuf, kept[0])
    np.testing.assert_array_equal(buf, kept[1])


@pytest.mark.parametrize("cu,message", [
    ([0, 6, 12], r"'conv_state' dim 0 \(N\) does not match 'cu_seqlens' "
                 r"dim 0 - 1 \(got 3, expected 2\)"),
    ([0, 12, 11, 12], r"non-decreasing"),
])
def test_bad_packing_with_dense_states(cu, message):
    rng = seeded("bad-dense", len(cu))
    x = rng.standard_normal((1, T_BAD, D_ODD)).astype(np.float32)
    w = rng.standard_normal((D_ODD, 2)).astype(np.float32)
    s0 = rng.standard_normal((3, D_ODD, 1)).astype(np.float32)
    kept = s0.copy()
    with pytest.raises(ValueError, match=message):
        mixir.causal_conv1d(x, w, conv_state=s0,
                            cu_seqlens=np.array(cu, np.int64))
    np.testing.assert_array_equal(s0, kept)


def test_one_compilation_serves_every_packing():
    """30 random packings and slot lists: one compilation (W = 3 and bf16,
    which no other test here compiles)."""
    rng = seeded("compile")
    w = rng.standard_normal((D_ODD, 3)).astype(BF16)

    def built():
        stats = mixir.cache.stats()
        return stats["compiles"] + stats["disk_hits"]
    before = built()
    pool = rng.standard_normal((70, D_ODD, 2)).astype(BF16)
    for i in range(30):
        n = int(rng.integers(1, 65))
        cu = packing(rng, n, max_len=5)
        x = rng.standard_normal((1, int(cu[-1]), D_ODD)).astype(BF16)
        slots = rng.permutation(70)[:n].astype(np.int32)
        slots[rng.random(n) < 0.1] = -1
        before_pool = pool.copy()
        y, _ = mixir.causal_conv1d(x, w, activation="silu", cu_seqlens=cu,
                                   state_pool=pool, state_indices=slots)
        if i % 10 == 0:  # spot-check the numerics
            want_y, want_pool = pooled_reference(x[0], w, None, cu, slots,
                                                 before_pool, True)
            if cu[-1]:
                assert rel_rms(y[0], want_y) < 5e-3
            assert np.array_equal(np.asarray(pool, np.float64), want_pool)
    assert built() - before == 1


@pytest.mark.parametrize("kwargs,error,match", [
    (dict(state_pool="pool"), ValueError, "state_pool needs state_indices"),
    (dict(state_indices="slots"), ValueError,
     r"state_indices needs state_pool \[P, D, W - 1\]"),
    (dict(state_pool="pool", state_indices="slots", conv_state="pool"),
     ValueError, "give conv_state or state_pool with state_indices, not both"),
    (dict(state_pool="pool64", state_indices="slots"), TypeError,
     "state_pool must be a writable C-contiguous float32 array"),
    (dict(state_pool="strided", state_indices="slots"), TypeError,
     "C-contiguous"),
    (dict(state_pool="narrow", state_indices="slots"), ValueError,
     r"state_pool must have shape \[P, D, W - 1\] = \(P, 4, 2\)"),
    (dict(state_pool="pool", state_indices="slots64"), TypeError, "int32"),
    (dict(conv_state="narrow", cu_seqlens="cu"), ValueError,
     r"conv_state must have shape \[N, D, W - 1\]"),
    (dict(cu_seqlens="float"), TypeError, "cu_seqlens must be int32"),
])
def test_pool_arguments_checked(kwargs, error, match):
    x = np.zeros((1, 5, 4), np.float32)
    w = np.zeros((4, 3), np.float32)
    pool = np.zeros((3, 4, 2), np.float32)
    named = {"pool": pool, "pool64": pool.astype(np.float64),
             "strided": np.zeros((3, 4, 4), np.float32)[:, :, ::2],
             "narrow": np.zeros((3, 4, 1), np.float32),
             "slots": np.array([0], np.int32),
             "slots64": np.array([0], np.int64),
             "cu": np.array([0, 5], np.int32),
             "float": np.array([0.0, 5.0])}
    with pytest.raises(error, match=match):
        mixir.causal_conv1d(x, w, **{k: named[v] for k, v in kwargs.items()})


@pytest.mark.parametrize("packed,pooled", [(False, False), (True, False),
                                           (True, True)])
@pytest.mark.parametrize("dtype,limit", [(np.float32, 1e-6), (BF16, 5e-3)])
def test_cuda_emulation_against_float64(packed, pooled, dtype, limit):
    """On CUDA the conv runs as one kernel (a block per sequence, its rows
    cut across the threads), here on the emulated target: dense, packed
    and pooled, against the float64 references."""
    rng = np.random.default_rng(int(packed) * 2 + int(pooled))
    D, W = 21, 4
    cu = np.array([0, 2, 9, 9, 30], np.int32)
    B, T = (1, int(cu[-1])) if packed else (2, 15)
    x = rng.standard_normal((B, T, D)).astype(dtype)
    w = (rng.standard_normal((D, W)) / W).astype(dtype)
    b = rng.standard_normal(D).astype(dtype)
    kwargs = {"cu_seqlens": cu} if packed else {}
    if pooled:
        pool = rng.standard_normal((6, D, W - 1)).astype(dtype)
        before = pool.copy()
        slots = np.array([3, -1, 0, 5], np.int32)
        y, s = mixir.causal_conv1d(x, w, b, activation="silu",
                                   output_final_state=True, state_pool=pool,
                                   state_indices=slots,
                                   target="cuda-emulation", **kwargs)
        want_y, want_pool = pooled_reference(x[0], w, b, cu, slots, before,
                                             True)
        assert rel_rms(np.asarray(y)[0], want_y) < limit
        assert rel_rms(s, want_pool) < limit
        return
    y, s = mixir.causal_conv1d(x, w, b, activation="silu",
                               output_final_state=True,
                               target="cuda-emulation", **kwargs)
    if packed:
        want_y, want_s = packed_reference(x[0], w, b, cu,
                                          np.zeros((4, D, W - 1)), True)
        assert rel_rms(np.asarray(y)[0], want_y) < limit
    else:
        want_y, want_s = reference(x, w, b, None, True)
        assert rel_rms(y, want_y) < limit
    assert rel_rms(s, want_s) < limit


def test_torch_wrapper_against_float64():
    """mixir.torch.causal_conv1d on torch tensors (f32 and bf16, packed or
    not) against the float64 reference, and its refusal of inputs that
    require grad (the conv has no backward yet)."""
    torch = pytest.importorskip("torch")
    import mixir.torch as mt
    rng = np.random.default_rng(11)
    x, w, bias = (rng.standard_normal(s).astype(np.float32)
                  for s in ((2, 37, 20), (20, 4), (20,)))
    state = rng.standard_normal((2, 20, 3)).astype(np.float32)
    want_y, want_s = reference(x, w, bias, state, True)
    y, s = mt.causal_conv1d(*(torch.from_numpy(a) for a in
                              (x, w, bias, state)), "silu", True)
    assert y.dtype == torch.float32
    assert rel_rms(y.numpy(), want_y) < 1e-6
    assert rel_rms(s.numpy(), want_s) < 1e-6
    yb, _ = mt.causal_conv1d(torch.from_numpy(x).bfloat16(),
                             torch.from_numpy(w), torch.from_numpy(bias),
                             activation="silu")
    assert yb.dtype == torch.bfloat16
    assert rel_rms(yb.float().numpy(),
                   reference(x, w, bias, None, True)[0]) < 1e-2
    cu = torch.tensor([0, 5, 5, 37], dtype=torch.int32)
    states = rng.standard_normal((3, 20, 3)).astype(np.float32)
    yp, sp = mt.causal_conv1d(torch.from_numpy(x[:1]), torch.from_numpy(w),
                              None, torch.from_numpy(states), None, True,
                              cu_seqlens=cu)
    want_yp, want_sp = packed_reference(x[0], w, None, [0, 5, 5, 37],
                                        states, False)
    assert rel_rms(yp[0].numpy(), want_yp) < 1e-6
    assert rel_rms(sp.numpy(), want_sp) < 1e-6
    with pytest.raises(NotImplementedError, match="forward only"):
        mt.causal_conv1d(torch.from_numpy(x).requires_grad_(),
                         torch.from_numpy(w))
