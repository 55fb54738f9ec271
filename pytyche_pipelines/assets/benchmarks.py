"""Benchmark experiments as partitions: scenario x seed, each one whole simulated adaptive experiment.

``flywheel_benchmark`` runs ``pt.sequential_experiment`` for its (scenario,
seed) partition in process and stores one row per round of its truth scores;
``flywheel_summary`` (unpartitioned) averages them per scenario and round.
Backfill the partitions from the UI; with the multiprocess executor they run
in parallel (each worker compiles its own samplers). The seeds are a dynamic
dimension that ``benchmark_seed_sensor`` fills.
"""

# No "from __future__ import annotations": Dagster inspects the context annotation at definition time.

import dagster as dg
import pandas as pd

import pytyche_core as pt
from pytyche_core.simulate import SCENARIO_NAMES
from pytyche_core.store import open_connection, replace_partition

from ..experiments import FitSettings
from ..lineage import code_version
from ..resources import DuckDBStore

BENCHMARK_SEEDS = dg.DynamicPartitionsDefinition(name="benchmark_seeds")
BENCHMARKS = dg.MultiPartitionsDefinition({"scenario": dg.StaticPartitionsDefinition(list(SCENARIO_NAMES)),
                                           "seed": BENCHMARK_SEEDS})
BENCHMARK_TABLE = "benchmark_rounds"
BENCHMARK_SUMMARY_TABLE = "benchmark_summary"
#: Benchmark rows live under one pseudo-experiment; the round key is the partition ("scenario|seed").
BENCHMARK_EXPERIMENT = "flywheel-benchmark"


def seed_key(seed: int) -> str:
    """Seed partition keys are zero-padded: Dagster sorts keys as strings."""
    return f"{int(seed):03d}"


class BenchmarkSettings(dg.ConfigurableResource, FitSettings):
    """What every benchmark partition runs: arms, profile, rounds, traffic and fit settings."""

    k: int = 3
    profile: str = "realistic"
    rounds: int = 3
    visitors_per_round: int = 10_000
    n_bootstrap: int = 50


@dg.asset(partitions_def=BENCHMARKS, group_name="benchmarks", kinds={"duckdb", "jax"}, pool="gpu",
          description="One whole simulated adaptive experiment per (scenario, seed), scored against the truth.")
def flywheel_benchmark(context: dg.AssetExecutionContext, store: DuckDBStore,
                       benchmark: BenchmarkSettings) -> dg.MaterializeResult:
    keys = context.partition_key.keys_by_dimension
    scenario, seed = keys["scenario"], int(keys["seed"])
    experiment = pt.sequential_experiment(
        scenario, k=benchmark.k, profile=benchmark.profile, seed=seed, n_bootstrap=benchmark.n_bootstrap,
        schedule=pt.FixedSchedule(benchmark.visitors_per_round, rounds=benchmark.rounds),
        config=benchmark.fit_config())
    experiment.run_to_completion()
    frame = experiment.summary().assign(scenario=scenario, seed=seed, k=benchmark.k, profile=benchmark.profile)
    frame = frame.drop(columns=["round_key"])
    rows = replace_partition(store.resolved_path(), BENCHMARK_TABLE, frame, experiment_id=BENCHMARK_EXPERIMENT,
                             round_key=f"{scenario}|{keys['seed']}", run_id=context.run.run_id,
                             code_version=code_version())
    last = frame.iloc[-1]
    return dg.MaterializeResult(metadata={
        "dagster/row_count": rows, "oracle gap captured (last round)": float(last["oracle_gap_captured"]),
        "cumulative regret": float(last["cumulative_regret"]), "GATE RMSE": float(last["gate_rmse"])})


@dg.asset(deps=[flywheel_benchmark], group_name="benchmarks", kinds={"duckdb"},
          description="Benchmark rounds averaged per scenario and round (over the seeds run so far).")
def flywheel_summary(context: dg.AssetExecutionContext, store: DuckDBStore) -> dg.MaterializeResult:
    with open_connection(store.resolved_path(), read_only=True) as con:
        frame = con.execute(
            f'SELECT scenario, k, profile, "round", count(*) AS seeds, avg(oracle_gap_captured) AS gap_captured, '
            f'avg(cumulative_regret) AS cumulative_regret, avg(gate_rmse) AS gate_rmse, '
            f'avg(policy_accuracy) AS policy_accuracy FROM "{BENCHMARK_TABLE}" '
            'GROUP BY ALL ORDER BY scenario, k, profile, "round"').df()
    return store_summary(context, store, BENCHMARK_SUMMARY_TABLE, frame, BENCHMARK_EXPERIMENT)


def store_summary(context: dg.AssetExecutionContext, store: DuckDBStore, table: str, frame: pd.DataFrame,
                  experiment_id: str) -> dg.MaterializeResult:
    """A benchmark summary written as the ``summary`` partition of ``table``, and shown as a table in the UI."""
    rows = replace_partition(store.resolved_path(), table, frame, experiment_id=experiment_id, round_key="summary",
                             run_id=context.run.run_id, code_version=code_version())
    return dg.MaterializeResult(metadata={
        "dagster/row_count": rows,
        "summary": dg.MetadataValue.md(pd.DataFrame(frame).to_markdown(index=False, floatfmt=".3f"))})
