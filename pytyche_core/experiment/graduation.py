"""Graduation: when a (treatment, segment) pair has held up long enough to be worth shipping there.

The library never ships by itself: a rule only flags candidates; the
operator (or an automated workflow) decides. The default rule,
``ExpectedLossRule``, asks that the pair's decision evidence clear three
thresholds at once in each of the last ``sustained_rounds`` rounds. The
evidence of a past round is recomputed from that round's stored posterior
(``posterior.recommendation_summary(treatment, segment=...)``): array math on
its draws, no extra state.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from ..contracts import DiscoveredSegment, RecommendationSummary
from ..contracts._checks import (
    fail,
    finite_float,
    instance,
    integer,
    non_empty_str,
    probability,
    set_field,
)


@runtime_checkable
class GraduationRule(Protocol):
    """Whether a (treatment, segment) pair is a graduation candidate.

    ``history`` is oldest first and *includes* the round being evaluated as
    its last element; each element exposes ``posterior``.
    """

    def is_candidate(self, treatment: str, segment: DiscoveredSegment, history: Sequence) -> bool: ...

    def consecutive_held(self, treatment: str, segment: DiscoveredSegment, history: Sequence) -> int: ...


@dataclasses.dataclass(frozen=True)
class ExpectedLossRule:
    """Sustained compound evidence: all three thresholds in each of the last ``sustained_rounds`` rounds.

    A round holds when ``expected_loss_comparison < expected_loss_max`` (metric
    units per visitor) and ``probability_positive > p_positive_threshold`` and
    ``probability_better > p_better_threshold``. Probabilities come from the raw
    posterior draws (a calibration artifact corrects intervals, not these).
    """

    expected_loss_max: float = 0.005
    p_positive_threshold: float = 0.95
    p_better_threshold: float = 0.8
    sustained_rounds: int = 2

    def __post_init__(self) -> None:
        owner = "ExpectedLossRule"
        loss = finite_float(owner, "expected_loss_max", self.expected_loss_max)
        if loss <= 0:
            raise fail(owner, "expected_loss_max", f"{loss} <= 0", "pass a positive loss in metric units")
        set_field(self, "expected_loss_max", loss)
        for name in ("p_positive_threshold", "p_better_threshold"):
            set_field(self, name, probability(owner, name, getattr(self, name), open_interval=True))
        set_field(self, "sustained_rounds", integer(owner, "sustained_rounds", self.sustained_rounds, minimum=1))

    def holds(self, evidence: RecommendationSummary) -> bool:
        return (evidence.expected_loss_comparison < self.expected_loss_max
                and evidence.probability_positive > self.p_positive_threshold
                and evidence.probability_better > self.p_better_threshold)

    def consecutive_held(self, treatment: str, segment: DiscoveredSegment, history: Sequence) -> int:
        """How many trailing rounds of ``history`` cleared the thresholds (0 when the last did not)."""
        count = 0
        for entry in reversed(list(history)):
            evidence = segment_evidence(entry.posterior, treatment, segment)
            if evidence is None or not self.holds(evidence):
                break
            count += 1
        return count

    def is_candidate(self, treatment: str, segment: DiscoveredSegment, history: Sequence) -> bool:
        return self.consecutive_held(treatment, segment, history) >= self.sustained_rounds


def segment_evidence(posterior, treatment: str, segment: DiscoveredSegment) -> RecommendationSummary | None:
    """The pair's decision evidence under ``posterior``; None when it cannot be read there.

    A past fit may lack the treatment (added later) or have no visitor in
    the segment's rule: then that round did not hold.
    """
    if treatment not in posterior.treatment_names:
        return None
    try:
        return posterior.recommendation_summary(treatment, segment=segment)
    except ValueError:
        return None


@dataclasses.dataclass(frozen=True)
class GraduationCandidate:
    """A (treatment, segment) pair that met the graduation rule; surfaced, never auto-shipped.

    ``sustained_rounds`` counts the consecutive rounds the rule has held (a
    pair holding for five rounds reports 5, not the rule's minimum).
    """

    treatment: str
    segment: DiscoveredSegment
    sustained_rounds: int
    latest_recommendation: RecommendationSummary

    def __post_init__(self) -> None:
        owner = "GraduationCandidate"
        non_empty_str(owner, "treatment", self.treatment)
        instance(owner, "segment", self.segment, DiscoveredSegment)
        set_field(self, "sustained_rounds", integer(owner, "sustained_rounds", self.sustained_rounds, minimum=1))
        instance(owner, "latest_recommendation", self.latest_recommendation, RecommendationSummary)


def graduation_candidates(rule: GraduationRule, treatments: Sequence[str], segments: Sequence[DiscoveredSegment],
                          history: Sequence) -> list[GraduationCandidate]:
    """Every (treatment, segment) pair the rule flags over ``history`` (this round last)."""
    out = []
    for treatment in treatments:
        for segment in segments:
            if not rule.is_candidate(treatment, segment, history):
                continue
            latest = segment_evidence(history[-1].posterior, treatment, segment)
            if latest is None:
                continue
            out.append(GraduationCandidate(treatment, segment, rule.consecutive_held(treatment, segment, history),
                                           latest))
    return out


__all__ = ["ExpectedLossRule", "GraduationCandidate", "GraduationRule", "graduation_candidates",
           "segment_evidence"]
