"""One Bayesian backfitting sweep of one forest: a ``lax.scan`` over its trees.

Per tree (MATH.md §2): the proposal (computed for all trees beforehand) is
accepted or rejected on the partial residual, the tree's leaves are drawn
from their conjugate posterior, and the residual is updated. The data work
per tree is one scatter-add of (weighted residual, weight) pairs into the
leaves of the finer of the two trees the move compares, and one gather of
the change in each visitor's fitted value. Fitted values themselves are not
tracked here: they are read off the trees when a draw is kept.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

from .forest import Forest, is_leaf
from .leaves import draw_leaves, log_marginal
from .moves import Move, propose_forest


class ForestPrior(NamedTuple):
    """Static prior settings of one forest."""

    depth: int
    alpha: float
    beta: float
    min_leaf: float


class SweepData(NamedTuple):
    """What a sweep reads: bins uint8 [p, n]; column int32 [n] (the arm, or 0); weight float32 [n];
    n_bins int32 [p] (1 for variables the forest may not split on); prior_var float32 [C]."""

    bins: jax.Array
    column: jax.Array
    weight: jax.Array
    n_bins: jax.Array
    prior_var: jax.Array


def _tree_update(key: jax.Array, var: jax.Array, cut: jax.Array, leaf: jax.Array, nodes: jax.Array,
                 move: Move, residual: jax.Array, data: SweepData, sigma2: jax.Array, prior: ForestPrior,
                 prior_only: bool):
    k_accept, k_leaf = jax.random.split(key)
    n_slots, n_cols = leaf.shape
    slots = jnp.arange(n_slots)
    nodes = nodes.astype(jnp.int32)
    node, left, right = move.node, 2 * move.node, 2 * move.node + 1

    # Leaf of every visitor in the finer tree: the grown one, or the current one for a prune.
    goes_right = lax.dynamic_index_in_dim(data.bins, move.var, axis=0, keepdims=False).astype(jnp.int32) > move.cut
    fine = jnp.where(move.grow & (nodes == node), left + goes_right.astype(jnp.int32), nodes)
    flat = fine * n_cols + data.column
    pairs = jnp.stack([data.weight * residual, data.weight], axis=-1)
    stats = jnp.zeros((n_slots * n_cols, 2), residual.dtype).at[flat].add(pairs)
    total, count = stats[:, 0].reshape(n_slots, n_cols), stats[:, 1].reshape(n_slots, n_cols)

    # Partial residual sums: add back what this tree currently contributes.
    new_child = move.grow & ((slots == left) | (slots == right))
    old_value = leaf[jnp.where(new_child, node, slots)]
    total = total + count * old_value

    split_gain = (log_marginal(count[left], total[left], sigma2, data.prior_var)
                  + log_marginal(count[right], total[right], sigma2, data.prior_var)
                  - log_marginal(count[left] + count[right], total[left] + total[right], sigma2, data.prior_var))
    split_gain = jnp.where(prior_only, 0.0, split_gain)
    big_enough = ~move.grow | ((count[left].sum() >= prior.min_leaf) & (count[right].sum() >= prior.min_leaf))
    log_accept = move.log_ratio + jnp.where(move.grow, split_gain, -split_gain)
    accept = big_enough & (jnp.log(jax.random.uniform(k_accept)) < log_accept)

    grown, pruned = move.grow & accept, ~move.grow & accept
    node_var = jnp.minimum(node, var.shape[0] - 1)
    var = jnp.where(grown, var.at[node_var].set(move.var), jnp.where(pruned, var.at[node_var].set(-1), var))
    cut = jnp.where(grown, cut.at[node_var].set(move.cut), cut)
    fine_is_new = grown | (~move.grow & ~accept)

    # Statistics of the new tree's leaves: the finer tree's, or its two children merged.
    merged_count = count.at[node].set(count[left] + count[right])
    merged_total = total.at[node].set(total[left] + total[right])
    count = jnp.where(fine_is_new, count, merged_count)
    total = jnp.where(fine_is_new, total, merged_total)
    values = draw_leaves(k_leaf, count, total, sigma2, data.prior_var)
    leaf = jnp.where(is_leaf(var)[:, None], values, 0.0)

    # Change of each visitor's fitted value (its own arm's column), indexed by its finer-tree slot.
    merged_child = ~fine_is_new & ((slots == left) | (slots == right))
    delta = (leaf[jnp.where(merged_child, node, slots)] - old_value).reshape(-1)
    change = delta[flat]
    nodes = jnp.where(fine_is_new, fine, jnp.where((fine >> 1) == node, node, fine))
    return var, cut, leaf, nodes, change, accept


def sweep(key: jax.Array, forest: Forest, nodes: jax.Array, residual: jax.Array, data: SweepData,
          sigma2: jax.Array, prior: ForestPrior, *, prior_only: bool = False):
    """Update every tree of ``forest`` once; returns (forest, nodes, residual, accepted [m]).

    ``nodes`` [m, n] holds each visitor's leaf per tree; ``residual`` [n] is
    the target minus the offset and every forest's fit.
    """
    k_propose, k_trees = jax.random.split(key)
    moves = propose_forest(k_propose, forest.var, forest.cut, data.n_bins, depth=prior.depth,
                           alpha=prior.alpha, beta=prior.beta)
    keys = jax.random.split(k_trees, forest.var.shape[0])
    node_dtype = nodes.dtype

    def one_tree(residual, xs):
        key, var, cut, leaf, tree_nodes, move = xs
        var, cut, leaf, tree_nodes, change, accept = _tree_update(
            key, var, cut, leaf, tree_nodes, move, residual, data, sigma2, prior, prior_only)
        return residual - change, (var, cut, leaf, tree_nodes.astype(node_dtype), accept)

    residual, (var, cut, leaf, nodes, accepted) = lax.scan(
        one_tree, residual, (keys, forest.var, forest.cut, forest.leaf, nodes, moves))
    return Forest(var, cut, leaf), nodes, residual, accepted
