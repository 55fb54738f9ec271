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


def draw_leaf_variance(key: jax.Array, forest: Forest, prior_mean: jax.Array, shape: float) -> jax.Array:
    """Gibbs draw of each leaf column's prior variance, [C], from IG(shape, (shape - 1) prior_mean)
    updated by the forest's leaves; columns with ``prior_mean`` 0 stay 0."""
    leaves = jax.vmap(is_leaf)(forest.var)                               # [m, 2H]
    n_leaves = leaves.sum().astype(forest.leaf.dtype)
    squares = jnp.where(leaves[:, :, None], forest.leaf, 0.0) ** 2       # [m, 2H, C]
    rate = (shape - 1.0) * prior_mean + 0.5 * squares.sum(axis=(0, 1))
    gamma = jax.random.gamma(key, shape + 0.5 * n_leaves, prior_mean.shape, forest.leaf.dtype)
    return jnp.where(prior_mean > 0, rate / gamma, 0.0)
