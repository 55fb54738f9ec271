"""Automation: the weekly schedule, the benchmark-seed sensor and one benchmark partition end to end."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import duckdb
import pytest

from pytyche_pipelines.assets.benchmarks import (
    BENCHMARK_SEEDS,
    BENCHMARK_TABLE,
    BenchmarkSettings,
    flywheel_benchmark,
    flywheel_summary,
)
from pytyche_pipelines.automation import benchmark_seed_sensor
from pytyche_pipelines.definitions import defs
from pytyche_pipelines.resources import DuckDBStore


def test_the_schedule_runs_the_week_that_ended():
    schedule = defs.resolve_schedule_def("demo_clustered_k3__round_schedule")
    context = dg.build_schedule_context(scheduled_execution_time=dt.datetime(2026, 1, 20, tzinfo=dt.UTC))
    requests = schedule.evaluate_tick(context).run_requests
    assert [r.partition_key for r in requests] == ["2026-01-12"]


def test_the_sensor_registers_missing_seeds_once(monkeypatch):
    monkeypatch.setenv("PYTYCHE_BENCHMARK_SEEDS", "3")
    instance = dg.DagsterInstance.ephemeral()
    result = benchmark_seed_sensor(dg.build_sensor_context(instance=instance))
    [request] = result.dynamic_partitions_requests
    assert list(request.partition_keys) == ["000", "001", "002"]
    instance.add_dynamic_partitions(BENCHMARK_SEEDS.name, list(request.partition_keys))
    again = benchmark_seed_sensor(dg.build_sensor_context(instance=instance))
    assert not again.dynamic_partitions_requests
    monkeypatch.setenv("PYTYCHE_BENCHMARK_SEEDS", "many")
    with pytest.raises(ValueError, match="Fix"):
        benchmark_seed_sensor(dg.build_sensor_context(instance=instance))


def test_a_benchmark_partition_runs_a_whole_experiment(tmp_path):
    path = str(tmp_path / "bench.duckdb")
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(BENCHMARK_SEEDS.name, ["000"])
    resources = {"store": DuckDBStore(path=path),
                 "benchmark": BenchmarkSettings(k=3, profile="stress", rounds=2, visitors_per_round=1500,
                                                mu_trees=20, tau_trees=10, burn_in=30, draws=20, chains=2,
                                                n_bootstrap=5)}
    key = dg.MultiPartitionKey({"scenario": "reversal", "seed": "000"})
    assert dg.materialize([flywheel_benchmark], partition_key=key, resources=resources, instance=instance).success
    assert dg.materialize([flywheel_summary], resources=resources, instance=instance,
                          selection=[flywheel_summary]).success
    with duckdb.connect(path, read_only=True) as con:
        rounds = con.execute(f'SELECT "round", scenario, seed FROM "{BENCHMARK_TABLE}" ORDER BY 1').fetchall()
        summary = con.execute('SELECT scenario, "round", seeds FROM benchmark_summary ORDER BY 2').fetchall()
    assert rounds == [(1, "reversal", 0), (2, "reversal", 0)]
    assert summary == [("reversal", 1, 1), ("reversal", 2, 1)]
