"""Leaf sufficient statistics, marginal likelihood and conjugate draws (docs/concepts/sampler-math.md §2).

A leaf column c with ``n`` (weighted) visitors whose partial residuals sum to
``S``, noise variance ``sigma2`` and leaf prior variance ``v`` has

    l(n, S) = -1/2 log(1 + n v / sigma2) + S^2 v / (2 sigma2 (sigma2 + n v))

and posterior N(v S / (sigma2 + n v), v sigma2 / (sigma2 + n v)). Columns
with ``v = 0`` (the control column of the treatment forest) contribute
nothing and stay at 0. Vector leaves sum over columns: one-hot coding makes
the Gram matrix diagonal.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


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
