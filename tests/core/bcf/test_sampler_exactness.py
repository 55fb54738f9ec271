"""Sampler checks that catch silent bugs (docs/concepts/sampler-math.md §7): the tree prior, conjugate posteriors, latents."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from pytyche_core.bcf.families import draw_latent
from pytyche_core.bcf.forest import empty_forest, is_leaf, leaf_of, node_ranges
from pytyche_core.bcf.sweep import ForestPrior, SweepData, sweep


def exact_leaf_count_distribution(alpha: float, beta: float, depth: int) -> np.ndarray:
    """P(number of leaves = k) under the depth prior truncated at ``depth``, by recursion over depth."""
    split = [alpha * (1 + d) ** -beta for d in range(depth)] + [0.0]
    g = np.array([0.0, 1.0])  # a node at max depth is one leaf
    for d in range(depth - 1, -1, -1):
        squared = np.convolve(g, g)
        g = split[d] * squared
        g[1] += 1 - split[d]
    return g


@pytest.mark.parametrize("alpha,beta,depth", [(0.95, 2.0, 4), (0.95, 1.0, 3), (0.5, 0.5, 3)])
def test_prior_only_chain_samples_the_tree_prior(alpha, beta, depth):
    # No likelihood, no minimum leaf size, many cut points: the chain must sample the prior.
    m, n, p = 300, 32, 3
    rng = np.random.default_rng(0)
    data = SweepData(jnp.asarray(rng.integers(0, 255, (p, n)).astype(np.uint8)), jnp.zeros(n, jnp.int32),
                     jnp.ones(n, jnp.float32), jnp.full(p, 255, jnp.int32), jnp.array([0.1], jnp.float32))
    prior = ForestPrior(depth, alpha, beta, 0.0)

    @jax.jit
    def step(key, forest, nodes):
        forest, nodes, _, _ = sweep(key, forest, nodes, jnp.zeros(n), data, jnp.float32(1.0), prior,
                                    prior_only=True)
        return forest, nodes

    forest, nodes = empty_forest(m, depth, 1), jnp.ones((m, n), jnp.int32)
    key = jax.random.PRNGKey(7)
    counts = []
    for it in range(260):
        key, k = jax.random.split(key)
        forest, nodes = step(k, forest, nodes)
        if it >= 60 and it % 10 == 0:  # thin: trees mix in a few moves
            counts.append(np.asarray(jax.vmap(is_leaf)(forest.var).sum(axis=1)))
    counts = np.concatenate(counts)
    exact = exact_leaf_count_distribution(alpha, beta, depth)
    observed = np.bincount(counts, minlength=len(exact))[: len(exact)]
    assert observed.sum() == len(counts)
    expected = exact * len(counts)
    # Pool sparse tail cells so every expected count is >= 5.
    keep = expected >= 5
    obs = np.append(observed[keep], observed[~keep].sum())
    exp = np.append(expected[keep], expected[~keep].sum())
    if exp[-1] < 5:
        obs, exp = np.append(obs[:-2], obs[-2:].sum()), np.append(exp[:-2], exp[-2:].sum())
    # Samples within a tree's chain are correlated; thinning keeps them close to independent.
    assert stats.chisquare(obs, exp).pvalue > 0.001, (obs, exp)
    # Bookkeeping: every visitor sits in a leaf, and that leaf is the one the tree routes it to.
    assert bool(jax.vmap(lambda v, nd: is_leaf(v)[nd].all())(forest.var, nodes).all())
    walked = jax.vmap(lambda v, c: leaf_of(v, c, data.bins, depth))(forest.var, forest.cut)
    np.testing.assert_array_equal(np.asarray(walked), np.asarray(nodes))


def _root_only_draws(y, arm, n_arms, mu_trees, tau_trees, sigma2, v_mu, v_tau, iters=3000, seed=0):
    """Gibbs over root-only forests (a huge minimum leaf size forbids every split)."""
    n = len(y)
    bins = jnp.zeros((1, n), jnp.uint8)
    never = ForestPrior(2, 0.95, 2.0, float(n + 1))
    mu_data = SweepData(bins, jnp.zeros(n, jnp.int32), jnp.ones(n), jnp.full(1, 255, jnp.int32),
                        jnp.array([v_mu], jnp.float32))
    tau_data = SweepData(bins, jnp.asarray(arm, jnp.int32), jnp.ones(n), jnp.full(1, 255, jnp.int32),
                         jnp.array([0.0] + [v_tau] * (n_arms - 1), jnp.float32))

    @jax.jit
    def step(key, state):
        mu, tau, mu_nodes, tau_nodes, r = state
        k1, k2 = jax.random.split(key)
        mu, mu_nodes, r, _ = sweep(k1, mu, mu_nodes, r, mu_data, jnp.float32(sigma2), never)
        tau, tau_nodes, r, _ = sweep(k2, tau, tau_nodes, r, tau_data, jnp.float32(sigma2), never)
        return (mu, tau, mu_nodes, tau_nodes, r)

    state = (empty_forest(mu_trees, 2, 1), empty_forest(tau_trees, 2, n_arms),
             jnp.ones((mu_trees, n), jnp.int32), jnp.ones((tau_trees, n), jnp.int32), jnp.asarray(y, jnp.float32))
    draws = []
    key = jax.random.PRNGKey(seed)
    for it in range(iters):
        key, k = jax.random.split(key)
        state = step(k, state)
        if it >= 200:
            mu, tau = state[0], state[1]
            draws.append(np.concatenate([[mu.leaf[:, 1, 0].sum()], np.asarray(tau.leaf[:, 1, 1:].sum(axis=0))]))
    return np.array(draws)


def test_conjugate_normal_mean_with_several_root_trees():
    # Sum of m root leaves, each N(0, v): the sum is the normal mean with prior N(0, m v).
    rng = np.random.default_rng(1)
    y = rng.normal(0.7, 1.0, 40)
    sigma2, v, m = 1.0, 0.05, 5
    draws = _root_only_draws(y, np.zeros(40, int), 1, m, 1, sigma2, v, 0.0)[:, 0]
    prior_var = m * v
    post_var = prior_var * sigma2 / (sigma2 + len(y) * prior_var)
    post_mean = prior_var * y.sum() / (sigma2 + len(y) * prior_var)
    se = np.sqrt(post_var / len(draws)) * 4  # draws are nearly independent; 4 sd of slack for autocorrelation
    assert abs(draws.mean() - post_mean) < 4 * se
    assert draws.var() == pytest.approx(post_var, rel=0.1)


def test_conjugate_linear_model_with_vector_treatment_leaves():
    # Root-only mu and tau with K = 3: y = theta_0 + theta_k 1[z = k] + eps, a Gaussian linear model.
    rng = np.random.default_rng(2)
    n, sigma2 = 60, 0.5
    arm = rng.integers(0, 3, n)
    y = 0.3 + np.where(arm == 1, 0.8, np.where(arm == 2, -0.4, 0.0)) + rng.normal(0, np.sqrt(sigma2), n)
    v_mu, v_tau, m_mu, m_tau = 0.1, 0.2, 4, 2
    draws = _root_only_draws(y, arm, 3, m_mu, m_tau, sigma2, v_mu, v_tau, iters=4000)
    design = np.column_stack([np.ones(n), arm == 1, arm == 2]).astype(float)
    prior_cov = np.diag([m_mu * v_mu, m_tau * v_tau, m_tau * v_tau])
    post_cov = np.linalg.inv(design.T @ design / sigma2 + np.linalg.inv(prior_cov))
    post_mean = post_cov @ design.T @ y / sigma2
    # Backfitting blocks mix more slowly than independent draws: allow for an effective sample of ~1/10.
    se = np.sqrt(np.diag(post_cov) / (len(draws) / 10))
    np.testing.assert_array_less(np.abs(draws.mean(axis=0) - post_mean), 4 * se)
    np.testing.assert_allclose(np.cov(draws.T), post_cov, atol=0.25 * np.abs(post_cov).max())


@pytest.mark.parametrize("fitted", [-8.0, -3.0, 0.0, 3.0, 8.0])
def test_truncated_latent_draws_are_finite_and_correct(fitted):
    key = jax.random.PRNGKey(3)
    n = 20000
    f = jnp.full(n, fitted, jnp.float32)
    up = np.asarray(draw_latent(key, f, jnp.ones(n)))
    down = np.asarray(draw_latent(key, f, jnp.zeros(n)))
    assert np.isfinite(up).all() and np.isfinite(down).all()
    assert (up > 0).all() and (down <= 0).all()
    # Mean of N(f, 1) truncated to (0, inf) is f + phi(f) / Phi(f); the mirror for (-inf, 0].
    mean_up = stats.truncnorm.mean(-fitted, np.inf, loc=fitted)
    mean_down = stats.truncnorm.mean(-np.inf, -fitted, loc=fitted)
    sd_up = stats.truncnorm.std(-fitted, np.inf, loc=fitted)
    sd_down = stats.truncnorm.std(-np.inf, -fitted, loc=fitted)
    assert abs(up.mean() - mean_up) < 5 * sd_up / np.sqrt(n) + 1e-3
    assert abs(down.mean() - mean_down) < 5 * sd_down / np.sqrt(n) + 1e-3


def test_node_ranges_narrow_along_the_path():
    # Root splits x0 at 10; its right child splits x1 at 3. Node 3's children see x0 in [11, 19].
    h = 4
    var = jnp.full(h, -1, jnp.int32).at[1].set(0).at[3].set(1)
    cut = jnp.zeros(h, jnp.int32).at[1].set(10).at[3].set(3)
    lo, hi = node_ranges(var, cut, jnp.array([20, 8], jnp.int32), 2)
    assert (int(lo[2, 0]), int(hi[2, 0])) == (0, 10)
    assert (int(lo[6, 0]), int(hi[6, 0]), int(lo[6, 1]), int(hi[6, 1])) == (11, 19, 0, 3)
    assert (int(lo[7, 1]), int(hi[7, 1])) == (4, 7)
