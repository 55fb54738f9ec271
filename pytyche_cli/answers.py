"""The operator's answers from one fit, as plain data: effects, P(best), the decision, segments.

Every number comes from the library (``result.analyze()``, a root-only
``fit_policy_tree`` for P(best) over everyone, ``rule_to_sql``); this module
only names and arranges them. The decision's evidence is listed beside the
thresholds the rule compares it with (``docs/concepts/decision-theory.md``),
so a reader sees why the library said SHIP, CONTINUE or STOP.
"""

from __future__ import annotations

from typing import Any

#: How each lift unit reads in text.
UNIT_LABELS = {"dollar": "revenue per visitor ($)", "pct": "conversion rate (absolute difference)"}


def _lift(estimate: float, ci: tuple[float, float]) -> dict[str, Any]:
    return {"estimate": estimate, "interval": [ci[0], ci[1]]}


def effect_rows(analysis) -> list[dict[str, Any]]:
    """One row per treatment: its average effect over control, interval, P(>0) and the hurdle split."""
    rows = []
    for c in analysis.comparisons:
        split = None
        if c.decomposition is not None:
            split = {"conversion": _lift(c.decomposition.conversion_lift.point_estimate,
                                         c.decomposition.conversion_lift.ci),
                     "order_value": _lift(c.decomposition.severity_lift.point_estimate,
                                          c.decomposition.severity_lift.ci)}
        rows.append({"treatment": c.treatment, **_lift(c.lift_estimate, c.lift_ci),
                     "probability_positive": c.probability_positive, "decomposition": split})
    return rows


def decision_evidence(summary) -> list[dict[str, Any]]:
    """The quantities the SHIP / CONTINUE / STOP rule reads, each with its threshold and what it decides.

    ``holds`` says whether the value is on the threshold's side; the
    decision itself is the library's (``summary.decision``).
    """
    t = summary.thresholds
    tol = t["expected_loss_tolerance"]
    better = f"P(lift > {tol:g})"
    return [
        {"quantity": "expected loss of shipping", "value": summary.expected_loss_comparison, "comparison": "<=",
         "threshold": tol, "role": "needed to SHIP",
         "holds": summary.expected_loss_comparison <= tol},
        {"quantity": "P(lift > 0)", "value": summary.probability_positive, "comparison": ">=",
         "threshold": t["p_positive_threshold"], "role": "SHIP needs this or the next",
         "holds": summary.probability_positive >= t["p_positive_threshold"]},
        {"quantity": better, "value": summary.probability_better, "comparison": ">=",
         "threshold": t["p_better_threshold"], "role": "SHIP needs this or the previous",
         "holds": summary.probability_better >= t["p_better_threshold"]},
        {"quantity": f"P(lift < -{tol:g})", "value": summary.probability_harmful, "comparison": ">=",
         "threshold": t["harm_threshold"], "role": "STOP: harmful",
         "holds": summary.probability_harmful >= t["harm_threshold"]},
        {"quantity": better, "value": summary.probability_better, "comparison": "<=",
         "threshold": t["futility_threshold"], "role": "STOP: futile",
         "holds": summary.probability_better <= t["futility_threshold"]},
    ]


def recommendation(summary) -> dict[str, Any]:
    return {"treatment": summary.treatment, "decision": summary.decision.value.upper(),
            "expected_loss_of_shipping": summary.expected_loss_comparison,
            "expected_loss_of_keeping_control": summary.expected_loss_baseline,
            "probability_positive": summary.probability_positive, "probability_better": summary.probability_better,
            "probability_harmful": summary.probability_harmful,
            "value_of_one_more_round": summary.expected_value_of_one_more_round,
            "thresholds": dict(summary.thresholds), "evidence": decision_evidence(summary)}


def segment_rows(segments, assignable: set[str] | None = None) -> list[dict[str, Any]]:
    """The policy tree's segments with their SQL ``WHERE`` clause (and whether the storefront can route them)."""
    from pytyche_core import rule_to_sql

    rows = []
    for s in sorted(segments, key=lambda s: s.id):
        row = {"id": s.id, "description": s.rule.description or "everyone", "where_sql": rule_to_sql(s.rule),
               "population_share": s.population_share, "gate": _lift(s.gate_estimate, s.gate_ci),
               "stability": s.stability_score, "p_best": dict(s.arm_best_probabilities)}
        if assignable is not None:
            row["assignable"] = set(s.rule.features) <= assignable
        rows.append(row)
    return rows


def overall_p_best(result) -> dict[str, float]:
    """P(each arm is best) over every visitor: the root of a depth-0 policy tree."""
    root = result.fit_policy_tree(max_depth=0, n_bootstrap=0).segments[0]
    return dict(root.arm_best_probabilities)


def analysis_payload(result, analysis) -> dict[str, Any]:
    """Everything ``pytyche analyze`` reports, JSON-ready."""
    from pytyche_core.posterior.comparisons import CI_LEVEL, lift_unit

    observed = result.observed
    unit = lift_unit(result)
    return {"experiment_id": analysis.experiment_id, "metric": analysis.metric, "visitors": observed.n_visitors,
            "arms": list(observed.arm_names), "control": observed.control_name, "lift_unit": unit,
            "interval_level": CI_LEVEL, "calibrated": analysis.is_calibrated,
            "effects": effect_rows(analysis), "p_best": overall_p_best(result),
            "recommendation": recommendation(analysis.recommendation),
            "segments": segment_rows(analysis.segments)}


__all__ = ["UNIT_LABELS", "analysis_payload", "decision_evidence", "effect_rows", "overall_p_best",
           "recommendation", "segment_rows"]
