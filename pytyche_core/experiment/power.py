"""Power analysis for revenue per visitor: how many visitors an experiment (or a segment) needs.

Revenue per visitor is zero-inflated: a visitor converts with probability
``p`` and then spends an order value ``V`` (mean ``m``, coefficient of
variation ``cv``; log-normal when given a log-sd). Its variance is the
hurdle's, ``p E[V^2] - (p E[V])^2 = p m^2 (1 + cv^2 - p)``, which holds for
the marginal distribution whatever the order values' shape once ``m`` and
``cv`` are the converters' mean and spread. The lift is split between
conversion and order value as the caller says (``lift_on``), which sets the
treated arm's variance. Each treatment is compared with control by a
two-sided test on the difference of means (Welch's, in the normal limit);
with ``K`` arms the level is split over the ``K - 1`` contrasts (Bonferroni)
unless ``multiplicity="none"``. Derivation: docs/concepts/power.md.

- ``visitors_needed(lift, ...)`` -> ``PowerAnalysis``: visitors per arm, in total, in site traffic;
- ``detectable_lift(visitors_per_arm, ...)`` -> ``PowerAnalysis``: the smallest lift that size detects;
- ``segment_check(lift, segment_share=..., weekly_visitors=...)`` -> ``SegmentCheck``: weeks needed,
  and whether a segment is large enough to experiment on;
- ``baseline_from_revenue(revenue)``: the baseline inputs estimated from observed revenue per visitor.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Literal

import numpy as np
from scipy import optimize, stats

from ..contracts._checks import fail, finite_float, integer, set_field

LiftOn = Literal["conversion", "order_value", "both"]
Multiplicity = Literal["bonferroni", "none"]
_LIFT_ON = ("conversion", "order_value", "both")
_MULTIPLICITY = ("bonferroni", "none")
_OWNER = "PowerAnalysis"


def _open_unit(field: str, value: Any, example: str) -> float:
    out = finite_float(_OWNER, field, value)
    if not 0.0 < out < 1.0:
        raise fail(_OWNER, field, f"{out} is not in (0, 1)", f"pass a rate strictly between 0 and 1, such as {example}")
    return out


@dataclasses.dataclass(frozen=True)
class PowerInputs:
    """The baseline and the test: what every power figure depends on, checked on construction.

    ``baseline_conversion`` in (0, 1); ``order_value_mean`` > 0 (currency per
    order); the order values' spread as exactly one of ``order_value_cv``
    (sd / mean, >= 0) or ``order_value_log_sd`` (the log-normal's sigma,
    >= 0; cv = sqrt(exp(sigma^2) - 1)); ``arms`` >= 2 including control;
    ``alpha`` and ``power`` in (0, 1); ``multiplicity`` "bonferroni" or
    "none"; ``segment_share`` in (0, 1], the segment's fraction of traffic.
    Both spreads are filled in after construction.
    """

    baseline_conversion: float
    order_value_mean: float
    order_value_cv: float | None = None
    order_value_log_sd: float | None = None
    arms: int = 2
    alpha: float = 0.05
    power: float = 0.8
    multiplicity: Multiplicity = "bonferroni"
    segment_share: float = 1.0

    def __post_init__(self) -> None:
        set_field(self, "baseline_conversion", _open_unit("baseline_conversion", self.baseline_conversion, "0.03"))
        mean = finite_float(_OWNER, "order_value_mean", self.order_value_mean)
        if mean <= 0:
            raise fail(_OWNER, "order_value_mean", f"{mean} <= 0",
                       "pass the converters' average order value, a positive amount such as 60.0")
        set_field(self, "order_value_mean", mean)
        cv, log_sd = self.order_value_cv, self.order_value_log_sd
        if (cv is None) == (log_sd is None):
            raise fail(_OWNER, "order_value_cv", "give the order values' spread exactly once (got "
                       f"order_value_cv={cv!r}, order_value_log_sd={log_sd!r})",
                       "pass order_value_cv (sd / mean) or order_value_log_sd (log-normal sigma), not both")
        field = "order_value_cv" if cv is not None else "order_value_log_sd"
        spread = finite_float(_OWNER, field, cv if cv is not None else log_sd)
        if spread < 0:
            raise fail(_OWNER, field, f"{spread} < 0", "pass a non-negative spread (0: every order the same)")
        if cv is None:
            cv = math.sqrt(math.expm1(spread**2))
            log_sd = spread
        else:
            cv, log_sd = spread, math.sqrt(math.log1p(spread**2))
        set_field(self, "order_value_cv", cv)
        set_field(self, "order_value_log_sd", log_sd)
        set_field(self, "arms", integer(_OWNER, "arms", self.arms, minimum=2))
        set_field(self, "alpha", _open_unit("alpha", self.alpha, "0.05"))
        set_field(self, "power", _open_unit("power", self.power, "0.8"))
        if self.multiplicity not in _MULTIPLICITY:
            raise fail(_OWNER, "multiplicity", f"unknown {self.multiplicity!r}", f"use one of {list(_MULTIPLICITY)}")
        share = finite_float(_OWNER, "segment_share", self.segment_share)
        if not 0.0 < share <= 1.0:
            raise fail(_OWNER, "segment_share", f"{share} is not in (0, 1]",
                       "pass the segment's fraction of traffic, such as 0.2 (1.0: everyone)")
        set_field(self, "segment_share", share)

    @property
    def rpv_baseline(self) -> float:
        """Control's expected revenue per visitor, ``p m``."""
        return self.baseline_conversion * self.order_value_mean

    @property
    def alpha_per_contrast(self) -> float:
        """The two-sided level of each treatment-vs-control test."""
        split = self.arms - 1 if self.multiplicity == "bonferroni" else 1
        return self.alpha / split

    def z_sum(self) -> float:
        """``z_{1 - alpha'/2} + z_{power}``: the standardised distance a contrast must cover."""
        return float(stats.norm.ppf(1 - self.alpha_per_contrast / 2) + stats.norm.ppf(self.power))


def rpv_variance(conversion: float, order_value_mean: float, order_value_cv: float) -> float:
    """Variance of revenue per visitor under the hurdle: ``p m^2 (1 + cv^2) - (p m)^2``."""
    second_moment = order_value_mean**2 * (1.0 + order_value_cv**2)
    return conversion * second_moment - (conversion * order_value_mean) ** 2


def _treated(inputs: PowerInputs, relative_lift: float, lift_on: str) -> tuple[float, float]:
    """The treated arm's (conversion, order-value mean) under ``relative_lift`` split as ``lift_on``."""
    factor = 1.0 + relative_lift
    if factor <= 0:
        raise fail(_OWNER, "lift", f"a relative lift of {relative_lift:+g} leaves no revenue",
                   "pass a relative lift above -1 (e.g. 0.05 for +5%)")
    # "both": equal multiplicative shares, (1 + r) = sqrt(1 + r) * sqrt(1 + r).
    conv_factor = {"conversion": factor, "order_value": 1.0, "both": math.sqrt(factor)}[lift_on]
    conversion = inputs.baseline_conversion * conv_factor
    if not conversion < 1.0:
        raise fail(_OWNER, "lift", f"lifting conversion {inputs.baseline_conversion:g} by {conv_factor - 1:+.1%} "
                   f"gives a rate of {conversion:g} >= 1", "pass a smaller lift, or lift_on='order_value' / 'both'")
    return conversion, inputs.order_value_mean * factor / conv_factor


@dataclasses.dataclass(frozen=True)
class PowerAnalysis:
    """One power calculation: its inputs, the lift in both units, and the visitors it takes.

    ``lift`` is in the caller's unit (``relative``: a fraction of
    ``rpv_baseline``; otherwise currency per visitor); ``relative_lift``
    and ``absolute_lift`` give both. ``rpv_sd`` / ``rpv_treated_sd`` are the
    per-visitor standard deviations of revenue under control and under the
    treatment. ``visitors_per_arm`` (each of ``inputs.arms`` arms, equal
    allocation), ``total_visitors`` (all arms, all inside the segment) and
    ``traffic_visitors`` (site visitors that must pass for the segment,
    ``segment_share`` of them, to supply ``total_visitors``).
    ``achieved_power`` is the power of each contrast at ``visitors_per_arm``.
    """

    inputs: PowerInputs
    lift: float
    relative: bool
    lift_on: LiftOn
    relative_lift: float
    absolute_lift: float
    rpv_baseline: float
    rpv_sd: float
    rpv_treated: float
    rpv_treated_sd: float
    visitors_per_arm: int
    achieved_power: float

    @property
    def total_visitors(self) -> int:
        return self.visitors_per_arm * self.inputs.arms

    @property
    def traffic_visitors(self) -> int:
        """Site visitors needed so that the segment supplies ``total_visitors`` (= total / segment share)."""
        return math.ceil(self.total_visitors / self.inputs.segment_share - 1e-9)

    def weeks_needed(self, weekly_visitors: float) -> float:
        """Weeks of ``weekly_visitors`` site traffic (all of it offered to the experiment) this takes."""
        weekly = finite_float(_OWNER, "weekly_visitors", weekly_visitors)
        if weekly <= 0:
            raise fail(_OWNER, "weekly_visitors", f"{weekly} <= 0", "pass the site's visitors per week, > 0")
        return self.traffic_visitors / weekly

    def to_dict(self) -> dict[str, Any]:
        """Every input and result as plain JSON-ready values."""
        inputs = dataclasses.asdict(self.inputs)
        return {**inputs, "alpha_per_contrast": self.inputs.alpha_per_contrast, "lift": self.lift,
                "relative": self.relative, "lift_on": self.lift_on, "relative_lift": self.relative_lift,
                "absolute_lift": self.absolute_lift, "rpv_baseline": self.rpv_baseline, "rpv_sd": self.rpv_sd,
                "rpv_treated": self.rpv_treated, "rpv_treated_sd": self.rpv_treated_sd,
                "visitors_per_arm": self.visitors_per_arm, "total_visitors": self.total_visitors,
                "traffic_visitors": self.traffic_visitors, "achieved_power": self.achieved_power}

    @property
    def summary(self) -> str:
        """One sentence an operator can read."""
        scope = "" if self.inputs.segment_share == 1.0 else \
            f" (a segment of {self.inputs.segment_share:.0%} of traffic: {self.traffic_visitors:,} site visitors)"
        inputs = self.inputs
        split = f" (Bonferroni over {inputs.arms - 1} contrasts)" \
            if inputs.arms > 2 and inputs.multiplicity == "bonferroni" else ""
        return (f"To detect {self.relative_lift:+.1%} revenue per visitor ({self.absolute_lift:+.4g} on "
                f"{self.rpv_baseline:.4g}) with {inputs.power:.0%} power at alpha {inputs.alpha:g}{split}, "
                f"{self.inputs.arms} arms need {self.visitors_per_arm:,} visitors each, {self.total_visitors:,} "
                f"in all{scope}.")


def _check_lift_on(lift_on: object) -> str:
    if lift_on not in _LIFT_ON:
        raise fail(_OWNER, "lift_on", f"unknown {lift_on!r}", f"use one of {list(_LIFT_ON)}")
    return str(lift_on)


def _relative(inputs: PowerInputs, lift: Any, relative: bool) -> float:
    value = finite_float(_OWNER, "lift", lift)
    if value == 0:
        raise fail(_OWNER, "lift", "0 cannot be detected", "pass the smallest lift worth detecting, e.g. 0.05")
    return value if relative else value / inputs.rpv_baseline


def _analysis(inputs: PowerInputs, relative_lift: float, relative: bool, lift_on: str,
              visitors_per_arm: int | None) -> PowerAnalysis:
    """Fill a PowerAnalysis; ``visitors_per_arm`` None means the size the target power needs."""
    conversion, order_value = _treated(inputs, relative_lift, lift_on)
    var0 = rpv_variance(inputs.baseline_conversion, inputs.order_value_mean, inputs.order_value_cv)
    var1 = rpv_variance(conversion, order_value, inputs.order_value_cv)
    delta = inputs.rpv_baseline * relative_lift
    if visitors_per_arm is None:
        visitors_per_arm = max(2, math.ceil(inputs.z_sum() ** 2 * (var0 + var1) / delta**2 - 1e-9))
    shift = abs(delta) / math.sqrt((var0 + var1) / visitors_per_arm)
    z = stats.norm.ppf(1 - inputs.alpha_per_contrast / 2)
    achieved = float(stats.norm.cdf(shift - z) + stats.norm.cdf(-shift - z))
    absolute = delta
    return PowerAnalysis(inputs=inputs, lift=relative_lift if relative else absolute, relative=relative,
                         lift_on=lift_on, relative_lift=relative_lift, absolute_lift=absolute,
                         rpv_baseline=inputs.rpv_baseline, rpv_sd=math.sqrt(var0),
                         rpv_treated=conversion * order_value, rpv_treated_sd=math.sqrt(var1),
                         visitors_per_arm=int(visitors_per_arm), achieved_power=achieved)


def visitors_needed(lift: float, *, baseline_conversion: float, order_value_mean: float,
                    order_value_cv: float | None = None, order_value_log_sd: float | None = None,
                    arms: int = 2, alpha: float = 0.05, power: float = 0.8, relative: bool = True,
                    lift_on: LiftOn = "conversion", segment_share: float = 1.0,
                    multiplicity: Multiplicity = "bonferroni") -> PowerAnalysis:
    """Visitors per arm to detect a revenue-per-visitor ``lift`` of each treatment over control.

    ``lift``: relative (0.05 = +5% of ``baseline_conversion * order_value_mean``)
    or, with ``relative=False``, absolute (currency per visitor); negative
    lifts (a drop) work too, the test being two-sided. ``lift_on``: what the
    lift acts on, "conversion" (order values unchanged), "order_value"
    (conversion unchanged) or "both" (each carries an equal multiplicative
    share: ``sqrt(1 + lift)``). The order values' spread: ``order_value_cv``
    or ``order_value_log_sd``, exactly one. ``arms`` counts control;
    ``multiplicity="bonferroni"`` tests each of the ``arms - 1`` contrasts
    at ``alpha / (arms - 1)``. ``segment_share``: the fraction of traffic the
    experiment's population is (1.0: everyone); it scales
    ``traffic_visitors``, not ``visitors_per_arm``.

    Raises ``ContractViolation`` (a ValueError) naming the input and the fix.
    """
    inputs = PowerInputs(baseline_conversion=baseline_conversion, order_value_mean=order_value_mean,
                         order_value_cv=order_value_cv, order_value_log_sd=order_value_log_sd, arms=arms,
                         alpha=alpha, power=power, multiplicity=multiplicity, segment_share=segment_share)
    lift_on = _check_lift_on(lift_on)
    return _analysis(inputs, _relative(inputs, lift, relative), bool(relative), lift_on, None)


def detectable_lift(visitors_per_arm: int, *, baseline_conversion: float, order_value_mean: float,
                    order_value_cv: float | None = None, order_value_log_sd: float | None = None,
                    arms: int = 2, alpha: float = 0.05, power: float = 0.8, relative: bool = True,
                    lift_on: LiftOn = "conversion", segment_share: float = 1.0,
                    multiplicity: Multiplicity = "bonferroni") -> PowerAnalysis:
    """The smallest positive lift ``visitors_per_arm`` visitors in each arm detect at ``power``.

    The inverse of ``visitors_needed`` (same arguments; the returned
    ``lift`` is relative or absolute as ``relative`` says, and
    ``achieved_power`` equals ``power``). Raises ``ContractViolation`` when
    no lift the model allows is detectable (e.g. conversion would pass 1).
    """
    inputs = PowerInputs(baseline_conversion=baseline_conversion, order_value_mean=order_value_mean,
                         order_value_cv=order_value_cv, order_value_log_sd=order_value_log_sd, arms=arms,
                         alpha=alpha, power=power, multiplicity=multiplicity, segment_share=segment_share)
    lift_on = _check_lift_on(lift_on)
    n = integer(_OWNER, "visitors_per_arm", visitors_per_arm, minimum=2)
    z2 = inputs.z_sum() ** 2
    var0 = rpv_variance(inputs.baseline_conversion, inputs.order_value_mean, inputs.order_value_cv)

    def gap(r: float) -> float:  # > 0 once n visitors per arm detect r
        conversion, order_value = _treated(inputs, r, lift_on)
        var1 = rpv_variance(conversion, order_value, inputs.order_value_cv)
        return n * (inputs.rpv_baseline * r) ** 2 - z2 * (var0 + var1)

    # Conversion cannot pass 1: the lift it carries is bounded by 1/p - 1.
    conv_share = {"conversion": 1.0, "order_value": 0.0, "both": 0.5}[lift_on]
    upper = (1.0 / inputs.baseline_conversion) ** (1.0 / conv_share) - 1.0 if conv_share else math.inf
    high = 1.0
    while gap(min(high, upper * (1 - 1e-9))) <= 0:
        if high >= upper or high > 1e6:
            raise fail(_OWNER, "visitors_per_arm", f"{n:,} visitors per arm detect no lift the baseline allows",
                       "pass more visitors per arm")
        high *= 4.0
    high = min(high, upper * (1 - 1e-9))
    relative_lift = float(optimize.brentq(gap, 0.0, high, xtol=1e-12, rtol=1e-10))
    return _analysis(inputs, relative_lift, bool(relative), lift_on, n)


@dataclasses.dataclass(frozen=True)
class SegmentCheck:
    """Is a segment large enough to experiment on? The answer, and the figures behind it.

    ``analysis`` sizes the experiment inside the segment; ``weeks_needed``
    is how long ``weekly_visitors`` of site traffic (``segment_share`` of it
    in the segment, all offered to the experiment) takes to supply it;
    ``large_enough`` says whether that fits in ``max_weeks``;
    ``detectable_in_max_weeks`` is the smallest relative lift the segment's
    traffic over ``max_weeks`` would detect (None when even that is out of reach).
    """

    analysis: PowerAnalysis
    weekly_visitors: float
    max_weeks: float
    weeks_needed: float
    large_enough: bool
    detectable_in_max_weeks: float | None

    @property
    def summary(self) -> str:
        share = self.analysis.inputs.segment_share
        verdict = "large enough" if self.large_enough else "too small"
        reach = "no lift the baseline allows" if self.detectable_in_max_weeks is None \
            else f"{self.detectable_in_max_weeks:+.1%}"
        return (f"A segment of {share:.0%} of {self.weekly_visitors:,.0f} weekly visitors needs "
                f"{self.weeks_needed:.1f} weeks to detect {self.analysis.relative_lift:+.1%} revenue per visitor: "
                f"{verdict} for {self.max_weeks:g} weeks, in which it would detect {reach}.")

    def to_dict(self) -> dict[str, Any]:
        return {**self.analysis.to_dict(), "weekly_visitors": self.weekly_visitors, "max_weeks": self.max_weeks,
                "weeks_needed": self.weeks_needed, "large_enough": self.large_enough,
                "detectable_in_max_weeks": self.detectable_in_max_weeks}


def segment_check(lift: float, *, segment_share: float, weekly_visitors: float, max_weeks: float = 4.0,
                  **power_kwargs: Any) -> SegmentCheck:
    """Answer "is this segment large enough to experiment on?" in weeks of traffic.

    ``segment_share``: the segment's fraction of site traffic; ``weekly_visitors``:
    site visitors per week; ``max_weeks``: how long the operator can run.
    ``power_kwargs`` are ``visitors_needed``'s (baseline, spread, arms, alpha, power, ...).
    """
    analysis = visitors_needed(lift, segment_share=segment_share, **power_kwargs)
    weeks = analysis.weeks_needed(weekly_visitors)
    limit = finite_float("SegmentCheck", "max_weeks", max_weeks)
    if limit <= 0:
        raise fail("SegmentCheck", "max_weeks", f"{limit} <= 0", "pass how many weeks the experiment may run, > 0")
    per_arm = int(weekly_visitors * segment_share * limit // analysis.inputs.arms)
    kwargs = {k: v for k, v in power_kwargs.items() if k != "relative"}
    try:
        reach = detectable_lift(per_arm, segment_share=segment_share, relative=True, **kwargs).relative_lift \
            if per_arm >= 2 else None
    except ValueError:
        reach = None
    return SegmentCheck(analysis=analysis, weekly_visitors=float(weekly_visitors), max_weeks=limit,
                        weeks_needed=weeks, large_enough=weeks <= limit, detectable_in_max_weeks=reach)


def baseline_from_revenue(revenue: Any) -> dict[str, float]:
    """``baseline_conversion``, ``order_value_mean`` and ``order_value_cv`` estimated from revenue per visitor.

    ``revenue``: one value per visitor (0 for non-buyers), e.g. last month's
    control traffic. The result unpacks into ``visitors_needed(lift, **baseline)``.
    The cv is the converters' own (it includes any differences between
    visitors), which is what makes the hurdle variance match the data's.
    """
    values = np.asarray(revenue, dtype=float).ravel()
    if values.size == 0 or not np.all(np.isfinite(values)) or np.any(values < 0):
        raise fail(_OWNER, "revenue", "expected finite revenue >= 0 per visitor",
                   "pass each visitor's revenue (0 for visitors who bought nothing)")
    orders = values[values > 0]
    if orders.size < 2 or orders.size == values.size:
        raise fail(_OWNER, "revenue", f"{orders.size} buyers among {values.size} visitors",
                   "pass a sample with at least 2 buyers and at least 1 non-buyer")
    return {"baseline_conversion": orders.size / values.size, "order_value_mean": float(orders.mean()),
            "order_value_cv": float(orders.std(ddof=1) / orders.mean())}


__all__ = ["PowerAnalysis", "PowerInputs", "SegmentCheck", "baseline_from_revenue", "detectable_lift",
           "rpv_variance", "segment_check", "visitors_needed"]
