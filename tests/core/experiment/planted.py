"""Posteriors with planted draws for the routing and engine tests: real visitors, effects built by hand.

``PlantedHurdle`` exposes what ``route_segments`` reads: ``observed``,
``cate_samples`` ``(n, S, K-1)`` (revenue effects), ``model`` and a
``conversion`` channel whose per-draw linear predictors carry planted
conversion effects (for the guardrail).
"""

from __future__ import annotations

import functools

import numpy as np
from scipy.special import ndtri

import pytyche_core as pt
from pytyche_core.simulate import scenario

N, S = 3000, 200


@functools.cache
def observed(k: int) -> pt.ObservedExperimentData:
    return pt.simulate(scenario("reversal", k=k, profile="stress").config(N, seed=5)).observed


class _Conversion:
    """Probit predictors per draw: control at the base rate, arm j shifted by ``delta[:, j]``."""

    def __init__(self, base: float, delta: np.ndarray):
        self.base, self.delta = base, delta  # delta (n, K-1): conversion-probability contrasts

    def predictors(self, j, rows=None, training=None):
        delta = self.delta[rows, j] if rows is not None else self.delta[:, j]
        eta0 = np.full((S, delta.size), ndtri(self.base))
        return eta0, np.broadcast_to(ndtri(self.base + delta), (S, delta.size))


class PlantedHurdle:
    """Effect draws ``effects + noise`` (per visitor and a shared per-draw level), planted conversion."""

    model = "hurdle"

    def __init__(self, k: int, effects: np.ndarray, noise: float, *, conversion_delta: np.ndarray | None = None,
                 seed: int = 0, draws: np.ndarray | None = None):
        self.observed = observed(k)
        n = self.observed.n_visitors
        rng = np.random.default_rng(seed)
        if draws is None:
            effects = np.asarray(effects, dtype=float).reshape(n, 1, k - 1)
            shared = noise * rng.standard_normal((1, S, k - 1))
            draws = effects + shared + noise * rng.standard_normal((n, S, k - 1))
        self.cate_samples = np.asarray(draws, dtype=np.float32)
        delta = np.zeros((n, k - 1)) if conversion_delta is None else np.asarray(conversion_delta, dtype=float)
        self.conversion = _Conversion(0.15, delta)

    @property
    def treatment_names(self):
        return self.observed.treatment_names

    @property
    def n_draws(self) -> int:
        return S

    def fit_policy_tree(self, *args, **kwargs):
        from pytyche_core.posterior.policy_tree import fit_policy_tree

        return fit_policy_tree(self, *args, **kwargs)


def regional_draws(k: int, offsets: dict[tuple[bool, bool], tuple[float, ...]], truth: tuple[float, ...],
                   region_sd: float, seed: int = 0) -> np.ndarray:
    """Draws whose posterior means carry spurious offsets per region, with wide per-region uncertainty.

    Regions: (engagement > 0, price_sensitivity > 0). Each draw adds an
    independent N(0, region_sd) per region and arm, so a segment's own
    posterior is wide while its posterior mean is pulled by the offset: a
    tree on the posterior means splits along the regions on no true signal.
    """
    v = visitors(k)
    rng = np.random.default_rng(seed)
    region = (v["engagement"].to_numpy() > 0).astype(int) * 2 + (v["price_sensitivity"].to_numpy() > 0)
    out = np.broadcast_to(np.asarray(truth, dtype=float), (len(v), S, k - 1)).copy()
    for code in range(4):
        members = region == code
        offset = np.asarray(offsets.get((bool(code // 2), bool(code % 2)), (0.0,) * (k - 1)))
        out[members] += offset + region_sd * rng.standard_normal((1, S, k - 1))
    return out + 0.02 * rng.standard_normal(out.shape)


def visitors(k: int):
    return observed(k).visitors()
