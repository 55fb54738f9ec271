"""Analysis outputs: comparisons, decompositions, decisions and the summary surface.

``ComparisonResult`` carries posterior samples; ``Comparison`` and
``AnalysisResult`` are the lean summaries. Lifts are always absolute
(comparison - baseline) in the metric's own units.
"""

from __future__ import annotations

import dataclasses
import math
from datetime import datetime
from typing import Any, Literal, NamedTuple

import numpy as np

from ._checks import (
    fail,
    finite_float,
    frozen_array,
    frozen_mapping,
    instance,
    interval,
    nan_or_non_negative,
    non_empty_str,
    non_negative,
    probability,
    set_field,
)
from .schema import Decision
from .segments import DiscoveredSegment


@dataclasses.dataclass(frozen=True)
class DecompositionSamples:
    """Per-draw lift of a hurdle metric split into conversion (frequency) and order value (severity)."""

    frequency_lift_samples: np.ndarray
    severity_lift_samples: np.ndarray

    def __post_init__(self) -> None:
        owner = "DecompositionSamples"
        f = frozen_array(owner, "frequency_lift_samples", self.frequency_lift_samples)
        s = frozen_array(owner, "severity_lift_samples", self.severity_lift_samples)
        if f.shape != s.shape:
            raise fail(owner, "severity_lift_samples", f"shape {s.shape} != frequency shape {f.shape}",
                       "pass one value per posterior draw in both")
        set_field(self, "frequency_lift_samples", f)
        set_field(self, "severity_lift_samples", s)


@dataclasses.dataclass(frozen=True)
class ComparisonResult:
    """Posterior comparison of ``comparison`` against ``baseline`` (roles, not arms).

    ``expected_loss_baseline`` = E[max(comparison - baseline, 0)], the cost
    of keeping the baseline when the comparison is better;
    ``expected_loss_comparison`` = E[max(baseline - comparison, 0)].
    """

    baseline: str
    comparison: str
    method: Literal["compare_to_control", "best_of_rest"]
    probability_positive: float
    probability_better: float
    probability_harmful: float
    expected_loss_baseline: float
    expected_loss_comparison: float
    expected_loss_samples_baseline: np.ndarray
    expected_loss_samples_comparison: np.ndarray
    lift_samples: np.ndarray
    lift_unit: str
    lift_ci: tuple[float, float]
    lift_ci_level: float = 0.8
    decomposition: DecompositionSamples | None = None

    def __post_init__(self) -> None:
        owner = "ComparisonResult"
        non_empty_str(owner, "baseline", self.baseline)
        non_empty_str(owner, "comparison", self.comparison)
        if self.baseline == self.comparison:
            raise fail(owner, "comparison", f"equals baseline {self.baseline!r}", "compare two arms")
        if self.method not in ("compare_to_control", "best_of_rest"):
            raise fail(owner, "method", f"got {self.method!r}", "use 'compare_to_control' or 'best_of_rest'")
        for name in ("probability_positive", "probability_better", "probability_harmful"):
            set_field(self, name, probability(owner, name, getattr(self, name)))
        for name in ("expected_loss_baseline", "expected_loss_comparison"):
            set_field(self, name, non_negative(owner, name, getattr(self, name)))
        lift = frozen_array(owner, "lift_samples", self.lift_samples)
        if lift.size == 0:
            raise fail(owner, "lift_samples", "no draws", "pass the posterior draws of the lift")
        for name in ("expected_loss_samples_baseline", "expected_loss_samples_comparison"):
            arr = frozen_array(owner, name, getattr(self, name))
            if arr.shape != lift.shape:
                raise fail(owner, name, f"shape {arr.shape} != lift_samples {lift.shape}", "one loss per draw")
            if (arr < 0).any():
                raise fail(owner, name, "negative loss", "losses are max(., 0)")
            set_field(self, name, arr)
        set_field(self, "lift_samples", lift)
        if self.lift_unit not in ("pct", "dollar"):
            raise fail(owner, "lift_unit", f"got {self.lift_unit!r}", "use 'pct' or 'dollar'")
        set_field(self, "lift_ci", interval(owner, "lift_ci", self.lift_ci))
        set_field(self, "lift_ci_level", probability(owner, "lift_ci_level", self.lift_ci_level,
                                                     open_interval=True))
        if self.decomposition is not None:
            instance(owner, "decomposition", self.decomposition, DecompositionSamples)
            if self.decomposition.frequency_lift_samples.shape != lift.shape:
                raise fail(owner, "decomposition", "draw count differs from lift_samples",
                           "decompose the same draws")


@dataclasses.dataclass(frozen=True)
class ChannelLift:
    """Posterior mean and 80% interval of one hurdle channel's lift."""

    point_estimate: float
    ci: tuple[float, float]

    def __post_init__(self) -> None:
        set_field(self, "point_estimate", finite_float("ChannelLift", "point_estimate", self.point_estimate))
        set_field(self, "ci", interval("ChannelLift", "ci", self.ci))


@dataclasses.dataclass(frozen=True)
class Decomposition:
    """A hurdle lift split into its conversion part and its order-value part."""

    conversion_lift: ChannelLift
    severity_lift: ChannelLift

    def __post_init__(self) -> None:
        instance("Decomposition", "conversion_lift", self.conversion_lift, ChannelLift)
        instance("Decomposition", "severity_lift", self.severity_lift, ChannelLift)


@dataclasses.dataclass(frozen=True)
class Comparison:
    """Lean global contrast of one treatment against control."""

    treatment: str
    probability_positive: float
    lift_estimate: float
    lift_ci: tuple[float, float]
    decomposition: Decomposition | None = None

    def __post_init__(self) -> None:
        owner = "Comparison"
        non_empty_str(owner, "treatment", self.treatment)
        set_field(self, "probability_positive", probability(owner, "probability_positive",
                                                            self.probability_positive))
        set_field(self, "lift_estimate", finite_float(owner, "lift_estimate", self.lift_estimate))
        set_field(self, "lift_ci", interval(owner, "lift_ci", self.lift_ci))
        if self.decomposition is not None:
            instance(owner, "decomposition", self.decomposition, Decomposition)


@dataclasses.dataclass(frozen=True)
class DecisionThresholds:
    """Thresholds of the SHIP / CONTINUE / STOP rule.

    ``expected_loss_tolerance`` is in metric units (> 0); the rest are
    probabilities in (0, 1).
    """

    expected_loss_tolerance: float = 0.01
    p_positive_threshold: float = 0.95
    p_better_threshold: float = 0.8
    futility_threshold: float = 0.05
    harm_threshold: float = 0.9

    def __post_init__(self) -> None:
        owner = "DecisionThresholds"
        tol = finite_float(owner, "expected_loss_tolerance", self.expected_loss_tolerance)
        if tol <= 0:
            raise fail(owner, "expected_loss_tolerance", f"{tol} <= 0", "pass a positive metric-unit loss")
        set_field(self, "expected_loss_tolerance", tol)
        for name in ("p_positive_threshold", "p_better_threshold", "futility_threshold", "harm_threshold"):
            set_field(self, name, probability(owner, name, getattr(self, name), open_interval=True))

    def as_dict(self) -> dict[str, float]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class RecommendationSummary:
    """The recommended decision for one treatment, with its decision-theoretic evidence.

    ``expected_value_of_one_more_round`` is the expected reduction of the
    decision's loss (metric units per visitor) from one more round at the
    same per-round n; NaN when the producer could not compute it.
    """

    treatment: str
    decision: Decision
    expected_loss_baseline: float
    expected_loss_comparison: float
    probability_positive: float
    probability_better: float
    probability_harmful: float
    thresholds: dict[str, float]
    expected_value_of_one_more_round: float = dataclasses.field(default=math.nan, kw_only=True)

    def __post_init__(self) -> None:
        owner = "RecommendationSummary"
        non_empty_str(owner, "treatment", self.treatment)
        try:
            set_field(self, "decision", Decision(self.decision))
        except ValueError:
            raise fail(owner, "decision", f"got {self.decision!r}",
                       f"use one of {[d.value for d in Decision]}") from None
        for name in ("expected_loss_baseline", "expected_loss_comparison"):
            set_field(self, name, non_negative(owner, name, getattr(self, name)))
        for name in ("probability_positive", "probability_better", "probability_harmful"):
            set_field(self, name, probability(owner, name, getattr(self, name)))
        set_field(self, "thresholds", frozen_mapping(owner, "thresholds", self.thresholds))
        set_field(self, "expected_value_of_one_more_round", nan_or_non_negative(
            owner, "expected_value_of_one_more_round", self.expected_value_of_one_more_round))


@dataclasses.dataclass(frozen=True)
class AnalysisResult:
    """What ``result.analyze()`` returns: the lean summary of one fitted posterior.

    ``cate_per_visitor`` is the posterior-mean effect per visitor, aligned
    with the concatenated visitor rows: shape (n,) at K = 2, (n, K-1) at
    K >= 3. ``segments`` is a list, empty when nothing qualified. The
    posterior is typed loosely until the engine exists; it must expose
    ``is_calibrated``.
    """

    experiment_id: str
    metric: str
    comparisons: list[Comparison]
    segments: list[DiscoveredSegment]
    recommendation: RecommendationSummary
    cate_per_visitor: np.ndarray
    analyzed_at: datetime
    posterior: Any = dataclasses.field(repr=False)

    def __post_init__(self) -> None:
        owner = "AnalysisResult"
        non_empty_str(owner, "experiment_id", self.experiment_id)
        non_empty_str(owner, "metric", self.metric)
        if not isinstance(self.comparisons, (list, tuple)) or not self.comparisons:
            raise fail(owner, "comparisons", "expected one Comparison per treatment", "pass a non-empty list")
        for c in self.comparisons:
            instance(owner, "comparisons[]", c, Comparison)
        if self.segments is None or not isinstance(self.segments, (list, tuple)):
            raise fail(owner, "segments", f"got {self.segments!r}", "pass a list (empty when none qualify)")
        for s in self.segments:
            instance(owner, "segments[]", s, DiscoveredSegment)
        instance(owner, "recommendation", self.recommendation, RecommendationSummary)
        cate = frozen_array(owner, "cate_per_visitor", self.cate_per_visitor, ndim=(1, 2))
        width = 1 if cate.ndim == 1 else cate.shape[1]
        if (cate.ndim == 2 and len(self.comparisons) == 1) or width != len(self.comparisons):
            raise fail(owner, "cate_per_visitor", f"shape {cate.shape} does not fit "
                       f"{len(self.comparisons)} treatment(s)", "use (n,) at K=2 and (n, K-1) at K>=3")
        set_field(self, "cate_per_visitor", cate)
        set_field(self, "comparisons", list(self.comparisons))
        set_field(self, "segments", list(self.segments))
        instance(owner, "analyzed_at", self.analyzed_at, datetime)
        if self.posterior is None or not hasattr(self.posterior, "is_calibrated"):
            raise fail(owner, "posterior", "missing or without is_calibrated",
                       "pass the fitted result the analysis came from")

    @property
    def is_calibrated(self) -> bool:
        return bool(self.posterior.is_calibrated)


class DiagnosticsBundle(NamedTuple):
    """Sampler diagnostics, kept apart from the analysis contract.

    ``inference_data`` is an ArviZ ``InferenceData`` (arviz 0.x).
    """

    inference_data: Any
