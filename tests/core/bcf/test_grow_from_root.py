"""Grow-from-root trees: the root's split drawn at its exact conditional, bookkeeping, signal vs noise."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from scipy import stats

from pytyche_core.bcf.forest import empty_forest, is_leaf, leaf_of
from pytyche_core.bcf.grow_from_root import grow_from_root_sweep, grow_tree
from pytyche_core.bcf.sweep import ForestPrior, SweepData


def _data(bins: np.ndarray, prior_var: float, arm: np.ndarray | None = None, n_bins=None) -> SweepData:
    p, n = bins.shape
    column = np.zeros(n, np.int32) if arm is None else arm
    n_cols = 1 if arm is None else int(arm.max()) + 1
    variances = [prior_var] if arm is None else [0.0] + [prior_var] * (n_cols - 1)
    return SweepData(jnp.asarray(bins, jnp.uint8), jnp.asarray(column, jnp.int32), jnp.ones(n, jnp.float32),
                     jnp.asarray(n_bins if n_bins is not None else bins.max(axis=1) + 1, jnp.int32),
                     jnp.asarray(variances, jnp.float32))


def _log_mvn(r, sigma2, blocks, v):
    cov = sigma2 * np.eye(len(r)) + sum(v * np.outer(b, b) for b in blocks)
    return stats.multivariate_normal(np.zeros(len(r)), cov).logpdf(r)


def test_the_root_decision_is_drawn_at_its_exact_conditional():
    # Depth 1: the root either stays a leaf, with weight (1 - alpha) L(all), or splits at cut c,
    # with weight alpha / (number of cuts) L(left) L(right): the leaves integrated out.
    rng = np.random.default_rng(2)
    bins = np.repeat(np.arange(4), 10)[None, :]
    sigma2, v, alpha = 1.0, 0.5, 0.6
    r = rng.normal(np.array([0.0, 0.4, 0.4, 0.9])[bins[0]], 1.0)
    weights = [np.log(1 - alpha) + _log_mvn(r, sigma2, [np.ones(40)], v)]
    for c in range(3):
        left = (bins[0] <= c) * 1.0
        weights.append(np.log(alpha / 3) + _log_mvn(r, sigma2, [left, 1 - left], v))
    exact = np.exp(np.array(weights) - max(weights))
    exact /= exact.sum()
    assert exact.max() < 0.7
    data = _data(bins, v)
    prior = ForestPrior(1, alpha, 2.0, 0.0)
    grow = jax.jit(jax.vmap(lambda k: grow_tree(k, jnp.asarray(r, jnp.float32), data, jnp.float32(sigma2), prior,
                                                1, jnp.uint8)[0]))
    trees = grow(jax.random.split(jax.random.PRNGKey(0), 20_000))
    var, cut = np.asarray(trees.var[:, 1]), np.asarray(trees.cut[:, 1])
    outcome = np.where(var < 0, 0, cut + 1)
    freq = np.bincount(outcome, minlength=4) / len(outcome)
    # 20k independent draws: 4 standard errors is below 0.015.
    np.testing.assert_allclose(freq, exact, atol=0.015)


def test_a_grown_tree_routes_every_visitor_to_a_leaf_holding_a_value():
    rng = np.random.default_rng(0)
    bins = rng.integers(0, 30, (3, 500)).astype(np.uint8)
    r = np.where(bins[1] > 14, 2.0, -2.0) + rng.normal(0, 0.3, 500)
    data = _data(bins, 1.0, n_bins=np.full(3, 30))
    prior = ForestPrior(4, 0.95, 2.0, 5.0)
    tree, nodes = jax.jit(lambda k: grow_tree(k, jnp.asarray(r, jnp.float32), data, jnp.float32(0.09), prior, 1,
                                              jnp.uint8))(jax.random.PRNGKey(1))
    nodes = np.asarray(nodes)
    np.testing.assert_array_equal(nodes, np.asarray(leaf_of(tree.var, tree.cut, data.bins, 4)))
    leaves = np.asarray(is_leaf(tree.var))
    assert leaves[nodes].all()
    assert (np.asarray(tree.leaf)[~leaves] == 0).all()
    assert np.bincount(nodes).max() < 500 and min(np.bincount(nodes)[np.bincount(nodes) > 0]) >= 5
    # The split that matters is found: fitted values follow the step.
    fitted = np.asarray(tree.leaf)[nodes, 0]
    assert np.corrcoef(fitted, r)[0, 1] > 0.95


def test_a_sweep_keeps_the_residual_and_separates_signal_from_noise():
    rng = np.random.default_rng(4)
    n, m = 2000, 10
    bins = rng.integers(0, 20, (2, n)).astype(np.uint8)
    arm = rng.integers(0, 3, n).astype(np.int32)
    effect = np.where(bins[0] > 9, 1.0, 0.0)  # arm 1 helps half the visitors; arm 2 does nothing
    r = np.where(arm == 1, effect, 0.0) + rng.normal(0, 1.0, n)
    data = _data(bins, 0.5 / m, arm=arm, n_bins=np.full(2, 20))
    prior = ForestPrior(3, 0.25, 3.0, 5.0)
    forest = empty_forest(m, 3, 3)
    nodes = jnp.ones((m, n), jnp.uint8)
    sweep = jax.jit(lambda k, f, nd, res: grow_from_root_sweep(k, f, nd, res, data, jnp.float32(1.0), prior))
    residual = jnp.asarray(r, jnp.float32)
    for key in jax.random.split(jax.random.PRNGKey(3), 6):
        forest, nodes, residual = sweep(key, forest, nodes, residual)
    leaf = np.asarray(forest.leaf)
    fit = sum(leaf[t][np.asarray(nodes[t]), arm] for t in range(m))
    np.testing.assert_allclose(np.asarray(residual), r - fit, atol=1e-4)  # the running residual is exact
    assert (leaf[:, :, 0] == 0).all()                                     # control column stays 0
    tau1 = sum(leaf[t][np.asarray(nodes[t]), 1] for t in range(m))
    tau2 = sum(leaf[t][np.asarray(nodes[t]), 2] for t in range(m))
    assert tau1[bins[0] > 9].mean() - tau1[bins[0] <= 9].mean() > 0.5     # the benefit is found
    assert abs(tau2[bins[0] > 9].mean() - tau2[bins[0] <= 9].mean()) < 0.25  # no invented split for arm 2


def test_skipping_levels_under_leaves_leaves_the_draws_unchanged():
    # A level under nodes that all stayed leaves is skipped (lax.cond); the reference computes
    # every level. Both must give the same trees, bit for bit, on trees that stop at several
    # depths: the skip is a saving, never a different draw. Unbatched, so the cond is a branch.
    rng = np.random.default_rng(5)
    bins = rng.integers(0, 16, (3, 400)).astype(np.uint8)
    r = np.where(bins[0] > 7, 1.0, -1.0) * np.where(bins[1] > 7, 1.0, 0.2) + rng.normal(0, 0.8, 400)
    data = _data(bins, 0.5, n_bins=np.full(3, 16))
    prior = ForestPrior(4, 0.6, 1.0, 5.0)
    residual = jnp.asarray(r, jnp.float32)
    skipping, every_level = (
        jax.jit(lambda k, skip=skip: grow_tree(k, residual, data, jnp.float32(0.8), prior, 1, jnp.uint8,
                                               skip_empty_levels=skip))
        for skip in (True, False))
    depths = set()
    for key in jax.random.split(jax.random.PRNGKey(7), 64):
        (tree, nodes), (reference, reference_nodes) = skipping(key), every_level(key)
        for got, want in ((tree.var, reference.var), (tree.cut, reference.cut), (tree.leaf, reference.leaf),
                          (nodes, reference_nodes)):
            np.testing.assert_array_equal(np.asarray(got), np.asarray(want))
        depths.add(int(np.floor(np.log2(np.asarray(nodes).max()))))
    assert len(depths) >= 3  # trees stopped at several depths, so skipped and grown levels were both met
