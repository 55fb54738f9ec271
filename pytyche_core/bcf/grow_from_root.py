"""Grow-from-root sweeps (XBART): a warm start that rebuilds every tree from its root.

A sweep visits the trees in turn, as the MCMC sweep does, but instead of one
grow or prune it throws the tree away and grows a new one level by level on
the partial residual (docs/concepts/sampler-math.md §8). At every node of a
level it weighs each cut of each variable by its prior and marginal
likelihood, and "no split" by the prior's stopping probability and the
node's own likelihood, and draws one. A few such sweeps put the forests where
the data are, so the MCMC that follows needs far fewer burn-in sweeps; they
are not themselves posterior draws and are never kept.

Per level the data work is one scatter over visitors x variables into a
histogram of (weighted residual sum, weight) per (node, variable, bin, leaf
column); cumulative sums over bins give every cut's two children at once.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

from .forest import Forest, is_leaf, node_ranges
from .leaves import log_marginal, posterior_draw
from .pair_sums import pair_sums
from .sweep import ForestPrior, SweepData, take

#: Histogram width per variable: bins are uint8, so every cut of every variable fits.
_BINS = 256


def _level_histogram(level_node: jax.Array, in_level: jax.Array, residual: jax.Array, data: SweepData,
                     width: int, n_cols: int) -> tuple[jax.Array, jax.Array]:
    """(sum, weight) per (node of the level, variable, bin, column): each [width, p, B, C]."""
    p, n = data.bins.shape
    column = data.column.astype(jnp.uint32)
    base = (level_node.astype(jnp.uint32) * p)[None, :] + jnp.arange(p, dtype=jnp.uint32)[:, None]  # [p, n]
    index = ((base * _BINS + data.bins.astype(jnp.uint32)) * n_cols + column[None, :]).reshape(-1)
    weight = jnp.where(in_level, data.weight, 0.0)
    sums, weights = pair_sums(_add, width * p * _BINS * n_cols, index,
                              jnp.broadcast_to(weight * residual, (p, n)).reshape(-1),
                              jnp.broadcast_to(weight, (p, n)).reshape(-1))
    return sums.reshape(width, p, _BINS, n_cols), weights.reshape(width, p, _BINS, n_cols)


def _add(table: jax.Array, index: jax.Array, values: jax.Array) -> jax.Array:
    return table.at[index].add(values, mode="promise_in_bounds")


def grow_tree(key: jax.Array, residual: jax.Array, data: SweepData, sigma2: jax.Array, prior: ForestPrior,
              n_cols: int, node_dtype, *, skip_empty_levels: bool = True) -> tuple[Forest, jax.Array]:
    """One tree grown from its root on ``residual``: (its var [H], cut [H], leaf [2H, C]) and each
    visitor's leaf slot [n].

    ``skip_empty_levels=False`` computes every level even under leaves: the same draws at the full
    cost, kept as the reference the skip is tested against."""
    depth = prior.depth
    h = 2**depth
    p, n = data.bins.shape
    var = jnp.full(h, -1, jnp.int32)
    cut = jnp.zeros(h, jnp.int32)
    node = jnp.ones(n, jnp.int32)
    keys = jax.random.split(key, depth + 1)
    n_bins = data.n_bins.astype(jnp.int32)

    def level(d: int, carry: tuple[jax.Array, jax.Array, jax.Array]) -> tuple[jax.Array, jax.Array, jax.Array]:
        var, cut, node = carry
        width, first = 2**d, 2**d
        in_level = node >= first  # visitors whose leaf sits at this level (the others stopped above)
        level_node = jnp.where(in_level, node - first, 0)
        sums, counts = _level_histogram(level_node, in_level, residual, data, width, n_cols)
        left_sum, left_count = jnp.cumsum(sums, axis=2), jnp.cumsum(counts, axis=2)   # cut c: bins <= c go left
        total_sum, total_count = left_sum[:, :1, -1, :], left_count[:, :1, -1, :]     # [width, 1, C]
        right_sum, right_count = total_sum[:, :, None, :] - left_sum, total_count[:, :, None, :] - left_count
        fit_left = log_marginal(left_count, left_sum, sigma2, data.prior_var)          # [width, p, B]
        fit_right = log_marginal(right_count, right_sum, sigma2, data.prior_var)
        fit_stay = log_marginal(total_count[:, 0], total_sum[:, 0], sigma2, data.prior_var)  # [width]

        lo, hi = node_ranges(var, cut, n_bins, depth)
        lo, hi = lo[first:2 * first], hi[first:2 * first]                              # [width, p]
        cuts = jnp.arange(_BINS)[None, None, :]
        in_range = (cuts >= lo[:, :, None]) & (cuts < hi[:, :, None])
        big_enough = (left_count.sum(-1) >= prior.min_leaf) & (right_count.sum(-1) >= prior.min_leaf) \
            & (left_count.sum(-1) > 0) & (right_count.sum(-1) > 0)
        candidate = in_range & big_enough                                               # [width, p, B]
        slots = jnp.arange(first, 2 * first)
        alive = (slots == 1) | (var[jnp.maximum(slots // 2, 1)] >= 0) & (slots >= 2)   # the node exists
        can_split = candidate.any(axis=(1, 2)) & alive
        p_split = jnp.where(can_split, prior.alpha * (1.0 + d) ** -prior.beta, 0.0)
        # The uniform split rule: a variable among those with a cut, then a cut in its range.
        cuts_per_var = jnp.maximum(hi - lo, 0)
        vars_with_cut = (cuts_per_var > 0).sum(axis=1)
        log_rule = (-jnp.log(jnp.maximum(vars_with_cut, 1))[:, None]
                    - jnp.log(jnp.maximum(cuts_per_var, 1)))[:, :, None]
        split_weight = jnp.where(candidate, jnp.log(jnp.maximum(p_split, 1e-30))[:, None, None] + log_rule
                                 + fit_left + fit_right, -jnp.inf)
        stay_weight = jnp.log1p(-p_split) + fit_stay
        weights = jnp.concatenate([stay_weight[:, None], split_weight.reshape(width, -1)], axis=1)
        choice = jnp.argmax(weights + jax.random.gumbel(keys[d], weights.shape, weights.dtype), axis=1)
        split = alive & (choice > 0)
        chosen_var, chosen_cut = (choice - 1) // _BINS, (choice - 1) % _BINS
        var = var.at[slots].set(jnp.where(split, chosen_var, -1).astype(jnp.int32))
        cut = cut.at[slots].set(jnp.where(split, chosen_cut, 0).astype(jnp.int32))
        # Visitors of a node that split move to its child.
        moves = in_level & split[level_node]
        v = jnp.where(moves, chosen_var[level_node], 0)
        bin_of = take(data.bins.reshape(-1), (v * n + jnp.arange(n)).astype(jnp.uint32))
        node = jnp.where(moves, 2 * node + (bin_of.astype(jnp.int32) > chosen_cut[level_node]), node)
        return var, cut, node

    carry = level(0, (var, cut, node))
    for d in range(1, depth):
        if not skip_empty_levels:
            carry = level(d, carry)
            continue
        # A level under nodes that all stayed leaves holds no visitor: its histogram (p x n adds,
        # the sweep's cost) is skipped, so a tree stops costing where it stops growing. Computing
        # it would split nothing, so the draws are the same. (Under vmap, when chains share a
        # device, the cond computes both sides: no saving there.)
        parents = jnp.arange(2**(d - 1), 2**d)
        carry = lax.cond((carry[0][parents] >= 0).any(), functools.partial(level, d), lambda c: c, carry)
    var, cut, node = carry
    # Leaf values from their conjugate posterior given the grown tree.
    index = node.astype(jnp.uint32) * n_cols + data.column.astype(jnp.uint32)
    sums, weights = pair_sums(_add, 2 * h * n_cols, index, data.weight * residual, data.weight)
    normal = jax.random.normal(keys[depth], (2 * h, n_cols), residual.dtype)
    leaf = posterior_draw(normal, weights.reshape(2 * h, n_cols), sums.reshape(2 * h, n_cols), sigma2,
                          data.prior_var)
    leaf = jnp.where(is_leaf(var)[:, None], leaf, 0.0)  # only leaves carry values, as in the MCMC sweep
    return Forest(var, cut, leaf), node.astype(node_dtype)


class GrowResult(NamedTuple):
    """A forest after a grow-from-root sweep: its trees, ``nodes`` [m, n] and the ``residual`` [n]."""

    forest: Forest
    nodes: jax.Array
    residual: jax.Array


def grow_from_root_sweep(key: jax.Array, forest: Forest, nodes: jax.Array, residual: jax.Array, data: SweepData,
                         sigma2: jax.Array, prior: ForestPrior) -> GrowResult:
    """Regrow every tree of ``forest`` in turn on its partial residual."""
    m, _, n_cols = forest.leaf.shape
    column = data.column.astype(jnp.uint32)

    def one_tree(residual, xs):
        key, leaf, tree_nodes = xs
        own = take(leaf.reshape(-1), tree_nodes.astype(jnp.uint32) * n_cols + column)
        partial = residual + own
        tree, new_nodes = grow_tree(key, partial, data, sigma2, prior, n_cols, tree_nodes.dtype)
        fit = take(tree.leaf.reshape(-1), new_nodes.astype(jnp.uint32) * n_cols + column)
        return partial - fit, (tree, new_nodes)

    residual, (trees, nodes) = lax.scan(one_tree, residual, (jax.random.split(key, m), forest.leaf, nodes))
    return GrowResult(trees, nodes, residual)


__all__ = ["GrowResult", "grow_from_root_sweep", "grow_tree"]
