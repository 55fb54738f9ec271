"""Raw heterogeneity shapes r(x): bounded functions of a shopper's features.

A shape only says *where* an arm's effect is larger or smaller; the scenario
standardises it (population mean 0, sd 1) and scales it with the knobs. Every
shape is bounded, so no shopper far in a feature's tail gets an effect the
reference sample did not foresee. ``NoHeterogeneity`` is the one shape with
no spread: its arm's effect is the same for everyone.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy import special, stats

from .population import Shoppers


@dataclasses.dataclass(frozen=True)
class NoHeterogeneity:
    """r(x) = 0: the arm's effect is its main effect for every shopper."""

    @property
    def label(self) -> str:
        return "no heterogeneity"

    def __call__(self, shoppers: Shoppers) -> np.ndarray:
        return np.zeros(len(shoppers))


@dataclasses.dataclass(frozen=True)
class SignStep:
    """r(x) = sign * tanh(steepness * feature): a near-step that flips sign at the feature's median 0."""

    feature: str
    sign: float = 1.0
    steepness: float = 3.0

    @property
    def label(self) -> str:
        way = "above" if self.sign > 0 else "below"
        return f"step up {way} the median of {self.feature}"

    def __call__(self, shoppers: Shoppers) -> np.ndarray:
        return self.sign * np.tanh(self.steepness * shoppers.column(self.feature))


@dataclasses.dataclass(frozen=True)
class TopShare:
    """r(x) = 0 below the feature's (1 - share) quantile; 1 + tanh(excess) above it.

    The feature is a standard-normal copula score, so the cut is the normal
    quantile. Inside the group r lies in [1, 2): a jump, then a gentle rise.
    """

    feature: str
    share: float = 0.15

    @property
    def cut(self) -> float:
        return float(stats.norm.ppf(1.0 - self.share))

    @property
    def label(self) -> str:
        return f"only the top {self.share:.0%} of {self.feature}"

    def __call__(self, shoppers: Shoppers) -> np.ndarray:
        excess = shoppers.column(self.feature) - self.cut
        return np.where(excess > 0.0, 1.0 + np.tanh(excess), 0.0)


@dataclasses.dataclass(frozen=True)
class Gradient:
    """r(x) = sign * Phi(feature): strictly monotone, bounded in (0, 1) up to sign."""

    feature: str
    sign: float = 1.0

    @property
    def label(self) -> str:
        way = "increasing" if self.sign > 0 else "decreasing"
        return f"{way} in {self.feature}"

    def __call__(self, shoppers: Shoppers) -> np.ndarray:
        return self.sign * special.ndtr(shoppers.column(self.feature))


@dataclasses.dataclass(frozen=True)
class Bump:
    """r(x) = exp(-(a^2 + b^2) / 2): largest for shoppers average on both features.

    Even in both features, so under the symmetric copula it has no linear
    relation with any feature.
    """

    first: str
    second: str

    @property
    def label(self) -> str:
        return f"a bump at average {self.first} and {self.second}"

    def __call__(self, shoppers: Shoppers) -> np.ndarray:
        a, b = shoppers.column(self.first), shoppers.column(self.second)
        return np.exp(-0.5 * (a * a + b * b))


@dataclasses.dataclass(frozen=True)
class Ring:
    """r(x) = tanh(a^2 + b^2 - 1.5): largest for shoppers extreme on either feature (a valley at 0)."""

    first: str
    second: str

    @property
    def label(self) -> str:
        return f"a valley at average {self.first} and {self.second}"

    def __call__(self, shoppers: Shoppers) -> np.ndarray:
        a, b = shoppers.column(self.first), shoppers.column(self.second)
        return np.tanh(a * a + b * b - 1.5)


@dataclasses.dataclass(frozen=True)
class Interaction:
    """r(x) = tanh(s a) * tanh(s b) for two independent centred features: no effect of either alone."""

    first: str
    second: str
    steepness: float = 1.5

    @property
    def label(self) -> str:
        return f"the product of {self.first} and {self.second}"

    def __call__(self, shoppers: Shoppers) -> np.ndarray:
        a, b = shoppers.column(self.first), shoppers.column(self.second)
        return np.tanh(self.steepness * a) * np.tanh(self.steepness * b)


@dataclasses.dataclass(frozen=True)
class NewShoppersOnly:
    """r(x) = 0 for returning shoppers; 0.3 + Phi(feature) > 0 for new ones."""

    feature: str

    @property
    def label(self) -> str:
        return f"new shoppers only, rising with {self.feature}"

    def __call__(self, shoppers: Shoppers) -> np.ndarray:
        new = 1.0 - shoppers.returning
        return new * (0.3 + special.ndtr(shoppers.column(self.feature)))


@dataclasses.dataclass(frozen=True)
class SegmentLevels:
    """r(x) = levels[segment] * (1 + wobble * tanh(feature - segment mean)): nearly constant per segment.

    A zero level is exactly zero for the whole segment; the wobble never
    changes a level's sign (|wobble| < 1).
    """

    levels: tuple[float, ...]
    feature: str
    segment_means: tuple[float, ...]
    wobble: float = 0.2

    @property
    def label(self) -> str:
        return "per-segment levels " + "/".join(f"{v:+g}" for v in self.levels)

    def __call__(self, shoppers: Shoppers) -> np.ndarray:
        segment = shoppers.segment()
        if segment.size and (segment.min() < 0 or segment.max() >= len(self.levels)):
            raise ValueError(f"scenario surface: cluster ids outside 0..{len(self.levels) - 1}. "
                             "Fix: use the scenario's own feature sampler.")
        centred = shoppers.column(self.feature) - np.asarray(self.segment_means)[segment]
        return np.asarray(self.levels)[segment] * (1.0 + self.wobble * np.tanh(centred))


Shape = (NoHeterogeneity | SignStep | TopShare | Gradient | Bump | Ring | Interaction
         | NewShoppersOnly | SegmentLevels)
