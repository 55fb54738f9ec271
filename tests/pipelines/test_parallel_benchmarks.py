"""Two benchmark partitions run side by side, each in its own process, into one store file.

This is what a UI backfill does on the local instance (one process per run,
two at a time): both runs share the instance's history and the DuckDB file,
and the store's lock wait serialises their writes so neither is lost.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from pytyche_pipelines.assets.benchmarks import BENCHMARK_SEEDS, BENCHMARK_TABLE

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SMALL = {"k": 2, "profile": "stress", "rounds": 2, "visitors_per_round": 1500, "mu_trees": 20, "tau_trees": 10,
         "burn_in": 30, "draws": 20, "chains": 2, "n_bootstrap": 5}


def test_two_benchmark_partitions_run_in_parallel_processes(tmp_path):
    store = tmp_path / "bench.duckdb"
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path), "PYTYCHE_DUCKDB": str(store)}
    (tmp_path / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        instance.add_dynamic_partitions(BENCHMARK_SEEDS.name, ["000", "001"])
    config = json.dumps({"resources": {"benchmark": {"config": SMALL}}})
    dagster = Path(sys.executable).parent / "dagster"
    runs = [subprocess.Popen(
        [str(dagster), "asset", "materialize", "-m", "pytyche_pipelines.definitions", "--select",
         "flywheel_benchmark", "--partition", f"reversal|{seed}", "--config-json", config],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for seed in ("000", "001")]
    started = time.monotonic()
    outputs = [run.communicate(timeout=900)[0] for run in runs]
    for run, output in zip(runs, outputs, strict=True):
        assert run.returncode == 0, output[-3000:]
    # Both processes were alive together: each one's step started before the other's finished.
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        records = instance.get_run_records()
        assert len(records) == 2 and all(r.dagster_run.is_success for r in records)
        spans = sorted((r.start_time, r.end_time) for r in records)
    assert spans[1][0] < spans[0][1], f"the runs did not overlap: {spans} ({time.monotonic() - started:.0f} s)"
    with duckdb.connect(str(store), read_only=True) as con:
        stored = con.execute(f'SELECT seed, count(*) FROM "{BENCHMARK_TABLE}" GROUP BY 1 ORDER BY 1').fetchall()
    assert stored == [(0, 2), (1, 2)]
