"""A round's plan as JSON and back: what a pipeline stores between rounds.

``plan_to_json(plan)`` gives a plain dict ``json.dumps`` accepts: the cells
with their policies (a tree policy carries its segments, rules as JSON
conditions, allocations and fallback), the routes, the treatments, the
decision and the prose. ``plan_from_json`` rebuilds a ``NextRoundPlan``
whose cells assign exactly as the original's. The posterior-side detail of
the routing (per-segment evidence) is kept as data under ``"routes"``;
graduation candidates are kept as (treatment, segment id, rounds held).
Reading is fail-closed: an unknown policy kind or version is an error.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ..contracts import DiscoveredSegment, PolicyTreeResult
from ..posterior.routing import Guardrail, Routing, SegmentRoute
from ..segments.json_condition import rule_from_json, rule_to_json
from .cells import BaselinePolicy, Cell, HypothesisPolicy, TreePolicy, UniformPolicy
from .recommendation import NextRoundPlan

PLAN_JSON_VERSION = 1


def _nan_safe(value: float) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


def _segment_to_json(segment: DiscoveredSegment) -> dict[str, Any]:
    return {"id": segment.id, "rule": rule_to_json(segment.rule), "gate_estimate": segment.gate_estimate,
            "gate_ci": list(segment.gate_ci), "population_share": segment.population_share,
            "stability_score": _nan_safe(segment.stability_score),
            "arm_best_probabilities": dict(segment.arm_best_probabilities)}


def _segment_from_json(payload: Mapping[str, Any]) -> DiscoveredSegment:
    stability = payload["stability_score"]
    return DiscoveredSegment(int(payload["id"]), rule_from_json(payload["rule"]), payload["gate_estimate"],
                             tuple(payload["gate_ci"]), payload["population_share"],
                             math.nan if stability is None else stability, dict(payload["arm_best_probabilities"]))


def tree_to_json(tree: PolicyTreeResult) -> dict[str, Any]:
    return {"segments": [_segment_to_json(s) for s in tree.segments],
            "allocation_map": {str(k): dict(v) for k, v in tree.allocation_map.items()},
            "max_depth": tree.max_depth, "epsilon": tree.epsilon}


def tree_from_json(payload: Mapping[str, Any]) -> PolicyTreeResult:
    return PolicyTreeResult([_segment_from_json(s) for s in payload["segments"]],
                            {int(k): dict(v) for k, v in payload["allocation_map"].items()},
                            int(payload["max_depth"]), float(payload["epsilon"]))


def _policy_to_json(policy) -> dict[str, Any]:
    if isinstance(policy, BaselinePolicy):
        return {"kind": "baseline", "arm": policy.arm}
    if isinstance(policy, UniformPolicy):
        return {"kind": "uniform", "arms": None if policy.arms is None else list(policy.arms)}
    if isinstance(policy, TreePolicy):
        return {"kind": "tree", "tree": tree_to_json(policy.tree),
                "allocation": {str(k): dict(v) for k, v in policy.allocation.items()},
                "fallback": dict(policy.fallback)}
    if isinstance(policy, HypothesisPolicy):
        return {"kind": "hypothesis", "routes": [{"rule": rule_to_json(r), "arm": a} for r, a in policy.routes],
                "otherwise": policy.otherwise}
    raise TypeError(f"plan_to_json: no JSON form for a {type(policy).__name__} policy. Fix: use one of the "
                    "built-in policies (baseline, uniform, tree, hypothesis).")


def _policy_from_json(payload: Mapping[str, Any]):
    kind = payload.get("kind")
    if kind == "baseline":
        return BaselinePolicy(payload["arm"])
    if kind == "uniform":
        return UniformPolicy(None if payload["arms"] is None else tuple(payload["arms"]))
    if kind == "tree":
        return TreePolicy(tree_from_json(payload["tree"]),
                          {int(k): dict(v) for k, v in payload["allocation"].items()}, dict(payload["fallback"]))
    if kind == "hypothesis":
        return HypothesisPolicy(tuple((rule_from_json(r["rule"]), r["arm"]) for r in payload["routes"]),
                                payload["otherwise"])
    raise ValueError(f"plan JSON: unknown policy kind {kind!r}. Fix: use baseline, uniform, tree or hypothesis.")


def plan_to_json(plan: NextRoundPlan) -> dict[str, Any]:
    """The plan as a JSON-serialisable dict (see the module docstring)."""
    routing = plan.routing
    return {
        "version": PLAN_JSON_VERSION, "n_visitors": plan.n_visitors, "rounds_completed": plan.rounds_completed,
        "treatments": list(plan.treatments), "dropped_treatments": list(plan.dropped_treatments),
        "cells": [{"name": c.name, "weight": c.weight, "policy": _policy_to_json(c.policy)} for c in plan.cells],
        "tree": None if plan.tree is None else tree_to_json(plan.tree),
        "pooled_arm": None if routing is None else routing.pooled_arm,
        "pooled_allocation": None if routing is None else dict(routing.pooled_allocation),
        "pooled_best_probabilities": None if routing is None else dict(routing.pooled_best_probabilities),
        "expected_loss_tolerance": None if routing is None else routing.expected_loss_tolerance,
        "p_best_threshold": None if routing is None else routing.p_best_threshold,
        "guardrail": None if routing is None or routing.guardrail is None else {
            "metric": routing.guardrail.metric, "relative_tolerance": routing.guardrail.relative_tolerance,
            "probability_threshold": routing.guardrail.probability_threshold,
            "tolerance": routing.guardrail_tolerance},
        "pooled_vetoed_arms": [] if routing is None else list(routing.pooled_vetoed_arms),
        "routes": [] if routing is None else [
            {"segment_id": r.segment_id, "arm": r.arm, "own_best_arm": r.own_best_arm, "source": r.source,
             "expected_loss_of_deviating": r.expected_loss_of_deviating, "p_own_best": r.p_own_best,
             "allocation": dict(r.allocation), "vetoed_arms": list(r.vetoed_arms),
             "guardrail_drop_probability": dict(r.guardrail_drop_probability)} for r in routing.routes],
        "decision": None if plan.decision is None else {
            "treatment": plan.decision.treatment, "decision": plan.decision.decision.value,
            "probability_positive": plan.decision.probability_positive,
            "expected_loss_comparison": plan.decision.expected_loss_comparison},
        "graduation_candidates": [{"treatment": g.treatment, "segment_id": g.segment.id,
                                   "sustained_rounds": g.sustained_rounds} for g in plan.graduation_candidates],
        "fit_num_trees_tau": plan.fit_num_trees_tau,
        "prose_summary": plan.prose_summary,
    }


def plan_from_json(payload: Mapping[str, Any]) -> NextRoundPlan:
    """A ``NextRoundPlan`` whose cells assign as the stored plan's did, with its tree and routing.

    Graduation candidates stay in the JSON (``payload["graduation_candidates"]``:
    treatment, segment id, rounds held); the decision is summarised there too.
    """
    if not isinstance(payload, Mapping) or payload.get("version") != PLAN_JSON_VERSION:
        raise ValueError(f"plan JSON: expected a dict with version {PLAN_JSON_VERSION}, got "
                         f"{payload.get('version') if isinstance(payload, Mapping) else type(payload).__name__!r}. "
                         "Fix: read a plan written by plan_to_json.")
    cells = [Cell(c["name"], c["weight"], _policy_from_json(c["policy"])) for c in payload["cells"]]
    tree = None if payload["tree"] is None else tree_from_json(payload["tree"])
    return NextRoundPlan(n_visitors=payload["n_visitors"], cells=cells, treatments=list(payload["treatments"]),
                         dropped_treatments=list(payload["dropped_treatments"]), graduation_candidates=[],
                         prose_summary=payload["prose_summary"], tree=tree,
                         routing=None if tree is None else _routing_from_json(payload),
                         rounds_completed=payload["rounds_completed"], fit_num_trees_tau=payload["fit_num_trees_tau"])


def _routing_from_json(payload: Mapping[str, Any]) -> Routing:
    guard = payload["guardrail"]
    guardrail = None if guard is None else Guardrail(guard["metric"], guard["relative_tolerance"],
                                                     guard["probability_threshold"])
    routes = tuple(SegmentRoute(
        segment_id=int(r["segment_id"]), arm=r["arm"], own_best_arm=r["own_best_arm"], source=r["source"],
        expected_loss_of_deviating=r["expected_loss_of_deviating"], p_own_best=r["p_own_best"],
        allocation=dict(r["allocation"]), guardrail_drop_probability=dict(r["guardrail_drop_probability"]),
        vetoed_arms=tuple(r["vetoed_arms"])) for r in payload["routes"])
    return Routing(pooled_arm=payload["pooled_arm"], pooled_allocation=dict(payload["pooled_allocation"]),
                   pooled_best_probabilities=dict(payload["pooled_best_probabilities"]),
                   routes=routes, expected_loss_tolerance=payload["expected_loss_tolerance"],
                   p_best_threshold=payload["p_best_threshold"], guardrail=guardrail,
                   guardrail_tolerance=math.nan if guard is None else guard["tolerance"],
                   pooled_vetoed_arms=tuple(payload["pooled_vetoed_arms"]))


__all__ = ["PLAN_JSON_VERSION", "plan_from_json", "plan_to_json", "tree_from_json", "tree_to_json"]
