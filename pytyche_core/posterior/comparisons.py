"""Comparisons and recommendations of one fitted result: lifts of whole populations or segments.

The lift of a treatment over a group of visitors is, per posterior draw, the
mean of the members' effect draws; everything here reads those per-draw
means (no refits). ``compare`` returns the sample-carrying
``ComparisonResult``; ``comparison_summary`` the lean ``Comparison`` of
``analyze()``; ``recommendation_summary`` the decision with its evidence.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from ..contracts import (
    ChannelLift,
    Comparison,
    ComparisonResult,
    DecisionThresholds,
    Decomposition,
    DecompositionSamples,
    DiscoveredSegment,
    MetricFamily,
    RecommendationSummary,
    SegmentRule,
    apply_rule,
)
from . import decisions
from .draws import member_means

if TYPE_CHECKING:
    from .results import BCFResult

CI_LEVEL = 0.8


def lift_unit(result: BCFResult) -> str:
    """``"pct"`` for a conversion rate (a difference of proportions), ``"dollar"`` otherwise."""
    return "pct" if result.observed.metric_family is MetricFamily.BINARY else "dollar"


def segment_mask(result: BCFResult, segment: SegmentRule | DiscoveredSegment | np.ndarray | None) -> np.ndarray:
    """Visitors (rows of ``result.observed``) a segment selects; ``None`` selects everyone."""
    n = result.observed.n_visitors
    if segment is None:
        return np.ones(n, dtype=bool)
    if isinstance(segment, DiscoveredSegment):
        segment = segment.rule
    if isinstance(segment, SegmentRule):
        mask = apply_rule(segment, result.observed.visitors())
    else:
        mask = np.asarray(segment)
        if mask.dtype != bool or mask.shape != (n,):
            raise ValueError(f"segment: expected a SegmentRule, a DiscoveredSegment or a boolean mask of shape "
                             f"({n},), got {type(segment).__name__} {getattr(mask, 'shape', '')}. "
                             "Fix: pass one of those, aligned with the fitted visitor rows.")
    if not mask.any():
        raise ValueError("segment: selects none of the fitted visitors. Fix: pass a rule that matches some.")
    return mask


def treatment_index(result: BCFResult, treatment: str) -> int:
    """Column of ``treatment`` in the (.., K-1) effect arrays; a clear error for an unknown name."""
    names = result.treatment_names
    if treatment not in names:
        raise ValueError(f"unknown treatment {treatment!r}. Fix: use one of {list(names)} "
                         f"(control {result.observed.control_name!r} is the baseline).")
    return names.index(treatment)


def _interval(draws: np.ndarray, level: float = CI_LEVEL) -> tuple[float, float]:
    low, high = np.quantile(draws, [0.5 - level / 2, 0.5 + level / 2])
    return float(low), float(high)


def _threshold(thresholds: DecisionThresholds) -> float:
    return thresholds.expected_loss_tolerance


def _resolve_thresholds(thresholds: DecisionThresholds | None) -> DecisionThresholds:
    if thresholds is None:
        return DecisionThresholds()
    if not isinstance(thresholds, DecisionThresholds):
        raise TypeError(f"thresholds: expected DecisionThresholds, got {type(thresholds).__name__}")
    return thresholds


def compare(result: BCFResult, treatment: str | None = None, *, method: str = "compare_to_control",
            segment=None, thresholds: DecisionThresholds | None = None,
            ci_level: float = CI_LEVEL) -> ComparisonResult:
    """Posterior comparison of one treatment, over everyone or over ``segment``.

    - ``"compare_to_control"``: lift = treatment - control, per draw.
    - ``"best_of_rest"``: lift = treatment - the best of every other arm
      (control included) in the same draw, so a positive lift means "this arm
      beats all others". ``treatment=None`` picks the arm with the highest
      posterior-mean lift over control.

    Lifts are absolute, in metric units (``lift_unit``); for hurdle results
    the control comparison carries the conversion / order-value decomposition.
    """
    thresholds = _resolve_thresholds(thresholds)
    if method not in ("compare_to_control", "best_of_rest"):
        raise ValueError(f"method: got {method!r}. Fix: use 'compare_to_control' or 'best_of_rest'.")
    if not 0.0 < ci_level < 1.0:
        raise ValueError(f"ci_level must be in (0, 1), got {ci_level!r}.")
    mask = segment_mask(result, segment)
    arms = member_means(result.cate_samples, mask)  # (S, K-1): each treatment vs control
    if treatment is None:
        treatment = result.treatment_names[int(arms.mean(axis=0).argmax())]
    j = treatment_index(result, treatment)
    decomposition = None
    if method == "compare_to_control":
        lift = arms[:, j]
        baseline = result.observed.control_name
        if getattr(result, "has_decomposition", lambda: False)():
            decomposition = DecompositionSamples(
                frequency_lift_samples=member_means(result.conversion_part_samples[:, :, j], mask),
                severity_lift_samples=member_means(result.order_value_part_samples[:, :, j], mask))
    else:
        values = np.concatenate([np.zeros((arms.shape[0], 1)), arms], axis=1)  # (S, K) vs control
        rest = np.delete(values, j + 1, axis=1)
        lift = values[:, j + 1] - rest.max(axis=1)
        others = [a for a in result.observed.arm_names if a != treatment]
        baseline = others[0] if len(others) == 1 else f"best of ({', '.join(others)})"
    ev = decisions.evidence(lift, _threshold(thresholds))
    keep_loss, ship_loss = decisions.loss_samples(decisions.lift_draws(lift))
    return ComparisonResult(
        baseline=baseline, comparison=treatment, method=method,
        probability_positive=ev.probability_positive, probability_better=ev.probability_better,
        probability_harmful=ev.probability_harmful,
        expected_loss_baseline=ev.expected_loss_baseline, expected_loss_comparison=ev.expected_loss_comparison,
        expected_loss_samples_baseline=keep_loss, expected_loss_samples_comparison=ship_loss,
        lift_samples=np.asarray(lift, dtype=np.float64), lift_unit=lift_unit(result),
        lift_ci=_interval(lift, ci_level), lift_ci_level=ci_level, decomposition=decomposition)


def comparison_summary(result: BCFResult, treatment: str) -> Comparison:
    """The lean global ``Comparison`` of one treatment vs control (with the hurdle decomposition)."""
    full = compare(result, treatment)
    decomposition = None
    if full.decomposition is not None:
        freq, sev = full.decomposition.frequency_lift_samples, full.decomposition.severity_lift_samples
        decomposition = Decomposition(
            conversion_lift=ChannelLift(float(freq.mean()), _interval(freq)),
            severity_lift=ChannelLift(float(sev.mean()), _interval(sev)))
    return Comparison(treatment=treatment, probability_positive=full.probability_positive,
                      lift_estimate=float(full.lift_samples.mean()), lift_ci=full.lift_ci,
                      decomposition=decomposition)


def recommendation_summary(result: BCFResult, treatment: str, segment=None,
                           thresholds: DecisionThresholds | None = None, *,
                           round_size: int | None = None) -> RecommendationSummary:
    """SHIP / CONTINUE / STOP for ``treatment`` vs control, over everyone or over ``segment``.

    The evidence is that of ``compare`` (vs control); the rule is ``decisions.decide``.
    ``expected_value_of_one_more_round`` assumes the next round has
    ``round_size`` visitors (default: as many as the fit used, i.e. the data so
    far came in one round) and that the posterior variance shrinks in
    proportion to the visitors (docs/concepts/decision-theory.md).
    """
    thresholds = _resolve_thresholds(thresholds)
    j = treatment_index(result, treatment)
    lift = member_means(result.cate_samples, segment_mask(result, segment))[:, j]  # vs control, per draw
    n_fit = result.observed.n_visitors
    if round_size is None:
        round_size = n_fit
    if isinstance(round_size, bool) or not isinstance(round_size, (int, np.integer)) or round_size < 1:
        raise ValueError(f"round_size must be a positive number of visitors, got {round_size!r}.")
    ev = decisions.evidence(lift, _threshold(thresholds))
    value = decisions.value_of_one_more_round(ev.mean, ev.sd, round_size / n_fit)
    return RecommendationSummary(
        treatment=treatment, decision=decisions.decide(ev, thresholds),
        expected_loss_baseline=ev.expected_loss_baseline, expected_loss_comparison=ev.expected_loss_comparison,
        probability_positive=ev.probability_positive, probability_better=ev.probability_better,
        probability_harmful=ev.probability_harmful, thresholds=thresholds.as_dict(),
        expected_value_of_one_more_round=value if math.isfinite(value) else math.nan)
