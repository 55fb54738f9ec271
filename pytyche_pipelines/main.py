"""The main job: a simulated experiment materialised round by round through Dagster.

``python3 tasks.py run [options]`` calls this. Each round is one run of the
``simulated_round`` job on that round's partition, recorded in the Dagster
instance under DAGSTER_HOME (so the UI shows it) and written to the DuckDB
store. A short summary is printed at the end.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import dagster as dg
import pandas as pd

from pytyche_core.simulate import PROFILES, SCENARIO_NAMES
from pytyche_core.store import round_summary

from .definitions import defs
from .partitions import first_round_keys
from .resources import DEFAULT_DUCKDB, SimulatedExperiment, default_duckdb_path


def _parser() -> argparse.ArgumentParser:
    d = SimulatedExperiment()
    p = argparse.ArgumentParser(prog="python3 tasks.py run", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--experiment-id", default=d.experiment_id)
    p.add_argument("--scenario", default=d.scenario, choices=SCENARIO_NAMES)
    p.add_argument("--arms", type=int, default=d.arms, choices=(2, 3), help="arms including control")
    p.add_argument("--metric", default=d.metric, choices=("revenue_per_visitor", "conversion_rate"))
    p.add_argument("--profile", default=d.profile, choices=sorted(PROFILES))
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--visitors-per-round", type=int, default=20_000)
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--duckdb", default=default_duckdb_path(), help=f"store path (default {DEFAULT_DUCKDB})")
    return p


def _prepare_dagster_home(default: Path) -> None:
    """DAGSTER_HOME (absolute, or runs are lost on exit) with telemetry off: this machine is offline."""
    home = Path(os.environ.setdefault("DAGSTER_HOME", str(default))).resolve()
    os.environ["DAGSTER_HOME"] = str(home)
    home.mkdir(parents=True, exist_ok=True)
    settings = home / "dagster.yaml"
    if not settings.exists():
        settings.write_text("telemetry:\n  enabled: false\n")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.rounds < 1 or args.visitors_per_round < 1:
        print("--rounds and --visitors-per-round must be >= 1", file=sys.stderr)
        return 2
    _prepare_dagster_home(Path(args.duckdb).resolve().parent / "dagster_home")
    experiment = {"experiment_id": args.experiment_id, "scenario": args.scenario, "arms": args.arms,
                  "metric": args.metric, "profile": args.profile,
                  "visitors_per_round": args.visitors_per_round, "seed": args.seed}
    run_config = {"resources": {"experiment": {"config": experiment}, "store": {"config": {"path": args.duckdb}}},
                  # Step logs stay in the instance (and the UI); the terminal gets the summary.
                  "loggers": {"console": {"config": {"log_level": "WARNING"}}}}
    job = defs.resolve_job_def("simulated_round")
    instance = dg.DagsterInstance.get()
    print(f"pytyche: {args.rounds} round(s) of {args.visitors_per_round} visitors, scenario {args.scenario}, "
          f"K={args.arms}, {args.metric} ({args.profile}) -> {args.duckdb}", flush=True)
    for key in first_round_keys(args.rounds):
        started = time.perf_counter()
        result = job.execute_in_process(partition_key=key, instance=instance, run_config=run_config)
        if not result.success:
            print(f"round {key}: run {result.run_id} failed", file=sys.stderr)
            return 1
        print(f"round {key}: run {result.run_id} ok in {time.perf_counter() - started:.1f}s", flush=True)
    summary = round_summary(args.duckdb, args.experiment_id)
    with pd.option_context("display.width", 120, "display.float_format", "{:.4f}".format):
        print(summary.drop(columns=["arm_index"]).to_string(index=False))
    print(f"\nStored in {args.duckdb}; Dagster runs in {os.environ['DAGSTER_HOME']}. "
          "Browse them with: python3 tasks.py ui")
    return 0


if __name__ == "__main__":
    sys.exit(main())
