"""The simulated round's draws: features -> potential outcomes (the truth; simulation only).

Each asset reads its inputs from DuckDB, calls ``pytyche_core`` and writes
its output back in one transaction, stamped with the experiment id, round
key, Dagster run id and code version. The round loop (``round_loop``)
assigns these visitors by the previous round's plan and observes them; the
truth tables stay apart from the observed ``visitors`` table that analysis reads.
"""

# No "from __future__ import annotations": Dagster inspects the context annotation at definition time.

import warnings

import dagster as dg
import pandas as pd

from pytyche_core.store import read_partition, record_design, replace_partition

from ..experiments import SimulatedExperiment
from ..lineage import code_version
from ..partitions import ROUNDS, round_index
from ..resources import DuckDBStore

#: Rounds run in order, one partition per run (the round loop needs the previous round's plan).
ONE_ROUND = dg.BackfillPolicy.multi_run(max_partitions_per_run=1)
# Backfill policies on single assets are "beta" in Dagster 1.13; the multi-run policy is what we rely on.
warnings.filterwarnings("ignore", message="Parameter `backfill_policy`", category=dg.BetaWarning)

FEATURES_TABLE = "sim_features"
OUTCOMES_TABLE = "sim_potential_outcomes"


def _stamp(context: dg.AssetExecutionContext, experiment: SimulatedExperiment) -> dict[str, str]:
    return {"experiment_id": experiment.experiment_id, "round_key": context.partition_key,
            "run_id": context.run.run_id, "code_version": code_version()}


def _schema(frame: pd.DataFrame) -> dg.TableSchema:
    return dg.TableSchema(columns=[dg.TableColumn(str(c), str(t)) for c, t in frame.dtypes.items()])


def build_simulation_assets(experiment: SimulatedExperiment) -> list[dg.AssetsDefinition]:
    """``features`` and ``potential_outcomes`` of one experiment, under its key prefix."""
    prefix = experiment.key_prefix()

    @dg.asset(name="features", key_prefix=[prefix], partitions_def=ROUNDS, group_name=prefix,
              kinds={"duckdb", "python"}, backfill_policy=ONE_ROUND,
              description="The round's visitors' features, drawn from the scenario's population (simulation only).")
    def features(context: dg.AssetExecutionContext, store: DuckDBStore) -> dg.MaterializeResult:
        rounds = experiment.rounds()  # an unknown scenario fails here, before anything is written
        record_design(store.resolved_path(), experiment.experiment_id, experiment.design())
        index = round_index(context.partition_key)
        frame = rounds.features(index, experiment.round_size(index))
        rows = replace_partition(store.resolved_path(), FEATURES_TABLE, frame, **_stamp(context, experiment))
        return dg.MaterializeResult(metadata={
            "dagster/row_count": rows, "dagster/column_schema": _schema(frame),
            "table": FEATURES_TABLE, "experiment_id": experiment.experiment_id,
            "scenario": f"{experiment.scenario} (K={experiment.arms}, {experiment.metric}, {experiment.profile})",
        })

    @dg.asset(name="potential_outcomes", key_prefix=[prefix], partitions_def=ROUNDS, group_name=prefix,
              kinds={"duckdb", "python"}, backfill_policy=ONE_ROUND, deps=[features],
              description="Every visitor's conversion probability and order value under every arm: the truth.")
    def potential_outcomes(context: dg.AssetExecutionContext, store: DuckDBStore) -> dg.MaterializeResult:
        stamp = _stamp(context, experiment)
        frame = read_partition(store.resolved_path(), FEATURES_TABLE, experiment.experiment_id,
                               context.partition_key)
        outcomes = experiment.rounds().potential_outcomes(frame)
        rows = replace_partition(store.resolved_path(), OUTCOMES_TABLE, outcomes.to_frame(), **stamp)
        effects = outcomes.contrasts().mean(axis=0)
        return dg.MaterializeResult(metadata={
            "dagster/row_count": rows, "table": OUTCOMES_TABLE,
            **{f"true average effect, arm {k}": float(e) for k, e in enumerate(effects, start=1)},
        })

    return [features, potential_outcomes]
