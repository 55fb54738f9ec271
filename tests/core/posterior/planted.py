"""Posteriors with planted effects: real simulated visitors, effect draws built by hand.

They expose what the posterior primitives read (``observed``,
``cate_samples``, ``treatment_names``, ``outcome_means``), so decisions,
trees and allocations can be checked against a known answer without a fit.
"""

from __future__ import annotations

import functools

import numpy as np

import pytyche_core as pt
from pytyche_core.simulate import scenario

N, S = 3000, 200


@functools.cache
def _observed(k: int) -> pt.ObservedExperimentData:
    return pt.simulate(scenario("reversal", k=k, profile="stress").config(N, seed=11)).observed


class PlantedPosterior:
    """Visitors of a simulated experiment with effect draws ``truth + noise`` (n, S, K-1)."""

    def __init__(self, k: int, effects: np.ndarray, noise: float, seed: int = 0):
        self.observed = _observed(k)
        rng = np.random.default_rng(seed)
        n = self.observed.n_visitors
        effects = np.asarray(effects, dtype=float).reshape(n, 1, k - 1)
        # Per-visitor noise plus a per-draw shift shared by everyone (posterior uncertainty of the level).
        shared = 0.5 * noise * rng.standard_normal((1, S, k - 1))
        self.cate_samples = (effects + shared + noise * rng.standard_normal((n, S, k - 1))).astype(np.float32)

    @property
    def treatment_names(self):
        return self.observed.treatment_names

    def outcome_means(self) -> np.ndarray:
        base = np.full((self.observed.n_visitors, 1), 2.0)
        return np.concatenate([base, base + self.cate_samples.mean(axis=1)], axis=1)


def visitors_of(k: int):
    return _observed(k).visitors()


class OraclePosterior(PlantedPosterior):
    """A simulated experiment's true effects plus draw noise, with the true outcome levels as m-hat.

    The doubly-robust value reads the real outcomes, so depth selection is
    tested on draws centred on the simulator's own truth.
    """

    def __init__(self, name: str, n: int, noise: float, seed: int = 0, metric: str = "revenue_per_visitor",
                 draws: int = S):
        self.observed, truth = pt.simulate(scenario(name, k=2, profile="stress", metric=metric)
                                           .config(n, seed=seed))
        rng = np.random.default_rng(seed)
        effects = truth.contrasts()[:, None, :]
        self.cate_samples = (effects + noise * rng.standard_normal((n, draws, 1))).astype(np.float32)
        levels = truth.conversion_probabilities()
        self._levels = levels if truth.order_values() is None else levels * truth.order_values()

    def outcome_means(self) -> np.ndarray:
        return self._levels
