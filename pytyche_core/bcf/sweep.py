"""One Bayesian backfitting sweep of one forest: a ``lax.scan`` over its trees.

Per tree (docs/concepts/sampler-math.md §2): the proposal (computed for all trees beforehand,
together with every random number the trees will use) is accepted or
rejected on the partial residual, the tree's leaves are drawn from their
conjugate posterior, and the residual is updated. The data work per tree is
one scatter-add of the weighted residuals into the leaves of the finer of the
two trees the move compares, and one gather of the change in each visitor's
fitted value. Fitted values themselves are not tracked here: they are read
off the trees when a draw is kept.

Layout choices that keep XLA on CPU close to that floor:

- The gather of tree t runs at the start of step t + 1, from a table held in
  the loop carry: computed in the same step, XLA would fuse the whole leaf
  draw into the gather and redo it for every visitor.
- ``nodes`` [m, n] rides in the carry and is updated one row in place; as
  scan inputs/outputs it would be copied and re-initialised every sweep.
- Leaf counts come with the sums from the same scatter (on a CPU; two on a
  GPU, ``pair_sums.py`` says why), which writes each visitor into one of a
  few interleaved copies of the table: on a stump every visitor hits the
  same slot, and one copy would serialise the adds.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import custom_batching, lax

from .forest import Forest
from .leaves import log_marginal, posterior_draw
from .moves import Move, propose_forest
from .pair_sums import pair_sums, uses_complex_scatter

_COPIES = 4  # interleaved copies of the scatter table (a power of two)
_GPU_COPIES = 32  # on a GPU, adjacent threads' atomic adds then land on different addresses


class ForestPrior(NamedTuple):
    """Static prior settings of one forest, and the share of change proposals (a sampler setting:
    it changes how fast the chain moves, not where it goes)."""

    depth: int
    alpha: float
    beta: float
    min_leaf: float
    p_change: float = 0.0
    tail_dof: float | None = None  # Student-t leaves with these degrees of freedom (sampler-math.md §3g)


class SweepData(NamedTuple):
    """What a sweep reads: bins uint8 [p, n]; column int32 [n] (the arm, or 0); weight float32 [n];
    n_bins int32 [p] (1 for variables the forest may not split on); prior_var float32 [C]."""

    bins: jax.Array
    column: jax.Array
    weight: jax.Array
    n_bins: jax.Array
    prior_var: jax.Array


# Chains are vmapped. vmap's own rules would gather and scatter with [n, 2] index arrays (chain,
# slot) and turn row writes into scatters; these helpers fold the chain into flat indices instead
# and move whole rows. Batched arguments arrive with the chain axis first.

def _chain_offsets(axis_size: int, size: int, like: jax.Array) -> jax.Array:
    return (jnp.arange(axis_size, dtype=like.dtype) * size).reshape((axis_size,) + (1,) * (like.ndim - 1))


def _batched(axis_size: int, batched: bool, x: jax.Array) -> jax.Array:
    return x if batched else jnp.broadcast_to(x, (axis_size,) + x.shape)


@custom_batching.custom_vmap
def _scatter_add(table: jax.Array, index: jax.Array, values: jax.Array) -> jax.Array:
    """``table.at[index].add(values)`` for a 1-D table, indices promised in bounds."""
    return table.at[index].add(values, mode="promise_in_bounds")


@_scatter_add.def_vmap
def _scatter_add_vmap(axis_size, in_batched, table, index, values):
    table, index, values = (_batched(axis_size, b, x) for b, x in zip(in_batched, (table, index, values), strict=True))
    size = table.shape[1]
    index = index.astype(jnp.uint32)
    flat = (index + _chain_offsets(axis_size, size, index)).reshape(-1)
    return _scatter_add(table.reshape(-1), flat, values.reshape(-1)).reshape(axis_size, size), True


@custom_batching.custom_vmap
def take(table: jax.Array, index: jax.Array) -> jax.Array:
    """``table[index]`` for a 1-D table, indices promised in bounds."""
    return table.at[index].get(mode="promise_in_bounds")


@take.def_vmap
def _take_vmap(axis_size, in_batched, table, index):
    table, index = (_batched(axis_size, b, x) for b, x in zip(in_batched, (table, index), strict=True))
    index = index.astype(jnp.uint32)
    return take(table.reshape(-1), index + _chain_offsets(axis_size, table.shape[1], index)), True


@custom_batching.custom_vmap
def _row(rows: jax.Array, t: jax.Array) -> jax.Array:
    return lax.dynamic_index_in_dim(rows, t, axis=0, keepdims=False)


@_row.def_vmap
def _row_vmap(axis_size, in_batched, rows, t):
    if in_batched[1]:
        return jax.vmap(_row, in_axes=(0 if in_batched[0] else None, 0))(rows, t), True
    return lax.dynamic_index_in_dim(rows, t, axis=1, keepdims=False) if in_batched[0] else _row(rows, t), in_batched[0]


@custom_batching.custom_vmap
def _set_row(rows: jax.Array, row: jax.Array, t: jax.Array) -> jax.Array:
    return lax.dynamic_update_index_in_dim(rows, row, t, axis=0)


@_set_row.def_vmap
def _set_row_vmap(axis_size, in_batched, rows, row, t):
    rows, row = (_batched(axis_size, b, x) for b, x in zip(in_batched[:2], (rows, row), strict=True))
    if in_batched[2]:
        return jax.vmap(_set_row)(rows, row, t), True
    return lax.dynamic_update_index_in_dim(rows, row, t, axis=1), True


def _unit(bits: jax.Array) -> jax.Array:
    """Uniform on [0, 1) from 32 random bits (23 of them, as ``jax.random.uniform`` does)."""
    return lax.bitcast_convert_type((bits >> 9) | jnp.uint32(0x3F800000), jnp.float32) - 1.0


def _std_normal(bits: jax.Array) -> jax.Array:
    """Standard normal draws by the inverse CDF, as ``jax.random.normal`` does."""
    u = jnp.maximum(2.0 * _unit(bits) - 1.0, jnp.nextafter(jnp.float32(-1.0), jnp.float32(0.0)))
    return jnp.sqrt(jnp.float32(2.0)) * lax.erf_inv(u)


def _flat(tagged: jax.Array, column: jax.Array, n_cols: int, sides: int) -> jax.Array:
    """Row of the [2H * C * sides] statistics table for each visitor from ``tagged`` = sides x its
    slot + the side a proposed change would send it to (0 unless a change moves it), and its own
    column. ``sides`` is 2 with change proposals, 1 without (the table of grow / prune alone).
    Unsigned, so that indexing skips the pass that wraps negative indices."""
    tagged = tagged.astype(jnp.uint32)
    if n_cols == 1:
        return tagged
    if sides == 1:
        return tagged * n_cols + column.astype(jnp.uint32)
    return ((tagged >> 1) * n_cols + column.astype(jnp.uint32)) * 2 + (tagged & 1)


def _leaf_stats(index: jax.Array, residual: jax.Array, data: SweepData, n_slots: int, n_cols: int, sides: int):
    """(sum of weighted residuals, sum of weights) per slot, column and change side, each [2H, C, sides]."""
    n = residual.shape[0]
    copies = _COPIES if uses_complex_scatter() else _GPU_COPIES
    lane = jnp.arange(n, dtype=jnp.uint32) & (copies - 1)
    index = index * copies + lane
    sums, weights = pair_sums(_scatter_add, n_slots * n_cols * sides * copies, index, data.weight * residual,
                              data.weight)
    return (sums.reshape(n_slots, n_cols, sides, copies).sum(axis=3),
            weights.reshape(n_slots, n_cols, sides, copies).sum(axis=3))


def _decide(move: Move, log_u: jax.Array, normal: jax.Array, leaf: jax.Array, sums: jax.Array, count: jax.Array,
            data: SweepData, sigma2: jax.Array, prior: ForestPrior, prior_only: bool, tails=None, fresh=None):
    """Accept or reject the move and draw the new tree's leaves; all arrays are per slot, no data.

    ``sums`` and ``count`` are [2H, C, sides]: per slot of the finer tree (the current tree for
    a change), column, and the side the proposed change sends a visitor to (one side when the
    forest has no change proposals: then ``_grow_or_prune`` decides). Returns the new leaf
    values [2H, C], the change of fitted value per (slot, column, side) flattened, whether the new
    tree is the coarser of a grow / prune pair, whether the move was accepted, and the tree's tail
    scales after it (Student-t leaves, ``_grow_or_prune``; None without them)."""
    n_slots = leaf.shape[0]
    slots = jnp.arange(n_slots)
    node, left, right = move.node, 2 * move.node, 2 * move.node + 1
    is_child = (slots == left) | (slots == right)
    # What each finer-tree slot's visitors carry now (new children still hold their parent's value).
    old_value = jnp.where((move.grow & is_child)[:, None], leaf[node], leaf)
    total_by_side = sums + count * old_value[:, :, None]
    total, count_by_side, count = total_by_side.sum(axis=2), count, count.sum(axis=2)
    c_left, c_right, t_left, t_right = count[left], count[right], total[left], total[right]
    if sums.shape[2] == 1:  # no change proposals: the grow / prune decision alone
        values, delta, merged, accept, tails = _grow_or_prune(move, log_u, normal, leaf, old_value, total, count,
                                                              data, sigma2, prior, prior_only, tails, fresh)
        return values, delta[:, :, None].reshape(-1), merged, accept, tails
    if tails is not None:
        raise ValueError("Student-t leaves have no change moves yet. Fix: change_probability=0.")
    # A change re-sorts the visitors of both children by the new rule: [C, 2] by side.
    c_sides = count_by_side[left] + count_by_side[right]
    t_sides = total_by_side[left] + total_by_side[right]
    # Children, their union and the changed children, in one call: [5, C] -> [5].
    fit = log_marginal(jnp.stack([c_left, c_right, c_left + c_right, c_sides[:, 0], c_sides[:, 1]]),
                       jnp.stack([t_left, t_right, t_left + t_right, t_sides[:, 0], t_sides[:, 1]]),
                       sigma2, data.prior_var)
    split_gain = fit[0] + fit[1] - fit[2]
    gain = jnp.where(move.change, fit[3] + fit[4] - fit[0] - fit[1], jnp.where(move.grow, split_gain, -split_gain))
    gain = jnp.where(prior_only, 0.0, gain)
    new_left, new_right = jnp.where(move.change, c_sides[:, 0].sum(), c_left.sum()), jnp.where(
        move.change, c_sides[:, 1].sum(), c_right.sum())
    big_enough = ~(move.grow | move.change) | ((new_left >= prior.min_leaf) & (new_right >= prior.min_leaf))
    accept = big_enough & (log_u < move.log_ratio + gain)
    merged = ~move.change & (move.grow != accept)  # the coarser tree: a rejected grow or an accepted prune
    changed = move.change & accept

    fine_leaves = jnp.where(move.grow, (move.leaves & (slots != node)) | is_child, move.leaves)
    leaves = jnp.where(merged, (fine_leaves & ~is_child) | (slots == node), fine_leaves)
    merge_row = (merged & (slots == node))[:, None]
    count = jnp.where(merge_row, c_left + c_right, count)
    total = jnp.where(merge_row, t_left + t_right, total)
    count = jnp.where(changed & (slots == left)[:, None], c_sides[:, 0], jnp.where(
        changed & (slots == right)[:, None], c_sides[:, 1], count))
    total = jnp.where(changed & (slots == left)[:, None], t_sides[:, 0], jnp.where(
        changed & (slots == right)[:, None], t_sides[:, 1], total))
    values = jnp.where(leaves[:, None], posterior_draw(normal, count, total, sigma2, data.prior_var), 0.0)
    # New value of each (finer-tree slot, side)'s visitors: merged children take their parent's
    # value; after a change, a child's visitors take the value of the child their side names.
    new_value = jnp.where((merged & is_child)[:, None], values[node], values)
    by_side = jnp.stack([new_value, new_value], axis=2)
    by_side = jnp.where((changed & is_child)[:, None, None], jnp.stack([values[left], values[right]], axis=1)[None],
                        by_side)
    delta = by_side - old_value[:, :, None]
    return values, delta.reshape(-1), merged, accept, None


def _grow_or_prune(move: Move, log_u, normal, leaf, old_value, total, count, data: SweepData, sigma2,
                   prior: ForestPrior, prior_only: bool, tails=None, fresh=None):
    """``_decide`` without change proposals (fewer small operations per tree): new leaf values,
    the change of fitted value per (slot, column), whether the new tree is the coarser, accepted,
    and the tree's tail scales after the move.

    With Student-t leaves (``tails`` [2H], the tree's scale per slot; sampler-math.md §3g) a leaf
    is N(0, v lam): a grow's two children and a prune's merged node take the scales ``fresh`` [2]
    drawn from their prior, so the prior and the proposal of the scales cancel in the ratio and
    only the leaves' marginal likelihoods under their own scales remain."""
    n_slots = leaf.shape[0]
    slots = jnp.arange(n_slots)
    node, left, right = move.node, 2 * move.node, 2 * move.node + 1
    is_child = (slots == left) | (slots == right)
    c_left, c_right, t_left, t_right = count[left], count[right], total[left], total[right]
    prior_var = data.prior_var
    if tails is not None:  # rows: left child, right child, the merged node
        scales = jnp.where(move.grow, jnp.stack([fresh[0], fresh[1], tails[node]]),
                           jnp.stack([tails[left], tails[right], fresh[0]]))
        prior_var = scales[:, None] * data.prior_var
    fit = log_marginal(jnp.stack([c_left, c_right, c_left + c_right]), jnp.stack([t_left, t_right, t_left + t_right]),
                       sigma2, prior_var)
    gain = jnp.where(prior_only, 0.0, fit[0] + fit[1] - fit[2])
    big_enough = ~move.grow | ((c_left.sum() >= prior.min_leaf) & (c_right.sum() >= prior.min_leaf))
    accept = big_enough & (log_u < move.log_ratio + jnp.where(move.grow, gain, -gain))
    merged = move.grow != accept
    fine_leaves = jnp.where(move.grow, (move.leaves & (slots != node)) | is_child, move.leaves)
    leaves = jnp.where(merged, (fine_leaves & ~is_child) | (slots == node), fine_leaves)
    merge_row = (merged & (slots == node))[:, None]
    count = jnp.where(merge_row, c_left + c_right, count)
    total = jnp.where(merge_row, t_left + t_right, total)
    leaf_var = data.prior_var
    if tails is not None:
        grown, pruned = move.grow & accept, ~move.grow & accept
        tails = jnp.where(grown & (slots == left), fresh[0], jnp.where(grown & (slots == right), fresh[1], tails))
        tails = jnp.where(pruned & (slots == node), fresh[0], tails)
        leaf_var = tails[:, None] * data.prior_var
    values = jnp.where(leaves[:, None], posterior_draw(normal, count, total, sigma2, leaf_var), 0.0)
    delta = jnp.where((merged & is_child)[:, None], values[node], values) - old_value
    return values, delta, merged, accept, tails


def _apply(forest: Forest, moves: Move, accepted: jax.Array, leaf: jax.Array) -> Forest:
    """The forest after the sweep: accepted grows split their node, accepted changes replace its
    rule, accepted prunes clear it."""
    at_node = (jnp.arange(forest.var.shape[1])[None, :] == moves.node[:, None]) & accepted[:, None]
    new_rule = (moves.grow | moves.change)[:, None]
    var = jnp.where(at_node, jnp.where(new_rule, moves.var[:, None], -1), forest.var)
    cut = jnp.where(at_node & new_rule, moves.cut[:, None], forest.cut)
    return Forest(var, cut, leaf)


class SweepResult(NamedTuple):
    """A forest after one sweep: its trees, each visitor's leaf per tree ``nodes`` [m, n], the
    ``residual`` [n] after the new fit, and which trees' moves were ``accepted`` (bool [m])."""

    forest: Forest
    nodes: jax.Array
    residual: jax.Array
    accepted: jax.Array


def sweep(key: jax.Array, forest: Forest, nodes: jax.Array, residual: jax.Array, data: SweepData,
          sigma2: jax.Array, prior: ForestPrior, *, prior_only: bool = False,
          alpha: jax.Array | float | None = None) -> SweepResult:
    """Update every tree of ``forest`` once.

    ``nodes`` [m, n] holds each visitor's leaf per tree; ``residual`` [n] is
    the target minus the offset and every forest's fit. ``alpha`` overrides
    ``prior.alpha`` with a traced value (a sampled depth prior: ``bcf.depth_prior``).
    """
    if prior.tail_dof is not None:
        raise ValueError("sweep: this forest has Student-t leaves (prior.tail_dof). Fix: call sweep_student "
                         "with every slot's tail scale.")
    return _sweep(key, forest, nodes, residual, data, sigma2, prior, prior_only, alpha, None)[0]


def sweep_student(key: jax.Array, forest: Forest, nodes: jax.Array, residual: jax.Array, data: SweepData,
                  sigma2: jax.Array, prior: ForestPrior, tails: jax.Array, *, prior_only: bool = False,
                  alpha: jax.Array | float | None = None) -> tuple[SweepResult, jax.Array]:
    """``sweep`` for a forest with Student-t leaves (``prior.tail_dof``; sampler-math.md §3g):
    ``tails`` [m, 2H] holds every slot's tail scale; returns the sweep and the scales after it
    (new leaves carry fresh ones; ``leaves.draw_tail_scales`` then redraws them given the leaves)."""
    if prior.tail_dof is None or not prior.tail_dof > 0:
        raise ValueError(f"sweep_student: prior.tail_dof is {prior.tail_dof!r}. Fix: set it > 0, or call sweep.")
    return _sweep(key, forest, nodes, residual, data, sigma2, prior, prior_only, alpha, tails)


def _sweep(key, forest, nodes, residual, data, sigma2, prior, prior_only, alpha, tails):
    m, n_slots, n_cols = forest.leaf.shape
    # Every random number of the sweep in one draw (each call site costs compile time on CPU):
    # per tree 5 words for the proposal, 1 for the accept step, one per leaf value.
    words = jax.random.bits(key, (m, 6 + n_slots * n_cols), jnp.uint32)
    moves = propose_forest(words[:, :5], forest.var, forest.cut, data.n_bins, depth=prior.depth,
                           alpha=prior.alpha if alpha is None else alpha, beta=prior.beta,
                           p_change=prior.p_change)
    log_u = jnp.log(_unit(words[:, 5]))
    normals = _std_normal(words[:, 6:]).reshape(forest.leaf.shape)
    dtype = nodes.dtype
    t_leaves = prior.tail_dof is not None
    if t_leaves:  # two tail scales per tree from their prior IG(dof / 2, dof / 2), on their own key
        half = 0.5 * prior.tail_dof
        fresh = half / jax.random.gamma(jax.random.fold_in(key, 1), half, (m, 2), jnp.float32)

    # Slot and change side ride in one small integer (uint8 up to depth 6): the carry is written
    # and read once per tree, and a 4-byte index there costs more than recomputing it.
    sides = 2 if prior.p_change > 0 else 1
    tag_dtype = jnp.uint8 if 2 * sides * n_slots <= 256 else jnp.uint16

    def one_tree(carry, xs):
        residual, nodes, pending, tagged = carry
        t, log_u, normal, leaf, move, *tail_xs = xs
        residual = residual - take(pending, _flat(tagged, data.column, n_cols, sides))
        row = _row(nodes, t)
        goes_right = lax.dynamic_index_in_dim(data.bins, move.var, axis=0, keepdims=False) > move.cut.astype(jnp.uint8)
        node = move.node.astype(dtype)
        fine = jnp.where(move.grow & (row == node), 2 * node + goes_right.astype(dtype), row)
        # A change keeps the current tree as the finer one and tags each of the node's visitors
        # with the side the new rule sends it to.
        in_children = (fine >> 1) == node  # for a change, fine is the current tree
        side = move.change & in_children & goes_right
        tagged = fine.astype(tag_dtype) if sides == 1 else 2 * fine.astype(tag_dtype) + side.astype(tag_dtype)
        sums, count = _leaf_stats(_flat(tagged, data.column, n_cols, sides), residual, data, n_slots, n_cols, sides)
        leaf, pending, merged, accept, tail_row = _decide(move, log_u, normal, leaf, sums, count, data, sigma2,
                                                          prior, prior_only, *tail_xs)
        # The new tree's leaf per visitor: a merge sends the children's visitors to the node, an
        # accepted change sends them to the child their side names.
        if sides == 1:
            row = jnp.where(merged & in_children, node, fine)
        else:
            moved = merged | (move.change & accept)
            row = jnp.where(in_children & moved, jnp.where(merged, node, 2 * node + side.astype(dtype)), fine)
        nodes = _set_row(nodes, row, t)
        return (residual, nodes, pending, tagged), (leaf, accept, tail_row)

    n = residual.shape[0]
    carry = (residual, nodes, jnp.zeros(n_slots * n_cols * sides, residual.dtype), jnp.full(n, sides, tag_dtype))
    xs = (jnp.arange(m), log_u, normals, forest.leaf, moves) + ((tails, fresh) if t_leaves else ())
    (residual, nodes, pending, tagged), (leaf, accepted, tails) = lax.scan(one_tree, carry, xs)
    residual = residual - take(pending, _flat(tagged, data.column, n_cols, sides))
    return SweepResult(_apply(forest, moves, accepted, leaf), nodes, residual, accepted), tails
