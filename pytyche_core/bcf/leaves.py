"""Leaf sufficient statistics, marginal likelihood and conjugate draws (docs/concepts/sampler-math.md §2).

A leaf column c with ``n`` (weighted) visitors whose partial residuals sum to
``S``, noise variance ``sigma2`` and leaf prior variance ``v`` has

    l(n, S) = -1/2 log(1 + n v / sigma2) + S^2 v / (2 sigma2 (sigma2 + n v))

and posterior N(v S / (sigma2 + n v), v sigma2 / (sigma2 + n v)). Columns
with ``v = 0`` (the control column of the treatment forest) contribute
nothing and stay at 0. Vector leaves sum over columns: one-hot coding makes
the Gram matrix diagonal.

The leaf variance of a forest may itself be sampled (sampler-math.md §3b):
with an inverse-gamma prior IG(a, b) on each column's ``v`` and the forest's
``L`` leaves iid N(0, v) given the trees, ``v`` given the leaves is
IG(a + L / 2, b + sum of squared leaf values / 2).

Student-t leaves (sampler-math.md §3g) give each leaf its own tail scale lam,
the leaf N(0, v lam) with lam ~ IG(d / 2, d / 2): marginally a t with d degrees
of freedom and scale sqrt(v). Given its values over the forest's C' columns with
v > 0, a leaf's lam is IG((d + C') / 2, (d + sum_c value_c^2 / v_c) / 2), and
v's update reads value^2 / lam in place of value^2.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from .forest import Forest, is_leaf


def log_marginal(count: jax.Array, total: jax.Array, sigma2: jax.Array, prior_var: jax.Array) -> jax.Array:
    """Sum over the last axis (columns) of l(n, S); arrays broadcast, shape [..., C] -> [...]."""
    nv = count * prior_var
    term = -0.5 * jnp.log1p(nv / sigma2) + total**2 * prior_var / (2.0 * sigma2 * (sigma2 + nv))
    return jnp.where(prior_var > 0, term, 0.0).sum(axis=-1)


def posterior_draw(normal: jax.Array, count: jax.Array, total: jax.Array, sigma2: jax.Array,
                   prior_var: jax.Array) -> jax.Array:
    """Leaf values from their conjugate posterior, given standard normal draws shaped like ``total``."""
    denom = sigma2 + count * prior_var
    return prior_var * total / denom + jnp.sqrt(prior_var * sigma2 / denom) * normal


def draw_leaves(key: jax.Array, count: jax.Array, total: jax.Array, sigma2: jax.Array,
                prior_var: jax.Array) -> jax.Array:
    """Gibbs draw of leaf values from their conjugate posterior, shape like ``total``."""
    return posterior_draw(jax.random.normal(key, total.shape, total.dtype), count, total, sigma2, prior_var)


def draw_leaf_variance(key: jax.Array, forest: Forest, prior_mean: jax.Array, shape: float,
                       tails: jax.Array | None = None) -> jax.Array:
    """Gibbs draw of each leaf column's prior variance, [C], from IG(shape, (shape - 1) prior_mean)
    updated by the forest's leaves (each over its tail scale, ``tails`` [m, 2H], with Student-t
    leaves); columns with ``prior_mean`` 0 stay 0."""
    leaves = jax.vmap(is_leaf)(forest.var)                               # [m, 2H]
    n_leaves = leaves.sum().astype(forest.leaf.dtype)
    squares = jnp.where(leaves[:, :, None], forest.leaf, 0.0) ** 2       # [m, 2H, C]
    if tails is not None:
        squares = squares / tails[:, :, None]
    rate = (shape - 1.0) * prior_mean + 0.5 * squares.sum(axis=(0, 1))
    gamma = jax.random.gamma(key, shape + 0.5 * n_leaves, prior_mean.shape, forest.leaf.dtype)
    return jnp.where(prior_mean > 0, rate / gamma, 0.0)


def draw_tail_scales(key: jax.Array, forest: Forest, leaf_var: jax.Array, dof: float) -> jax.Array:
    """Gibbs draw of every slot's tail scale of a forest with Student-t leaves, [m, 2H]: at a leaf
    IG((dof + C') / 2, (dof + sum_c value_c^2 / v_c) / 2) over the C' columns with ``leaf_var`` v > 0.
    Slots that are not leaves get a draw too (from their stale values); no move reads them, since a
    slot that becomes a leaf takes a fresh scale from the prior (``sweep._grow_or_prune``)."""
    active = leaf_var > 0
    ratio = jnp.where(active, forest.leaf**2 / jnp.where(active, leaf_var, 1.0), 0.0).sum(axis=-1)  # [m, 2H]
    shape = 0.5 * (dof + active.sum().astype(forest.leaf.dtype))
    return 0.5 * (dof + ratio) / jax.random.gamma(key, shape, ratio.shape, forest.leaf.dtype)
