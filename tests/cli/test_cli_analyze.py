"""`pytyche analyze`: the answers of one fit, readable and as JSON, each number the library's."""

from __future__ import annotations

import json

import duckdb
import pytest

import pytyche_core as pt
from tests.cli.helpers import error_line, invoke


@pytest.fixture(scope="module")
def answers(fitted) -> dict:
    done = invoke("analyze", fitted.result, "--bootstrap", "5", "--json")
    assert done.exit_code == 0, done.stderr
    return json.loads(done.stdout)


def test_effects_and_the_decision_are_the_librarys(fitted, answers):
    result = pt.load_result(fitted.result)
    analysis = result.analyze(n_bootstrap=5)
    assert [e["treatment"] for e in answers["effects"]] == list(result.treatment_names)
    for row, comparison in zip(answers["effects"], analysis.comparisons, strict=True):
        assert row["estimate"] == pytest.approx(comparison.lift_estimate)
        assert row["interval"] == pytest.approx(list(comparison.lift_ci))
        assert row["interval"][0] <= row["estimate"] <= row["interval"][1]
        assert row["decomposition"]["conversion"]["estimate"] + row["decomposition"]["order_value"]["estimate"] \
            == pytest.approx(row["estimate"], rel=1e-4, abs=1e-6)
    rec = answers["recommendation"]
    assert rec["decision"] == analysis.recommendation.decision.value.upper()
    assert rec["decision"] in ("SHIP", "CONTINUE", "STOP")
    assert len(rec["evidence"]) == 5
    assert answers["interval_level"] == 0.8 and answers["lift_unit"] == "dollar"


def test_p_best_covers_every_arm_and_sums_to_one(answers):
    assert list(answers["p_best"]) == answers["arms"]
    assert sum(answers["p_best"].values()) == pytest.approx(1.0)


def test_each_segments_where_clause_selects_its_share_of_the_data(fitted, answers):
    assert answers["segments"], "the stress scenario's tree should split"
    total = 0.0
    with duckdb.connect() as con:
        n = con.execute("SELECT count(*) FROM read_parquet(?)", [str(fitted.data)]).fetchone()[0]
        for segment in answers["segments"]:
            count = con.execute(f"SELECT count(*) FROM read_parquet(?) WHERE {segment['where_sql']}",
                                [str(fitted.data)]).fetchone()[0]
            assert count / n == pytest.approx(segment["population_share"])
            assert sum(segment["p_best"].values()) == pytest.approx(1.0)
            total += segment["population_share"]
    assert total == pytest.approx(1.0)


def test_the_text_answers_every_question(fitted, answers):
    done = invoke("analyze", fitted.result, "--bootstrap", "5")
    assert done.exit_code == 0, done.stderr
    text = done.stdout
    for part in ("Average effect per treatment", "80% interval", "P(best arm)",
                 f"Recommendation: {answers['recommendation']['decision']}", "expected loss of shipping",
                 "Segments (policy tree)", "WHERE "):
        assert part in text, part
    for row in answers["effects"]:
        assert row["treatment"] in text


def test_a_file_that_is_no_result_is_one_line_and_exit_1(tmp_path, fitted):
    for path, words in ((fitted.data, "not a readable"), (tmp_path / "missing.npz", "no such result file")):
        done = invoke("analyze", path)
        assert done.exit_code == 1
        assert words in error_line(done)
        assert done.stdout == ""
