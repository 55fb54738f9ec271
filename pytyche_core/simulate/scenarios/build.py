"""``scenario(name, ...)``: a calibrated, ready-to-simulate truth from a template and a profile.

Two knobs, both on the metric's own scale (absolute conversion probability
for conversion_rate, 0.001 = 0.1 percentage point; dollars per visitor for
revenue_per_visitor):

- ``main_delta``: the population-average effect of each treatment arm;
- ``hte_scale``: the population sd of the per-shopper effect (every arm
  whose shape is heterogeneous; homogeneous arms have sd 0).

They are independent: changing one leaves the other where it was. Both
hold exactly on the scenario's reference sample and up to sampling error on
any sample drawn from ``feature_sampler``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ...contracts import CartRevenueConfig
from ...contracts._checks import fail
from ..config import AssignmentConfig, FeatureSamplerConfig, MetricMode, SimulationConfig
from .baseline import solve_baseline
from .effects import ArmEffect, ShapeMoments
from .population import Shoppers, reference_shoppers, shopper_copula, shopper_segments
from .profiles import PROFILES, Profile
from .templates import SCENARIO_NAMES, TEMPLATES, ArmTemplate
from .truth import TruthModel, metric_mode

METRICS = ("conversion_rate", "revenue_per_visitor")
ARM_COUNTS = (2, 3, 4, 5)
_OWNER = "scenario"


@dataclasses.dataclass(frozen=True)
class Scenario:
    """A simulation scenario: features, calibrated potential-outcome surfaces and the knobs behind them.

    ``main_delta`` holds one population-average effect per treatment arm
    (length K - 1); ``hte_scale`` is the population sd of each heterogeneous
    arm's per-shopper effect. Both are in absolute conversion probability
    (conversion_rate) or dollars per visitor (revenue_per_visitor).
    ``baseline_rate`` is the control conversion rate; ``aov`` (dollars, the
    converters' average order value) and ``sigma`` (log-normal dispersion of
    order values) are None for conversion_rate. ``truth`` evaluates the
    model directly; ``metric_mode`` holds the same model as surfaces.
    """

    name: str
    k: int
    metric: str
    profile: str
    main_delta: tuple[float, ...]
    hte_scale: float
    baseline_rate: float
    aov: float | None
    sigma: float | None
    description: str = dataclasses.field(repr=False)
    feature_sampler: FeatureSamplerConfig = dataclasses.field(repr=False)
    metric_mode: MetricMode = dataclasses.field(repr=False)
    truth: TruthModel = dataclasses.field(repr=False, compare=False)

    def __post_init__(self) -> None:
        owner = "Scenario"
        if self.name not in TEMPLATES:
            raise fail(owner, "name", f"unknown template {self.name!r}", f"use one of {list(SCENARIO_NAMES)}")
        if self.k != self.metric_mode.n_treatments or len(self.main_delta) != self.k - 1:
            raise fail(owner, "main_delta", f"{len(self.main_delta)} main effects and "
                       f"{self.metric_mode.n_treatments} arms for k={self.k}", "build Scenarios with scenario()")
        if self.metric != self.metric_mode.metric_id:
            raise fail(owner, "metric", f"{self.metric!r} but surfaces for {self.metric_mode.metric_id!r}",
                       "build Scenarios with scenario()")

    @property
    def truth_shape(self) -> str:
        """One line: the shape of the true effect surfaces."""
        template = TEMPLATES[self.name]
        if self.k == 2:
            return template.truth_shape
        more = "; arms 3+ repeat arms 1 and 2's shapes (at half the main effect where it is set)" if self.k > 3 else ""
        return f"{template.truth_shape[:-1]}; {template.second_arm[:-1]}{more}."

    @property
    def label(self) -> str:
        """A short id such as ``reversal-k2-revenue_per_visitor-realistic``."""
        return f"{self.name}-k{self.k}-{self.metric}-{self.profile}"

    def effects(self, features: pd.DataFrame) -> np.ndarray:
        """True effect of every treatment arm vs control, ``(n, K - 1)``, on the metric's scale."""
        shoppers = Shoppers.read(features)
        value = (lambda out: out.conversion * out.order_value) if self.truth.is_revenue \
            else (lambda out: out.conversion)
        control = value(self.truth.outcomes(0, shoppers))
        return np.column_stack([value(self.truth.outcomes(arm, shoppers)) - control
                                for arm in range(1, self.k)])

    def config(self, n_visitors: int, *, seed: int = 0, experiment_id: str | None = None,
               assignment: AssignmentConfig | None = None,
               revenue_model: CartRevenueConfig | None = None) -> SimulationConfig:
        """A SimulationConfig of ``n_visitors`` from this scenario (experiment id defaults to ``label``).

        Order values are log-normal: the m surfaces are dollar expectations,
        which a cart model would read as logit shifts, so ``revenue_model``
        must stay None.
        """
        if revenue_model is not None:
            raise fail("Scenario.config", "revenue_model", "a cart model with a scenario: its m surfaces are "
                       "log-normal order values in dollars, which the cart model would read as logit shifts, "
                       "so main_delta and hte_scale would no longer hold",
                       "pass revenue_model=None, or build a SimulationConfig with cart-scale surfaces by hand")
        return SimulationConfig(
            n_visitors=n_visitors,
            feature_sampler=self.feature_sampler,
            metric_mode=self.metric_mode,
            assignment=assignment if assignment is not None else AssignmentConfig(),
            seed=seed,
            experiment_id=experiment_id if experiment_id is not None else self.label,
        )


def _real(field: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not math.isfinite(float(value)):
        raise fail(_OWNER, field, f"expected a finite number, got {value!r}", "pass a float")
    return float(value)


def _choice(field: str, value: object, allowed: Sequence[object]) -> None:
    # Exact types: True == 1 and 2.0 == 2 would otherwise slip through.
    if not any(type(value) is type(a) and value == a for a in allowed):
        raise fail(_OWNER, field, f"unknown {field} {value!r}", f"use one of {list(allowed)}")


def _main_effects(arms: Sequence[ArmTemplate], main_delta: object, default_main: float, hte: float,
                  moments: tuple[ShapeMoments, ...]) -> tuple[float, ...]:
    """Per-arm main effects: the template's defaults, a scalar for arm 1 (others keep their ratio), or a tuple."""

    def default(arm: int, main: float, scale: float) -> float:
        ratio = arms[arm].main_ratio
        return moments[arm].zero_where_shape_is_zero(scale) if ratio is None else ratio * main

    n = len(moments)
    if main_delta is None:
        return tuple(default(a, default_main, hte) for a in range(n))
    if isinstance(main_delta, (tuple, list, np.ndarray)):
        if len(main_delta) != n:
            raise fail(_OWNER, "main_delta", f"{len(main_delta)} values for {n} treatment arm(s)",
                       f"pass one per treatment arm ({n}), or a single number")
        return tuple(_real(f"main_delta[{a}]", v) for a, v in enumerate(main_delta))
    first = _real("main_delta", main_delta)
    # Arm 2 keeps the template's default ratio to arm 1 (constant: half;
    # partial_null: 0). Every template's arm-1 default is positive.
    unit = [default(a, 1.0, 1.0) for a in range(n)]
    return (first, *(first * unit[a] / unit[0] for a in range(1, n)))


def scenario(name: str, *, k: int = 2, metric: str = "revenue_per_visitor", profile: str = "realistic",
             main_delta: float | Sequence[float] | None = None, hte_scale: float | None = None,
             baseline_rate: float | None = None, aov: float | None = None) -> Scenario:
    """Build the ``name`` template at ``k`` arms for ``metric`` under ``profile``.

    ``main_delta``: None for the profile's default; a number sets arm 1's
    population-average effect (arm 2 keeps the template's ratio to arm 1);
    a sequence sets every treatment arm's. ``hte_scale`` (>= 0): the
    population sd of each heterogeneous arm's effect; None for the
    profile's default. Both in absolute conversion probability
    (conversion_rate) or dollars per visitor (revenue_per_visitor).
    Defaults are fractions of the baseline metric (table in ``profiles``):
    realistic main 2-4% and hte 3-10%, stress main 3-10% and hte 5-25%;
    sparse_benefit, partial_null and clustered derive the default main
    effect from ``hte_scale`` so the effect is exactly 0 outside their
    benefit groups.
    ``baseline_rate`` (control conversion in (0, 1)) and ``aov`` (dollars,
    revenue only) override the profile's. Raises ValueError naming the
    knob when an arm's outcomes would leave their valid range.
    """
    if isinstance(k, np.integer):
        k = int(k)
    _choice("name", name, SCENARIO_NAMES)
    _choice("metric", metric, METRICS)
    _choice("profile", profile, tuple(PROFILES))
    _choice("k", k, ARM_COUNTS)
    template, prof = TEMPLATES[name], PROFILES[profile]
    revenue = metric == "revenue_per_visitor"
    rate = prof.baseline_rate if baseline_rate is None else _real("baseline_rate", baseline_rate)
    if not 0.0 < rate < 1.0:
        raise fail(_OWNER, "baseline_rate", f"{rate} is not in (0, 1)", "pass a conversion rate such as 0.03")
    if aov is not None and not revenue:
        raise fail(_OWNER, "aov", "set for conversion_rate", "leave aov None; it applies to revenue_per_visitor")
    order_value = prof.aov if aov is None else _real("aov", aov)
    if order_value <= 0:
        raise fail(_OWNER, "aov", f"{order_value} <= 0", "pass a positive average order value in dollars")
    baseline_metric = rate * order_value if revenue else rate
    defaults = prof.effects[name]
    if hte_scale is None:
        hte = defaults.hte * baseline_metric
    else:
        hte = _real("hte_scale", hte_scale)
        if hte < 0:
            raise fail(_OWNER, "hte_scale", f"{hte} < 0", "pass the effect's sd, >= 0")

    sampler = shopper_segments() if template.segmented else shopper_copula()
    reference = reference_shoppers(sampler)
    arms = tuple(template.arm(a) for a in range(k - 1))
    moments = tuple(ShapeMoments.of(a.shape, reference) for a in arms)
    if hte_scale is not None and hte > 0 and all(m.sd == 0 for m in moments):
        raise fail(_OWNER, "hte_scale", f"{hte:g} for {name!r}, whose effect is the same for every shopper",
                   "leave hte_scale None (or 0), or choose a heterogeneous template")
    mains = _main_effects(arms, main_delta, (defaults.main or 0.0) * baseline_metric, hte, moments)
    sigma = prof.noisy_sigma if template.noisy else prof.sigma
    baseline = solve_baseline(reference, baseline_rate=rate, aov=order_value, sigma=sigma,
                              strength=template.prognostic_strength)
    effects = tuple(ArmEffect(shape=a.shape, moments=m, main_delta=main, hte_scale=hte, split=a.split)
                    for a, m, main in zip(arms, moments, mains, strict=True))
    truth = TruthModel(metric=metric, baseline=baseline, effects=effects)
    label = f"{name}-k{k}-{metric}-{profile}"
    truth.check(reference, f"scenario({label})")
    return Scenario(
        name=name, k=k, metric=metric, profile=profile, main_delta=mains,
        hte_scale=hte if any(not e.is_homogeneous for e in effects) else 0.0,
        baseline_rate=rate, aov=order_value if revenue else None, sigma=sigma if revenue else None,
        description=template.description, feature_sampler=sampler,
        metric_mode=metric_mode(truth, label), truth=truth,
    )


__all__ = ["ARM_COUNTS", "METRICS", "PROFILES", "SCENARIO_NAMES", "Profile", "Scenario", "scenario"]
