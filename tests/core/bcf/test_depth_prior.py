"""The sampled depth prior (bcf/depth_prior.py): its likelihood by hand, and an exact Gibbs draw.

A chain that sees no data must keep alpha at its prior: with trees and alpha
updated in turn, the joint prior is the stationary law, so alpha's marginal
after a few dozen steps is the grid prior whatever the trees did.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from pytyche_core.bcf.config import BCFConfig
from pytyche_core.bcf.depth_prior import (
    ALPHA_GRID,
    alpha_log_likelihood,
    alpha_log_prior,
    split_counts,
)
from pytyche_core.bcf.families import GAUSSIAN
from pytyche_core.bcf.forest import Forest, empty_forest
from pytyche_core.bcf.models import ChannelData, ChannelSpec, step
from pytyche_core.bcf.run import init_state
from pytyche_core.bcf.sweep import ForestPrior


def test_split_counts_and_likelihood_of_a_hand_built_tree():
    # One variable with bins 0..7, depth 3. Root splits at 3: left [0, 3], right [4, 7] (a leaf
    # that could split). The left child splits at 0: its left child [0, 0] has no cut left, its
    # right child [1, 3] at depth 2 could split.
    forest = empty_forest(1, 3, 1)
    var = forest.var.at[0, 1].set(0).at[0, 2].set(0)
    cut = forest.cut.at[0, 1].set(3).at[0, 2].set(0)
    internal, open_leaves = split_counts(Forest(var, cut, forest.leaf), jnp.array([8], jnp.int32), 2.0, 3)
    np.testing.assert_array_equal(internal, [1, 1, 0])
    np.testing.assert_array_equal(open_leaves, [0, 1, 1])
    beta = 2.0
    alpha = np.asarray(ALPHA_GRID)
    by_hand = (np.log(alpha) + np.log(alpha * 2.0**-beta) + np.log1p(-alpha * 2.0**-beta)
               + np.log1p(-alpha * 3.0**-beta))
    np.testing.assert_allclose(alpha_log_likelihood(internal, open_leaves, beta), by_hand, rtol=1e-5)


def test_alpha_log_prior_is_a_normalised_beta_shape():
    weights = np.exp(alpha_log_prior(0.25, 8.0))
    assert weights.sum() == pytest.approx(1.0)
    assert np.sum(weights * np.asarray(ALPHA_GRID)) == pytest.approx(0.25, abs=0.01)
    with pytest.raises(ValueError, match="Fix"):
        alpha_log_prior(1.0, 8.0)
    with pytest.raises(ValueError, match="Fix"):
        alpha_log_prior(0.25, 0.0)


def test_config_refuses_a_bad_concentration():
    with pytest.raises(ValueError, match="tau_alpha_concentration"):
        BCFConfig(tau_alpha_concentration=-1.0)
    assert BCFConfig(tau_alpha_concentration=8).tau_alpha_concentration == 8.0


def test_prior_only_chain_keeps_alpha_at_its_prior():
    config = BCFConfig(mu_trees=2, tau_trees=6, max_depth=3, tau_alpha=0.5, tau_alpha_concentration=4.0)
    n, k, chains, iterations = 6, 2, 4000, 30
    rng = np.random.default_rng(0)
    data = ChannelData(bins=jnp.asarray(rng.integers(0, 8, (2, n)), jnp.uint8),
                       arm=jnp.asarray(np.arange(n) % k, jnp.int32), weight=jnp.zeros(n, jnp.float32),
                       target=jnp.zeros(n, jnp.float32), offset=jnp.float32(0.0),
                       mu_bins=jnp.array([8, 8], jnp.int32), tau_bins=jnp.array([8, 8], jnp.int32),
                       mu_prior_var=jnp.array([0.3], jnp.float32), tau_prior_var=jnp.array([0.0, 0.05], jnp.float32),
                       tau0_prior_var=jnp.array([0.0, 1.0], jnp.float32), nu=jnp.float32(3.0), lam=jnp.float32(0.5))
    log_prior = alpha_log_prior(config.tau_alpha, config.tau_alpha_concentration)
    spec = ChannelSpec(mu=ForestPrior(3, config.mu_alpha, config.mu_beta, 0.0),
                       tau=ForestPrior(3, config.tau_alpha, config.tau_beta, 0.0), family=GAUSSIAN,
                       prior_only=True, tau_alpha_prior=log_prior)

    def run(key):
        k0, k1 = jax.random.split(key)
        state = init_state(k0, data, config, k, GAUSSIAN)
        state, _ = jax.lax.scan(lambda s, kk: (step(kk, s, data, spec)[0], None), state,
                                jax.random.split(k1, iterations))
        return state.tau_alpha

    alpha = np.asarray(jax.jit(jax.vmap(run))(jax.random.split(jax.random.PRNGKey(7), chains)))
    index = np.searchsorted(np.asarray(ALPHA_GRID, np.float32), alpha)
    observed = np.bincount(index, minlength=len(ALPHA_GRID))
    expected = chains * np.exp(log_prior)
    assert expected.min() > 20  # Beta(2, 2) on the grid: every cell well filled
    assert stats.chisquare(observed, expected).pvalue > 0.001
