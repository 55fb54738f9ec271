"""The numbers that answer the operator's questions, read from the round's fit and plan.

Every figure here is what a library primitive already returns
(``result.compare``, ``result.recommendation_summary``, the plan's tree and
routes, ``coverage_curve``, the guardrail's conversion contrasts): the
report composes, it does not re-derive. The decision thresholds are the
library's defaults, the ones the round loop decided with.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence

import numpy as np

from ..contracts import (
    ComparisonResult,
    DecisionThresholds,
    DiscoveredSegment,
    RecommendationSummary,
    apply_rule,
)
from ..experiment.truth import effect_coverage_curves
from ..posterior.routing import SegmentRoute, conversion_contrast_group_means
from ..segments import rule_to_sql
from .gather import StoredRound

#: Relative lifts (shares of the control arm's mean outcome) worth asking P(lift > threshold) about.
BUSINESS_LIFTS = (0.01, 0.02, 0.05)


@dataclasses.dataclass(frozen=True)
class ThresholdRow:
    """P(lift > threshold) of one treatment at one business-relevant threshold (metric units)."""

    treatment: str
    label: str
    threshold: float
    probability: float


@dataclasses.dataclass(frozen=True)
class GuardrailAnswer:
    """The conversion-rate guardrail over everyone, per treatment.

    ``change`` / ``change_ci``: posterior mean and 80% interval of the
    conversion-rate change vs control (a proportion); ``drop_probability``:
    P(change < -tolerance); ``tolerance`` None when the experiment set no
    guardrail (then nothing is vetoed and only the change is shown).
    """

    control_rate: float
    tolerance: float | None
    relative_tolerance: float | None
    probability_threshold: float | None
    change: Mapping[str, float]
    change_ci: Mapping[str, tuple[float, float]]
    drop_probability: Mapping[str, float]
    pooled_vetoed_arms: tuple[str, ...]


@dataclasses.dataclass(frozen=True, eq=False)
class SegmentAnswer:
    """One segment of the plan's tree, with what deciding on it needs.

    ``assignable``: True / False when the experiment's assignable attributes
    are known, None otherwise. ``actionable``: stable (bootstrap stability >=
    0.80), its 80% interval excludes zero, and not known to be unassignable.
    """

    segment: DiscoveredSegment
    route: SegmentRoute | None
    n_visitors: int
    sql: str
    features: tuple[str, ...]
    assignable: bool | None

    @property
    def interval_excludes_zero(self) -> bool:
        low, high = self.segment.gate_ci
        return low > 0 or high < 0

    @property
    def interval_width(self) -> float:
        return self.segment.gate_ci[1] - self.segment.gate_ci[0]

    @property
    def actionable(self) -> bool:
        return self.segment.is_stable and self.interval_excludes_zero and self.assignable is not False


@dataclasses.dataclass(frozen=True, eq=False)
class Answers:
    """Everything the report's sections say, for one stored round."""

    stored: StoredRound
    thresholds: DecisionThresholds
    unit: str
    control: str
    control_mean: float
    comparisons: tuple[ComparisonResult, ...]
    recommendation: RecommendationSummary
    threshold_rows: tuple[ThresholdRow, ...]
    guardrail: GuardrailAnswer | None
    segments: tuple[SegmentAnswer, ...]
    assignable_attributes: tuple[str, ...] | None
    coverage: Mapping[str, tuple[Sequence[float], Sequence[float]]]
    true_average_lift: Mapping[str, float]

    def comparison(self, treatment: str) -> ComparisonResult:
        return next(c for c in self.comparisons if c.comparison == treatment)


def _control_mean(posterior) -> float:
    column = "converted" if posterior.observed.metric_family.value == "binary" else "revenue"
    visitors = posterior.observed.variants[0].visitors
    return float(visitors[column].astype(float).mean()) if len(visitors) else math.nan


def _threshold_rows(comparisons: Sequence[ComparisonResult], thresholds: DecisionThresholds,
                    control_mean: float, money: bool) -> tuple[ThresholdRow, ...]:
    levels = [("any lift (> 0)", 0.0),
              (f"the decision tolerance ({thresholds.expected_loss_tolerance:g})", thresholds.expected_loss_tolerance)]
    if money and math.isfinite(control_mean) and control_mean > 0:
        levels += [(f"+{share:.0%} of control's {control_mean:.3f}", share * control_mean) for share in BUSINESS_LIFTS]
    return tuple(ThresholdRow(c.comparison, label, value, float((c.lift_samples > value).mean()))
                 for c in comparisons for label, value in levels)


def _guardrail(stored: StoredRound, control: str) -> GuardrailAnswer | None:
    posterior = stored.posterior
    if posterior.model not in ("hurdle", "binary"):
        return None  # no conversion model: nothing to guard
    names = posterior.treatment_names
    conversion = conversion_contrast_group_means(
        posterior, np.zeros(posterior.observed.n_visitors, dtype=np.int64), 1)[0]  # (S, K-1)
    visitors = posterior.observed.variants[0].visitors
    rate = float(visitors["converted"].astype(float).mean()) if len(visitors) else math.nan
    spec = stored.plan_json.get("guardrail")
    tolerance = None if spec is None else float(spec["tolerance"])
    low_high = np.quantile(conversion, [0.1, 0.9], axis=0)
    return GuardrailAnswer(
        control_rate=rate, tolerance=tolerance,
        relative_tolerance=None if spec is None else float(spec["relative_tolerance"]),
        probability_threshold=None if spec is None else float(spec["probability_threshold"]),
        change={n: float(conversion[:, j].mean()) for j, n in enumerate(names)},
        change_ci={n: (float(low_high[0, j]), float(low_high[1, j])) for j, n in enumerate(names)},
        drop_probability={} if tolerance is None else {
            n: float((conversion[:, j] < -tolerance).mean()) for j, n in enumerate(names)},
        pooled_vetoed_arms=tuple(stored.plan_json.get("pooled_vetoed_arms") or ()))


def _segments(stored: StoredRound, assignable: tuple[str, ...] | None) -> tuple[SegmentAnswer, ...]:
    plan = stored.plan
    if plan.tree is None:
        return ()
    routes = {} if plan.routing is None else {r.segment_id: r for r in plan.routing.routes}
    visitors = stored.posterior.observed.visitors()
    out = []
    for s in plan.tree.segments:
        features = tuple(s.rule.features)
        out.append(SegmentAnswer(
            segment=s, route=routes.get(s.id), n_visitors=int(apply_rule(s.rule, visitors).sum()),
            sql=rule_to_sql(s.rule), features=features,
            assignable=None if assignable is None else set(features) <= set(assignable)))
    return tuple(out)


def _coverage(stored: StoredRound) -> tuple[dict, dict]:
    """Per treatment, the per-visitor coverage curve against the truth and the true average lift (simulation)."""
    if stored.true_effects is None:
        return {}, {}
    averages = {name: float(stored.true_effects[:, j].mean())
                for j, name in enumerate(stored.posterior.treatment_names)}
    return effect_coverage_curves(stored.posterior, stored.true_effects), averages


def answer(stored: StoredRound, *, assignable_attributes: Sequence[str] | None = None) -> Answers:
    """Compute the report's answers for ``stored`` (see the module docstring)."""
    posterior = stored.posterior
    thresholds = DecisionThresholds()
    comparisons = tuple(posterior.compare(t, thresholds=thresholds) for t in posterior.treatment_names)
    decided = stored.plan_json.get("decision") or {}
    best = decided.get("treatment") or max(comparisons, key=lambda c: float(c.lift_samples.mean())).comparison
    recommendation = posterior.recommendation_summary(best, thresholds=thresholds,
                                                      round_size=stored.plan.n_visitors)
    control = posterior.observed.control_name
    control_mean = _control_mean(posterior)
    assignable = None if assignable_attributes is None else tuple(assignable_attributes)
    coverage, true_average = _coverage(stored)
    return Answers(
        stored=stored, thresholds=thresholds, unit=comparisons[0].lift_unit, control=control,
        control_mean=control_mean, comparisons=comparisons, recommendation=recommendation,
        threshold_rows=_threshold_rows(comparisons, thresholds, control_mean, comparisons[0].lift_unit == "dollar"),
        guardrail=_guardrail(stored, control), segments=_segments(stored, assignable),
        assignable_attributes=assignable, coverage=coverage, true_average_lift=true_average)


__all__ = ["Answers", "BUSINESS_LIFTS", "GuardrailAnswer", "SegmentAnswer", "ThresholdRow", "answer"]
