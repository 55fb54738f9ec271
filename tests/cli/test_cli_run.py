"""`pytyche run`: hands its options to the pipeline's job with DAGSTER_HOME set as tasks.py sets it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytyche_cli.commands.run import job_arguments
from tests.cli.helpers import TINY_FIT, error_line, invoke


@pytest.fixture
def job(monkeypatch):
    """Replace the pipeline job by a recorder (the job itself is tested in tests/pipelines)."""
    import pytyche_pipelines.main as pipeline_main

    calls = []

    def recorder(argv):
        import os

        calls.append({"argv": list(argv), "DAGSTER_HOME": os.environ.get("DAGSTER_HOME"),
                      "PYTYCHE_DUCKDB": os.environ.get("PYTYCHE_DUCKDB")})
        return recorder.code

    recorder.code = 0
    monkeypatch.setattr(pipeline_main, "main", recorder)
    for name in ("DAGSTER_HOME", "PYTYCHE_DUCKDB"):  # set, then unset: monkeypatch restores them afterwards
        monkeypatch.setenv(name, "placeholder")
        monkeypatch.delenv(name)
    return recorder, calls


def test_given_options_reach_the_job_and_the_rest_keep_its_defaults(tmp_path, job):
    recorder, calls = job
    store = tmp_path / "store.duckdb"
    done = invoke("run", "--store", store, "--rounds", 2, "--scenario", "reversal", "-k", 3, *TINY_FIT,
                  "--bootstrap", 0)
    assert done.exit_code == 0, done.stderr
    argv = calls[0]["argv"]
    assert argv[:2] == ["--duckdb", str(store)]
    pairs = dict(zip(argv[2::2], argv[3::2], strict=True))
    assert pairs == {"--scenario": "reversal", "--arms": "3", "--rounds": "2", "--burn-in": "10", "--draws": "10",
                     "--chains": "1", "--mu-trees": "10", "--tau-trees": "5", "--n-bootstrap": "0"}
    assert calls[0]["DAGSTER_HOME"] == str((tmp_path / "dagster_home").resolve())
    assert calls[0]["PYTYCHE_DUCKDB"] == str(store)


def test_an_explicit_dagster_home_wins(tmp_path, job, monkeypatch):
    _, calls = job
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "mine"))
    assert invoke("run", "--store", tmp_path / "s.duckdb").exit_code == 0
    assert calls[0]["DAGSTER_HOME"] == str((tmp_path / "mine").resolve())


def test_flags_pass_as_flags():
    assert job_arguments({"full_size": True, "seed": None, "rounds": 4}, "s.duckdb") == \
        ["--duckdb", "s.duckdb", "--full-size", "--rounds", "4"]


def test_a_failed_job_is_exit_1_with_a_fix(tmp_path, job):
    recorder, _ = job
    recorder.code = 1
    done = invoke("run", "--store", tmp_path / "s.duckdb")
    assert done.exit_code == 1
    assert "pytyche ui" in error_line(done)


def test_bad_choices_are_usage_errors_and_the_job_never_starts(tmp_path, job):
    _, calls = job
    for args in (["--scenario", "nope"], ["--arms", "6"], ["--rounds", "0"]):
        done = invoke("run", "--store", tmp_path / "s.duckdb", *args)
        assert done.exit_code == 2, args
        error_line(done)
    missing = invoke("run", "--store", tmp_path / "no" / "such" / "s.duckdb")
    assert missing.exit_code == 1 and "does not exist" in error_line(missing)
    assert calls == []


@pytest.mark.slow
def test_one_real_round_lands_in_the_store_and_prints_json(tmp_path, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    store = tmp_path / "store.duckdb"
    monkeypatch.setenv("PYTYCHE_DUCKDB", str(store))  # restored afterwards: the command sets it
    done = invoke("run", "--store", store, "--experiment-id", "cli-run", "--rounds", 1, "--visitors-per-round",
                  1500, "--scenario", "reversal", "-k", 2, *TINY_FIT, "--bootstrap", 0, "--json")
    assert done.exit_code == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["experiment_id"] == "cli-run" and answer["last_round"]
    assert sum(row["visitors"] for row in answer["summary"]) == 1500
    assert answer["next_plan"]["cells"]
    assert Path(tmp_path / "home" / "dagster.yaml").exists()
