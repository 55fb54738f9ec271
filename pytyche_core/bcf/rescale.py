"""A Metropolis move that rescales a forest's leaves and its leaf variance together
(docs/concepts/sampler-math.md §3e).

Drawing the leaf variance ``v`` given the leaves and the leaves given ``v``
(§3b) moves slowly when the data say little about the leaves: the leaves
are shrunk to the scale ``v`` sets and ``v`` follows the leaves, so the pair
random-walks in small steps (the funnel of a centred hierarchical model).
This move changes both at once along that ridge: for one column it draws
``c = exp(eps)``, ``eps ~ N(0, step^2)``, and proposes every leaf value
``theta -> c theta`` and ``v -> c^2 v``. The forest's fit of a visitor in the
column scales by ``c``, so its residual moves by ``-(c - 1) f``. With the
prior ``v ~ IG(a, b)``, leaves ``N(0, v)`` and the map's Jacobian
``c^(L + 2)``, the leaves' prior terms cancel and

    log A = dlog-likelihood - 2 a eps - (b / v) (exp(-2 eps) - 1)

where ``dlog-likelihood = -(1 / (2 sigma2)) sum_i w_i (r_i'^2 - r_i^2)`` over
the column's visitors. ``eps`` and ``-eps`` are equally likely, so the
proposal cancels. Columns are independent (a visitor sits in one column), so
each is accepted on its own; columns with ``v = 0`` (control) never move.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from .forest import Forest

#: Proposal sd of log c. The move's reach along the ridge is what matters: the data pin the
#: fit's scale to well under this wherever they inform it, and there the move is rejected.
STEP = 0.2


def rescale_forest(key: jax.Array, forest: Forest, leaf_var: jax.Array, fit: jax.Array, residual: jax.Array,
                   column: jax.Array, weight: jax.Array, sigma2: jax.Array, prior_mean: jax.Array, shape: float,
                   *, prior_only: bool = False, step: float = STEP):
    """One rescaling proposal per leaf column.

    ``leaf_var`` / ``prior_mean`` [C]: the current leaf variances and their prior means (IG(shape,
    (shape - 1) prior_mean)); ``fit`` [n]: each visitor's sum over this forest's trees in its own
    column; ``column`` int [n]: that column (0 for the prognostic forest, the arm for the treatment
    forest). Returns (forest, leaf_var, fit, residual, acceptance rate over the movable columns)."""
    c_columns = leaf_var.shape[0]
    movable = prior_mean > 0
    eps = step * jax.random.normal(key, (c_columns,), jnp.float32)
    factor = jnp.where(movable, jnp.exp(eps), 1.0)
    per_visitor = factor[column]
    proposed = residual - (per_visitor - 1.0) * fit
    if prior_only:
        loglik = jnp.zeros(c_columns, jnp.float32)
    else:
        change = weight * (proposed**2 - residual**2)
        loglik = -0.5 / sigma2 * jnp.zeros(c_columns, jnp.float32).at[column].add(change)
    b = (shape - 1.0) * prior_mean
    safe_var = jnp.where(movable, leaf_var, 1.0)
    log_ratio = loglik - 2.0 * shape * eps - b / safe_var * (jnp.exp(-2.0 * eps) - 1.0)
    u = jax.random.uniform(jax.random.fold_in(key, 1), (c_columns,), jnp.float32)
    accept = movable & (jnp.log(u) < log_ratio)
    factor = jnp.where(accept, factor, 1.0)
    moved = accept[column]
    forest = forest._replace(leaf=forest.leaf * factor)  # [m, 2H, C] * [C]
    rate = accept.sum() / jnp.maximum(movable.sum(), 1)
    return (forest, leaf_var * factor**2, jnp.where(moved, fit * per_visitor, fit),
            jnp.where(moved, proposed, residual), rate)
