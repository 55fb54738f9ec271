"""`pytyche simulate`: the observed data lands whole in the format asked for, and bad input writes nothing."""

from __future__ import annotations

import json

import pytest

import pytyche_core as pt
from pytyche_core.store import read_round_truth
from tests.cli.helpers import VISITORS, error_line, invoke


def test_the_shared_file_loads_back_as_the_experiment_it_describes(observed_parquet):
    observed = pt.load_experiment(observed_parquet, "reversal-k3-revenue_per_visitor-stress")
    assert observed.n_visitors == VISITORS
    assert observed.arm_names == ("control", "treatment_1", "treatment_2")
    assert {"propensity_1", "propensity_2", "cell"} <= set(observed.visitors().columns)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_json_summary_matches_the_written_file(tmp_path, suffix):
    out = tmp_path / f"data{suffix}"
    done = invoke("simulate", "constant", "--visitors", 800, "--seed", 3, "--experiment-id", "exp-a", "--out", out,
                  "--json")
    assert done.exit_code == 0, done.stderr
    summary = json.loads(done.stdout)
    observed = pt.load_experiment(out, "exp-a")
    assert summary["visitors"] == observed.n_visitors == 800
    assert sum(a["visitors"] for a in summary["arms"]) == 800
    assert [a["arm"] for a in summary["arms"]] == list(observed.arm_names)
    assert summary["truth_stored"] is False
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "a temporary file was left behind"


def test_a_store_gets_the_round_with_its_truth_and_refuses_to_replace_it_silently(tmp_path):
    store = tmp_path / "s.duckdb"
    first = invoke("simulate", "constant", "--visitors", 600, "--out", store, "--experiment-id", "e1", "--json")
    assert first.exit_code == 0, first.stderr
    assert json.loads(first.stdout)["truth_stored"] is True
    assert len(read_round_truth(store, "e1").cate_per_visitor) == 600
    again = invoke("simulate", "constant", "--visitors", 700, "--out", store, "--experiment-id", "e1")
    assert again.exit_code == 1
    assert "--overwrite" in error_line(again)
    assert pt.load_experiment(store, "e1").n_visitors == 600
    second = invoke("simulate", "constant", "--visitors", 500, "--out", store, "--experiment-id", "e2")
    assert second.exit_code == 0, second.stderr
    assert pt.load_experiment(store, "e2").n_visitors == 500


def test_an_unknown_scenario_is_a_usage_error_naming_the_choices_and_writes_nothing(tmp_path):
    out = tmp_path / "x.parquet"
    done = invoke("simulate", "no-such-scenario", "--out", out)
    assert done.exit_code == 2
    line = error_line(done)
    assert line.startswith("pytyche simulate: error:") and "reversal" in line
    assert not out.exists() and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("args, code, words", [
    (["--arms", "6"], 2, "--arms"),
    (["--profile", "gentle"], 2, "--profile"),
    (["--visitors", "0"], 2, "--visitors"),
])
def test_bad_settings_are_usage_errors(tmp_path, args, code, words):
    out = tmp_path / "x.csv"
    done = invoke("simulate", "reversal", "--out", out, *args)
    assert done.exit_code == code
    assert words in error_line(done)
    assert not out.exists()


def test_an_existing_file_or_an_unknown_format_is_refused_before_simulating(tmp_path):
    existing = tmp_path / "keep.csv"
    existing.write_text("precious")
    done = invoke("simulate", "reversal", "--out", existing)
    assert done.exit_code == 1 and "--overwrite" in error_line(done)
    assert existing.read_text() == "precious"
    odd = invoke("simulate", "reversal", "--out", tmp_path / "x.xlsx")
    assert odd.exit_code == 2 and ".parquet" in error_line(odd)
    missing_folder = invoke("simulate", "reversal", "--out", tmp_path / "nope" / "x.csv")
    assert missing_folder.exit_code == 1 and "does not exist" in error_line(missing_folder)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.csv"]
