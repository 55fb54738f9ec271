"""Grow / prune / change proposals and the shape-only part of their acceptance ratio
(docs/concepts/sampler-math.md §2).

Everything here depends on tree shapes alone, so it runs for all trees of a
forest at once (``jax.vmap`` over trees). The data-dependent part (leaf
likelihoods) is added tree by tree in the sweep.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from .forest import (
    exists,
    is_internal,
    is_leaf,
    is_nog,
    node_depths,
    node_ranges,
    split_probability,
)


class Move(NamedTuple):
    """One proposed move of one tree.

    ``node`` is the leaf to grow, the node to prune, or the node whose rule
    changes (0 when no move is possible); a grow splits it on ``(var, cut)``,
    a change gives it that rule instead of its own. ``log_ratio`` is the log
    of everything in the acceptance ratio except the likelihood.
    """

    grow: jax.Array       # bool
    change: jax.Array     # bool (never together with grow)
    node: jax.Array       # int32
    var: jax.Array        # int32
    cut: jax.Array        # int32
    log_ratio: jax.Array  # float32
    leaves: jax.Array     # bool [2H]: the current tree's leaves


def _below(bits: jax.Array, count: jax.Array) -> jax.Array:
    """A uniform integer in [0, count) from 32 random bits (count >= 1; bias below count / 2^32)."""
    return (bits % jnp.maximum(count, 1).astype(jnp.uint32)).astype(jnp.int32)


def _pick(bits: jax.Array, mask: jax.Array) -> jax.Array:
    """A uniform index among the True entries of ``mask`` (0 if none): the k-th True, k uniform."""
    prefix = jnp.cumsum(mask.astype(jnp.int32))
    k = _below(bits, prefix[-1])
    return jnp.where(prefix[-1] > 0, (prefix <= k).sum(), 0).astype(jnp.int32)


def _log(x: jax.Array) -> jax.Array:
    return jnp.log(jnp.maximum(x, 1e-30))


def _children_can_split(avail: jax.Array, lo: jax.Array, hi: jax.Array, node: jax.Array, split_var: jax.Array,
                        split_cut: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Whether each child of ``node`` split on ``(split_var, split_cut)`` keeps a cut point."""
    others = ((avail[node] > 0) & (jnp.arange(avail.shape[1]) != split_var)).any()
    return (others | (split_cut - lo[node, split_var] > 0),
            others | (hi[node, split_var] - split_cut - 1 > 0))


def propose(bits: jax.Array, var: jax.Array, cut: jax.Array, n_bins: jax.Array, *, depth: int,
            alpha: float, beta: float, p_change: float = 0.0) -> Move:
    """Propose a move for one tree from 5 random words ``bits`` (uint32): a change with
    probability ``p_change`` (a no-op when no node has two leaf children), else a grow or a
    prune; ``n_bins`` [p] is 1 for variables the forest may not use."""
    h = var.shape[0]
    depth_of = jnp.asarray(node_depths(depth))
    # Leaves that can grow and prunable nodes all sit above the last level (slots < H).
    lo, hi = node_ranges(var, cut, n_bins, depth - 1)
    avail = jnp.maximum(hi - lo, 0)                      # cut points left per node and variable, [H, p]
    can_split = (avail > 0).any(axis=1)
    leaves = is_leaf(var)
    growable = leaves[:h] & can_split
    nogs = is_nog(var)[:h]
    b, w = growable.sum(), nogs.sum()
    p_grow = jnp.where(w == 0, 1.0, jnp.where(b == 0, 0.0, 0.5))
    # One uniform picks the kind: [0, p_change) a change, then grow and prune halves of the rest
    # (with p_change = 0 the grow / prune coin is the word's top bit, as before changes existed).
    u = (bits[0] >> 9).astype(jnp.float32) * jnp.float32(2.0**-23)
    wants_change = u < p_change
    change = wants_change & (w > 0)
    coin = u < p_change + 0.5 * (1.0 - p_change)
    possible = ((b > 0) | (w > 0)) & ~(wants_change & (w == 0))
    grow = jnp.where(p_grow == 0.5, coin, p_grow == 1.0) & possible & ~wants_change

    # Prune and change: a node whose children are both leaves.
    p_node = _pick(bits[4], nogs)
    # Grow: a growable leaf; grow and change: a variable with a cut left there, a cut in its range
    # (a node's range comes from its ancestors, so a change draws the rule as the prior does).
    g_node = jnp.where(change, p_node, _pick(bits[1], growable))
    g_var = _pick(bits[2], avail[g_node] > 0)
    g_cut = lo[g_node, g_var] + _below(bits[3], avail[g_node, g_var])

    node = jnp.where(grow | change, g_node, jnp.where(possible, p_node, 0))
    own = jnp.minimum(node, var.shape[0] - 1)
    split_var = jnp.where(grow | change, g_var, var[own])
    split_cut = jnp.where(grow | change, g_cut, cut[own])

    # The children of `node` after the split (grow), before the merge (prune), after the change.
    d = depth_of[node]
    left_can, right_can = _children_can_split(avail, lo, hi, node, split_var, split_cut)
    p_node_split = split_probability(alpha, beta, d, depth, jnp.asarray(True))
    p_left = split_probability(alpha, beta, d + 1, depth, left_can)
    p_right = split_probability(alpha, beta, d + 1, depth, right_can)
    log_prior_grow = _log(p_node_split) + jnp.log1p(-p_left) + jnp.log1p(-p_right) - jnp.log1p(-p_node_split)
    child_growable = ((d + 1 < depth) & left_can).astype(jnp.int32) + ((d + 1 < depth) & right_can).astype(jnp.int32)

    sibling = node ^ 1
    sibling_leaf = leaves[jnp.clip(sibling, 0, leaves.shape[0] - 1)] & (node >= 2)
    # Grow T -> T': b' = b - 1 + growable children; w' = w + 1 - [parent was a nog in T].
    b_after_grow = b - 1 + child_growable
    w_after_grow = w + 1 - sibling_leaf.astype(jnp.int32)
    p_prune_after = jnp.where(b_after_grow == 0, 1.0, 0.5)
    log_grow = (log_prior_grow + _log(p_prune_after) - _log(w_after_grow.astype(jnp.float32))
                - _log(p_grow) + _log(b.astype(jnp.float32)))
    # Prune T -> T': b' = b + 1 - growable children; w' = w - 1 + [parent becomes a nog].
    b_after_prune = b + 1 - child_growable
    w_after_prune = w - 1 + sibling_leaf.astype(jnp.int32)
    p_grow_after = jnp.where(w_after_prune == 0, 1.0, 0.5)
    log_prune = (-log_prior_grow - (_log(1.0 - p_grow) - _log(w.astype(jnp.float32)))
                 + _log(p_grow_after) - _log(b_after_prune.astype(jnp.float32)))

    # Change: the node's rule is drawn as the prior draws it and the proposal is symmetric (same
    # node count, same ranges), so only the children's chances of staying leaves differ.
    old_left_can, old_right_can = _children_can_split(avail, lo, hi, node, var[own], cut[own])
    log_change = (jnp.log1p(-p_left) + jnp.log1p(-p_right)
                  - jnp.log1p(-split_probability(alpha, beta, d + 1, depth, old_left_can))
                  - jnp.log1p(-split_probability(alpha, beta, d + 1, depth, old_right_can)))

    log_ratio = jnp.where(possible, jnp.where(change, log_change, jnp.where(grow, log_grow, log_prune)), -jnp.inf)
    return Move(grow=grow, change=change, node=node, var=split_var.astype(jnp.int32),
                cut=split_cut.astype(jnp.int32), log_ratio=log_ratio.astype(jnp.float32), leaves=leaves)


def propose_forest(bits: jax.Array, var: jax.Array, cut: jax.Array, n_bins: jax.Array, *, depth: int,
                   alpha: float, beta: float, p_change: float = 0.0) -> Move:
    """One proposal per tree, all trees at once; ``bits`` uint32 [m, 5] are the random words."""
    return jax.vmap(lambda b, v, c: propose(b, v, c, n_bins, depth=depth, alpha=alpha, beta=beta,
                                            p_change=p_change))(bits, var, cut)


__all__ = ["Move", "exists", "is_internal", "propose", "propose_forest"]
