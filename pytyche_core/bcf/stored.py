"""The trees of every kept draw in a compact host form, and prediction from them.

Per channel and kept draw we keep both forests (split variables as int16,
cut bins as uint8, leaf values as float32): small next to the per-visitor
draws, serialisable with ``numpy.savez``, and enough to compute any
visitor's draws again, on the training data or on new visitors.
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np

from .chains import chain_mesh, over_chains, place
from .config import BCFConfig
from .forest import descend, levels


@dataclasses.dataclass
class StoredForests:
    """Forests of ``chains x draws`` kept iterations: var/cut [c, d, m, H], leaf [c, d, m, 2H, C]."""

    mu_var: np.ndarray
    mu_cut: np.ndarray
    mu_leaf: np.ndarray
    tau_var: np.ndarray
    tau_cut: np.ndarray
    tau_leaf: np.ndarray
    depth: int

    @classmethod
    def allocate(cls, config: BCFConfig, n_arms: int, draws: int) -> StoredForests:
        c, h = config.chains, 2**config.max_depth
        return cls(
            mu_var=np.empty((c, draws, config.mu_trees, h), np.int16),
            mu_cut=np.empty((c, draws, config.mu_trees, h), np.uint8),
            mu_leaf=np.empty((c, draws, config.mu_trees, 2 * h, 1), np.float32),
            tau_var=np.empty((c, draws, config.tau_trees, h), np.int16),
            tau_cut=np.empty((c, draws, config.tau_trees, h), np.uint8),
            tau_leaf=np.empty((c, draws, config.tau_trees, 2 * h, n_arms), np.float32),
            depth=config.max_depth)

    def store(self, where: slice, mu, tau, tau0) -> None:
        """Copy one block of device forests ([chains, chunk, ...]) into draws ``where``.

        ``tau0`` [chains, chunk, K], the treatment intercept, is folded into the first treatment
        tree: added to every node's values, so each visitor's sum over trees carries it exactly
        once and prediction (here and from saved files) needs no separate term."""
        for name, forest in (("mu", mu), ("tau", tau)):
            for part, dtype in (("var", np.int16), ("cut", np.uint8), ("leaf", np.float32)):
                getattr(self, f"{name}_{part}")[:, where] = np.asarray(getattr(forest, part)).astype(dtype)
        intercept = np.asarray(tau0, np.float32)  # [chains, chunk, K]; 0 unless sampled
        self.tau_leaf[:, where, 0] += intercept[:, :, None, :]

    def first(self, draws: int) -> StoredForests:
        return dataclasses.replace(self, **{f.name: getattr(self, f.name)[:, :draws]
                                            for f in dataclasses.fields(self) if f.name != "depth"})

    @property
    def shape(self) -> tuple[int, int]:
        """(chains, draws)."""
        return self.mu_var.shape[:2]

    def arrays(self) -> dict[str, np.ndarray]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "depth"}


def _leaf_slots(var: jax.Array, cut: jax.Array, bins: jax.Array) -> jax.Array:
    """Every visitor's leaf slot in one tree, walking only as deep as the tree goes: int32 [n]."""
    var, cut = var.astype(jnp.int32), cut.astype(jnp.int32)
    start = jnp.ones(bins.shape[1], jnp.int32)
    return jax.lax.fori_loop(0, levels(var), lambda _, node: descend(node, var, cut, bins), start)


def _chain_values(var: jax.Array, cut: jax.Array, leaf: jax.Array, bins: jax.Array) -> jax.Array:
    """Sum over trees of each visitor's leaf row for consecutive draws of one chain: [d, n, C].

    ``var``/``cut`` [d, m, H], ``leaf`` [d, m, 2H, C]. Between consecutive draws most trees keep
    their shape (only accepted moves change it), so a tree is walked again only when its splits
    changed; every draw still reads each visitor's leaf value from every tree."""
    n, n_cols = bins.shape[1], leaf.shape[-1]

    def one_draw(carry, xs):
        def one_tree(total, ys):
            slots, v, c, values, last_v, last_c = ys
            changed = jnp.any(v != last_v) | jnp.any(c != last_c)
            slots = jax.lax.cond(changed, lambda: _leaf_slots(v, c, bins).astype(slots.dtype), lambda: slots)
            # A flat gather with unsigned indices, as the sweep reads leaves (see ``sweep.take``).
            index = slots[:, None].astype(jnp.uint32) * n_cols + jnp.arange(n_cols, dtype=jnp.uint32)
            return total + values.reshape(-1).at[index].get(mode="promise_in_bounds"), slots

        slots, last_var, last_cut = carry
        v, c, values = xs
        total, slots = jax.lax.scan(one_tree, jnp.zeros((n, n_cols), jnp.float32),
                                    (slots, v, c, values, last_var, last_cut))
        return (slots, v, c), total

    m = var.shape[1]
    slot_dtype = jnp.uint8 if leaf.shape[2] <= 256 else jnp.int16  # 2H slots: uint8 up to depth 7
    start = (jnp.ones((m, n), slot_dtype), jnp.full(var.shape[1:], -1, var.dtype), jnp.zeros(cut.shape[1:], cut.dtype))
    return jax.lax.scan(one_draw, start, (var, cut, leaf))[1]


#: Kept draws per prediction call: bounds device memory ([draws, n, K] values) and keeps one shape.
_PREDICT_DRAWS = 25


@functools.partial(jax.jit, static_argnames="mesh")
def _draw_values(mu_var, mu_cut, mu_leaf, tau_var, tau_cut, tau_leaf, bins, *, mesh):
    """(mu [c, d, n], tau [c, d, n, K-1]) for a block of draws of every chain, chains side by side."""
    def one_chain(mu_var, mu_cut, mu_leaf, tau_var, tau_cut, tau_leaf, bins):
        return (_chain_values(mu_var, mu_cut, mu_leaf, bins)[..., 0],
                _chain_values(tau_var, tau_cut, tau_leaf[..., 1:], bins))
    return over_chains(one_chain, mesh, (True,) * 6 + (False,))(mu_var, mu_cut, mu_leaf, tau_var, tau_cut,
                                                                   tau_leaf, bins)


def predict_forests(forests: StoredForests, bins: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mu [c, d, n], tau [c, d, n, K-1]) on the model scale (no offset) for binned visitors ``bins``.

    Blocks of ``_PREDICT_DRAWS`` draws per call, every chain at once (one per device where
    ``chains.py`` has several); the last block is padded with repeats of a draw so every call
    has one shape."""
    chains, draws = forests.shape
    n = bins.shape[1]
    k = forests.tau_leaf.shape[-1]
    mu = np.empty((chains, draws, n), np.float32)
    tau = np.empty((chains, draws, n, k - 1), np.float32)
    mesh = chain_mesh(chains)
    device_bins = place(jnp.asarray(bins, jnp.uint8), mesh, batched=False)
    arrays = forests.arrays()
    for lo in range(0, draws, _PREDICT_DRAWS):
        rows = np.minimum(np.arange(lo, lo + _PREDICT_DRAWS), draws - 1)  # pad with the last draw
        block = [place(arrays[name][:, rows], mesh, batched=True)  # numpy: split on the host, no compile
                 for name in ("mu_var", "mu_cut", "mu_leaf", "tau_var", "tau_cut", "tau_leaf")]
        mu_block, tau_block = _draw_values(*block, device_bins, mesh=mesh)
        size = min(_PREDICT_DRAWS, draws - lo)
        mu[:, lo:lo + size] = np.asarray(mu_block)[:, :size]
        tau[:, lo:lo + size] = np.asarray(tau_block)[:, :size]
    return mu, tau
