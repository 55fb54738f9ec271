"""Accuracy benchmark partitions: systems fitted on one simulated scenario, rows and a summary in DuckDB."""

from __future__ import annotations

import dagster as dg
import duckdb
import pytest

from pytyche_pipelines.assets.accuracy import (
    ACCURACY_SUMMARY_TABLE,
    ACCURACY_TABLE,
    AccuracySettings,
    accuracy_benchmark,
    accuracy_summary,
)
from pytyche_pipelines.assets.benchmarks import BENCHMARK_SEEDS
from pytyche_pipelines.resources import DuckDBStore

SMALL_FIT = {"mu_trees": 20, "tau_trees": 10, "burn_in": 30, "draws": 20, "chains": 2}
KEY = dg.MultiPartitionKey({"scenario": "reversal", "seed": "000"})


@pytest.fixture
def instance():
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(BENCHMARK_SEEDS.name, ["000"])
    return instance


def _resources(path, **settings):
    return {"store": DuckDBStore(path=path),
            "accuracy": AccuracySettings(k=2, profile="stress", n=1500, **SMALL_FIT, **settings)}


def test_a_partition_scores_every_system_into_the_store(tmp_path, instance):
    path = str(tmp_path / "bench.duckdb")
    resources = _resources(path, systems=["pytyche", "t_learner"])
    assert dg.materialize([accuracy_benchmark], partition_key=KEY, resources=resources, instance=instance).success
    assert dg.materialize([accuracy_summary], resources=resources, instance=instance).success
    with duckdb.connect(path, read_only=True) as con:
        rows = con.execute(f'SELECT system, scenario, seed, k, n, round_key, rmse, cover80 FROM "{ACCURACY_TABLE}" '
                           'ORDER BY row_index').fetchall()
        summary = con.execute(f'SELECT system, seeds FROM "{ACCURACY_SUMMARY_TABLE}" ORDER BY system').fetchall()
    assert [r[:6] for r in rows] == [("pytyche", "reversal", 0, 2, 1500, "reversal|000|K2|stress|n1500"),
                                     ("t_learner", "reversal", 0, 2, 1500, "reversal|000|K2|stress|n1500")]
    assert all(r[6] > 0 for r in rows)
    assert 0.0 <= rows[0][7] <= 1.0 and rows[1][7] is None  # the T-learner has no intervals: NULL, not a number
    assert summary == [("pytyche", 1), ("t_learner", 1)]


def test_bad_settings_fail_before_any_fit_and_write_nothing(tmp_path, instance):
    path = tmp_path / "bench.duckdb"
    with pytest.raises(ValueError, match="K = 2 only"):
        dg.materialize([accuracy_benchmark], partition_key=KEY, instance=instance,
                       resources={"store": DuckDBStore(path=str(path)),
                                  "accuracy": AccuracySettings(k=3, n=1500, systems=["bartz"], **SMALL_FIT)})
    assert not path.exists()
