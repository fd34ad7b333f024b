"""Context parallelism (mixir.torch, cp_group=): a sequence split across 2
and 4 processes with the gloo backend gives the outputs, final state and
gradients of the single-process run (rel-RMS 1e-5, f32), at uneven slices
including one shorter than a chunk; a rank that fails makes every rank
raise instead of hanging.

The workers are spawned with torch.multiprocessing; compiled modules are
shared through MIXIR_CACHE_DIR, filled by the parent's single-process run.
"""

import os
import socket

import pytest

torch = pytest.importorskip("torch")
import torch.distributed as dist  # noqa: E402
import torch.multiprocessing as mp  # noqa: E402

import mixir.torch as mt  # noqa: E402

B, H, K, V = 2, 2, 16, 8
# name, op, gate, initial state, world size, slice lengths
CASES = [
    ("la-none", "la", "none", True, 2, (70, 29)),
    ("la-head", "la", "head", False, 2, (5, 94)),
    ("la-scalar", "la", "scalar", True, 4, (40, 1, 33, 25)),
    ("la-vector", "la", "vector", True, 4, (20, 30, 9, 40)),
    ("scan", "scan", None, True, 2, (64, 35)),
]


def inputs(case):
    name, op, gate, init, world, lengths = case
    T = sum(lengths)
    gen = torch.Generator().manual_seed(len(name) * 7 + T)
    if op == "scan":
        x = torch.randn(B, T, 24, generator=gen)
        g = -torch.rand(B, T, 24, generator=gen)
        h0 = torch.randn(B, 24, generator=gen) if init else None
        return [x, g, h0]
    q, k, v = (torch.randn(B, T, H, d, generator=gen) for d in (K, K, V))
    shape = {"head": (H,), "scalar": (B, T, H), "vector": (B, T, H, K)}
    g = -0.5 * torch.rand(*shape[gate], generator=gen) if gate != "none" \
        else None
    s0 = torch.randn(B, H, K, V, generator=gen) if init else None
    return [q, k, v, g, s0]


def run(case, xs, cp_group=None):
    op, gate = case[1], case[2]
    if op == "scan":
        return mt.scan(*xs, output_final_state=True, cp_group=cp_group)
    return mt.linear_attention(*xs[:4], gate, None, xs[4], True,
                               cp_group=cp_group)


def sliced(case, xs, rank):
    """This rank's slice: time-major tensors cut along T; the head gate and
    the initial state are whole."""
    lengths = case[5]
    start = sum(lengths[:rank])
    end = start + lengths[rank]
    out = []
    for i, x in enumerate(xs):
        time_major = x is not None and x.dim() >= 3 and \
            not (case[1] == "la" and i == 4)
        out.append(x[:, start:end] if time_major else x)
    return out


def cotangents(case, o_shape, s_shape):
    gen = torch.Generator().manual_seed(99)
    return torch.randn(o_shape, generator=gen), torch.randn(s_shape,
                                                            generator=gen)


def worker(rank, world, port, out_dir, cases, bad_rank):
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}",
                            rank=rank, world_size=world,
                            timeout=__import__("datetime").timedelta(seconds=60))
    try:
        for case in cases:
            xs = inputs(case)
            mine = [x.clone().requires_grad_(True) if x is not None else None
                    for x in sliced(case, xs, rank)]
            if rank == bad_rank:
                mine[0] = mine[0].double()[..., :3]  # a wrong shape and dtype
            try:
                o, s = run(case, mine, dist.group.WORLD)
            except Exception as e:  # noqa: BLE001 - reported to the parent
                torch.save({"error": f"{type(e).__name__}: {e}"},
                           os.path.join(out_dir, f"{case[0]}-{rank}.pt"))
                continue
            full_o, full_s = run(case, xs)
            do, ds = cotangents(case, full_o.shape, full_s.shape)
            start = sum(case[5][:rank])
            loss = (o * do[:, start:start + o.shape[1]]).sum()
            if s is not None:
                loss = loss + (s * ds).sum()
            leaves = [x for x in mine if x is not None]
            # Only rank 0 reads its initial state.
            grads = torch.autograd.grad(loss, leaves, allow_unused=True)
            grads = [torch.zeros_like(x) if d is None else d.detach()
                     for x, d in zip(leaves, grads)]
            torch.save({"o": o.detach(), "s": None if s is None else s.detach(),
                        "grads": grads},
                       os.path.join(out_dir, f"{case[0]}-{rank}.pt"))
    finally:
        dist.destroy_process_group()
    # Leave without the interpreter's teardown: once (CI, a whole-suite run)
    # a worker aborted after its work was saved, in "terminate called
    # without an active exception" at exit, cause not found yet. The results
    # are checked from the files the worker wrote, so a failure during the
    # work still shows as a missing or error file.
    os._exit(0)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rel_rms(a, b):
    return float((a - b).square().mean().sqrt() / b.square().mean().sqrt())


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("mixir-cache")
    old = os.environ.get("MIXIR_CACHE_DIR")
    os.environ["MIXIR_CACHE_DIR"] = str(d)
    yield d
    if old is None:
        del os.environ["MIXIR_CACHE_DIR"]
    else:
        os.environ["MIXIR_CACHE_DIR"] = old


def reference(case):
    """Single process: outputs, final state, and the gradients of the loss
    the workers sum (each rank's slice of o . do, plus S_T . dS)."""
    xs = [x.clone().requires_grad_(True) if x is not None else None
          for x in inputs(case)]
    o, s = run(case, xs)
    do, ds = cotangents(case, o.shape, s.shape)
    leaves = [x for x in xs if x is not None]
    grads = torch.autograd.grad((o * do).sum() + (s * ds).sum(), leaves)
    # Precompile the zero-initial-state form the summaries use, too.
    no_init = list(xs)
    no_init[-1] = None
    run(case, [x.detach() if x is not None else None for x in no_init])
    return o.detach(), s.detach(), grads


@pytest.mark.parametrize("world", [2, 4])
def test_context_parallel_matches_one_process(world, cache_dir, tmp_path):
    cases = [c for c in CASES if c[4] == world]
    refs = {c[0]: reference(c) for c in cases}
    mp.spawn(worker, args=(world, free_port(), str(tmp_path), cases, -1),
             nprocs=world, join=True)
    for case in cases:
        want_o, want_s, want_grads = refs[case[0]]
        parts = [torch.load(tmp_path / f"{case[0]}-{r}.pt") for r in range(world)]
        for p in parts:
            assert "error" not in p, p.get("error")
        o = torch.cat([p["o"] for p in parts], 1)
        assert rel_rms(o, want_o) < 1e-5, case[0]
        assert parts[-1]["s"] is not None and rel_rms(parts[-1]["s"], want_s) < 1e-5
        assert all(p["s"] is None for p in parts[:-1])
        # Gradients: time-major ones concatenate over ranks; the head gate's
        # sums over ranks; the initial state's lives on rank 0.
        inputs_full = [x for x in inputs(case) if x is not None]
        for i, (x, want) in enumerate(zip(inputs_full, want_grads)):
            pieces = [p["grads"][i] for p in parts]
            is_state = i == len(inputs_full) - 1 and case[3]
            if is_state:
                got = pieces[0]
            elif x.dim() >= 3:
                got = torch.cat(pieces, 1)
            else:
                got = sum(pieces)
            assert rel_rms(got, want) < 1e-5, (case[0], i, rel_rms(got, want))


def test_a_failing_rank_raises_on_every_rank(cache_dir, tmp_path):
    case = CASES[0]
    reference(case)
    mp.spawn(worker, args=(2, free_port(), str(tmp_path), [case], 1),
             nprocs=2, join=True)
    errors = [torch.load(tmp_path / f"{case[0]}-{r}.pt").get("error")
              for r in range(2)]
    assert errors[1] is not None and "ContextParallelError" not in errors[1]
    assert errors[0] is not None and "ContextParallelError" in errors[0], errors


def test_cp_group_needs_torch_distributed():
    if dist.is_initialized():
        pytest.skip("a process group exists in this process")
    q = torch.randn(1, 4, 1, 8)
    # (dist.group.WORLD is None before init_process_group: any group object
    # stands for one made without it.)
    with pytest.raises(RuntimeError, match="not initialised"):
        mt.chunk_linear_attn(q, q, q, cp_group=object())
