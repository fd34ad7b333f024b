"""`report_raising=True` (the importer's --report-raising): one line on
stderr for each loop or attention chain that raising left as it is, naming
the check that stopped it; nothing for what is raised, and the imported text
is the same with and without the report."""

from needs import need

need("jax")
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import mixir
from shlo_helpers import randn, rng


def scan_bd(step, lg, x):
    """lax.scan over dim 1 of [B, T, D] inputs with a [B, D] state."""
    h0 = jnp.zeros((lg.shape[0], lg.shape[2]), lg.dtype)
    h, ys = jax.lax.scan(step, h0, (jnp.swapaxes(lg, 0, 1), jnp.swapaxes(x, 0, 1)))
    return jnp.swapaxes(ys, 0, 1), h


def diagonal(lg, x):
    return scan_bd(lambda h, i: (jnp.exp(i[0]) * h + i[1],) * 2, lg, x)


def nonlinear(lg, x):
    return scan_bd(lambda h, i: (jnp.tanh(jnp.exp(i[0]) * h) + i[1],) * 2, lg, x)


def exclusive(lg, x):
    return scan_bd(lambda h, i: (jnp.exp(i[0]) * h + i[1], h), lg, x)


def inputs(T, D):
    r = rng(T * D)
    lg = np.log(r.uniform(0.5, 0.999, (2, T, D))).astype(np.float32)
    return lg, randn(r, 2, T, D)


def imported(fn, capsys, T, D, **kw):
    """The imported text and what the import wrote to stderr."""
    capsys.readouterr()
    text = mixir.from_jax(fn, *inputs(T, D), **kw)
    return text, capsys.readouterr().err


@pytest.mark.parametrize("fn", [nonlinear, exclusive])
@pytest.mark.parametrize("T,D", [(63, 7), (75, 60)])
def test_loop_left_is_reported(fn, T, D, capsys):
    text, err = imported(fn, capsys, T, D, report_raising=True)
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert ": mix-raise: loop: left as is: the step is not linear attention" in lines[0]
    assert lines[0].startswith('loc("'), lines[0]
    assert "scf.while" in text and "mix." not in text, text[:4000]
    quiet, quiet_err = imported(fn, capsys, T, D)
    assert quiet_err == "" and quiet == text


@pytest.mark.parametrize("T,D", [(1, 5), (63, 64)])
def test_raised_loop_prints_nothing(T, D, capsys):
    text, err = imported(diagonal, capsys, T, D, report_raising=True)
    assert err == ""
    assert "mix.scan" in text, text[:4000]
