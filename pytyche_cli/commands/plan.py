"""``pytyche plan``: the next round's cells, segment routes and decision, from a fit or from the store.

From a result file the plan is made now by the recommendation engine
(``pytyche_core.experiment.recommend``, as one round of the loop would, with
no earlier rounds behind it). From the store it is the plan the round loop
stored for a round (the latest by default), read back as it was written.
"""

from __future__ import annotations

from typing import Any

import click

from ..answers import segment_rows
from ..errors import CliUsageError
from ..output import percent, print_json, table
from .analyze import load_result
from .base import command
from .fit import split_names
from .sources import only_experiment


def plan_from_result(path: str, *, visitors: int | None, assignable: list[str] | None, settings: dict, seed: int):
    """The engine's plan for the round after the fit in ``path``; returns ``(plan, plan JSON)``."""
    from pytyche_core import FixedSchedule, recommend
    from pytyche_core.experiment.plan_io import plan_to_json
    from pytyche_core.experiment.round_step import LoopSettings

    result = load_result(path)
    loop = LoopSettings(assignable_attributes=assignable, **settings)
    size = visitors if visitors is not None else result.observed.n_visitors
    analysis = result.analyze(max_depth=loop.max_segment_depth, n_bootstrap=0,
                              min_segment_share=loop.min_segment_share, seed=seed, round_size=size)
    plan = recommend(analysis, history=[], treatments=list(result.observed.arm_names),
                     schedule=FixedSchedule(size), seed=seed, **loop.recommend_options())
    return plan, plan_to_json(plan)


def plan_from_store(store: str, experiment_id: str | None, round_key: str | None):
    """The stored plan of ``round_key`` (default: the latest round that has one).

    Returns ``(plan, plan JSON, experiment id, round key)``.
    """
    import json

    from pytyche_core.experiment.plan_io import plan_from_json
    from pytyche_core.experiment.stored import PLANS_TABLE
    from pytyche_core.store import (
        ExperimentNotFoundError,
        RoundNotFoundError,
        read_partition,
        stored_round_keys,
    )

    experiment = experiment_id if experiment_id is not None else only_experiment(store)
    stored = stored_round_keys(store, experiment)
    for key in [round_key] if round_key is not None else reversed(stored):
        try:
            frame = read_partition(store, PLANS_TABLE, experiment, key)
        except (ExperimentNotFoundError, RoundNotFoundError):
            continue
        payload = json.loads(frame["plan_json"].iloc[0])
        return plan_from_json(payload), payload, experiment, key
    if round_key is not None:
        raise RoundNotFoundError(f"experiment {experiment!r} in {store} has no plan for round {round_key!r} "
                                 f"(rounds stored: {', '.join(stored)}). Fix: pass one of those to --round, "
                                 "or omit --round for the latest plan.")
    raise RoundNotFoundError(f"experiment {experiment!r} in {store} has no stored plan yet. Fix: run rounds "
                             "through the pipeline (pytyche run), or plan from a fit: pytyche plan RESULT_FILE.")


def plan_payload(plan, plan_json: dict[str, Any], source: dict[str, Any]) -> dict[str, Any]:
    """What ``pytyche plan --json`` prints: where the plan came from, the plan, and its segments' SQL."""
    segments = [] if plan.tree is None else segment_rows(plan.tree.segments)
    return {"source": source, "plan": plan_json, "segments": segments}


def render(plan, plan_json: dict[str, Any], source: dict[str, Any]) -> str:
    size = "no further round (the schedule is exhausted)" if plan.n_visitors is None \
        else f"{plan.n_visitors:,} visitors"
    where = source.get("round_key") or source.get("result_file")
    lines = [f"Plan for the next round: {size} (after {plan.rounds_completed} round(s); from {where})", "",
             table(["cell", "weight", "policy"], [[c.name, percent(c.weight), c.policy.describe()] for c in plan.cells])]
    routes = plan_json.get("routes") or []
    if routes and plan.tree is not None:
        described = {s.id: s.rule.description or "everyone" for s in plan.tree.segments}
        lines += ["", "Segment routes (optimized cell)",
                  table(["segment", "who", "arm", "why", "allocation"],
                        [[r["segment_id"], described.get(r["segment_id"], "?"), r["arm"], r["source"],
                          ", ".join(f"{a} {percent(w)}" for a, w in r["allocation"].items())] for r in routes])]
    lines += ["", plan.prose_summary]
    return "\n".join(lines)


@command("plan", short_help="The next round's plan: cells, routes, decision, in words.")
@click.argument("result_file", required=False, type=click.Path(dir_okay=False))
@click.option("--store", type=click.Path(dir_okay=False), default=None,
              help="Read the plan the round loop stored in this DuckDB store instead of a result file.")
@click.option("--experiment-id", default=None, help="With --store: the experiment (needed if it holds several).")
@click.option("--round", "round_key", default=None, help="With --store: the round (default: the latest planned).")
@click.option("--visitors", type=click.IntRange(min=1), default=None,
              help="Size of the next round (default: as many visitors as the fit used).")
@click.option("--assignable", multiple=True,
              help="Features the storefront can route on at assignment time; the tree splits only on "
                   "those (comma-separated or repeated; default every feature).")
@click.option("--min-control", "min_control_weight", type=click.FloatRange(0, 1), default=0.05, show_default=True,
              help="Smallest share of the next round kept on control.")
@click.option("--min-explore", "min_explore_weight", type=click.FloatRange(0, 1), default=0.05, show_default=True,
              help="Smallest share randomised uniformly over the arms.")
@click.option("--epsilon", type=click.FloatRange(0, 1), default=0.1, show_default=True,
              help="Thompson floor: each arm keeps at least epsilon / K of a segment.")
@click.option("--max-depth", "max_segment_depth", type=click.IntRange(0, 8), default=2, show_default=True,
              help="Depth of the policy tree.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
def plan(result_file: str | None, store: str | None, experiment_id: str | None, round_key: str | None,
         visitors: int | None, assignable: tuple[str, ...], min_control_weight: float, min_explore_weight: float,
         epsilon: float, max_segment_depth: int, seed: int, as_json: bool) -> None:
    """The plan for the next round: from RESULT_FILE (made now), or as stored by the round loop (--store).

    A plan has three cells: control (a clean baseline), explore (uniform over
    the arms) and optimized (each policy-tree segment routed to its arm with
    Thompson weights), plus the decision for the best challenger and a
    summary in words.
    """
    if (result_file is None) == (store is None):
        raise CliUsageError("pass either RESULT_FILE (plan from a fit) or --store (the stored plan), not "
                            f"{'both' if store else 'neither'}. Fix: e.g. `pytyche plan fit.npz` or "
                            "`pytyche plan --store data/pytyche.duckdb`.")
    if store is None and (experiment_id is not None or round_key is not None):
        raise CliUsageError("--experiment-id and --round select a stored plan. Fix: add --store PATH, or drop them.")
    if store is not None:
        the_plan, plan_json, experiment, key = plan_from_store(store, experiment_id, round_key)
        source = {"store": store, "experiment_id": experiment, "round_key": key}
    else:
        settings = {"min_control_weight": min_control_weight, "min_explore_weight": min_explore_weight,
                    "epsilon": epsilon, "max_segment_depth": max_segment_depth}
        the_plan, plan_json = plan_from_result(result_file, visitors=visitors, assignable=split_names(assignable),
                                               settings=settings, seed=seed)
        source = {"result_file": result_file}
    if as_json:
        print_json(plan_payload(the_plan, plan_json, source))
    else:
        click.echo(render(the_plan, plan_json, source))


__all__ = ["plan", "plan_from_result", "plan_from_store", "plan_payload", "render"]
