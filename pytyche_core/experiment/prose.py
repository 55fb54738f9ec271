"""Every sentence the recommendation engine says to an operator, from templates.

Deterministic by construction: the text is a function of the plan's numbers
and names only (no clock, no randomness, fixed number formats, segments in
id order), so two runs with the same seed give byte-identical summaries.
"""

from __future__ import annotations

from collections.abc import Sequence

# Number formats: money and effects to 3 decimals (signed), shares as whole percents.


def pct(share: float) -> str:
    return f"{100.0 * share:.0f}%"


def amount(value: float) -> str:
    return f"{value:+.3f}"


def cold_start(treatments: Sequence[str], n_visitors: int | None) -> str:
    size = "no further round" if n_visitors is None else f"{n_visitors:,} visitors"
    return (f"Round 1 ({size}) starts cold: there is no posterior yet, so half the visitors stay on "
            f"{treatments[0]} as a clean baseline and half are randomised evenly over "
            f"{', '.join(treatments)} to give the first fit unbiased signal.")


def cells_paragraph(n_visitors: int | None, cells: Sequence[tuple[str, float, str]]) -> str:
    size = "The schedule is exhausted: this plan sizes no further round" if n_visitors is None \
        else f"Next round: {n_visitors:,} visitors"
    parts = "; ".join(f"{name} {pct(weight)} ({what})" for name, weight, what in cells)
    return f"{size}. Cells: {parts}."


def pooled_paragraph(pooled_arm: str, control: str, lift: float, lift_ci: tuple[float, float],
                     p_best: float) -> str:
    if pooled_arm == control:
        return (f"Across everyone, no treatment beats {control} on the evidence so far "
                f"(P({control} best) {pct(p_best)}).")
    return (f"Across everyone, {pooled_arm} is the best arm: {amount(lift)} per visitor over {control} "
            f"(80% interval {amount(lift_ci[0])} to {amount(lift_ci[1])}; P(best) {pct(p_best)}).")


def segment_line(segment_id: int, description: str, share: float, arm: str, source: str, own_arm: str,
                 p_own: float, loss: float, tolerance: float, vetoed: Sequence[str]) -> str:
    head = f"- Segment {segment_id} ({description}; {pct(share)} of visitors) -> {arm}"
    if source == "own":
        why = (f"its own evidence: P({own_arm} best here) {pct(p_own)}, expected loss of leaving the pooled "
               f"arm {loss:.4f} (tolerance {tolerance:.4f})")
    elif source == "guardrail":
        why = "the guardrail ruled out the pooled arm here, so its own evidence picks among the rest"
    elif own_arm != arm:
        why = (f"inherits the pooled decision: it leans to {own_arm} (P(best) {pct(p_own)}) but the expected "
               f"loss of deviating, {loss:.4f}, exceeds the tolerance {tolerance:.4f}")
    else:
        why = "agrees with the pooled decision"
    veto = f"; guardrail vetoed {', '.join(vetoed)}" if vetoed else ""
    return f"{head}: {why}{veto}."


def segments_paragraph(lines: Sequence[str]) -> str:
    if not lines:
        return "The policy tree found no split worth making: everyone is routed alike."
    return "Optimized-cell routing by segment:\n" + "\n".join(lines)


def decision_paragraph(treatment: str, decision: str, p_positive: float, loss_ship: float,
                       value_next: float) -> str:
    more = "" if value_next != value_next else f" One more round is worth {value_next:.4f} per visitor."
    return (f"Decision for {treatment} against control: {decision} (P(positive) {pct(p_positive)}, "
            f"expected loss of shipping {loss_ship:.4f} per visitor).{more}")


def graduation_paragraph(candidates: Sequence[tuple[str, str, int]]) -> str:
    if not candidates:
        return "No (treatment, segment) pair has met the graduation rule yet."
    items = "; ".join(f"{t} in {s} (held {n} round{'s' if n != 1 else ''})" for t, s, n in candidates)
    return f"Graduation candidates (for you to decide; nothing ships on its own): {items}."


def dropped_paragraph(newly: Sequence[str], before: Sequence[str]) -> str:
    parts = []
    if newly:
        parts.append(f"Dropped this round (starved of allocation in every segment for consecutive rounds): "
                     f"{', '.join(newly)}.")
    if before:
        parts.append(f"Dropped earlier: {', '.join(before)}.")
    return " ".join(parts)


def guardrail_paragraph(metric: str, tolerance: float, threshold: float, vetoes: Sequence[str]) -> str:
    if not vetoes:
        return (f"Guardrail ({metric}): no route risks a drop beyond {tolerance:.4f} with probability above "
                f"{pct(threshold)}.")
    return (f"Guardrail ({metric}) vetoed routes where P(drop beyond {tolerance:.4f}) exceeded {pct(threshold)}: "
            f"{'; '.join(vetoes)}.")


def join(paragraphs: Sequence[str]) -> str:
    return "\n\n".join(p for p in paragraphs if p)


__all__ = ["amount", "cells_paragraph", "cold_start", "decision_paragraph", "dropped_paragraph",
           "graduation_paragraph", "guardrail_paragraph", "join", "pct", "pooled_paragraph", "segment_line",
           "segments_paragraph"]
