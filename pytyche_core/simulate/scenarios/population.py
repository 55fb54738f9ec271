"""The simulated shoppers: readable e-commerce features and how surfaces read them.

Two feature samplers. ``shopper_copula`` is a Gaussian copula over four
continuous scores (standard normal marginals, so their medians are 0 and
their upper quantiles are normal quantiles), a device and a returning flag.
``shopper_segments`` is a mixture of five latent shopper segments with
distinct feature distributions; it adds the latent ``cluster_id`` column.

A fixed reference sample of each sampler (drawn once, with a fixed seed)
is what scenarios standardise their effect shapes against, so building a
scenario is deterministic.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..config import LATENT_CLUSTER_COLUMN, CopulaConfig, FeatureSpec, MixtureConfig
from ..features import sample_features

ENGAGEMENT = "engagement"
RECENCY = "recency"
BASKET_AFFINITY = "basket_affinity"
PRICE_SENSITIVITY = "price_sensitivity"
DEVICE = "device"
RETURNING = "returning"

CONTINUOUS_FEATURES = (ENGAGEMENT, RECENCY, BASKET_AFFINITY, PRICE_SENSITIVITY)
DEVICES = ("desktop", "mobile", "tablet")

_FEATURES = (
    FeatureSpec(ENGAGEMENT, "continuous"),
    FeatureSpec(RECENCY, "continuous"),
    FeatureSpec(BASKET_AFFINITY, "continuous"),
    FeatureSpec(PRICE_SENSITIVITY, "continuous"),
    FeatureSpec(DEVICE, "categorical", categories=DEVICES, category_weights=(0.35, 0.55, 0.10)),
    FeatureSpec(RETURNING, "binary"),
)

# Modest correlations, in the order of _FEATURES. Engagement goes with
# recency, basket affinity and returning; price sensitivity against basket
# affinity. Two pairs are exactly uncorrelated (hence independent under the
# copula) because interaction_only multiplies them: engagement x price
# sensitivity and recency x basket affinity.
_CORRELATION = np.array([
    #  eng   rec   bask  price  dev   ret
    [1.00, 0.30, 0.35, 0.00, -0.15, 0.40],   # engagement
    [0.30, 1.00, 0.00, 0.10, 0.00, 0.35],    # recency
    [0.35, 0.00, 1.00, -0.25, -0.10, 0.20],  # basket_affinity
    [0.00, 0.10, -0.25, 1.00, 0.15, -0.10],  # price_sensitivity
    [-0.15, 0.00, -0.10, 0.15, 1.00, -0.05],  # device (latent score: low = desktop)
    [0.40, 0.35, 0.20, -0.10, -0.05, 1.00],  # returning
])


def shopper_copula() -> CopulaConfig:
    """Correlated shopper features; continuous scores are N(0, 1), half are returning."""
    return CopulaConfig(features=_FEATURES, correlation=_CORRELATION)


@dataclasses.dataclass(frozen=True)
class Segment:
    """One latent shopper segment of the mixture: its share and its feature distribution."""

    label: str
    share: float
    means: Mapping[str, float]
    device_mix: Mapping[str, float]
    returning_share: float
    spread: float = 0.7


SEGMENTS = (
    Segment("loyal high-value", 0.25, {ENGAGEMENT: 1.0, RECENCY: 0.8, BASKET_AFFINITY: 0.8, PRICE_SENSITIVITY: -0.6},
            {"desktop": 0.60, "mobile": 0.30, "tablet": 0.10}, 0.85),
    Segment("bargain hunters", 0.20, {ENGAGEMENT: 0.2, RECENCY: 0.3, BASKET_AFFINITY: -0.3, PRICE_SENSITIVITY: 1.3},
            {"desktop": 0.30, "mobile": 0.60, "tablet": 0.10}, 0.55),
    Segment("mobile browsers", 0.20, {ENGAGEMENT: -0.7, RECENCY: -0.2, BASKET_AFFINITY: -0.5, PRICE_SENSITIVITY: 0.2},
            {"desktop": 0.05, "mobile": 0.85, "tablet": 0.10}, 0.35),
    Segment("new explorers", 0.20, {ENGAGEMENT: -0.2, RECENCY: -0.9, BASKET_AFFINITY: 0.3, PRICE_SENSITIVITY: -0.2},
            {"desktop": 0.40, "mobile": 0.45, "tablet": 0.15}, 0.10),
    Segment("deal-driven bulk buyers", 0.15, {ENGAGEMENT: 0.4, RECENCY: 0.2, BASKET_AFFINITY: 1.1, PRICE_SENSITIVITY: 0.9},
            {"desktop": 0.50, "mobile": 0.35, "tablet": 0.15}, 0.60),
)


def shopper_segments() -> MixtureConfig:
    """Shoppers from the five latent ``SEGMENTS``; ``cluster_id`` indexes ``SEGMENTS``."""
    params = []
    for segment in SEGMENTS:
        p: dict[str, object] = {}
        for name in CONTINUOUS_FEATURES:
            p[f"{name}_mean"] = segment.means[name]
            p[f"{name}_std"] = segment.spread
        p[f"{DEVICE}_probs"] = dict(segment.device_mix)
        p[f"{RETURNING}_prob"] = segment.returning_share
        params.append(p)  # plain dicts: a mappingproxy cannot be pickled
    return MixtureConfig(features=_FEATURES, weights=tuple(s.share for s in SEGMENTS),
                         cluster_params=tuple(params))


@dataclasses.dataclass(frozen=True)
class Shoppers:
    """The features of n shoppers as float arrays, the form surfaces compute with.

    ``returning`` and the device flags are 0.0 / 1.0; ``cluster`` is the
    latent segment index, or None when the frame has no ``cluster_id``.
    """

    engagement: np.ndarray
    recency: np.ndarray
    basket_affinity: np.ndarray
    price_sensitivity: np.ndarray
    desktop: np.ndarray
    tablet: np.ndarray
    returning: np.ndarray
    cluster: np.ndarray | None

    @classmethod
    def read(cls, frame: pd.DataFrame) -> Shoppers:
        missing = [c for c in (*CONTINUOUS_FEATURES, DEVICE, RETURNING) if c not in frame.columns]
        if missing:
            raise KeyError(f"scenario surface: the feature frame lacks {missing}. Fix: evaluate scenario "
                           "surfaces on frames drawn from the scenario's own feature_sampler.")
        device = frame[DEVICE].astype(str).to_numpy()
        cluster = None
        if LATENT_CLUSTER_COLUMN in frame.columns:
            cluster = frame[LATENT_CLUSTER_COLUMN].to_numpy(dtype=np.int64)
        return cls(
            engagement=frame[ENGAGEMENT].to_numpy(dtype=float),
            recency=frame[RECENCY].to_numpy(dtype=float),
            basket_affinity=frame[BASKET_AFFINITY].to_numpy(dtype=float),
            price_sensitivity=frame[PRICE_SENSITIVITY].to_numpy(dtype=float),
            desktop=(device == "desktop").astype(float),
            tablet=(device == "tablet").astype(float),
            returning=frame[RETURNING].to_numpy(dtype=float),
            cluster=cluster,
        )

    def __len__(self) -> int:
        return len(self.engagement)

    def column(self, name: str) -> np.ndarray:
        """A continuous score, or ``returning``, by feature name."""
        return getattr(self, name)

    def segment(self) -> np.ndarray:
        """The latent segment index of every shopper; fails without ``cluster_id``."""
        if self.cluster is None:
            raise KeyError(f"scenario surface: this scenario's effects depend on the latent "
                           f"{LATENT_CLUSTER_COLUMN!r} column, which the frame lacks. Fix: evaluate on "
                           "frames from the scenario's MixtureConfig before the column is stripped.")
        return self.cluster


#: Size of the fixed reference sample; large enough that the knobs hold to
#: a fraction of a percent, small enough to build a scenario in milliseconds.
REFERENCE_SIZE = 200_000
_REFERENCE_SEED = 20_240_917


@functools.cache
def _reference(kind: str) -> Shoppers:
    sampler = shopper_segments() if kind == "segments" else shopper_copula()
    frame = sample_features(sampler, np.random.default_rng(_REFERENCE_SEED), REFERENCE_SIZE)
    shoppers = Shoppers.read(frame)
    for field in dataclasses.fields(shoppers):
        value = getattr(shoppers, field.name)
        if value is not None:
            value.flags.writeable = False  # shared by every scenario: keep it untouched
    return shoppers


def reference_shoppers(sampler: CopulaConfig | MixtureConfig) -> Shoppers:
    """The fixed reference sample of one of this module's samplers (cached, read-only)."""
    return _reference("segments" if isinstance(sampler, MixtureConfig) else "copula")
