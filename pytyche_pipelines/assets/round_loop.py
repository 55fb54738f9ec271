"""The round loop: assignment -> observed -> fit -> analysis -> policy tree -> next round's plan -> truth.

One ``multi_asset`` per round partition (Dagster refuses a cycle across
assets, so the loop lives in one step): only ``next_round_plan`` depends on
its own previous partition. Every statistic comes from ``pytyche_core``
(``fit_and_plan``, ``score_round``); this module reads and writes the store
and reports metadata.
"""

# No "from __future__ import annotations": Dagster inspects the context annotation at definition time.

import base64
from pathlib import Path

import dagster as dg

from pytyche_core import plots
from pytyche_core.contracts import DecisionThresholds
from pytyche_core.experiment import checks, cold_start_plan, fit_and_plan
from pytyche_core.experiment.data import concat_rounds
from pytyche_core.experiment.history import cell_observations
from pytyche_core.experiment.stored import (
    ensure_lineage_view,
    read_plan,
    read_score,
    round_frames,
    save_fit,
    stored_history,
)
from pytyche_core.experiment.truth import (
    effect_coverage_curves,
    fitted_true_effects,
    score_round,
    stack_rounds_truth,
    truth_values,
)
from pytyche_core.simulate import PotentialOutcomes
from pytyche_core.store import (
    RoundNotFoundError,
    load_experiment,
    read_partition,
    read_round_truth,
    write_round,
)

from ..experiments import SimulatedExperiment
from ..lineage import code_version
from ..partitions import PREV_ROUND, ROUNDS, first_round_keys, round_index
from ..resources import DuckDBStore, JaxDevice
from .simulation import FEATURES_TABLE, ONE_ROUND, OUTCOMES_TABLE

_GROUP = "round_loop"

def round_loop_specs(prefix: str) -> list[dg.AssetSpec]:
    """The loop's outputs under an experiment's key prefix."""

    def key(name: str) -> dg.AssetKey:
        return dg.AssetKey([prefix, name])

    def spec(name: str, deps: list, kinds: set[str], description: str) -> dg.AssetSpec:
        return dg.AssetSpec(key(name), deps=deps, group_name=prefix, kinds=kinds, description=description)

    return [
        spec("assignment", [key("features"), key("potential_outcomes")], {"python"},
             "The round's visitors assigned by the previous round's plan (its cells), with every visitor's "
             "probability of every arm and cell recorded."),
        spec("observed", [key("assignment")], {"duckdb"},
             "What the round observes (conversions, revenue), stored with its aligned truth."),
        spec("model_fit", [key("observed")], {"jax"},
             "The hurdle BCF fit on every round so far; its file is kept with a checksum."),
        spec("analysis", [key("model_fit")], {"python"},
             "Comparisons and the SHIP / CONTINUE / STOP decision; per-visitor effect summaries."),
        spec("policy_tree", [key("analysis")], {"python"},
             "Readable segments on the assignable attributes, with their routes and allocations."),
        spec("next_round_plan", [key("policy_tree"), dg.AssetDep(key("next_round_plan"), partition_mapping=PREV_ROUND)],
             {"duckdb"}, "The next round's cells, graduation candidates and dropped treatments, with prose."),
        spec("truth_comparison", [key("next_round_plan")], {"python"},
             "Simulation only: the round scored against the true potential outcomes."),
    ]


#: (check name, asset it checks): computed by ``pytyche_core.experiment.checks``.
ROUND_CHECKS = [("previous_plan_exists", "assignment"), ("probabilities_valid", "assignment"),
                ("row_counts", "observed"), ("convergence", "model_fit"), ("cell_floors", "next_round_plan"),
                ("guardrail_held", "next_round_plan")]


def _check_result(result, prefix: str) -> dg.AssetCheckResult:
    asset = dg.AssetKey([prefix, dict(ROUND_CHECKS)[result.name]])
    severity = dg.AssetCheckSeverity.WARN if result.severity == "warn" else dg.AssetCheckSeverity.ERROR
    return dg.AssetCheckResult(asset_key=asset, check_name=result.name, passed=bool(result.passed),
                               severity=severity, metadata={"detail": result.detail})


def _picture(fig, path: Path, title: str) -> dg.MetadataValue:
    """Save the figure as PNG beside the fits and show it inline in the UI (markdown with a data URI)."""
    data = plots.png_bytes(fig)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return dg.MetadataValue.md(f"![{title}](data:image/png;base64,{base64.b64encode(data).decode()})\n\n`{path}`")


def _previous_plan(path: str, experiment: SimulatedExperiment, keys: list[str], arms: list[str]):
    if len(keys) == 1:
        return cold_start_plan(arms, experiment.round_size(0))
    try:
        return read_plan(path, experiment.experiment_id, keys[-2])
    except (RoundNotFoundError, LookupError):
        raise dg.Failure(f"round {keys[-1]} needs the plan of round {keys[-2]}, which is not in the store. "
                         f"Fix: materialize round {keys[-2]} first (rounds run in order).") from None


def build_round_loop(experiment: SimulatedExperiment) -> dg.AssetsDefinition:
    """The round loop of one experiment, under its key prefix."""
    prefix = experiment.key_prefix()

    @dg.multi_asset(name=f"{prefix}__round_loop", specs=round_loop_specs(prefix), partitions_def=ROUNDS,
                    pool="gpu", can_subset=False, backfill_policy=ONE_ROUND,
                    check_specs=[dg.AssetCheckSpec(name, asset=dg.AssetKey([prefix, asset]))
                                 for name, asset in ROUND_CHECKS])
    def round_loop(context: dg.AssetExecutionContext, store: DuckDBStore, device: JaxDevice):
        yield from _run_round(context, store, device, experiment, prefix)

    return round_loop


def _run_round(context: dg.AssetExecutionContext, store: DuckDBStore, device: JaxDevice,
               experiment: SimulatedExperiment, prefix: str):
    key = context.partition_key
    index = round_index(key)
    keys = first_round_keys(index + 1)
    path, eid = store.resolved_path(), experiment.experiment_id
    stamp = {"experiment_id": eid, "round_key": key, "run_id": context.run.run_id, "code_version": code_version()}
    source = experiment.source()
    arms = list(source.arm_names)
    previous = _previous_plan(path, experiment, keys, arms)

    features = read_partition(path, FEATURES_TABLE, eid, key)
    outcomes = PotentialOutcomes.from_frame(read_partition(path, OUTCOMES_TABLE, eid, key), experiment.metric)
    data = source.observe_round(index, key, features, outcomes, previous.cells)

    # Everything is computed before anything is written: the round lands whole, in one transaction, or not at all.
    earlier = keys[:-1]
    stored = load_experiment(path, eid, rounds=earlier) if earlier else None
    cumulative = concat_rounds([*([stored] if stored is not None else []), data.observed])
    history = stored_history(path, eid, earlier)
    with device.placed() as device_name:
        outcome = fit_and_plan(cumulative, settings=experiment.settings(), schedule=experiment.schedule(),
                               config=experiment.fit_config(), seed=experiment.seed, round_index=index + 1,
                               history=history, treatments=arms, dropped_before=previous.dropped_treatments,
                               round_size=experiment.round_size(index + 1))
    fit_file = save_fit(outcome.posterior, experiment.fits_directory(path), eid, key)
    truths = [(truth_values(data.truth), data.observed.arm_index())]
    if stored is not None:
        truths.insert(0, (truth_values(read_round_truth(path, eid, earlier)), stored.arm_index()))
    values, arm = stack_rounds_truth(truths, len(arms))
    true_effects = fitted_true_effects(values, arm, arms, outcome.fit_data.arm_names)
    score = score_round(
        round_index=index + 1, plan=outcome.plan, previous_tree=history[-1].plan.tree if history else None,
        posterior=outcome.posterior, true_effects=true_effects,
        round_observed=data.observed, round_truth=data.truth, population=source.population,
        previous=read_score(path, eid, earlier[-1]) if earlier else None)
    rows = write_round(path, data.observed, truth=data.truth, round_key=key, run_id=stamp["run_id"],
                       code_version=stamp["code_version"], extra_tables=round_frames(outcome, fit_file, score))
    ensure_lineage_view(path)

    cells = cell_observations(data.observed)
    yield dg.MaterializeResult(asset_key=dg.AssetKey([prefix, "assignment"]), metadata={
        "cells": dg.MetadataValue.md("\n".join(f"- {c.name}: {c.weight:.2f} ({c.policy.describe()})"
                                               for c in previous.cells)),
        "per cell and arm": dg.MetadataValue.md(cells.to_markdown(index=False, floatfmt=".4f"))})
    yield dg.AssetCheckResult(asset_key=dg.AssetKey([prefix, "assignment"]), check_name="previous_plan_exists",
                              passed=True,
                              metadata={"detail": "cold start" if index == 0 else f"plan of round {keys[-2]}"})
    yield _check_result(prefix=prefix, result=checks.probabilities_valid(data.observed))
    yield dg.MaterializeResult(asset_key=dg.AssetKey([prefix, "observed"]), metadata={
        "dagster/row_count": rows.get("visitors", data.observed.n_visitors)})
    yield _check_result(prefix=prefix, result=checks.row_counts(data.observed, experiment.round_size(index)))

    posterior, plan = outcome.posterior, outcome.plan
    pictures = Path(experiment.fits_directory(path)).parent / "plots" / eid
    scores = [*(read_score(path, eid, k) for k in earlier), score]
    comparisons = "\n".join(f"- {c.treatment}: {c.lift_estimate:+.4f} per visitor (80% {c.lift_ci[0]:+.4f} to "
                            f"{c.lift_ci[1]:+.4f}), P(positive) {c.probability_positive:.2f}"
                            for c in outcome.analysis.comparisons)
    yield dg.MaterializeResult(asset_key=dg.AssetKey([prefix, "model_fit"]), metadata={
        "device": device_name, "jax backend": posterior.info.device, "visitors fitted": posterior.observed.n_visitors,
        "fit seconds": round(outcome.fit_seconds, 1), "file": fit_file.path, "sha256": fit_file.sha256})
    yield _check_result(prefix=prefix, result=checks.convergence(posterior))
    # The figures of the HTML report (pytyche_core.report), drawn by the same functions.
    lifts = [posterior.compare(t) for t in posterior.treatment_names]
    figures = {"posterior lift": _picture(plots.lift_figure(lifts, DecisionThresholds()), pictures / f"{key}-lift.png",
                                          "posterior lift")}
    if any(c.decomposition is not None for c in lifts):
        figures["conversion and order value"] = _picture(plots.decomposition_figure(lifts),
                                                         pictures / f"{key}-decomposition.png", "decomposition")
    yield dg.MaterializeResult(asset_key=dg.AssetKey([prefix, "analysis"]), metadata={
        "comparisons": dg.MetadataValue.md(comparisons), **figures,
        "decision": f"{plan.decision.decision.value} {plan.decision.treatment}",
        "visitor effect rows": rows.get("visitor_effects", 0)})
    segments = "\n".join(f"- {r.segment_id} ({s.rule.description or 'everyone'}, {s.population_share:.0%}): "
                         f"-> {r.arm} ({r.source}); GATE {s.gate_estimate:+.4f}"
                         for s, r in zip(plan.tree.segments, plan.routing.routes, strict=True))
    yield dg.MaterializeResult(asset_key=dg.AssetKey([prefix, "policy_tree"]), metadata={
        "segments": dg.MetadataValue.md(segments), "segment count": len(plan.tree.segments),
        "segment tree": _picture(plots.segments_figure(plan), pictures / f"{key}-segments.png", "segments")})
    yield dg.MaterializeResult(asset_key=dg.AssetKey([prefix, "next_round_plan"]), metadata={
        "plan": dg.MetadataValue.md(plan.prose_summary),
        "cells": ", ".join(f"{c.name} {c.weight:.2f}" for c in plan.cells),
        "dropped": ", ".join(plan.dropped_treatments) or "none"})
    yield _check_result(prefix=prefix, result=checks.cell_floors(plan, experiment.settings()))
    yield _check_result(prefix=prefix, result=checks.guardrail_held(plan))
    yield dg.MaterializeResult(asset_key=dg.AssetKey([prefix, "truth_comparison"]), metadata={
        "oracle gap captured": score.oracle_gap_captured, "targeting regret": score.targeting_regret,
        "cumulative regret": score.cumulative_regret, "GATE RMSE": score.gate_rmse,
        "policy accuracy": score.policy_accuracy,
        "regret and oracle gap": _picture(plots.loop_curves_figure(scores), pictures / f"{key}-curves.png",
                                          "regret and oracle gap"),
        "interval calibration": _picture(
            plots.calibration_figure(effect_coverage_curves(posterior, true_effects),
                                     title="Per-visitor intervals against the truth"),
            pictures / f"{key}-calibration.png", "interval calibration")})
