"""The recommendation engine: this round's analysis -> the plan for the next round.

A thin composition of the posterior primitives: the policy tree
(``posterior.fit_policy_tree``, split only on assignable attributes), the
segment routing with its guardrail (``posterior.routing.route_segments``:
a segment leaves the pooled decision only on its own evidence), graduation
evidence (``posterior.recommendation_summary`` through a ``GraduationRule``)
and the decision for the best challenger (the analysis's recommendation).
Nothing here re-derives an allocation or a decision rule.

The proposed cells are Control (at least ``min_control_weight``, or the
control-share schedule's share) + Explore (``min_explore_weight``) +
Optimized (the rest, routed by the tree). ``cold_start_plan`` is round 1:
Control + Explore at 50/50.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence

import numpy as np

from ..contracts import AnalysisResult, PolicyTreeResult, RecommendationSummary
from ..contracts._checks import fail, integer, set_field
from ..posterior.routing import DEFAULT_GUARDRAIL, Guardrail, Routing, RoutingRule, route_segments
from . import prose
from .cells import (
    CONTROL_CELL,
    EXPLORE_CELL,
    OPTIMIZED_CELL,
    BaselinePolicy,
    Cell,
    TreePolicy,
    UniformPolicy,
    check_cells,
)
from .data import unusable_arms
from .graduation import ExpectedLossRule, GraduationCandidate, GraduationRule, graduation_candidates
from .history import Experiment
from .schedules import ControlShareSchedule, Schedule, check_schedule

#: Treatment-forest size bounds of ``next_fit_num_trees_tau`` (the BCF default is the floor).
TAU_TREES_BASE, TAU_TREES_MAX = 50, 200
_REFERENCE_N = 50_000


@dataclasses.dataclass(frozen=True, eq=False)
class NextRoundPlan:
    """The engine's proposal for the next round; the operator may accept, edit or replace its cells.

    - ``n_visitors``: the schedule's next size, None when it is exhausted.
    - ``cells``: the proposed cells (weights sum to 1).
    - ``treatments``: the arms active in the next round, control first.
    - ``dropped_treatments``: treatments out of the experiment (disjoint from ``treatments``).
    - ``graduation_candidates``: pairs that met the graduation rule; they stay active.
    - ``prose_summary``: the rationale in plain words (deterministic).
    - ``tree`` / ``routing``: the round's policy tree and its segment routes (None at cold start).
    - ``rounds_completed``: rounds behind this plan (0 at cold start).
    - ``decision``: SHIP / CONTINUE / STOP for the best challenger (None at cold start).
    - ``fit_num_trees_tau``: the suggested treatment-forest size for the next fit.
    """

    n_visitors: int | None
    cells: list[Cell]
    treatments: list[str]
    dropped_treatments: list[str]
    graduation_candidates: list[GraduationCandidate]
    prose_summary: str
    tree: PolicyTreeResult | None = None
    routing: Routing | None = None
    rounds_completed: int = 0
    decision: RecommendationSummary | None = None
    fit_num_trees_tau: int | None = None

    def __post_init__(self) -> None:
        owner = "NextRoundPlan"
        if self.n_visitors is not None:
            set_field(self, "n_visitors", integer(owner, "n_visitors", self.n_visitors, minimum=1))
        set_field(self, "cells", list(check_cells(self.cells)))
        if len(self.treatments) < 1:
            raise fail(owner, "treatments", "empty", "list the active arms, control first")
        overlap = set(self.treatments) & set(self.dropped_treatments)
        if overlap:
            raise fail(owner, "dropped_treatments", f"{sorted(overlap)} are also active", "keep the two disjoint")
        if (self.tree is None) != (self.routing is None):
            raise fail(owner, "routing", "given without its tree (or the reverse)", "pass both or neither")

    @property
    def control(self) -> str:
        return self.treatments[0]

    def targeting_policy(self) -> TreePolicy | None:
        """What shipping this plan means: every segment wholly on its routed arm (None at cold start)."""
        if self.tree is None or self.routing is None:
            return None
        return TreePolicy(self.tree, self.routing.allocation_map, self.routing.pooled_allocation).decisive(
            self.routing.route_map, self.routing.pooled_arm)

    def cell(self, name: str) -> Cell:
        for c in self.cells:
            if c.name == name:
                return c
        raise KeyError(f"no cell {name!r} in this plan. Fix: use one of {[c.name for c in self.cells]}.")


def check_floors(min_control_weight: float, min_explore_weight: float) -> None:
    """Each floor in [0, 1], and together below 1 (the optimized cell needs room); ValueError otherwise."""
    for name, value in (("min_control_weight", min_control_weight), ("min_explore_weight", min_explore_weight)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
            raise ValueError(f"{name} must be in [0, 1], got {value!r}.")
    if min_control_weight + min_explore_weight >= 1.0:
        raise ValueError(f"min_control_weight + min_explore_weight = {min_control_weight + min_explore_weight} "
                         ">= 1 leaves nothing for the optimized cell. Fix: lower the floors (defaults 0.05 each).")


def cold_start_plan(treatments: Sequence[str], n_visitors: int | None) -> NextRoundPlan:
    """Round 1: Control + Explore at 50/50 (no posterior yet, so no Optimized cell).

    ``treatments`` is the experiment's whole arm list, control first.
    """
    treatments = list(treatments)
    if len(treatments) < 2 or len(set(treatments)) != len(treatments):
        raise ValueError(f"cold_start_plan: treatments {treatments} must list >= 2 distinct arms, control first.")
    cells = [Cell(CONTROL_CELL, 0.5, BaselinePolicy()), Cell(EXPLORE_CELL, 0.5, UniformPolicy())]
    return NextRoundPlan(n_visitors, cells, treatments, [], [], prose.cold_start(treatments, n_visitors))


def detect_dropped_treatments(allocation_history: Sequence[Mapping[int, Mapping[str, float]]],
                              treatments: Sequence[str], *, epsilon: float = 0.02,
                              sustained_rounds: int = 2) -> list[str]:
    """Treatments whose allocation stayed at or below ``epsilon`` in every segment for the last rounds.

    ``allocation_history``: per round ``{segment id: {arm: weight}}``,
    oldest first; an arm missing from a segment counts as 0. Returns names in
    ``treatments`` order; empty while the history is shorter than ``sustained_rounds``.
    """
    sustained_rounds = integer("detect_dropped_treatments", "sustained_rounds", sustained_rounds, minimum=1)
    if len(allocation_history) < sustained_rounds:
        return []
    recent = allocation_history[-sustained_rounds:]
    return [t for t in treatments
            if all(weights.get(t, 0.0) <= epsilon for alloc in recent for weights in alloc.values())]


def next_fit_num_trees_tau(posterior, tree_result: PolicyTreeResult, cumulative_n: int) -> int:
    """The next fit's treatment-forest size from this round's evidence.

    Our rule (the specification leaves the formula open): keep the BCF
    default of 50 trees while the posterior shows no heterogeneity (sd of
    the posterior-mean effects 0); otherwise grow with the number of features
    the policy tree splits on, d (at least 1), and slowly with the data:
    ``50 * sqrt(d) * clip((n / 50k)^(1/4), 1, 2)``, rounded to tens, at most 200.
    """
    cumulative_n = integer("next_fit_num_trees_tau", "cumulative_n", cumulative_n, minimum=1)
    means = posterior.cate_samples.mean(axis=1, dtype=np.float64)
    if not np.isfinite(means).all() or float(means.std()) <= 0.0:
        return TAU_TREES_BASE
    d = max(1, len({f for s in tree_result.segments for f in s.rule.features}))
    growth = min(max((cumulative_n / _REFERENCE_N) ** 0.25, 1.0), 2.0)
    trees = int(round(TAU_TREES_BASE * math.sqrt(d) * growth / 10.0)) * 10
    return int(min(max(trees, TAU_TREES_BASE), TAU_TREES_MAX))


def _cells(routing: Routing, tree: PolicyTreeResult, active: list[str], every_arm: list[str],
           control_weight: float, explore_weight: float) -> list[Cell]:
    # Explore randomises over the active arms only: a dropped arm gets no traffic from any cell.
    explore_arms = None if active == every_arm else tuple(active)
    cells = [Cell(CONTROL_CELL, control_weight, BaselinePolicy()),
             Cell(EXPLORE_CELL, explore_weight, UniformPolicy(explore_arms))]
    optimized = 1.0 - control_weight - explore_weight
    if optimized > 1e-12:
        cells.append(Cell(OPTIMIZED_CELL, optimized,
                          TreePolicy(tree, routing.allocation_map, routing.pooled_allocation)))
    return cells


def _prose(plan_cells: list[Cell], n_visitors: int | None, routing: Routing, tree: PolicyTreeResult,
           posterior, decision: RecommendationSummary, candidates: list[GraduationCandidate],
           newly: list[str], before: list[str]) -> str:
    control = posterior.observed.control_name
    pooled = routing.pooled_arm
    if pooled == control:
        lift, ci = 0.0, (0.0, 0.0)
    else:
        comparison = posterior.compare(pooled)
        lift, ci = float(comparison.lift_samples.mean()), comparison.lift_ci
    p_best = routing.pooled_best_probabilities[pooled]
    lines = []
    for segment in sorted(tree.segments, key=lambda s: s.id):
        route = next(r for r in routing.routes if r.segment_id == segment.id)
        lines.append(prose.segment_line(segment.id, segment.rule.description or "everyone",
                                        segment.population_share, route.arm, route.source, route.own_best_arm,
                                        route.p_own_best, route.expected_loss_of_deviating,
                                        routing.expected_loss_tolerance, route.vetoed_arms))
    vetoes = [f"segment {sid}: {', '.join(arms)}" for sid, arms in sorted(routing.vetoes.items())]
    if routing.pooled_vetoed_arms:
        vetoes.insert(0, f"everyone: {', '.join(routing.pooled_vetoed_arms)}")
    paragraphs = [
        prose.cells_paragraph(n_visitors, [(c.name, c.weight, c.policy.describe()) for c in plan_cells]),
        prose.pooled_paragraph(pooled, control, lift, ci, p_best),
        prose.segments_paragraph(lines if len(tree.segments) > 1 else []),
        prose.decision_paragraph(decision.treatment, decision.decision.value, decision.probability_positive,
                                 decision.expected_loss_comparison, decision.expected_value_of_one_more_round),
    ]
    if routing.guardrail is not None:
        paragraphs.append(prose.guardrail_paragraph(routing.guardrail.metric, routing.guardrail_tolerance,
                                                    routing.guardrail.probability_threshold, vetoes))
    paragraphs.append(prose.graduation_paragraph(
        [(c.treatment, c.segment.rule.description or "everyone", c.sustained_rounds) for c in candidates]))
    paragraphs.append(prose.dropped_paragraph(newly, before))
    return prose.join(paragraphs)


def recommend(analysis: AnalysisResult, *, history: Sequence[Experiment], treatments: Sequence[str],
              schedule: Schedule, min_control_weight: float = 0.05, min_explore_weight: float = 0.05,
              max_segment_depth: int | str = 2, min_segment_share: float = 0.1,
              graduation_rule: GraduationRule | None = None, seed: int = 0, epsilon: float = 0.1,
              n_bootstrap: int = 50, control_share: ControlShareSchedule | None = None,
              assignable_attributes: Sequence[str] | None = None, guardrail: Guardrail | None = DEFAULT_GUARDRAIL,
              routing_rule: RoutingRule | None = None, dropped: Sequence[str] = (),
              drop_starved: bool = True) -> NextRoundPlan:
    """Build the next round's ``NextRoundPlan`` from this round's analysis (see the module docstring).

    ``history``: earlier rounds, oldest first (not this one). ``treatments``:
    every arm of the experiment, control first. ``dropped``: treatments
    already out. ``assignable_attributes``: the features the storefront can
    evaluate at assignment time; the tree splits only on those (None: all).
    Raises ValueError for an arm with no data that is not dropped, and when
    the floors leave nothing for the Optimized cell.
    """
    check_floors(min_control_weight, min_explore_weight)
    schedule = check_schedule(schedule)
    if not isinstance(analysis, AnalysisResult):
        raise TypeError(f"recommend: expected the round's AnalysisResult, got {type(analysis).__name__}.")
    posterior = analysis.posterior
    observed = getattr(posterior, "observed", None)
    if observed is None:
        raise ValueError("recommend: the analysis's posterior carries no observed data. Fix: analyse a fit made "
                         "by pt.fit (it keeps the data it was fit on).")
    treatments, dropped = list(treatments), list(dict.fromkeys(dropped))
    if not treatments or treatments[0] != observed.control_name:
        raise ValueError(f"recommend: treatments {treatments} must start with the control arm "
                         f"{observed.control_name!r}.")
    missing = [a for a in treatments if a not in observed.arm_names and a not in dropped]
    empty = [a for a in unusable_arms(observed) if a not in dropped]
    if missing or empty:
        raise ValueError(f"recommend: arm(s) {missing + empty} have no data to estimate from, so they can be "
                         "neither recommended nor given traffic. Fix: collect data for them, or drop them "
                         "explicitly (dropped=[...], or on_empty_arm='drop' in pt.sequential_experiment).")
    rounds_completed = len(history) + 1
    tree = posterior.fit_policy_tree(max_segment_depth, min_segment_share, n_bootstrap, seed, epsilon=epsilon,
                                     features=assignable_attributes)
    excluded = tuple(a for a in dropped if a in observed.arm_names)
    routing = route_segments(posterior, tree, rule=routing_rule, guardrail=guardrail, epsilon=epsilon,
                             excluded_arms=excluded)
    newly: list[str] = []
    if drop_starved:
        past = [h.plan.routing.allocation_map for h in history if h.plan is not None and h.plan.routing is not None]
        starved_at = epsilon / observed.n_arms * (1.0 + 1e-6) + 1e-12  # an arm at its Thompson floor
        active = [a for a in observed.treatment_names if a not in dropped]
        newly = detect_dropped_treatments([*past, routing.allocation_map], active, epsilon=starved_at)
        if newly and len(newly) == len(active):  # never drop the last treatment: keep the pooled favourite
            keep = routing.pooled_arm if routing.pooled_arm in newly else newly[0]
            newly = [a for a in newly if a != keep]
        if newly:
            routing = route_segments(posterior, tree, rule=routing_rule, guardrail=guardrail, epsilon=epsilon,
                                     excluded_arms=excluded + tuple(newly))
    all_dropped = [*dropped, *newly]
    active_arms = [a for a in treatments if a not in all_dropped]
    share = 0.0 if control_share is None else float(control_share.control_share(rounds_completed, tree))
    control_weight = max(min_control_weight, share)
    if control_weight + min_explore_weight > 1.0:
        raise ValueError(f"recommend: a control share of {control_weight} plus min_explore_weight "
                         f"{min_explore_weight} exceeds 1. Fix: lower the control-share schedule.")
    cells = _cells(routing, tree, active_arms, treatments, control_weight, min_explore_weight)
    n_visitors = schedule.next_round_size(rounds_completed)
    rule = ExpectedLossRule() if graduation_rule is None else graduation_rule
    if not isinstance(rule, GraduationRule):
        raise TypeError(f"graduation_rule: expected a GraduationRule, got {type(rule).__name__}.")
    candidates = graduation_candidates(rule, active_arms[1:], tree.segments,
                                       [*history, Experiment.provisional(posterior, rounds_completed)])
    cumulative_n = observed.n_visitors + (n_visitors or 0)
    summary = _prose(cells, n_visitors, routing, tree, posterior, analysis.recommendation, candidates, newly,
                     list(dropped))
    return NextRoundPlan(n_visitors=n_visitors, cells=cells, treatments=active_arms, dropped_treatments=all_dropped,
                         graduation_candidates=candidates, prose_summary=summary, tree=tree, routing=routing,
                         rounds_completed=rounds_completed, decision=analysis.recommendation,
                         fit_num_trees_tau=next_fit_num_trees_tau(posterior, tree, cumulative_n))


__all__ = ["NextRoundPlan", "TAU_TREES_BASE", "check_floors", "cold_start_plan", "detect_dropped_treatments",
           "next_fit_num_trees_tau", "recommend"]
