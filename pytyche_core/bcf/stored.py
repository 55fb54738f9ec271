"""The trees of every kept draw in a compact host form, and prediction from them.

Per channel and kept draw we keep both forests (split variables as int16,
cut bins as uint8, leaf values as float32): small next to the per-visitor
draws, serialisable with ``numpy.savez``, and enough to compute any
visitor's draws again, on the training data or on new visitors.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

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
        """Copy one block of device forests ([chunk, chains, ...]) into draws ``where``.

        ``tau0`` [chunk, chains, K], the treatment intercept, is folded into the first treatment
        tree: added to every node's values, so each visitor's sum over trees carries it exactly
        once and prediction (here and from saved files) needs no separate term."""
        for name, forest in (("mu", mu), ("tau", tau)):
            for part, dtype in (("var", np.int16), ("cut", np.uint8), ("leaf", np.float32)):
                block = np.moveaxis(np.asarray(getattr(forest, part)), 0, 1).astype(dtype)
                getattr(self, f"{name}_{part}")[:, where] = block
        intercept = np.moveaxis(np.asarray(tau0, np.float32), 0, 1)  # [chains, chunk, K]; 0 unless sampled
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


def predict_forests(forests: StoredForests, bins: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mu [c, d, n], tau [c, d, n, K-1]) on the model scale (no offset) for binned visitors ``bins``."""
    chains, draws = forests.shape
    n = bins.shape[1]
    k = forests.tau_leaf.shape[-1]
    mu = np.empty((chains, draws, n), np.float32)
    tau = np.empty((chains, draws, n, k - 1), np.float32)
    device_bins = jnp.asarray(bins, jnp.uint8)
    for c in range(chains):
        for d in range(draws):
            mu[c, d] = np.asarray(_forest_values(forests.mu_var[c, d], forests.mu_cut[c, d],
                                                 forests.mu_leaf[c, d], device_bins))[:, 0]
            tau[c, d] = np.asarray(_forest_values(forests.tau_var[c, d], forests.tau_cut[c, d],
                                                  forests.tau_leaf[c, d, ..., 1:], device_bins))
    return mu, tau
