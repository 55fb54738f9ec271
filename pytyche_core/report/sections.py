"""The report's sections: the operator's questions of phases 3-5 (analyze, discover, refine), answered.

Each function turns ``Answers`` into one ``Section`` of plain text, tables,
SQL and figures (drawn by ``pytyche_core.plots``, the functions the Dagster
UI uses). Questions follow docs/concepts/report.md; numbers use fixed
formats so two reports of the same round read the same.
"""

from __future__ import annotations

import math

from .. import plots
from ..contracts import STABILITY_CUTOFF, Decision
from .answers import Answers, SegmentAnswer
from .document import Bullets, Code, Document, Figure, Paragraph, Section, Table


def _figure(fig, caption: str, alt: str) -> Figure:
    return Figure(caption, plots.png_bytes(fig), alt)


def _pct(share: float) -> str:
    return "n/a" if share != share else f"{100.0 * share:.0f}%"


def _prob(p: float) -> str:
    return "n/a" if p != p else f"{p:.2f}"


class Units:
    """How a lift reads: dollars per visitor (revenue) or percentage points (a conversion rate)."""

    def __init__(self, answers: Answers) -> None:
        self.pct = answers.unit == "pct"
        self.name = "percentage points" if self.pct else "dollars per visitor"
        self.control_mean = answers.control_mean

    def amount(self, value: float, signed: bool = True) -> str:
        if value != value:
            return "n/a"
        if self.pct:
            return f"{100.0 * value:+.2f} pp" if signed else f"{100.0 * value:.2f} pp"
        return f"{value:+.4f}" if signed else f"{value:.4f}"

    def interval(self, ci: tuple[float, float]) -> str:
        return f"{self.amount(ci[0])} to {self.amount(ci[1])}"

    def relative(self, value: float) -> str:
        if not (math.isfinite(self.control_mean) and self.control_mean > 0):
            return "n/a"
        return f"{100.0 * value / self.control_mean:+.1f}%"


# -- overview -------------------------------------------------------------------------------------

def overview(a: Answers) -> Section:
    s, p = a.stored, a.stored.posterior
    lineage = s.lineage
    facts = Table(("what", "value"), (
        ("experiment", s.experiment_id), ("round reported", s.round_key),
        ("rounds fitted", ", ".join(str(k) for k in sorted(set(s.observed["round_key"])))),
        ("visitors fitted", f"{p.observed.n_visitors:,}"), ("arms", ", ".join(p.observed.arm_names)),
        ("metric", f"{p.observed.metric} ({Units(a).name})"), ("model", f"{p.model} BCF, {p.n_draws} posterior draws"),
        ("control mean outcome", Units(a).amount(a.control_mean, signed=False)),
        ("fit file (SHA-256 checked)", f"{lineage.get('fit_file', '')} ({str(lineage.get('fit_sha256', ''))[:12]}...)"),
        ("fit device and seconds", f"{lineage.get('device', '')}, {lineage.get('fit_seconds', math.nan):.1f} s"),
        ("plan run id / code version", f"{lineage.get('plan_run_id', 'n/a')} / {lineage.get('plan_code_version', 'n/a')}"),
        ("source", "simulation (scored against the truth)" if s.simulated else "production (no truth)"),
    ), caption="The round and where its numbers come from")
    rows = tuple((str(r.round_key), str(r.arm), f"{int(r.visitors):,}", f"{int(r.conversions):,}",
                  f"{r.conversion_rate:.4f}", f"{r.revenue_per_visitor:.4f}") for r in s.observed.itertuples())
    observed = Table(("round", "arm", "visitors", "conversions", "conversion rate", "revenue per visitor"), rows,
                     caption="What was observed, per round and arm")
    return Section("overview", "The round reported", ("Which experiment, round and data is this?",),
                   (facts, observed))


# -- phase 3: did it work? ---------------------------------------------------------------------------

def _why(a: Answers) -> str:
    r, t = a.recommendation, a.thresholds
    u = Units(a)
    evidence = (f"P(lift > 0) {_prob(r.probability_positive)}, P(lift > tolerance) {_prob(r.probability_better)}, "
                f"P(lift < -tolerance) {_prob(r.probability_harmful)}, expected loss of shipping "
                f"{u.amount(r.expected_loss_comparison, signed=False)} (tolerance {u.amount(t.expected_loss_tolerance, False)})")
    rule = (f"The rule: SHIP when the expected loss of shipping is within the tolerance and P(lift > 0) >= "
            f"{t.p_positive_threshold:.2f} or P(lift > tolerance) >= {t.p_better_threshold:.2f}; STOP when "
            f"P(lift < -tolerance) >= {t.harm_threshold:.2f} (harm) or P(lift > tolerance) <= "
            f"{t.futility_threshold:.2f} (futility); CONTINUE otherwise (docs/concepts/decision-theory.md).")
    return f"Evidence: {evidence}. {rule}"


def did_it_work(a: Answers) -> Section:
    r = a.recommendation
    verdict = {Decision.SHIP: "it worked well enough to ship", Decision.STOP: "stop it",
               Decision.CONTINUE: "not decided yet: keep running"}[r.decision]
    blocks = [Paragraph(f"Decision for {r.treatment} (the best challenger) against {a.control}: "
                        f"{r.decision.value.upper()}, {verdict}."), Paragraph(_why(a))]
    stored = (a.stored.plan_json.get("decision") or {}).get("decision")
    if stored is not None and stored != r.decision.value:
        blocks.append(Paragraph(f"Note: the round loop recorded {stored.upper()} for this round; recomputed from the "
                                f"stored fit it reads {r.decision.value.upper()} (the draws are recomputed from the "
                                "saved forests, equal up to float32 rounding, so a borderline call can flip)."))
    value = r.expected_value_of_one_more_round
    if value == value:
        n = a.stored.plan.n_visitors
        size = f"{n:,} visitors" if n else "as many visitors as the data so far"
        blocks.append(Paragraph(f"Should we keep running? One more round of {size} is worth "
                                f"{Units(a).amount(value, signed=False)} per visitor in expected loss avoided "
                                "(the value of one more round)."))
    blocks.append(Table(("treatment", "P(lift > 0)", "P(lift > tolerance)", "P(lift < -tolerance)"),
                        tuple((c.comparison, _prob(c.probability_positive), _prob(c.probability_better),
                               _prob(c.probability_harmful)) for c in a.comparisons),
                        caption="Did each variant win? Posterior probabilities against control"))
    u = Units(a)
    blocks.append(Table(("treatment", "threshold", "lift above", "P(lift > threshold)"),
                        tuple((row.treatment, row.label, u.amount(row.threshold), _prob(row.probability))
                              for row in a.threshold_rows),
                        caption="Is it worth shipping at this threshold?"))
    return Section("did-it-work", "Did it work?", (
        "Did the variant win?", "Is it worth shipping at this threshold?",
        "Should we keep running (ship / continue / stop)?"), tuple(blocks))


def by_how_much(a: Answers) -> Section:
    u = Units(a)
    rows = tuple((c.comparison, u.amount(float(c.lift_samples.mean())), u.interval(c.lift_ci),
                  u.relative(float(c.lift_samples.mean()))) for c in a.comparisons)
    table = Table(("treatment", f"average lift ({u.name})", "80% interval", "relative to control"), rows,
                  caption="The average lift of each treatment over control")
    figure = _figure(plots.lift_figure(list(a.comparisons), a.thresholds),
                     "Posterior of each treatment's average lift; dashed lines: the decision tolerance either side "
                     "of zero.", "Histogram of the posterior draws of the average lift per treatment")
    return Section("by-how-much", "By how much?", ("By how much (lift distribution)?",), (table, figure))


def how_confident(a: Answers) -> Section:
    u, p = Units(a), a.stored.posterior
    rows = tuple((c.comparison, u.amount(c.lift_ci[1] - c.lift_ci[0], signed=False),
                  u.amount(float(c.lift_samples.std(ddof=1)), signed=False)) for c in a.comparisons)
    blocks = [Paragraph(f"The answer is a distribution, not a yes or no: {p.n_draws} posterior draws of every "
                        "visitor's effect. A wide interval is uncertainty made visible; more visitors narrow it."),
              Table(("treatment", "80% interval width", "posterior sd"), rows,
                    caption="How wide the posterior of the average lift is")]
    if a.coverage:
        inside = [f"{name}: true average lift {u.amount(value)} is "
                  f"{'inside' if a.comparison(name).lift_ci[0] <= value <= a.comparison(name).lift_ci[1] else 'OUTSIDE'}"
                  " its 80% interval" for name, value in a.true_average_lift.items()]
        blocks.append(Paragraph("Simulation only: the truth is known, so the intervals can be checked. "
                                "On the diagonal the intervals are honest; below it they are too narrow."))
        blocks.append(Bullets(tuple(inside)))
        blocks.append(_figure(plots.calibration_figure(dict(a.coverage), title="Per-visitor interval coverage"),
                              "Nominal level of every visitor's central interval vs the share of visitors whose "
                              "true effect it holds.", "Calibration curve: nominal against empirical coverage"))
    return Section("how-confident", "How confident are we?",
                   ("How confident are we (credible interval width, posterior shape)?",
                    "Are the intervals honest (simulation only)?"), tuple(blocks))


def risk(a: Answers) -> Section:
    u = Units(a)
    lines, rows = [], []
    for c in a.comparisons:
        p_worse = 1.0 - c.probability_positive
        cost_if_worse = c.expected_loss_comparison / p_worse if p_worse > 0 else 0.0
        rows.append((c.comparison, u.amount(c.expected_loss_comparison, False), _pct(p_worse),
                     u.amount(cost_if_worse, False), u.amount(c.expected_loss_baseline, False)))
        lines.append(f"Shipping {c.comparison} when it is actually worse would cost {u.amount(cost_if_worse, False)} "
                     f"per visitor on average, and there is a {_pct(p_worse)} chance of that: an expected loss of "
                     f"{u.amount(c.expected_loss_comparison, False)} per visitor.")
    table = Table(("treatment", "expected loss if shipped", "P(worse than control)", "average cost if worse",
                   "expected loss of keeping control"), tuple(rows),
                  caption=f"The risk of shipping ({u.name}; tolerance {u.amount(a.thresholds.expected_loss_tolerance, False)})")
    return Section("risk", "What is the risk of shipping?", ("What's the risk of shipping (expected loss)?",),
                   (Bullets(tuple(lines)), table))


def decomposition(a: Answers) -> Section:
    parts = [c for c in a.comparisons if c.decomposition is not None]
    question = ("What's the decomposition: conversion rate (frequency) vs order value (severity)?",)
    if not parts:
        return Section("decomposition", "Conversion or order value?", question, (Paragraph(
            f"The metric is {a.stored.posterior.observed.metric}: a single channel, so there is nothing to split."),))
    u = Units(a)
    rows = []
    for c in parts:
        freq, sev = c.decomposition.frequency_lift_samples, c.decomposition.severity_lift_samples
        rows.append((c.comparison, u.amount(float(c.lift_samples.mean())), u.amount(float(freq.mean())),
                     u.amount(float(sev.mean())), _pct(float((freq > 0).mean())), _pct(float((sev > 0).mean()))))
    table = Table(("treatment", "total lift", "conversion part", "order-value part", "P(conversion part > 0)",
                   "P(order-value part > 0)"), tuple(rows), caption="The lift split into its two channels")
    figure = _figure(plots.decomposition_figure(parts), "Each lift as its conversion part ((p_k - p_0) m_0) plus its "
                     "order-value part (p_k (m_k - m_0)), 80% intervals.", "Decomposition of the lift into channels")
    return Section("decomposition", "Conversion or order value?", question, (table, figure))


def guardrail(a: Answers) -> Section:
    question = ("Does the winner hurt the guardrail (conversion rate)?",)
    g = a.guardrail
    if g is None:
        return Section("guardrail", "The guardrail", question, (Paragraph(
            "This fit has no conversion model, so there is no conversion-rate guardrail to check."),))
    blocks = []
    if g.tolerance is None:
        blocks.append(Paragraph("The experiment set no guardrail: no route was vetoed. The conversion-rate change is "
                                "shown for reference."))
    else:
        blocks.append(Paragraph(
            f"Guardrail: conversion rate. A route is vetoed where P(conversion falls by more than "
            f"{g.tolerance:.4f}, i.e. {_pct(g.relative_tolerance)} of control's {g.control_rate:.4f}) exceeds "
            f"{_prob(g.probability_threshold)}. Vetoed for everyone: {', '.join(g.pooled_vetoed_arms) or 'none'}."))
    rows = tuple((name, f"{100 * g.change[name]:+.2f} pp",
                  f"{100 * g.change_ci[name][0]:+.2f} to {100 * g.change_ci[name][1]:+.2f} pp",
                  _prob(g.drop_probability.get(name, math.nan))) for name in g.change)
    blocks.append(Table(("treatment", "conversion-rate change", "80% interval", "P(drop beyond tolerance)"), rows,
                        caption="Conversion rate vs control, over everyone"))
    vetoed = [f"segment {s.segment.id} ({s.segment.rule.description or 'everyone'}): {', '.join(s.route.vetoed_arms)}"
              for s in a.segments if s.route is not None and s.route.vetoed_arms]
    blocks.append(Paragraph("Segment routes the guardrail vetoed: " + ("; ".join(vetoed) if vetoed else "none") + "."))
    return Section("guardrail", "The guardrail", question, tuple(blocks))


# -- phase 4: where does it differ? --------------------------------------------------------------------

def _route_text(s: SegmentAnswer) -> str:
    if s.route is None:
        return "n/a"
    return f"{s.route.arm} ({s.route.source})"


def where_it_differs(a: Answers) -> Section:
    questions = ("Does the effect vary by segment (GATE per segment)?", "Are there segments we didn't hypothesize?",
                 "How confident are we in segment-level effects?", "Is the segment large enough to act on?")
    if not a.segments:
        return Section("where-it-differs", "Where does it differ?", questions,
                       (Paragraph("This round has no segments (a cold start)."),))
    u = Units(a)
    blocks = []
    if len(a.segments) == 1:
        blocks.append(Paragraph("The policy tree found no split worth making: one segment, everyone."))
    else:
        blocks.append(Paragraph(f"The policy tree split the {a.stored.posterior.observed.n_visitors:,} fitted visitors "
                                f"into {len(a.segments)} segments on {', '.join(sorted({f for s in a.segments for f in s.features}))}. "
                                "No one hypothesised these groups: the tree found them in the posterior."))
    rows = []
    for s in a.segments:
        seg = s.segment
        best = max(seg.arm_best_probabilities.items(), key=lambda kv: kv[1])
        rows.append((str(seg.id), seg.rule.description or "everyone", f"{s.n_visitors:,} ({_pct(seg.population_share)})",
                     u.amount(seg.gate_estimate), u.interval(seg.gate_ci), u.amount(s.interval_width, False),
                     _prob(seg.stability_score), f"{best[0]} ({_prob(best[1])})", _route_text(s)))
    blocks.append(Table(("segment", "rule", "visitors", "GATE", "80% interval", "width", "stability", "P(best)",
                         "routed to"), tuple(rows), caption="Segment effects (GATE of each segment's best challenger)"))
    wide = [s for s in a.segments if not s.interval_excludes_zero]
    if wide:
        blocks.append(Paragraph(
            "Too uncertain to call yet (the 80% interval spans zero): " + "; ".join(
                f"segment {s.segment.id} ({s.n_visitors:,} visitors, width {u.amount(s.interval_width, False)})"
                for s in wide) + ". That is the n-problem made visible, not a failure: targeting them in the next "
            "round narrows their posteriors."))
    blocks.append(_figure(plots.segments_figure(a.stored.plan), "Each segment's effect with its 80% interval (filled: "
                          f"stability >= {STABILITY_CUTOFF:.2f}) and the allocation it gets in the optimized cell.",
                          "Segment effects with intervals and their Thompson allocations"))
    return Section("where-it-differs", "Where does it differ?", questions, tuple(blocks))


# -- phase 5: what boundary did we find? ----------------------------------------------------------------

def _assignable_text(s: SegmentAnswer) -> str:
    if s.assignable is None:
        return "not declared"
    return "yes" if s.assignable else "no"


def act_on(a: Answers) -> Section:
    questions = ("Is the segment stable (bootstrap stability >= 0.80)?",
                 "Can the storefront evaluate it at assignment time?", "Should this become a formal segment?")
    if not a.segments:
        return Section("act-on", "Which segments can we act on?", questions,
                       (Paragraph("No segments this round."),))
    rows = tuple((str(s.segment.id), s.segment.rule.description or "everyone",
                  "yes" if s.segment.is_stable else ("not measured" if s.segment.stability_score != s.segment.stability_score
                                                     else "no"),
                  "yes" if s.interval_excludes_zero else "no", ", ".join(s.features) or "none",
                  _assignable_text(s), "ACT" if s.actionable else "wait") for s in a.segments)
    blocks = [Table(("segment", "rule", "stable", "80% interval excludes 0", "features", "assignable", "verdict"), rows,
                    caption="Stable, clear and assignable: the segments to act on")]
    if a.assignable_attributes is None:
        blocks.append(Paragraph("Assignable attributes were not given to the report, so assignability is not checked "
                                "here. The plan's tree splits only on the experiment's assignable attributes when "
                                "it declares them, and the next round's optimized cell routes visitors by these rules."))
    else:
        blocks.append(Paragraph("Assignable attributes (what the storefront can evaluate at assignment time): "
                                + ", ".join(a.assignable_attributes) + "."))
    act = [s for s in a.segments if s.actionable]
    blocks.append(Paragraph("Act on: " + ("; ".join(
        f"segment {s.segment.id} ({s.segment.rule.description or 'everyone'}) routed to {_route_text(s)}" for s in act)
        if act else "none yet; no segment is both stable and clear of zero") + ". Acting is the operator's call."))
    candidates = a.stored.plan_json.get("graduation_candidates") or []
    blocks.append(Paragraph("Graduation candidates (the rule held for consecutive rounds; nothing ships on its own): "
                            + ("; ".join(f"{c['treatment']} in segment {c['segment_id']} (held "
                                         f"{c['sustained_rounds']} rounds)" for c in candidates) or "none yet") + "."))
    return Section("act-on", "Which segments can we act on?", questions, tuple(blocks))


def sql(a: Answers) -> Section:
    questions = ("What SQL captures this group (the targeting rule)?",)
    if not a.segments:
        return Section("sql", "Each segment as SQL", questions, (Paragraph("No segments this round."),))
    blocks = [Paragraph("Paste a clause into a WHERE on a table with the visitors' features (column names as in the "
                        "store's visitors table). It selects exactly the visitors the rule does.")]
    blocks += [Code(f"segment {s.segment.id}: {s.segment.rule.description or 'everyone'}", s.sql) for s in a.segments]
    return Section("sql", "Each segment as SQL", questions, tuple(blocks))


def _prose_blocks(text: str) -> list:
    blocks = []
    for paragraph in text.split("\n\n"):
        lines = [line for line in paragraph.split("\n") if line.strip()]
        items = [line[2:] for line in lines if line.startswith("- ")]
        head = [line for line in lines if not line.startswith("- ")]
        if head:
            blocks.append(Paragraph(" ".join(head)))
        if items:
            blocks.append(Bullets(tuple(items)))
    return blocks


def next_round(a: Answers) -> Section:
    plan = a.stored.plan
    cells = Table(("cell", "weight", "what it does"),
                  tuple((c.name, _pct(c.weight), c.policy.describe()) for c in plan.cells),
                  caption=f"The next round's cells ({plan.n_visitors:,} visitors)" if plan.n_visitors
                  else "The next round's cells")
    facts = Bullets((f"active arms: {', '.join(plan.treatments)}",
                     f"dropped treatments: {', '.join(plan.dropped_treatments) or 'none'}",
                     f"suggested effect-forest size for the next fit: {plan.fit_num_trees_tau or 'the default'} trees"))
    return Section("next", "What to test next", ("What experiment should target this segment next?",),
                   (*_prose_blocks(plan.prose_summary), cells, facts))


def history(a: Answers) -> Section:
    s = a.stored
    rows = tuple((str(r.round_key), str(r.decision).upper(), str(r.best_challenger), str(r.pooled_arm),
                  f"{r.control_weight:.2f} / {r.explore_weight:.2f} / {r.optimized_weight:.2f}")
                 for r in s.decisions.itertuples())
    blocks = [Table(("round", "decision", "best challenger", "pooled arm", "control / explore / optimized"), rows,
                    caption="The decision after each round")]
    if s.scores:
        blocks.append(Table(("round", "oracle gap captured", "targeting regret", "cumulative regret", "GATE RMSE",
                             "policy accuracy"),
                            tuple((str(x.round_index), f"{x.oracle_gap_captured:.2f}", f"{x.targeting_regret:.4f}",
                                   f"{x.cumulative_regret:.4f}", f"{x.gate_rmse:.4f}", f"{x.policy_accuracy:.2f}")
                                  for x in s.scores), caption="Each round against the simulator's truth"))
        blocks.append(_figure(plots.loop_curves_figure(list(s.scores)), "Share of the oracle gap the round policy "
                              "captures, and cumulative regret, per round.", "Regret and oracle-gap curves"))
    return Section("history", "How the loop got here", ("What do we understand now that we didn't before?",),
                   tuple(blocks))


SECTIONS = (overview, did_it_work, by_how_much, how_confident, risk, decomposition, guardrail, where_it_differs,
            act_on, sql, next_round, history)


def compose(a: Answers) -> Document:
    """The whole report for one round, sections in the journey's order."""
    s = a.stored
    return Document(title=f"pytyche decision report: {s.experiment_id}",
                    subtitle=(f"Round {s.round_key} ({len(s.round_keys)} planned round(s) so far), "
                              f"{s.posterior.observed.n_visitors:,} visitors fitted; store {s.store_path}"),
                    sections=tuple(build(a) for build in SECTIONS))


__all__ = ["SECTIONS", "compose"]
