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

        ``tau0`` [chunk, chains, K], the treatment intercept, is folded into the first treatment
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


@jax.jit
def _forest_values(var, cut, leaf, bins):
    """Sum over trees of each visitor's leaf row: [n, C]. ``var`` [m, H]; ``bins`` uint8 [p, n]."""
    start = jnp.ones(bins.shape[1], jnp.int32)

    def add(total, xs):
        v, c, values = xs
        v, c = v.astype(jnp.int32), c.astype(jnp.int32)
        # Walk only as deep as this tree goes: most trees are a level or two, not max_depth.
        node = jax.lax.fori_loop(0, levels(v), lambda _, node: descend(node, v, c, bins), start)
        return total + values[node], None

    total, _ = jax.lax.scan(add, jnp.zeros((bins.shape[1], leaf.shape[2]), jnp.float32), (var, cut, leaf))
    return total


#: Kept draws per prediction call: bounds device memory ([draws, n, K] values) and keeps one shape.
_PREDICT_DRAWS = 25


@functools.partial(jax.jit, static_argnames="mesh")
def _draw_values(mu_var, mu_cut, mu_leaf, tau_var, tau_cut, tau_leaf, bins, *, mesh):
    """(mu [c, d, n], tau [c, d, n, K-1]) for a block of draws of every chain, chains side by side."""
    def one_chain(mu_var, mu_cut, mu_leaf, tau_var, tau_cut, tau_leaf, bins):
        def one_draw(_, xs):
            mv, mc, ml, tv, tc, tl = xs
            return None, (_forest_values(mv, mc, ml, bins)[:, 0], _forest_values(tv, tc, tl[..., 1:], bins))
        return jax.lax.scan(one_draw, None, (mu_var, mu_cut, mu_leaf, tau_var, tau_cut, tau_leaf))[1]

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
        block = [place(jnp.asarray(arrays[name][:, rows]), mesh, batched=True)
                 for name in ("mu_var", "mu_cut", "mu_leaf", "tau_var", "tau_cut", "tau_leaf")]
        mu_block, tau_block = _draw_values(*block, device_bins, mesh=mesh)
        size = min(_PREDICT_DRAWS, draws - lo)
        mu[:, lo:lo + size] = np.asarray(mu_block)[:, :size]
        tau[:, lo:lo + size] = np.asarray(tau_block)[:, :size]
    return mu, tau
