"""The simulated round: features -> potential outcomes -> observed (uniform assignment for now).

Each asset reads its inputs from DuckDB, calls ``pytyche_core`` and writes
its output back in one transaction, stamped with the experiment id, round
key, Dagster run id and code version. The truth tables stay apart from the
observed ``visitors`` table that analysis reads.
"""

# No "from __future__ import annotations": Dagster inspects the context annotation at definition time.

import dagster as dg
import pandas as pd

from pytyche_core.simulate import PotentialOutcomes
from pytyche_core.store import read_partition, replace_partition, round_summary, write_round

from ..lineage import code_version
from ..partitions import ROUNDS, round_index
from ..resources import DuckDBStore, SimulatedExperiment

FEATURES_TABLE = "sim_features"
OUTCOMES_TABLE = "sim_potential_outcomes"


def _stamp(context: dg.AssetExecutionContext, experiment: SimulatedExperiment) -> dict[str, str]:
    return {"experiment_id": experiment.experiment_id, "round_key": context.partition_key,
            "run_id": context.run.run_id, "code_version": code_version()}


def _schema(frame: pd.DataFrame) -> dg.TableSchema:
    return dg.TableSchema(columns=[dg.TableColumn(str(c), str(t)) for c, t in frame.dtypes.items()])


@dg.asset(partitions_def=ROUNDS, group_name="simulation", kinds={"duckdb", "python"},
          description="The round's visitors' features, drawn from the scenario's population (simulation only).")
def features(context: dg.AssetExecutionContext, store: DuckDBStore,
             experiment: SimulatedExperiment) -> dg.MaterializeResult:
    frame = experiment.rounds().features(round_index(context.partition_key))
    rows = replace_partition(store.resolved_path(), FEATURES_TABLE, frame, **_stamp(context, experiment))
    return dg.MaterializeResult(metadata={
        "dagster/row_count": rows, "dagster/column_schema": _schema(frame),
        "table": FEATURES_TABLE, "experiment_id": experiment.experiment_id,
        "scenario": f"{experiment.scenario} (K={experiment.arms}, {experiment.metric}, {experiment.profile})",
    })


@dg.asset(partitions_def=ROUNDS, group_name="simulation", kinds={"duckdb", "python"}, deps=[features],
          description="Every visitor's conversion probability and order value under every arm: the truth.")
def potential_outcomes(context: dg.AssetExecutionContext, store: DuckDBStore,
                       experiment: SimulatedExperiment) -> dg.MaterializeResult:
    stamp = _stamp(context, experiment)
    frame = read_partition(store.resolved_path(), FEATURES_TABLE, experiment.experiment_id, context.partition_key)
    outcomes = experiment.rounds().potential_outcomes(frame)
    long = outcomes.to_frame()
    rows = replace_partition(store.resolved_path(), OUTCOMES_TABLE, long, **stamp)
    effects = outcomes.contrasts().mean(axis=0)
    return dg.MaterializeResult(metadata={
        "dagster/row_count": rows, "table": OUTCOMES_TABLE,
        **{f"true average effect, arm {k}": float(e) for k, e in enumerate(effects, start=1)},
    })


@dg.asset(partitions_def=ROUNDS, group_name="simulation", kinds={"duckdb", "python"},
          deps=[features, potential_outcomes],
          description="What the experiment observes this round (uniform assignment), and its aligned truth.")
def observed(context: dg.AssetExecutionContext, store: DuckDBStore,
             experiment: SimulatedExperiment) -> dg.MaterializeResult:
    stamp = _stamp(context, experiment)
    path, key = store.resolved_path(), context.partition_key
    frame = read_partition(path, FEATURES_TABLE, experiment.experiment_id, key)
    outcomes = PotentialOutcomes.from_frame(read_partition(path, OUTCOMES_TABLE, experiment.experiment_id, key),
                                            experiment.metric)
    bundle = experiment.rounds().observe(frame, outcomes, round_index(key), key)
    written = write_round(path, bundle.observed, truth=bundle.truth, round_key=key,
                          run_id=stamp["run_id"], code_version=stamp["code_version"])
    summary = round_summary(path, experiment.experiment_id)
    summary = summary[summary["round_key"] == key].drop(columns=["round_key", "arm_index"])
    return dg.MaterializeResult(metadata={
        "dagster/row_count": written.get("visitors", bundle.observed.n_visitors),
        "rows written": dg.MetadataValue.json({k: int(v) for k, v in written.items()}),
        "arms": dg.MetadataValue.md(summary.to_markdown(index=False, floatfmt=".4f")),
    })
