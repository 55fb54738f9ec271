"""The store against what users do to its file: another process holding it, a file that is no store."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

import pytyche_core as pt
from pytyche_core.simulate import scenario
from pytyche_core.store import StoreFileError, StoreLockedError, write_round


@pytest.fixture(scope="module")
def observed():
    return pt.simulate(scenario("constant", k=2, profile="stress").config(200, seed=1)).observed


def _hold(path, seconds: float) -> subprocess.Popen:
    """Another process holding ``path`` read-only for ``seconds`` (as a notebook or the DuckDB CLI would)."""
    code = (f"import duckdb, sys, time; c = duckdb.connect({str(path)!r}, read_only=True); "
            f"print('held', flush=True); time.sleep({seconds})")
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    return holder


def test_a_reader_in_another_process_is_waited_for(tmp_path, observed, monkeypatch):
    path = tmp_path / "store.duckdb"
    write_round(path, observed, round_key="r1", run_id="a", code_version="t")
    monkeypatch.setenv("PYTYCHE_DUCKDB_LOCK_WAIT", "20")
    holder = _hold(path, 1.5)
    started = time.monotonic()
    write_round(path, observed, round_key="r1", run_id="b", code_version="t")  # waits for the holder
    assert time.monotonic() - started >= 0.5
    holder.wait()
    assert pt.load_experiment(path, observed.experiment_id).n_visitors == 200


def test_a_holder_past_the_wait_gets_one_readable_error_and_nothing_is_written(tmp_path, observed, monkeypatch):
    path = tmp_path / "store.duckdb"
    write_round(path, observed, round_key="r1", run_id="a", code_version="t")
    monkeypatch.setenv("PYTYCHE_DUCKDB_LOCK_WAIT", "0.5")
    holder = _hold(path, 10)
    try:
        with pytest.raises(StoreLockedError, match="held by another process.*Fix"):
            write_round(path, observed, round_key="r2", run_id="b", code_version="t")
    finally:
        holder.kill()
        holder.wait()
    assert pt.load_experiment(path, observed.experiment_id).n_visitors == 200  # r2 never landed


def test_a_file_that_is_no_store_is_named_with_the_fix(tmp_path, observed):
    path = tmp_path / "store.duckdb"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreFileError, match="store.duckdb.*Fix"):
        write_round(path, observed, round_key="r1", run_id="a", code_version="t")


def _another_round(observed, *, prefix: str, metric: str | None = None, drop_feature: str | None = None):
    """``observed`` with its visitor ids re-prefixed (and optionally another metric or a feature dropped)."""
    variants = []
    for v in observed.variants:
        frame = v.visitors.assign(visitor_id=prefix + v.visitors["visitor_id"].astype(str))
        if drop_feature is not None:
            frame = frame.drop(columns=[drop_feature])
        variants.append(pt.VariantData.from_visitors(v.name, frame))
    return pt.ObservedExperimentData(observed.experiment_id, metric or observed.metric, variants)


def test_a_round_that_does_not_belong_is_refused_and_writes_nothing(tmp_path, observed):
    path = tmp_path / "store.duckdb"
    write_round(path, observed, round_key="r1", run_id="a", code_version="t")
    with pytest.raises(pt.ContractViolation, match="visitor ids already stored"):
        write_round(path, observed, round_key="r2", run_id="b", code_version="t")  # same visitors again
    with pytest.raises(pt.ContractViolation, match="feature columns differ"):
        write_round(path, _another_round(observed, prefix="x-", drop_feature="engagement"), round_key="r2",
                    run_id="b", code_version="t")
    converted_only = _another_round(observed, prefix="y-", metric="conversion_rate")
    with pytest.raises(pt.ContractViolation, match="metric"):
        write_round(path, converted_only, round_key="r2", run_id="b", code_version="t")
    assert pt.load_experiment(path, observed.experiment_id).n_visitors == 200  # nothing of r2 landed
    write_round(path, _another_round(observed, prefix="z-"), round_key="r2", run_id="b", code_version="t")
    write_round(path, observed, round_key="r1", run_id="c", code_version="t")  # rewriting r1 itself is fine
    assert pt.load_experiment(path, observed.experiment_id).n_visitors == 400


def test_a_crash_while_writing_round_results_leaves_every_table_as_it_was(tmp_path, monkeypatch):
    import pandas as pd

    from pytyche_core.store import partition, read_partition, replace_partitions

    path = tmp_path / "store.duckdb"
    stamp = dict(experiment_id="exp", round_key="r1", code_version="t")
    first = {"a": pd.DataFrame({"x": [1.0, 2.0]}), "b": pd.DataFrame({"y": ["p"]}), "c": pd.DataFrame({"z": [3]})}
    replace_partitions(path, first, run_id="one", **stamp)
    calls = {"n": 0}
    original = partition.insert_frame

    def failing_insert(con, table, frame, lineage):
        calls["n"] += 1
        if calls["n"] == 4:  # after table a's rows and layout, in the middle of table b
            raise RuntimeError("killed mid-write")
        return original(con, table, frame, lineage)

    monkeypatch.setattr(partition, "insert_frame", failing_insert)
    second = {"a": pd.DataFrame({"x": [9.0]}), "b": pd.DataFrame({"y": ["q", "r"]}), "c": pd.DataFrame({"z": [7]})}
    with pytest.raises(RuntimeError, match="killed"):
        replace_partitions(path, second, run_id="two", **stamp)
    for table, frame in first.items():
        pd.testing.assert_frame_equal(read_partition(path, table, "exp", "r1"), frame)
