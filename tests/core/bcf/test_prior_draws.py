"""The sampled prior settings a channel records per kept draw (``ChannelDraws.priors``).

A fixed setting must come back as the value the sampler used at every draw; a
sampled one must move and stay where its prior puts it (alpha on its grid,
leaf variances positive).
"""

from __future__ import annotations

import jax
import numpy as np
import pytest

from pytyche_core.bcf.config import BCFConfig
from pytyche_core.bcf.depth_prior import ALPHA_GRID
from pytyche_core.bcf.families import GAUSSIAN
from pytyche_core.bcf.run import ChannelInputs, run_channel

TINY = dict(mu_trees=6, tau_trees=4, burn_in=20, draws=20, chains=2, chunk=10)
N, K = 600, 3


def _inputs() -> ChannelInputs:
    rng = np.random.default_rng(4)
    bins = rng.integers(0, 8, (2, N)).astype(np.uint8)
    arm = rng.integers(0, K, N).astype(np.int32)
    y = 0.5 * (bins[0] > 3) + 0.8 * (arm == 1) * (bins[1] > 4) - 0.3 * (arm == 2) + rng.normal(0, 0.5, N)
    return ChannelInputs(bins, np.full(2, 8), arm, K, y.astype(np.float32), np.ones(N, np.float32),
                         np.ones(2, bool), GAUSSIAN)


@pytest.fixture(scope="module")
def fixed():
    config = BCFConfig(**TINY, sample_leaf_scales=False, tau_leaf_scale=2.0, tau_alpha_concentration=None)
    return config, run_channel(_inputs(), config, jax.random.PRNGKey(1))


@pytest.fixture(scope="module")
def sampled():
    config = BCFConfig(**TINY, tau_alpha_concentration=4.0)
    return config, run_channel(_inputs(), config, jax.random.PRNGKey(1))


def test_shapes_are_chains_draws_and_treatment_columns(fixed, sampled):
    for config, draws in (fixed, sampled):
        shape = (config.chains, config.draws)
        assert draws.priors.mu_leaf_var.shape == shape
        assert draws.priors.tau_leaf_var.shape == (*shape, K - 1)
        assert draws.priors.tau_alpha.shape == shape


def test_fixed_settings_come_back_as_the_values_used(fixed):
    config, draws = fixed
    priors = draws.priors
    # Fixed leaf variances are the family's prior scaling times the config's multipliers; alpha is the config's.
    assert np.ptp(priors.mu_leaf_var) == 0 and np.ptp(priors.tau_leaf_var) == 0
    np.testing.assert_allclose(priors.tau_alpha, config.tau_alpha)
    scaled = GAUSSIAN.model_scale(_inputs().target.astype(np.float64), np.ones(N), config)
    np.testing.assert_allclose(priors.mu_leaf_var, config.mu_leaf_scale * scaled.mu_var, rtol=1e-6)
    np.testing.assert_allclose(priors.tau_leaf_var, config.tau_leaf_scale * scaled.tau_var, rtol=1e-6)


def test_sampled_settings_move_and_stay_in_their_support(sampled):
    _, draws = sampled
    priors = draws.priors
    for values in (priors.mu_leaf_var, priors.tau_leaf_var, priors.tau_alpha):
        assert np.isfinite(values).all()
        assert np.ptp(values) > 0  # a trace stuck at one value would be a setting never drawn
    assert (priors.mu_leaf_var > 0).all() and (priors.tau_leaf_var > 0).all()
    on_grid = np.isclose(priors.tau_alpha[..., None], np.asarray(ALPHA_GRID, np.float32), atol=1e-6).any(axis=-1)
    assert on_grid.all()
    # Each arm column draws its own variance.
    assert not np.array_equal(priors.tau_leaf_var[..., 0], priors.tau_leaf_var[..., 1])
