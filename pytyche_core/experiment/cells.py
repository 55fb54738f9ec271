"""Cells: the round's traffic split into weighted cells, each with an assignment policy.

A round ships a list of ``Cell(name, weight, policy)`` whose weights sum to 1.
Each visitor falls into one cell (drawn with the cells' weights) and that
cell's policy draws the visitor's arm. Policies:

- ``BaselinePolicy``: one arm for everyone (control by default): the clean baseline.
- ``UniformPolicy``: every active arm with equal probability: a plain RCT.
- ``TreePolicy``: routes each visitor by the segment its features fall in,
  then draws the arm from that segment's allocation.
- ``HypothesisPolicy``: an operator's rule -> arm map (first matching rule wins).

What is recorded for every visitor (``assign_to_cells``) is the probability
the *whole design* gave each arm, ``sum_c weight_c * P_c(arm | x)``, not the
probability inside the visitor's own cell: cell membership is itself random,
so the mixture is the visitor's true assignment probability, and that is what
every later fit (the prognostic forest) and every doubly-robust value needs.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Protocol, runtime_checkable

import numpy as np
import pandas as pd

from ..contracts import PolicyTreeResult, SegmentRule, apply_rule
from ..contracts._checks import fail, instance, non_empty_str, probability, set_field
from ..simulate.config import AssignmentPlan
from ..simulate.observe import draw_arms

#: Names of the three cells the recommendation engine proposes.
CONTROL_CELL, EXPLORE_CELL, OPTIMIZED_CELL = "control", "explore", "optimized"


@runtime_checkable
class Policy(Protocol):
    """Assignment probabilities ``(n, K)`` of ``visitors`` over ``arms`` (control first)."""

    def probabilities(self, visitors: pd.DataFrame, arms: Sequence[str]) -> np.ndarray: ...

    def describe(self) -> str: ...


def _arm_position(owner: str, arm: str, arms: Sequence[str]) -> int:
    if arm not in arms:
        raise ValueError(f"{owner}: arm {arm!r} is not among the experiment's arms {list(arms)}. "
                         "Fix: name one of them.")
    return list(arms).index(arm)


@dataclasses.dataclass(frozen=True)
class BaselinePolicy:
    """Everyone gets ``arm`` (None: the control arm, the first of ``arms``)."""

    arm: str | None = None

    def __post_init__(self) -> None:
        if self.arm is not None:
            non_empty_str("BaselinePolicy", "arm", self.arm)

    def probabilities(self, visitors: pd.DataFrame, arms: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(visitors), len(arms)))
        out[:, 0 if self.arm is None else _arm_position("BaselinePolicy", self.arm, arms)] = 1.0
        return out

    def describe(self) -> str:
        return "everyone on control" if self.arm is None else f"everyone on {self.arm}"


@dataclasses.dataclass(frozen=True)
class UniformPolicy:
    """Each of ``arms`` (None: every arm of the experiment, control included) with equal probability."""

    arms: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.arms is not None:
            arms = tuple(non_empty_str("UniformPolicy", "arms[]", a) for a in self.arms)
            if len(arms) < 1 or len(set(arms)) != len(arms):
                raise fail("UniformPolicy", "arms", f"got {arms}", "list distinct arm names")
            set_field(self, "arms", arms)

    def probabilities(self, visitors: pd.DataFrame, arms: Sequence[str]) -> np.ndarray:
        chosen = range(len(arms)) if self.arms is None else [_arm_position("UniformPolicy", a, arms)
                                                              for a in self.arms]
        vector = np.zeros(len(arms))
        vector[list(chosen)] = 1.0 / len(list(chosen))
        return np.broadcast_to(vector, (len(visitors), len(arms))).copy()

    def describe(self) -> str:
        return "uniform over every arm" if self.arms is None else f"uniform over {', '.join(self.arms)}"


def _weights(owner: str, field: str, weights: Mapping[str, float]) -> dict[str, float]:
    if not isinstance(weights, Mapping) or not weights:
        raise fail(owner, field, f"got {weights!r}", "pass {arm name: weight}")
    out = {non_empty_str(owner, f"{field} key", k): probability(owner, f"{field}[{k!r}]", v)
           for k, v in weights.items()}
    if abs(math.fsum(out.values()) - 1.0) > 1e-6:
        raise fail(owner, field, f"weights sum to {math.fsum(out.values())}", "make them sum to 1")
    return out


def _weight_vector(owner: str, weights: Mapping[str, float], arms: Sequence[str]) -> np.ndarray:
    vector = np.zeros(len(arms))
    for arm, w in weights.items():
        if w > 0:
            vector[_arm_position(owner, arm, arms)] = w
    return vector / vector.sum()


@dataclasses.dataclass(frozen=True)
class TreePolicy:
    """Route by segment, then draw the arm from the segment's allocation.

    ``tree`` gives the segments (their rules) and ``allocation`` maps each
    segment id to ``{arm: weight}`` (weights sum to 1; arms left out get 0).
    Visitors no segment rule selects (a category the tree never saw) get
    ``fallback``, the pooled allocation.
    """

    tree: PolicyTreeResult
    allocation: Mapping[int, Mapping[str, float]]
    fallback: Mapping[str, float]

    def __post_init__(self) -> None:
        owner = "TreePolicy"
        instance(owner, "tree", self.tree, PolicyTreeResult)
        ids = {s.id for s in self.tree.segments}
        if not isinstance(self.allocation, Mapping) or set(self.allocation) != ids:
            raise fail(owner, "allocation", f"keys {sorted(self.allocation)} != segment ids {sorted(ids)}",
                       "allocate every segment of the tree exactly once")
        set_field(self, "allocation", {k: _weights(owner, f"allocation[{k}]", v)
                                       for k, v in sorted(self.allocation.items())})
        set_field(self, "fallback", _weights(owner, "fallback", self.fallback))

    def segment_of(self, visitors: pd.DataFrame) -> np.ndarray:
        """Segment id of each visitor (-1: none matches, routed by ``fallback``)."""
        return self.tree.assign(visitors)

    def probabilities(self, visitors: pd.DataFrame, arms: Sequence[str]) -> np.ndarray:
        segment = self.segment_of(visitors)
        out = np.broadcast_to(_weight_vector("TreePolicy", self.fallback, arms), (len(visitors), len(arms))).copy()
        for sid, weights in self.allocation.items():
            out[segment == sid] = _weight_vector("TreePolicy", weights, arms)
        return out

    def decisive(self, routes: Mapping[int, str], fallback_arm: str) -> TreePolicy:
        """The same segments with every segment sent wholly to its arm in ``routes`` (what shipping means)."""
        return TreePolicy(self.tree, {sid: {routes[sid]: 1.0} for sid in self.allocation}, {fallback_arm: 1.0})

    def describe(self) -> str:
        return f"policy tree with {len(self.tree.segments)} segment(s)"


@dataclasses.dataclass(frozen=True)
class HypothesisPolicy:
    """An operator's hypothesis: visitors matching ``routes[i][0]`` get arm ``routes[i][1]``.

    The first matching rule wins; visitors matching none get ``otherwise``
    (None: control).
    """

    routes: tuple[tuple[SegmentRule, str], ...]
    otherwise: str | None = None

    def __post_init__(self) -> None:
        owner = "HypothesisPolicy"
        if isinstance(self.routes, Mapping) or not isinstance(self.routes, (list, tuple)) or not self.routes:
            raise fail(owner, "routes", f"got {self.routes!r}", "pass ((SegmentRule, arm name), ...)")
        routes = []
        for i, item in enumerate(self.routes):
            if not isinstance(item, (list, tuple)) or len(item) != 2:
                raise fail(owner, f"routes[{i}]", f"got {item!r}", "pass a (SegmentRule, arm name) pair")
            routes.append((instance(owner, f"routes[{i}][0]", item[0], SegmentRule),
                           non_empty_str(owner, f"routes[{i}][1]", item[1])))
        set_field(self, "routes", tuple(routes))
        if self.otherwise is not None:
            non_empty_str(owner, "otherwise", self.otherwise)

    def probabilities(self, visitors: pd.DataFrame, arms: Sequence[str]) -> np.ndarray:
        n = len(visitors)
        out = np.zeros((n, len(arms)))
        unrouted = np.ones(n, dtype=bool)
        for rule, arm in self.routes:
            hit = apply_rule(rule, visitors) & unrouted
            out[hit, _arm_position("HypothesisPolicy", arm, arms)] = 1.0
            unrouted &= ~hit
        default = 0 if self.otherwise is None else _arm_position("HypothesisPolicy", self.otherwise, arms)
        out[unrouted, default] = 1.0
        return out

    def describe(self) -> str:
        parts = [f"{rule.description} -> {arm}" for rule, arm in self.routes]
        return "; ".join(parts) + f"; otherwise {self.otherwise or 'control'}"


@dataclasses.dataclass(frozen=True)
class Cell:
    """A share ``weight`` of the round's visitors, assigned by ``policy``."""

    name: str
    weight: float
    policy: Policy

    def __post_init__(self) -> None:
        non_empty_str("Cell", "name", self.name)
        set_field(self, "weight", probability("Cell", "weight", self.weight))
        if not isinstance(self.policy, Policy):
            raise fail("Cell", "policy", f"got {type(self.policy).__name__}",
                       "pass BaselinePolicy, UniformPolicy, TreePolicy or HypothesisPolicy")


def check_cells(cells: Sequence[Cell], *, min_control_weight: float = 0.0,
                min_explore_weight: float = 0.0) -> tuple[Cell, ...]:
    """The cells as a tuple, after checking names, weights and the floors.

    Weights must sum to 1; the ``BaselinePolicy`` cells on control together
    hold at least ``min_control_weight`` and the ``UniformPolicy`` cells at
    least ``min_explore_weight``. Raises ValueError naming the fix.
    """
    if isinstance(cells, Cell) or not isinstance(cells, (list, tuple)) or not cells:
        raise ValueError("cells: pass a non-empty list of Cell(name, weight, policy).")
    for c in cells:
        if not isinstance(c, Cell):
            raise TypeError(f"cells: expected Cell objects, got {type(c).__name__}.")
    names = [c.name for c in cells]
    if len(set(names)) != len(names):
        raise ValueError(f"cells: duplicate names {names}. Fix: give every cell its own name (it is recorded "
                         "per visitor in the `cell` column).")
    total = math.fsum(c.weight for c in cells)
    if abs(total - 1.0) > 1e-6:
        raise ValueError(f"cells: weights sum to {total:.6f}. Fix: make the cell weights sum to 1.")
    control = math.fsum(c.weight for c in cells if isinstance(c.policy, BaselinePolicy) and c.policy.arm is None)
    explore = math.fsum(c.weight for c in cells if isinstance(c.policy, UniformPolicy))
    if control < min_control_weight - 1e-9:
        raise ValueError(f"cells: the control cell(s) hold {control:.3f} of the traffic, below "
                         f"min_control_weight={min_control_weight}. Fix: give a BaselinePolicy cell at least that "
                         "weight, or lower the floor deliberately.")
    if explore < min_explore_weight - 1e-9:
        raise ValueError(f"cells: the explore cell(s) hold {explore:.3f} of the traffic, below "
                         f"min_explore_weight={min_explore_weight}. Fix: give a UniformPolicy cell at least that "
                         "weight, or lower the floor deliberately.")
    return tuple(cells)


def mixture_probabilities(cells: Sequence[Cell], visitors: pd.DataFrame, arms: Sequence[str]) -> np.ndarray:
    """Each visitor's probability of each arm under the whole design: ``sum_c w_c P_c`` ``(n, K)``."""
    out = np.zeros((len(visitors), len(arms)))
    for cell in cells:
        if cell.weight > 0:
            out += cell.weight * cell.policy.probabilities(visitors, arms)
    return out


def assign_to_cells(cells: Sequence[Cell], visitors: pd.DataFrame, arms: Sequence[str],
                    rng: np.random.Generator) -> AssignmentPlan:
    """Draw each visitor's cell (by weight), then its arm from that cell's policy.

    Returns an ``AssignmentPlan``: ``arms`` ``(n,)``, the mixture
    probabilities ``(n, K)`` (what is recorded as the propensities) and the
    cell name of every visitor.
    """
    cells = check_cells(cells)
    n = len(visitors)
    weights = np.array([c.weight for c in cells])
    cell_index = rng.choice(len(cells), size=n, p=weights / weights.sum())
    # Each policy's probabilities once over every visitor: the mixture needs them all anyway.
    per_cell = np.stack([c.policy.probabilities(visitors, arms) for c in cells])  # (cells, n, K)
    arm_of = draw_arms(per_cell[cell_index, np.arange(n)], rng)
    mixture = np.einsum("c,cnk->nk", weights, per_cell)
    mixture = mixture / mixture.sum(axis=1, keepdims=True)
    names = np.array([c.name for c in cells], dtype=object)[cell_index]
    return AssignmentPlan(probabilities=mixture, arms=arm_of, cells=names)


__all__ = ["CONTROL_CELL", "EXPLORE_CELL", "OPTIMIZED_CELL", "BaselinePolicy", "Cell", "HypothesisPolicy",
           "Policy", "TreePolicy", "UniformPolicy", "assign_to_cells", "check_cells", "mixture_probabilities"]
