"""Segments as discovered by the policy tree, and as registered by an operator."""

from __future__ import annotations

import dataclasses
import re
from datetime import datetime
from typing import Literal

from ._checks import (
    fail,
    finite_float,
    frozen_mapping,
    instance,
    integer,
    interval,
    nan_or_unit,
    probability,
    set_field,
)
from .rules import SegmentRule

#: Stability at or above this is "credible enough to act on".
STABILITY_CUTOFF = 0.80


@dataclasses.dataclass(frozen=True)
class DiscoveredSegment:
    """One leaf of a fitted policy tree, summarised for acting on it.

    ``id`` is the leaf id (the key of ``PolicyTreeResult.allocation_map``).
    ``gate_estimate`` is the segment's average effect in metric units with
    its 80% interval ``gate_ci``. ``stability_score`` is the share of
    bootstrap refits with a leaf of Jaccard >= 0.5 to this segment, NaN when
    not computed. ``arm_best_probabilities`` maps every arm, control
    included, to the posterior probability it is best here; they sum to 1.
    """

    id: int
    rule: SegmentRule
    gate_estimate: float
    gate_ci: tuple[float, float]
    population_share: float
    stability_score: float
    arm_best_probabilities: dict[str, float]

    def __post_init__(self) -> None:
        owner = "DiscoveredSegment"
        set_field(self, "id", integer(owner, "id", self.id, minimum=0))
        instance(owner, "rule", self.rule, SegmentRule)
        set_field(self, "gate_estimate", finite_float(owner, "gate_estimate", self.gate_estimate))
        set_field(self, "gate_ci", interval(owner, "gate_ci", self.gate_ci))
        set_field(self, "population_share", probability(owner, "population_share", self.population_share))
        set_field(self, "stability_score", nan_or_unit(owner, "stability_score", self.stability_score))
        probs = frozen_mapping(owner, "arm_best_probabilities", self.arm_best_probabilities)
        if len(probs) < 2:
            raise fail(owner, "arm_best_probabilities", f"{dict(probs)} has fewer than two arms",
                       "key it by every arm, control included")
        for arm, p in probs.items():
            probability(owner, f"arm_best_probabilities[{arm!r}]", p)
        if abs(sum(probs.values()) - 1.0) > 1e-6:
            raise fail(owner, "arm_best_probabilities", f"values sum to {sum(probs.values())}",
                       "normalise the per-draw best-arm frequencies so they sum to 1")
        set_field(self, "arm_best_probabilities", probs)

    @property
    def is_stable(self) -> bool:
        """Stability computed and at least ``STABILITY_CUTOFF``."""
        return self.stability_score == self.stability_score and self.stability_score >= STABILITY_CUTOFF


@dataclasses.dataclass(frozen=True)
class DiscoveryProvenance:
    """Where a registered segment came from: a compact snapshot of its discovery."""

    gate_estimate: float
    stability_score: float
    population_share: float
    discovered_at: datetime

    def __post_init__(self) -> None:
        owner = "DiscoveryProvenance"
        set_field(self, "gate_estimate", finite_float(owner, "gate_estimate", self.gate_estimate))
        set_field(self, "stability_score", nan_or_unit(owner, "stability_score", self.stability_score))
        set_field(self, "population_share", probability(owner, "population_share", self.population_share))
        instance(owner, "discovered_at", self.discovered_at, datetime)

    @classmethod
    def of(cls, segment: DiscoveredSegment, discovered_at: datetime) -> DiscoveryProvenance:
        return cls(segment.gate_estimate, segment.stability_score, segment.population_share,
                   discovered_at)


_SNAKE_CASE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")


@dataclasses.dataclass(frozen=True)
class RegisteredSegment:
    """A segment an operator reviewed and put in the registry.

    ``key`` is snake_case; ``provenance`` is None for a hand-written segment;
    ``lifecycle`` moves from "registered" to "deployed".
    """

    key: str
    rule: SegmentRule
    provenance: DiscoveryProvenance | None
    lifecycle: Literal["registered", "deployed"]

    def __post_init__(self) -> None:
        owner = "RegisteredSegment"
        if not isinstance(self.key, str) or not _SNAKE_CASE.match(self.key):
            raise fail(owner, "key", f"{self.key!r} is not snake_case",
                       "use lowercase words joined by underscores, e.g. 'high_value_mobile'")
        instance(owner, "rule", self.rule, SegmentRule)
        if self.provenance is not None:
            instance(owner, "provenance", self.provenance, DiscoveryProvenance)
        if self.lifecycle not in ("registered", "deployed"):
            raise fail(owner, "lifecycle", f"got {self.lifecycle!r}", "use 'registered' or 'deployed'")
