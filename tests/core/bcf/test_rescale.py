"""The leaf-rescaling move (``bcf.rescale``; docs/concepts/sampler-math.md §3e) against an exact posterior.

Root-only trees (a huge minimum leaf size forbids splits) make the forest a
sum ``s`` of ``m`` leaves, each N(0, v), with v ~ IG(a, b) and y_i = s + e_i,
e_i ~ N(0, sigma2) known. Then exactly

    p(v | y) ∝ IG(v; a, b) N(ybar; 0, m v + sigma2 / n)

and s given (v, y) is normal, so both marginals are one-dimensional
integrals. Independent chains of leaf draws, leaf-variance draws and the
move must end at those marginals: a wrong Jacobian or prior term moves v's,
a wrong or missing likelihood term moves s's.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from pytyche_core.bcf.config import BCFConfig
from pytyche_core.bcf.forest import empty_forest
from pytyche_core.bcf.leaves import draw_leaf_variance
from pytyche_core.bcf.rescale import rescale_forest
from pytyche_core.bcf.sweep import ForestPrior, SweepData, sweep

N, M, SIGMA2, PRIOR_MEAN, SHAPE = 30, 3, 1.0, 0.1, 1.5


def _problem():
    y = np.random.default_rng(3).normal(0.6, 1.0, N).astype(np.float32)
    return y


def _chains(y: np.ndarray, *, rescale: bool, chains: int = 4000, iterations: int = 120):
    """The last state of independent chains: (v, s) per chain."""
    bins = jnp.zeros((1, N), jnp.uint8)
    never = ForestPrior(2, 0.95, 2.0, float(N + 1))
    zeros, ones = jnp.zeros(N, jnp.int32), jnp.ones(N, jnp.float32)
    prior_mean = jnp.array([PRIOR_MEAN], jnp.float32)
    sigma2 = jnp.float32(SIGMA2)

    def one(carry, key):
        forest, nodes, residual, leaf_var = carry
        k_leaves, k_var, k_move = jax.random.split(key, 3)
        data = SweepData(bins, zeros, ones, jnp.full(1, 255, jnp.int32), leaf_var)
        forest, nodes, residual, _ = sweep(k_leaves, forest, nodes, residual, data, sigma2, never)
        leaf_var = draw_leaf_variance(k_var, forest, prior_mean, SHAPE)
        if rescale:
            fit = jnp.asarray(y) - residual  # root-only: every visitor's fit is the sum of the roots
            forest, leaf_var, _, residual, _ = rescale_forest(k_move, forest, leaf_var, fit, residual, zeros, ones,
                                                              sigma2, prior_mean, SHAPE)
        return (forest, nodes, residual, leaf_var), None

    def run(key):
        start = (empty_forest(M, 2, 1), jnp.ones((M, N), jnp.int32), jnp.asarray(y), prior_mean)
        (forest, _, _, leaf_var), _ = jax.lax.scan(one, start, jax.random.split(key, iterations))
        return leaf_var[0], forest.leaf[:, 1, 0].sum()

    v, s = jax.jit(jax.vmap(run))(jax.random.split(jax.random.PRNGKey(11), chains))
    return np.asarray(v, np.float64), np.asarray(s, np.float64)


def _exact_marginals(y: np.ndarray):
    """(v grid, CDF of v | y, a function: CDF of s | y) by integration over a log-spaced v grid."""
    v = np.exp(np.linspace(np.log(1e-4), np.log(50.0), 6000))
    ybar, noise = float(y.mean()), SIGMA2 / N
    log_w = stats.invgamma(SHAPE, scale=(SHAPE - 1) * PRIOR_MEAN).logpdf(v) + stats.norm(0, np.sqrt(M * v + noise)).logpdf(ybar)
    w = np.exp(log_w - log_w.max()) * np.gradient(v)
    w /= w.sum()
    post_var = 1.0 / (1.0 / (M * v) + 1.0 / noise)  # s | v, y
    post_mean = post_var * ybar / noise
    return v, np.cumsum(w), lambda s: (w * stats.norm(post_mean, np.sqrt(post_var)).cdf(s[:, None])).sum(axis=1)


@pytest.mark.parametrize("rescale", [True, False], ids=["with-the-move", "without (the reference)"])
def test_chains_end_at_the_exact_posterior_of_the_leaf_variance_and_the_fit(rescale):
    # Without the move, leaf and variance draws alone are exact too: the reference the move is held to.
    y = _problem()
    v_grid, v_cdf, s_cdf = _exact_marginals(y)
    v, s = _chains(y, rescale=rescale)
    assert stats.kstest(v, lambda x: np.interp(x, v_grid, v_cdf)).pvalue > 0.001
    assert stats.kstest(s, s_cdf).pvalue > 0.001


def test_control_column_never_moves_and_a_zero_step_changes_nothing():
    forest = empty_forest(2, 2, 3)._replace(leaf=jnp.ones((2, 8, 3), jnp.float32))
    leaf_var = jnp.array([0.0, 0.2, 0.3], jnp.float32)
    arm = jnp.array([0, 1, 2, 1], jnp.int32)
    fit, residual, ones = jnp.full(4, 2.0), jnp.zeros(4), jnp.ones(4)
    prior = jnp.array([0.0, 0.2, 0.2], jnp.float32)
    moved = rescale_forest(jax.random.PRNGKey(0), forest, leaf_var, fit, residual, arm, ones, jnp.float32(1.0), prior,
                           SHAPE, prior_only=True, step=1.0)
    np.testing.assert_array_equal(np.asarray(moved[0].leaf[:, :, 0]), 1.0)  # control column untouched
    assert float(moved[1][0]) == 0.0
    # Whatever moved, fit and residual moved together: fit + residual is unchanged per visitor.
    np.testing.assert_allclose(np.asarray(moved[2] + moved[3]), 2.0, rtol=1e-6)
    still = rescale_forest(jax.random.PRNGKey(0), forest, leaf_var, fit, residual, arm, ones, jnp.float32(1.0),
                           prior, SHAPE, step=0.0)
    np.testing.assert_array_equal(np.asarray(still[0].leaf), np.asarray(forest.leaf))
    np.testing.assert_array_equal(np.asarray(still[1]), np.asarray(leaf_var))


def test_config_needs_sampled_leaf_scales_for_the_move():
    with pytest.raises(ValueError, match="rescale_leaves.*Fix: turn sample_leaf_scales on"):
        BCFConfig(rescale_leaves=True, sample_leaf_scales=False)
