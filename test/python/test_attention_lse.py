"""The log-sum-exp result of ``mix.attention`` (``return_lse``): each row's
log of the sum of exp over its allowed scores, -inf for a row with none, and
its gradient (``mix.attention_grad``'s ``dlse``), against float64 torch
written here; on the CPU (flash and per-row forms) and the emulated GPU.
"""

import numpy as np
import pytest

torch = pytest.importorskip("torch")  # set-up installs torch; see needs.py

import mixir  # noqa: E402
import mixir.torch as mt  # noqa: E402
from test_backward import rel_rms  # noqa: E402


def scores_and_mask(q, k, causal, window, softcap):
    B, T, hq, K = q.shape
    S, hk = k.shape[1], k.shape[2]
    kk = k.repeat_interleave(hq // hk, dim=2)
    x = K ** -0.5 * torch.einsum("bthk,bshk->bhts", q, kk)
    if softcap:
        x = softcap * torch.tanh(x / softcap)
    i, j = torch.arange(T)[:, None], torch.arange(S)[None, :]
    allowed = torch.ones(T, S, dtype=torch.bool)
    if causal:
        allowed &= j <= i
    if window:
        allowed &= j > i - window
    return x, allowed


def reference(q, k, v, causal=True, window=0, softcap=None):
    """(o, lse) in float64; lse -inf and o 0 where a row has no key."""
    x, allowed = scores_and_mask(q, k, causal, window, softcap)
    x = x.masked_fill(~allowed, float("-inf"))
    lse = torch.logsumexp(x, -1)                       # [B, H, T]
    p = torch.where(allowed.any(-1, keepdim=True),
                    torch.exp(x - torch.where(torch.isfinite(lse), lse,
                                              torch.zeros_like(lse))[..., None]),
                    torch.zeros_like(x))
    vv = v.repeat_interleave(q.shape[2] // v.shape[2], dim=2)
    return torch.einsum("bhts,bshv->bthv", p, vv), lse.transpose(1, 2)


# (B, T, S, Hq, Hkv, K, V, attrs): a window without causal and S < T leaves
# the last rows with no key.
CASES = [
    (2, 63, 63, 4, 2, 60, 60, dict(causal=True)),
    (1, 130, 130, 2, 1, 33, 17, dict(causal=True, window=20, softcap=4.0)),
    (2, 40, 20, 2, 2, 16, 16, dict(causal=False, window=5)),
]


def inputs(case, seed):
    B, T, S, hq, hk, K, V, attrs = case
    gen = torch.Generator().manual_seed(seed)
    return [torch.randn(*shape, generator=gen, dtype=torch.float64)
            for shape in ((B, T, hq, K), (B, S, hk, K), (B, S, hk, V),
                          (B, T, hq, V), (B, T, hq))]


@pytest.mark.parametrize("target,chunk", [("cpu", None), ("cpu", 0),
                                          ("cuda-emulation", None)])
@pytest.mark.parametrize("case", CASES, ids=["causal", "window-softcap",
                                             "empty-rows"])
def test_lse_matches_reference(case, target, chunk):
    q, k, v, _, _ = inputs(case, 3)
    attrs = case[-1]
    o, lse = mixir.attention(*(x.float().numpy() for x in (q, k, v)),
                             chunk_size=chunk, target=target,
                             return_lse=True, **attrs)
    want_o, want_lse = reference(q, k, v, **attrs)
    assert lse.dtype == np.float32 and lse.shape == tuple(want_lse.shape)
    finite = torch.isfinite(want_lse).numpy()
    np.testing.assert_array_equal(np.isfinite(lse), finite)
    assert np.all(lse[~finite] == -np.inf)
    np.testing.assert_allclose(lse[finite], want_lse.numpy()[finite],
                               rtol=0, atol=2e-5)
    assert rel_rms(torch.from_numpy(o).double(), want_o) <= 1e-5


@pytest.mark.parametrize("case", CASES, ids=["causal", "window-softcap",
                                             "empty-rows"])
def test_lse_gradients(case, record_rel_rms):
    """The gradients of <do, o> + <dlse, lse> (finite lse rows only) against
    float64 autograd of the reference."""
    q, k, v, do, dlse = inputs(case, 5)
    attrs = case[-1]
    leaves = [x.clone().requires_grad_(True) for x in (q, k, v)]
    o, lse = reference(*leaves, **attrs)
    keep = torch.isfinite(lse)
    loss = (o * do).sum() + (torch.where(keep, lse, 0) * dlse).sum()
    want = torch.autograd.grad(loss, leaves)
    ours = [x.float().requires_grad_(True) for x in (q, k, v)]
    o2, lse2 = mt.attention(*ours, return_lse=True, **attrs)
    loss2 = (o2 * do.float()).sum() + \
        (torch.where(keep, lse2, 0) * dlse.float()).sum()
    got = torch.autograd.grad(loss2, ours)
    for name, a, w in zip(["dq", "dk", "dv"], got, want):
        assert torch.isfinite(a).all()
        err = rel_rms(a, w)
        record_rel_rms("attention lse backward", "f32", name, err, 1e-4,
                       "-".join(f"{a}{b}" for a, b in attrs.items()))
        assert err <= 1e-4, f"{name}: rel-RMS {err:.2e}"


def test_partial_results_merge_exactly():
    """Attention over all keys equals two halves merged through their lse,
    the identity ring attention relies on."""
    q, k, v, _, _ = inputs(CASES[2], 7)
    q, k, v = q[:, :20].float(), k.float(), v.float()
    o, lse = mt.attention(q, k, v, causal=False, return_lse=True)
    o1, l1 = mt.attention(q, k[:, :7], v[:, :7], causal=False, return_lse=True)
    o2, l2 = mt.attention(q, k[:, 7:], v[:, 7:], causal=False, return_lse=True)
    merged = torch.logaddexp(l1, l2)
    got = torch.exp(l1 - merged)[..., None] * o1 + \
        torch.exp(l2 - merged)[..., None] * o2
    torch.testing.assert_close(merged, lse, rtol=0, atol=1e-5)
    torch.testing.assert_close(got, o, rtol=1e-5, atol=1e-6)
