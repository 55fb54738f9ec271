"""Heap-array forests: fixed-depth trees stacked per forest, and what follows from their shape.

A forest of ``m`` trees of maximum depth ``D`` is three arrays:

- ``var[m, H]`` and ``cut[m, H]`` with ``H = 2**D``: the split of internal
  node ``j`` (heap numbering, root 1, children ``2j`` and ``2j+1``); ``var = -1``
  marks a node that does not split. A visitor goes left when its bin of
  ``var`` is ``<= cut``.
- ``leaf[m, 2H, C]``: the value of every node slot, read at leaves. ``C`` is 1
  for a scalar forest; for the treatment forest it is K (one column per arm,
  column 0 = control, held at 0), so a visitor's contribution is
  ``leaf[its leaf, its arm]``.

Every function here looks at shape only (no data, no residuals) and works on
one tree; ``jax.vmap`` lifts it to a forest.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np


class Forest(NamedTuple):
    """One forest's trees (a pytree)."""

    var: jax.Array   # int32 [m, H]
    cut: jax.Array   # int32 [m, H]
    leaf: jax.Array  # float32 [m, 2H, C]


def empty_forest(n_trees: int, depth: int, n_columns: int) -> Forest:
    """Every tree a lone root with value 0."""
    h = 2**depth
    return Forest(var=jnp.full((n_trees, h), -1, jnp.int32), cut=jnp.zeros((n_trees, h), jnp.int32),
                  leaf=jnp.zeros((n_trees, 2 * h, n_columns), jnp.float32))


def node_depths(depth: int) -> np.ndarray:
    """Depth of every slot 0 .. 2H-1 (slot 0 unused, given depth 0)."""
    slots = np.arange(2 ** (depth + 1))
    return np.where(slots > 0, np.floor(np.log2(np.maximum(slots, 1))), 0).astype(np.int32)


def is_internal(var: jax.Array) -> jax.Array:
    """Bool [2H]: the slot splits (slots >= H never do)."""
    return jnp.concatenate([var >= 0, jnp.zeros_like(var, dtype=bool)])


def exists(var: jax.Array) -> jax.Array:
    """Bool [2H]: the slot is a node of the tree (the root, or a child of an internal node)."""
    internal = is_internal(var)
    parent_internal = jnp.repeat(internal[: var.shape[0]], 2)  # slot s reads slot s // 2, no gather
    slots = jnp.arange(internal.shape[0])
    return (slots == 1) | ((slots >= 2) & parent_internal)


def is_leaf(var: jax.Array) -> jax.Array:
    return exists(var) & ~is_internal(var)


def is_nog(var: jax.Array) -> jax.Array:
    """Bool [2H]: internal nodes whose two children are both leaves (the prunable ones)."""
    internal = is_internal(var)
    h = var.shape[0]
    children_leaves = ~internal.reshape(h, 2).any(axis=1)  # slot s < H has children 2s, 2s + 1
    nog = (var >= 0) & children_leaves & (jnp.arange(h) >= 1)
    return jnp.concatenate([nog, jnp.zeros_like(nog)])


def node_ranges(var: jax.Array, cut: jax.Array, n_bins: jax.Array, depth: int) -> tuple[jax.Array, jax.Array]:
    """Inclusive bin range ``[lo, hi]`` of every slot for every variable, int32 [2H, p].

    The range narrows along the path from the root: going left through
    ``(v, c)`` caps ``hi[v]`` at ``c``, going right lifts ``lo[v]`` to ``c + 1``.
    Built one depth at a time from the level above with static slices (each
    slot visited once, no gathers); slot 0 is unused and copies the root.
    """
    p = n_bins.shape[0]
    lo, hi = jnp.zeros((1, p), jnp.int32), n_bins.astype(jnp.int32)[None, :] - 1
    los, his = [lo, lo], [hi, hi]
    for d in range(1, depth + 1):
        parents = slice(2 ** (d - 1), 2**d)
        split_cut = cut[parents][:, None]
        hit = var[parents][:, None] == jnp.arange(p)[None, :]
        left_hi = jnp.where(hit, jnp.minimum(hi, split_cut), hi)
        right_lo = jnp.where(hit, jnp.maximum(lo, split_cut + 1), lo)
        lo = jnp.stack([lo, right_lo], axis=1).reshape(-1, p)  # children 2i, 2i + 1 in heap order
        hi = jnp.stack([left_hi, hi], axis=1).reshape(-1, p)
        los.append(lo)
        his.append(hi)
    return jnp.concatenate(los), jnp.concatenate(his)


def split_probability(alpha: float, beta: float, depth_of: jax.Array, max_depth: int,
                      can_split: jax.Array) -> jax.Array:
    """Prior probability that a node splits: alpha (1 + d)^-beta, 0 at max depth or with no cut left."""
    p = alpha * (1.0 + depth_of.astype(jnp.float32)) ** (-beta)
    return jnp.where((depth_of < max_depth) & can_split, p, 0.0)


def descend(node: jax.Array, var: jax.Array, cut: jax.Array, bins: jax.Array) -> jax.Array:
    """Every visitor one level down its tree (a visitor at a leaf stays): int32 [n]. ``bins`` uint8 [p, n]."""
    h, n = var.shape[0], bins.shape[1]
    safe = jnp.minimum(node, h - 1)
    v = jnp.where(node < h, var[safe], -1)
    # Bin (v, i) as one flat gather: a 2-D gather would first build an [n, 2] index array.
    flat = jnp.maximum(v, 0).astype(jnp.uint32) * n + jnp.arange(n, dtype=jnp.uint32)
    go_right = bins.reshape(-1)[flat].astype(jnp.int32) > cut[safe]
    return jnp.where(v >= 0, 2 * node + go_right.astype(jnp.int32), node)


def levels(var: jax.Array) -> jax.Array:
    """How many levels a visitor may walk down this tree: the deepest split's depth + 1 (0 for a root)."""
    depth_of = jnp.asarray(node_depths(int(np.log2(var.shape[0]))))[: var.shape[0]]
    return jnp.max(jnp.where(var >= 0, depth_of + 1, 0))


def leaf_of(var: jax.Array, cut: jax.Array, bins: jax.Array, depth: int) -> jax.Array:
    """Leaf slot of every visitor in one tree: walk ``depth`` levels; int32 [n]. ``bins`` uint8 [p, n]."""
    node = jnp.ones(bins.shape[1], jnp.int32)
    for _ in range(depth):
        node = descend(node, var, cut, bins)
    return node
