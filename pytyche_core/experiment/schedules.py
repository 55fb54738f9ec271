"""How many visitors each round gets, and how much of it the Control cell keeps.

Visitor schedules answer ``next_round_size(rounds_completed)``: the size of
the next round after that many completed rounds, or None when the schedule is
exhausted. ``FixedSchedule`` repeats one size; ``GeometricSchedule`` grows
it (round k gets ``n_base * ratio**k``, the batched-bandit doubling design:
few, growing batches); ``ExplicitSchedule`` lists the sizes.

Control-share schedules answer ``control_share(rounds_completed, tree)``:
the share of the next round the Control cell should keep before the floor
``min_control_weight`` applies. Early rounds keep much control (discovery);
as segments settle the control cell shrinks to a monitoring share.
``DecayingControlShare`` lists the shares round by round;
``StabilityControlShare`` moves from a start share to an end share as the
policy tree's segments become stable.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Protocol, runtime_checkable

from ..contracts import PolicyTreeResult
from ..contracts._checks import fail, finite_float, integer, probability, set_field


@runtime_checkable
class Schedule(Protocol):
    """Sizes rounds: ``next_round_size(rounds_completed)`` -> visitors, or None when exhausted."""

    def next_round_size(self, rounds_completed: int) -> int | None: ...

    @property
    def n_rounds(self) -> int | None: ...


def _completed(owner: str, rounds_completed: object) -> int:
    return integer(owner, "rounds_completed", rounds_completed, minimum=0)


@dataclasses.dataclass(frozen=True)
class FixedSchedule:
    """``n_visitors`` per round for ``rounds`` rounds (``rounds=None``: never exhausted)."""

    n_visitors: int
    rounds: int | None = None

    def __post_init__(self) -> None:
        set_field(self, "n_visitors", integer("FixedSchedule", "n_visitors", self.n_visitors, minimum=1))
        if self.rounds is not None:
            set_field(self, "rounds", integer("FixedSchedule", "rounds", self.rounds, minimum=1))

    @property
    def n_rounds(self) -> int | None:
        return self.rounds

    def next_round_size(self, rounds_completed: int) -> int | None:
        done = _completed("FixedSchedule", rounds_completed)
        return None if self.rounds is not None and done >= self.rounds else self.n_visitors


@dataclasses.dataclass(frozen=True)
class GeometricSchedule:
    """Round k (0-based) gets ``round(n_base * ratio**k)`` visitors, for ``rounds`` rounds.

    ``ratio`` >= 1 (2 doubles each round). At about 3% conversion keep
    ``n_base`` >= 5000: smaller first batches hold too few conversions for an
    informative first fit.
    """

    n_base: int
    ratio: float = 2.0
    rounds: int | None = None

    def __post_init__(self) -> None:
        owner = "GeometricSchedule"
        set_field(self, "n_base", integer(owner, "n_base", self.n_base, minimum=1))
        ratio = finite_float(owner, "ratio", self.ratio)
        if ratio < 1.0:
            raise fail(owner, "ratio", f"{ratio} < 1", "pass a growth factor >= 1 (2 doubles each round)")
        set_field(self, "ratio", ratio)
        if self.rounds is not None:
            set_field(self, "rounds", integer(owner, "rounds", self.rounds, minimum=1))

    @property
    def n_rounds(self) -> int | None:
        return self.rounds

    def next_round_size(self, rounds_completed: int) -> int | None:
        done = _completed("GeometricSchedule", rounds_completed)
        if self.rounds is not None and done >= self.rounds:
            return None
        return int(round(self.n_base * self.ratio ** done))


@dataclasses.dataclass(frozen=True)
class ExplicitSchedule:
    """The listed round sizes, in order; exhausted after the last, or (``repeat_last``) repeating it."""

    sizes: tuple[int, ...]
    repeat_last: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.sizes, (str, bytes)) or not hasattr(self.sizes, "__iter__"):
            raise fail("ExplicitSchedule", "sizes", f"got {self.sizes!r}", "pass a sequence of round sizes")
        sizes = tuple(integer("ExplicitSchedule", "sizes[]", s, minimum=1) for s in self.sizes)
        if not sizes:
            raise fail("ExplicitSchedule", "sizes", "empty", "list at least one round size")
        set_field(self, "sizes", sizes)

    @property
    def n_rounds(self) -> int | None:
        return None if self.repeat_last else len(self.sizes)

    def next_round_size(self, rounds_completed: int) -> int | None:
        done = _completed("ExplicitSchedule", rounds_completed)
        if done < len(self.sizes):
            return self.sizes[done]
        return self.sizes[-1] if self.repeat_last else None


def check_schedule(schedule: object) -> Schedule:
    """``schedule`` if it sizes rounds, else a TypeError naming the fix."""
    if not isinstance(schedule, Schedule):
        raise TypeError(f"schedule: expected FixedSchedule, GeometricSchedule or ExplicitSchedule (anything with "
                        f"next_round_size and n_rounds), got {type(schedule).__name__}.")
    return schedule


# -- the Control cell's share -------------------------------------------------------------------


@runtime_checkable
class ControlShareSchedule(Protocol):
    """``control_share(rounds_completed, tree)``: the Control cell's share of the next round."""

    def control_share(self, rounds_completed: int, tree: PolicyTreeResult | None) -> float: ...


@dataclasses.dataclass(frozen=True)
class DecayingControlShare:
    """The Control share of round 2, 3, ... in order (the last repeats), e.g. 0.5 -> 0.3 -> 0.1.

    Round 1 is the cold start (Control + Explore at 50/50); ``shares[0]`` is
    the Control share of the first round the policy tree routes.
    """

    shares: tuple[float, ...] = (0.5, 0.3, 0.1)

    def __post_init__(self) -> None:
        shares = tuple(probability("DecayingControlShare", "shares[]", s) for s in self.shares)
        if not shares:
            raise fail("DecayingControlShare", "shares", "empty", "list at least one share, e.g. (0.5, 0.3, 0.1)")
        set_field(self, "shares", shares)

    def control_share(self, rounds_completed: int, tree: PolicyTreeResult | None = None) -> float:
        done = _completed("DecayingControlShare", rounds_completed)
        return self.shares[min(max(done - 1, 0), len(self.shares) - 1)]


@dataclasses.dataclass(frozen=True)
class StabilityControlShare:
    """Control share driven by segment stability: ``start`` while nothing is stable, ``end`` when all is.

    The share interpolates linearly in the population share of visitors whose
    segment is stable (bootstrap stability >= the cutoff, see
    ``DiscoveredSegment.is_stable``). Stability not computed counts as unstable.
    """

    start: float = 0.5
    end: float = 0.1

    def __post_init__(self) -> None:
        set_field(self, "start", probability("StabilityControlShare", "start", self.start))
        set_field(self, "end", probability("StabilityControlShare", "end", self.end))
        if self.end > self.start:
            raise fail("StabilityControlShare", "end", f"{self.end} > start {self.start}",
                       "let the control share fall (or stay) as segments settle")

    def control_share(self, rounds_completed: int, tree: PolicyTreeResult | None = None) -> float:
        _completed("StabilityControlShare", rounds_completed)
        if tree is None:
            return self.start
        stable = math.fsum(s.population_share for s in tree.segments if s.is_stable)
        stable = min(max(stable, 0.0), 1.0)
        return self.start + (self.end - self.start) * stable


@dataclasses.dataclass(frozen=True)
class ConstantControlShare:
    """The same Control share every routed round (0 leaves only the floor ``min_control_weight``)."""

    share: float = 0.0

    def __post_init__(self) -> None:
        set_field(self, "share", probability("ConstantControlShare", "share", self.share))

    def control_share(self, rounds_completed: int, tree: PolicyTreeResult | None = None) -> float:
        _completed("ConstantControlShare", rounds_completed)
        return self.share


__all__ = ["ConstantControlShare", "ControlShareSchedule", "DecayingControlShare", "ExplicitSchedule",
           "FixedSchedule", "GeometricSchedule", "Schedule", "StabilityControlShare", "check_schedule"]
