"""A sampled depth prior for the treatment forest: alpha drawn given the trees.

A node at depth d splits with prior probability alpha (1 + d)^-beta
(docs/concepts/sampler-math.md §1). A fixed alpha decides in advance how
much interaction the effect surface may have; sampled, the forest's own
splits set it. alpha gets a discrete prior on ``ALPHA_GRID`` (Beta-shaped
weights with a chosen mean and concentration), so its full conditional is
a categorical over the grid and the Gibbs draw is exact, not a griddy
approximation (docs/concepts/sampler-math.md §3d).

Given the trees, alpha touches only the split / no-split terms: every
internal node contributes log(alpha c_d), every leaf that could still split
(depth < D, a cut left in its range) log(1 - alpha c_d), with
c_d = (1 + d)^-beta. The choice of variable and cut does not involve alpha.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from scipy import stats

from .forest import Forest, is_internal, is_leaf, node_depths, node_ranges

#: The values alpha may take: 19 points strictly inside (0, 1).
ALPHA_GRID: tuple[float, ...] = tuple(round(0.05 * i, 2) for i in range(1, 20))


def alpha_log_prior(mean: float, concentration: float) -> tuple[float, ...]:
    """Log prior weights over ``ALPHA_GRID``: a Beta(c mean, c (1 - mean)) density at the grid
    points, normalised. A hashable tuple, so it can sit in a channel's static spec."""
    if not 0.0 < mean < 1.0:
        raise ValueError(f"the depth prior's mean alpha {mean} is outside (0, 1). Fix: pass tau_alpha in (0, 1).")
    if not concentration > 0.0:
        raise ValueError(f"the depth prior's concentration {concentration} is not positive. "
                         "Fix: pass tau_alpha_concentration > 0, or None to fix alpha.")
    grid = np.asarray(ALPHA_GRID)
    log_w = stats.beta.logpdf(grid, concentration * mean, concentration * (1.0 - mean))
    log_w = log_w - np.logaddexp.reduce(log_w)
    return tuple(float(x) for x in log_w)


def split_counts(forest: Forest, n_bins: jax.Array, beta: float, depth: int) -> tuple[jax.Array, jax.Array]:
    """Per depth 0 .. D-1: (internal nodes, leaves that could still split), summed over trees: each [D]."""

    def one_tree(var, cut):
        h = var.shape[0]
        lo, hi = node_ranges(var, cut, n_bins, depth - 1)          # slots < H: depths 0 .. D-1
        can_split = ((hi - lo) > 0).any(axis=1)
        internal = is_internal(var)[:h]
        open_leaf = is_leaf(var)[:h] & can_split
        depth_of = jnp.asarray(node_depths(depth)[:h])
        onehot = depth_of[:, None] == jnp.arange(depth)[None, :]   # [H, D]; slot 0 is never a node
        return (onehot & internal[:, None]).sum(axis=0), (onehot & open_leaf[:, None]).sum(axis=0)

    internal, open_leaves = jax.vmap(one_tree)(forest.var, forest.cut)
    return internal.sum(axis=0), open_leaves.sum(axis=0)


def alpha_log_likelihood(internal: jax.Array, open_leaves: jax.Array, beta: float) -> jax.Array:
    """log P(splits | alpha) at every grid point, [G], from ``split_counts``."""
    depth = internal.shape[0]
    c = (1.0 + jnp.arange(depth, dtype=jnp.float32)) ** (-beta)                 # [D]
    p = jnp.asarray(ALPHA_GRID, jnp.float32)[:, None] * c[None, :]              # [G, D]
    return (internal[None, :] * jnp.log(p) + open_leaves[None, :] * jnp.log1p(-p)).sum(axis=1)


def draw_alpha(key: jax.Array, forest: Forest, n_bins: jax.Array, beta: float, depth: int,
               log_prior: tuple[float, ...]) -> jax.Array:
    """One exact Gibbs draw of alpha from its categorical full conditional on the grid: float32 []."""
    internal, open_leaves = split_counts(forest, n_bins, beta, depth)
    logits = jnp.asarray(log_prior, jnp.float32) + alpha_log_likelihood(internal, open_leaves, beta)
    return jnp.asarray(ALPHA_GRID, jnp.float32)[jax.random.categorical(key, logits)]


__all__ = ["ALPHA_GRID", "alpha_log_likelihood", "alpha_log_prior", "draw_alpha", "split_counts"]
