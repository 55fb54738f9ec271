"""Leaf sums by one complex scatter (CPU) or two float scatters (GPU): the same statistics, the same chain.

The GPU form cannot be timed here, but its arithmetic can: forced on the CPU,
it must give the sums numpy gives and a chain that matches the complex form's.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest

from pytyche_core.bcf import pair_sums
from pytyche_core.bcf.binning import fit_bins
from pytyche_core.bcf.config import BCFConfig
from pytyche_core.bcf.families import GAUSSIAN
from pytyche_core.bcf.run import ChannelInputs, run_channel


def _add(table, index, values):
    return table.at[index].add(values)


@pytest.fixture
def force(monkeypatch):
    def set_form(form: str) -> None:
        monkeypatch.setattr(pair_sums, "FORCE", form)
        jax.clear_caches()  # the form is read when code is traced: retrace

    yield set_form
    jax.clear_caches()


@pytest.mark.parametrize("form", ["complex", "float"])
def test_both_forms_give_numpys_sums(force, form):
    force(form)
    rng = np.random.default_rng(0)
    index = rng.integers(0, 7, 500)
    first, second = rng.normal(size=500).astype(np.float32), rng.uniform(size=500).astype(np.float32)
    sums, weights = jax.jit(lambda i, a, b: pair_sums.pair_sums(_add, 9, i, a, b))(
        jnp.asarray(index, jnp.uint32), first, second)
    np.testing.assert_allclose(sums, np.bincount(index, first, minlength=9), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(weights, np.bincount(index, second, minlength=9), rtol=1e-5, atol=1e-5)
    assert np.asarray(sums)[7:].tolist() == [0.0, 0.0]


def test_the_float_form_runs_the_same_chain(force):
    rng = np.random.default_rng(1)
    n, k = 600, 3
    x = pd.DataFrame({f"x{j}": rng.normal(size=n) for j in range(3)})
    arm = rng.integers(0, k, n)
    y = (np.sin(x.x0) + (arm == 1) * (x.x1 > 0) + rng.normal(0, 0.5, n)).to_numpy(np.float32)
    binned = fit_bins(x)
    inputs = ChannelInputs(binned.bins, binned.n_bins, arm, k, y, np.ones(n, np.float32), np.ones(3, bool), GAUSSIAN)
    config = BCFConfig(mu_trees=10, tau_trees=5, burn_in=10, draws=10, chains=2, chunk=10)
    draws = {}
    for form in ("complex", "float"):
        force(form)
        draws[form] = run_channel(inputs, config, jax.random.PRNGKey(3))
    # Sums differ only in the order of float32 additions, so every accept decision agrees.
    np.testing.assert_allclose(draws["float"].tau, draws["complex"].tau, rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(draws["float"].mu, draws["complex"].mu, rtol=1e-3, atol=1e-3)
    assert np.abs(draws["float"].tau).max() > 0.1  # the chain did move
