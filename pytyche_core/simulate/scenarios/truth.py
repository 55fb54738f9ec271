"""Potential outcomes of every arm from a baseline and per-arm effects, and their surfaces.

Arm 0 is control (the baseline); arm k >= 1 adds ``effects[k - 1]``. For
conversion_rate ``p_k = p_0 + tau_k``. For revenue_per_visitor the effect is
applied multiplicatively (see ``effects``), which keeps conversion in (0, 1)
and order values positive for any omega as long as ``tau_k > -rpv_0``.
``TruthModel.check`` verifies that on the reference sample, with a margin,
and names the knob to change when it fails.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from ...contracts._checks import fail
from ..config import MetricMode, SurfaceConfig
from .baseline import Baseline
from .effects import ArmEffect
from .population import Shoppers

#: Margins of the construction check: treated conversion must stay in
#: [MIN_PROBABILITY, 1 - MIN_PROBABILITY] and no shopper may lose more than
#: 1 - MIN_REVENUE_RATIO of their control revenue per visitor.
MIN_PROBABILITY = 1e-4
MIN_REVENUE_RATIO = 0.02


@dataclasses.dataclass(frozen=True)
class ArmOutcomes:
    """One arm's conversion probability and (revenue) expected order value per shopper."""

    conversion: np.ndarray
    order_value: np.ndarray | None
    revenue_ratio: np.ndarray | None  # (1 + rho): treated over control revenue per visitor


@dataclasses.dataclass(frozen=True)
class TruthModel:
    """The true potential-outcome model of a scenario: baseline plus one effect per treatment arm."""

    metric: str
    baseline: Baseline
    effects: tuple[ArmEffect, ...]

    @property
    def is_revenue(self) -> bool:
        return self.metric == "revenue_per_visitor"

    @property
    def n_arms(self) -> int:
        return 1 + len(self.effects)

    def outcomes(self, arm: int, shoppers: Shoppers) -> ArmOutcomes:
        p0 = self.baseline.conversion(shoppers)
        m0 = self.baseline.order_value(shoppers) if self.is_revenue else None
        if arm == 0:
            return ArmOutcomes(p0, m0, np.ones(len(shoppers)) if self.is_revenue else None)
        effect = self.effects[arm - 1]
        tau = effect.tau(shoppers)
        if not self.is_revenue:
            return ArmOutcomes(p0 + tau, None, None)
        ratio = 1.0 + tau / (p0 * m0)
        omega = effect.split(shoppers)
        # 1.0 ** anything is exactly 1.0, so a zero effect leaves p and m bit-identical.
        return ArmOutcomes(p0 * np.power(ratio, omega), m0 * np.power(ratio, 1.0 - omega), ratio)

    def check(self, reference: Shoppers, where: str) -> None:
        """Fail, naming the knob to change, if some arm's outcomes leave their valid range."""
        for arm, effect in enumerate(self.effects, start=1):
            problem = self._problem(arm, reference)
            if problem is None:
                continue
            homogeneous = dataclasses.replace(effect, hte_scale=0.0)
            main_alone = dataclasses.replace(self, effects=(homogeneous,))._problem(1, reference)
            if main_alone is not None or effect.is_homogeneous:
                raise fail(where, f"main_delta[{arm - 1}]", f"arm {arm}'s main effect {effect.main_delta:g} "
                           f"{main_alone or problem}", "move main_delta toward 0 (or change baseline_rate)")
            raise fail(where, "hte_scale", f"arm {arm}'s heterogeneity (hte_scale={effect.hte_scale:g}, "
                       f"main_delta={effect.main_delta:g}) {problem}", "lower hte_scale")

    def _problem(self, arm: int, reference: Shoppers) -> str | None:
        with np.errstate(invalid="ignore"):  # a negative revenue ratio is what we report
            out = self.outcomes(arm, reference)
        if out.revenue_ratio is not None:
            low = out.revenue_ratio < MIN_REVENUE_RATIO
            if low.any():
                return (f"would cut revenue per visitor by more than {1 - MIN_REVENUE_RATIO:.0%} "
                        f"(lowest ratio to control {np.nanmin(out.revenue_ratio):.3g}) for "
                        f"{int(low.sum())} of {low.size} reference shoppers")
        p = out.conversion
        bad = ~np.isfinite(p) | (p < MIN_PROBABILITY) | (p > 1.0 - MIN_PROBABILITY)
        if bad.any():
            return (f"would push conversion probability out of [{MIN_PROBABILITY:g}, {1 - MIN_PROBABILITY:g}] "
                    f"(range {np.nanmin(p):.4g}..{np.nanmax(p):.4g}) for {int(bad.sum())} of {bad.size} "
                    "reference shoppers")
        return None


@dataclasses.dataclass(frozen=True)
class _ArmReader:
    """Evaluates one arm's conversion or order value on a feature frame (picklable, unlike a lambda)."""

    model: TruthModel = dataclasses.field(repr=False)
    arm: int
    quantity: str  # "conversion" or "order_value"

    def __call__(self, features: pd.DataFrame) -> np.ndarray:
        return getattr(self.model.outcomes(self.arm, Shoppers.read(features)), self.quantity)


@dataclasses.dataclass(frozen=True)
class _Constant:
    value: float

    def __call__(self, features: pd.DataFrame) -> np.ndarray:
        return np.full(len(features), self.value)


def metric_mode(model: TruthModel, scenario_label: str) -> MetricMode:
    """The MetricMode whose surfaces are ``model``'s potential outcomes (paired form at K = 2)."""

    def arm_label(arm: int) -> str:
        if arm == 0:
            return "control"
        return f"arm {arm}: {model.effects[arm - 1].shape.label}"

    arms = range(model.n_arms)
    p = tuple(SurfaceConfig(_ArmReader(model, k, "conversion"), f"{scenario_label} conversion, {arm_label(k)}")
              for k in arms)
    m = sigma = None
    if model.is_revenue:
        m = tuple(SurfaceConfig(_ArmReader(model, k, "order_value"),
                                f"{scenario_label} expected order value ($), {arm_label(k)}") for k in arms)
        sigma = tuple(SurfaceConfig(_Constant(model.baseline.sigma),
                                    f"{scenario_label} log-normal sigma {model.baseline.sigma:g}") for _ in arms)
    if model.n_arms >= 3:
        return MetricMode(model.metric, p_surfaces=p, m_surfaces=m, sigma_surfaces=sigma)
    if m is None:
        return MetricMode(model.metric, p0_surface=p[0], p1_surface=p[1])
    return MetricMode(model.metric, p0_surface=p[0], p1_surface=p[1], m0_surface=m[0], m1_surface=m[1],
                      sigma0_surface=sigma[0], sigma1_surface=sigma[1])
