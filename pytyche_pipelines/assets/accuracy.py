"""Accuracy benchmarks as partitions: per (scenario, seed) every system fitted on the same simulated data.

``accuracy_benchmark`` simulates its partition's catalog scenario once, fits
and scores every system of ``AccuracySettings`` on it (the library's
``compare_on_scenario``: the same figures ``benchmarks/accuracy.py`` prints)
and stores one row per system in ``accuracy_rows``. The stored partition key
carries K, profile and n as well, so runs at other settings sit beside each
other instead of replacing each other. ``accuracy_summary`` averages them per
scenario, K, profile, n and system over the seeds run so far. Backfill the
partitions from the UI; the peers are the ``bench`` extra.
"""

# No "from __future__ import annotations": Dagster inspects the context annotation at definition time.

import dagster as dg

from pytyche_core.benchmarking import SYSTEMS, check_systems, compare_on_scenario
from pytyche_core.store import open_connection, replace_partition

from ..experiments import FitSettings
from ..lineage import code_version
from ..resources import DuckDBStore
from .benchmarks import BENCHMARKS, store_summary

ACCURACY_TABLE = "accuracy_rows"
ACCURACY_SUMMARY_TABLE = "accuracy_summary"
#: Accuracy rows live under one pseudo-experiment; the round key is "scenario|seed|K|profile|n".
ACCURACY_EXPERIMENT = "accuracy-benchmark"


class AccuracySettings(dg.ConfigurableResource, FitSettings):
    """What every accuracy partition runs: arms, profile, visitors, systems and our fit settings.

    ``systems``: any of pytyche, pytyche_independent, stochtree, bartz (K = 2 only), econml and
    t_learner. ``stochtree``: "recommended" (warm start + 100 MCMC) or "matched" (our sweeps).
    """

    k: int = 3
    profile: str = "realistic"
    n: int = 50_000
    systems: list[str] = ["pytyche", "pytyche_independent", "stochtree", "econml", "t_learner"]
    stochtree: str = "recommended"


@dg.asset(partitions_def=BENCHMARKS, group_name="benchmarks", kinds={"duckdb", "jax"}, pool="gpu",
          description="Every system fitted and scored on one simulated (scenario, seed): one row per system.")
def accuracy_benchmark(context: dg.AssetExecutionContext, store: DuckDBStore,
                       accuracy: AccuracySettings) -> dg.MaterializeResult:
    keys = context.partition_key.keys_by_dimension
    scenario, seed = keys["scenario"], int(keys["seed"])
    systems = check_systems(accuracy.systems, k=accuracy.k, stochtree=accuracy.stochtree)  # before any fit
    frame = compare_on_scenario(scenario, k=accuracy.k, profile=accuracy.profile, n=accuracy.n, seed=seed,
                                systems=systems, config=accuracy.fit_config(), stochtree=accuracy.stochtree)
    round_key = f"{scenario}|{keys['seed']}|K{accuracy.k}|{accuracy.profile}|n{accuracy.n}"
    rows = replace_partition(store.resolved_path(), ACCURACY_TABLE, frame, experiment_id=ACCURACY_EXPERIMENT,
                             round_key=round_key, run_id=context.run.run_id, code_version=code_version())
    table = frame.set_index("system")[["rmse", "gate_rmse", "cover80", "gate_cover80", "seconds"]]
    return dg.MaterializeResult(metadata={
        "dagster/row_count": rows, "stored as": round_key,
        "scores": dg.MetadataValue.md(table.to_markdown(floatfmt=".3f"))})


@dg.asset(deps=[accuracy_benchmark], group_name="benchmarks", kinds={"duckdb"},
          description="Accuracy rows averaged per scenario, K, profile, n and system (over the seeds run so far).")
def accuracy_summary(context: dg.AssetExecutionContext, store: DuckDBStore) -> dg.MaterializeResult:
    with open_connection(store.resolved_path(), read_only=True) as con:
        frame = con.execute(
            'SELECT scenario, k, profile, n, system, count(*) AS seeds, avg(rmse) AS rmse, '
            'avg(gate_rmse) AS gate_rmse, avg(het_sd) AS het_sd, avg(cover80) AS cover80, '
            'avg(gate_cover80) AS gate_cover80, avg(ate_error) AS ate_error, avg(seconds) AS seconds '
            f'FROM "{ACCURACY_TABLE}" GROUP BY ALL ORDER BY scenario, k, profile, n, system').df()
    return store_summary(context, store, ACCURACY_SUMMARY_TABLE, frame, ACCURACY_EXPERIMENT)


__all__ = ["ACCURACY_SUMMARY_TABLE", "ACCURACY_TABLE", "SYSTEMS", "AccuracySettings", "accuracy_benchmark",
           "accuracy_summary"]
