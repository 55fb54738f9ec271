"""Segments as discovered by the policy tree, and as registered by an operator."""

from __future__ import annotations

import dataclasses
import re
from datetime import datetime
from typing import Literal

import numpy as np

from ._checks import (
    fail,
    finite_float,
    frozen_mapping,
    instance,
    integer,
    interval,
    nan_or_non_negative,
    nan_or_unit,
    probability,
    set_field,
)
from .rules import SegmentRule, apply_rule

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


@dataclasses.dataclass(frozen=True)
class DepthScore:
    """Cross-validated policy value of one candidate tree depth (metric units per visitor)."""

    depth: int
    value: float
    standard_error: float

    def __post_init__(self) -> None:
        set_field(self, "depth", integer("DepthScore", "depth", self.depth, minimum=0))
        set_field(self, "value", finite_float("DepthScore", "value", self.value))
        set_field(self, "standard_error", nan_or_non_negative("DepthScore", "standard_error",
                                                              self.standard_error))


@dataclasses.dataclass(frozen=True)
class PolicyTreeResult:
    """A fitted policy tree as readable segments and their allocation.

    ``segments`` partition the visitors (one per leaf; a root-only tree gives
    the catch-all). ``allocation_map[segment.id]`` maps every arm, control
    included, to its Thompson weight (summing to 1). ``depth_scores`` holds
    the cross-validated value of each candidate depth when the depth was
    chosen by ``max_depth="cv"``, else is empty. The fitted estimator itself
    is not exposed: ``assign`` routes visitors through the rules.
    """

    segments: list[DiscoveredSegment]
    allocation_map: dict[int, dict[str, float]]
    max_depth: int
    epsilon: float
    depth_scores: tuple[DepthScore, ...] = ()

    def __post_init__(self) -> None:
        owner = "PolicyTreeResult"
        if not isinstance(self.segments, (list, tuple)) or not self.segments:
            raise fail(owner, "segments", f"got {self.segments!r}", "pass one DiscoveredSegment per leaf")
        for s in self.segments:
            instance(owner, "segments[]", s, DiscoveredSegment)
        ids = [s.id for s in self.segments]
        if len(set(ids)) != len(ids):
            raise fail(owner, "segments", f"duplicate ids {ids}", "give each leaf its own id")
        if not isinstance(self.allocation_map, dict) or set(self.allocation_map) != set(ids):
            raise fail(owner, "allocation_map", f"keys {sorted(self.allocation_map)} != segment ids {sorted(ids)}",
                       "allocate every segment exactly once")
        frozen = {}
        for key, weights in self.allocation_map.items():
            w = frozen_mapping(owner, f"allocation_map[{key}]", weights)
            if abs(sum(w.values()) - 1.0) > 1e-6 or any(v < 0 for v in w.values()):
                raise fail(owner, f"allocation_map[{key}]", f"weights {dict(w)}", "use weights >= 0 summing to 1")
            frozen[key] = w
        set_field(self, "segments", list(self.segments))
        set_field(self, "allocation_map", frozen)
        set_field(self, "max_depth", integer(owner, "max_depth", self.max_depth, minimum=0))
        set_field(self, "epsilon", probability(owner, "epsilon", self.epsilon))
        for d in self.depth_scores:
            instance(owner, "depth_scores[]", d, DepthScore)
        set_field(self, "depth_scores", tuple(self.depth_scores))

    def segment(self, segment_id: int) -> DiscoveredSegment:
        for s in self.segments:
            if s.id == segment_id:
                return s
        raise KeyError(f"no segment with id {segment_id}. Fix: use one of {[s.id for s in self.segments]}.")

    def assign(self, visitors) -> np.ndarray:
        """Segment id of each visitor row, by the segments' rules; -1 where none matches.

        A visitor matches none only when it carries a category the tree never
        saw; route such visitors with the explore cell.
        """
        out = np.full(len(visitors), -1, dtype=np.int64)
        for s in self.segments:
            out[apply_rule(s.rule, visitors) & (out < 0)] = s.id
        return out
