"""``pytyche analyze``: did it work, by how much, how sure, what to do, and where the effect differs."""

from __future__ import annotations

from typing import Any

import click

from ..answers import UNIT_LABELS, analysis_payload
from ..output import heading, interval, number, percent, print_json, signed, table
from .base import command


def load_result(path: str):
    """``pt.load_result``; its errors (missing, damaged, another format) name the fix."""
    import pytyche_core as pt

    return pt.load_result(path)


def _effects_table(effects: list[dict[str, Any]], level: float) -> str:
    hurdle = any(e["decomposition"] is not None for e in effects)
    headers = ["treatment", "effect", f"{level:.0%} interval", "P(>0)"]
    if hurdle:
        headers += ["from conversion", "from order value"]
    rows = []
    for e in effects:
        row = [e["treatment"], signed(e["estimate"]), interval(e["interval"]), percent(e["probability_positive"])]
        if hurdle:
            split = e["decomposition"] or {}
            row += [signed(split.get("conversion", {}).get("estimate")),
                    signed(split.get("order_value", {}).get("estimate"))]
        rows.append(row)
    return table(headers, rows)


def _decision_text(rec: dict[str, Any]) -> list[str]:
    lines = [f"Recommendation: {rec['decision']} {rec['treatment']} (the best challenger, against control)"]
    for e in rec["evidence"]:
        mark = "yes" if e["holds"] else "no "
        lines.append(f"  [{mark}] {e['quantity']} = {number(e['value'])} {e['comparison']} "
                     f"{number(e['threshold'])}: {e['role']}")
    lines.append(f"  Value of one more round of the same size: {number(rec['value_of_one_more_round'])} per visitor.")
    return lines


def _segments_text(segments: list[dict[str, Any]], level: float) -> list[str]:
    if not segments:
        return ["The policy tree found no split worth making: the effect looks alike across visitors."]
    lines = [f"GATE: the segment's average effect of its best challenger vs control ({level:.0%} interval);",
             "stability: share of bootstrap trees that find the segment again (>= 0.80 to act on).", ""]
    for s in segments:
        p_best = ", ".join(f"{arm} {percent(p)}" for arm, p in s["p_best"].items())
        lines += [f"Segment {s['id']}: {s['description']} ({percent(s['population_share'])} of visitors)",
                  f"  GATE {signed(s['gate']['estimate'])} {interval(s['gate']['interval'])}, "
                  f"stability {number(s['stability'], 2)}, P(best): {p_best}",
                  f"  WHERE {s['where_sql']}"]
    return lines


def render(payload: dict[str, Any]) -> str:
    level = payload["interval_level"]
    unit = UNIT_LABELS.get(payload["lift_unit"], payload["lift_unit"])
    calibrated = "calibrated intervals" if payload["calibrated"] else "uncalibrated intervals"
    parts = [heading(f"Experiment {payload['experiment_id']}"),
             f"{payload['metric']}, {payload['visitors']:,} visitors, arms {', '.join(payload['arms'])}; "
             f"effects in {unit} vs {payload['control']}, {calibrated}.", "",
             "Average effect per treatment", _effects_table(payload["effects"], level), "",
             "P(best arm): " + ", ".join(f"{arm} {percent(p)}" for arm, p in payload["p_best"].items()), "",
             *_decision_text(payload["recommendation"]), "",
             "Segments (policy tree)", *_segments_text(payload["segments"], level)]
    return "\n".join(parts)


@command("analyze", short_help="Effects, P(best), SHIP/CONTINUE/STOP and segments of a fit.")
@click.argument("result_file", type=click.Path(dir_okay=False))
@click.option("--max-depth", type=click.IntRange(0, 8), default=2, show_default=True,
              help="Depth of the policy tree (2 gives at most 4 segments).")
@click.option("--min-segment-share", type=click.FloatRange(0.0, 0.5, min_open=True), default=0.1,
              show_default=True, help="Smallest share of visitors a segment may hold.")
@click.option("--bootstrap", "n_bootstrap", type=click.IntRange(min=0), default=50, show_default=True,
              help="Bootstrap refits that score each segment's stability (0 skips it).")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the answers as JSON.")
def analyze(result_file: str, max_depth: int, min_segment_share: float, n_bootstrap: int, seed: int,
            as_json: bool) -> None:
    """Read RESULT_FILE (written by `pytyche fit`) and answer: did it work, by how much, how sure, what next.

    Prints each treatment's average effect over control with its interval
    and the conversion / order-value split, the probability each arm is
    best, the recommendation (SHIP, CONTINUE or STOP) with the evidence
    against its thresholds, and the segments where the effect differs, each
    with its SQL WHERE clause.
    """
    result = load_result(result_file)
    analysis = result.analyze(max_depth=max_depth, min_segment_share=min_segment_share, n_bootstrap=n_bootstrap,
                              seed=seed)
    payload = analysis_payload(result, analysis)
    if as_json:
        print_json(payload)
    else:
        click.echo(render(payload))


__all__ = ["analyze", "load_result", "render"]
