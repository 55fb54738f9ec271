"""The main job: a simulated adaptive experiment materialised round by round through Dagster.

``python3 tasks.py run [options]`` calls this. Each round is one run of the
``simulated_round`` job on that round's partition (features, potential
outcomes, then the round loop: assignment by the previous round's plan, the
BCF fit on every round so far, segments, the next plan and the truth
comparison), recorded in the Dagster instance under DAGSTER_HOME (so the UI
shows it) and written to the DuckDB store. A per-round summary is printed.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import dagster as dg
import pandas as pd

from pytyche_core.experiment.stored import PLANS_TABLE, SCORES_TABLE
from pytyche_core.simulate import PROFILES, SCENARIO_NAMES
from pytyche_core.store import read_partition, round_summary

from .definitions import build_definitions, round_job_name
from .experiments import SimulatedExperiment, load_experiments
from .partitions import first_round_keys
from .resources import DEFAULT_DUCKDB, default_duckdb_path

#: The instance settings a new DAGSTER_HOME starts with (telemetry off: this machine is offline).
LOCAL_INSTANCE = Path(__file__).resolve().parent.parent / "deploy" / "local" / "dagster.yaml"

#: The canonical adaptive benchmark's rounds (the specification's reference run).
FULL_SIZE = (50_000, 100_000, 200_000)


def _parser(d: SimulatedExperiment) -> argparse.ArgumentParser:
    """The command line, defaulting to ``d`` (the canonical experiment of experiments.yaml)."""
    p = argparse.ArgumentParser(prog="python3 tasks.py run", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--experiment-id", default=d.experiment_id)
    p.add_argument("--scenario", default=d.scenario, choices=SCENARIO_NAMES)
    p.add_argument("--arms", type=int, default=d.arms, choices=(2, 3), help="arms including control")
    p.add_argument("--metric", default=d.metric, choices=("revenue_per_visitor", "conversion_rate"))
    p.add_argument("--profile", default=d.profile, choices=sorted(PROFILES))
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--visitors-per-round", type=int, default=d.visitors_per_round)
    p.add_argument("--full-size", action="store_true",
                   help="the canonical benchmark's size: rounds of 50k, 100k and 200k visitors "
                        "(cumulative fits of 50k / 150k / 350k; long on a CPU)")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--duckdb", default=default_duckdb_path(), help=f"store path (default {DEFAULT_DUCKDB})")
    fit = p.add_argument_group("fit settings (the library's defaults unless given)")
    for name in ("mu_trees", "tau_trees", "burn_in", "draws", "chains", "n_bootstrap"):
        fit.add_argument(f"--{name.replace('_', '-')}", type=int, default=getattr(d, name))
    return p


def prepare_dagster_home(default: Path) -> None:
    """DAGSTER_HOME (absolute, or runs are lost on exit) with telemetry off: this machine is offline."""
    home = Path(os.environ.setdefault("DAGSTER_HOME", str(default))).resolve()
    os.environ["DAGSTER_HOME"] = str(home)
    home.mkdir(parents=True, exist_ok=True)
    settings = home / "dagster.yaml"
    if not settings.exists():  # the one-machine instance: runs queued two at a time, one fit per GPU
        settings.write_text(LOCAL_INSTANCE.read_text())


def _round_table(path: str, experiment_id: str, keys: list[str]) -> pd.DataFrame:
    """Per round: the decision, the plan's cells and routes, and the scores against the truth."""
    rows = []
    for key in keys:
        plan = read_partition(path, PLANS_TABLE, experiment_id, key).iloc[0]
        score = read_partition(path, SCORES_TABLE, experiment_id, key).iloc[0]
        rows.append({"round": key, "decision": f"{plan['decision']} {plan['best_challenger']}",
                     "pooled_arm": plan["pooled_arm"], "optimized": plan["optimized_weight"],
                     "segments": int(score["segment_count"]), "gap_captured": score["oracle_gap_captured"],
                     "regret": score["targeting_regret"], "cum_regret": score["cumulative_regret"],
                     "gate_rmse": score["gate_rmse"]})
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> int:
    defaults = load_experiments()[0]
    args = _parser(defaults).parse_args(argv)
    if args.rounds < 1 or args.visitors_per_round < 1:
        print("--rounds and --visitors-per-round must be >= 1", file=sys.stderr)
        return 2
    prepare_dagster_home(Path(args.duckdb).resolve().parent / "dagster_home")
    experiment = SimulatedExperiment(**{
        **defaults.model_dump(), "experiment_id": args.experiment_id, "scenario": args.scenario,
        "arms": args.arms, "metric": args.metric, "profile": args.profile,
        "visitors_per_round": args.visitors_per_round, "seed": args.seed,
        "round_sizes": list(FULL_SIZE) if args.full_size else None,
        **{name: getattr(args, name) for name in ("mu_trees", "tau_trees", "burn_in", "draws", "chains",
                                                  "n_bootstrap")}})
    run_config = {"resources": {"store": {"config": {"path": args.duckdb}}},
                  # Step logs stay in the instance (and the UI); the terminal gets the summary.
                  "loggers": {"console": {"config": {"log_level": "WARNING"}}}}
    job = build_definitions([experiment]).resolve_job_def(round_job_name(experiment))
    instance = dg.DagsterInstance.get()
    sizes = ", ".join(f"{n:,}" for n in FULL_SIZE) if args.full_size else f"{args.visitors_per_round:,}"
    print(f"pytyche: {args.rounds} round(s) of {sizes} visitors, scenario {args.scenario}, "
          f"K={args.arms}, {args.metric} ({args.profile}) -> {args.duckdb}", flush=True)
    for key in first_round_keys(args.rounds):
        started = time.perf_counter()
        result = job.execute_in_process(partition_key=key, instance=instance, run_config=run_config)
        if not result.success:
            print(f"round {key}: run {result.run_id} failed", file=sys.stderr)
            return 1
        print(f"round {key}: run {result.run_id} ok in {time.perf_counter() - started:.1f}s", flush=True)
    summary = round_summary(args.duckdb, args.experiment_id)
    with pd.option_context("display.width", 140, "display.float_format", "{:.4f}".format):
        print(summary.drop(columns=["arm_index"]).to_string(index=False))
        print()
        print(_round_table(args.duckdb, args.experiment_id, first_round_keys(args.rounds)).to_string(index=False))
    last = read_partition(args.duckdb, PLANS_TABLE, args.experiment_id, first_round_keys(args.rounds)[-1])
    print("\nThe plan for the next round:\n" + last["prose_summary"].iloc[0])
    print(f"\nStored in {args.duckdb}; Dagster runs in {os.environ['DAGSTER_HOME']}. "
          "Browse them with: python3 tasks.py ui")
    return 0


if __name__ == "__main__":
    sys.exit(main())
