"""The decision report of a stored experiment: what it answers, and that it agrees with the library."""

from __future__ import annotations

import html
import re
import shutil

import duckdb
import pytest

from pytyche_core.experiment.stored import read_plan
from pytyche_core.report import build_report, default_report_path, write_report
from pytyche_core.report.answers import answer
from pytyche_core.report.gather import gather
from pytyche_core.segments import rule_to_sql
from pytyche_core.store import ExperimentNotFoundError, RoundNotFoundError

SECTION_IDS = ("overview", "did-it-work", "by-how-much", "how-confident", "risk", "decomposition", "guardrail",
               "where-it-differs", "act-on", "sql", "next", "history")


@pytest.fixture(scope="module")
def page(stored_experiment) -> str:
    return build_report(stored_experiment.store_path, stored_experiment.experiment_id)


@pytest.fixture(scope="module")
def answers(stored_experiment):
    return answer(gather(stored_experiment.store_path, stored_experiment.experiment_id))


def _text(page: str) -> str:
    """The page's visible text (tags dropped, entities decoded)."""
    return html.unescape(re.sub(r"<[^>]+>", " ", re.sub(r"<style>.*?</style>", "", page, flags=re.S)))


def test_the_report_answers_every_question_of_phases_3_to_5(page):
    for section in SECTION_IDS:
        assert f'<section id="{section}">' in page
    text = _text(page)
    for question in ("Did the variant win?", "What's the risk of shipping (expected loss)?",
                     "Is the segment stable (bootstrap stability >= 0.80)?",
                     "What SQL captures this group (the targeting rule)?",
                     "What experiment should target this segment next?"):
        assert question in text
    images = re.findall(r'<img src="data:image/png;base64,[A-Za-z0-9+/=]+"', page)
    assert len(images) == 5  # lift, calibration, decomposition, segments, loop curves (this is a simulation)
    assert not re.search(r'(?:src|href)="(?!data:|#)', page)


def test_the_report_reads_the_latest_round_and_its_plan(stored_experiment, page, answers):
    last = stored_experiment.round_keys[-1]
    assert answers.stored.round_key == last and answers.stored.round_keys == tuple(stored_experiment.round_keys)
    plan = read_plan(stored_experiment.store_path, stored_experiment.experiment_id, last)
    text = _text(page)
    for paragraph in plan.prose_summary.split("\n\n"):  # what to test next: the stored plan, in its words
        assert paragraph.split("\n")[0].removeprefix("- ") in text


def test_the_decision_agrees_with_the_stored_plan_and_the_fit(stored_experiment, answers, page):
    recorded = answers.stored.plan_json["decision"]
    recommendation = answers.recommendation
    assert recommendation.treatment == recorded["treatment"]
    assert recommendation.decision.value == recorded["decision"]
    fit = answers.stored.posterior.recommendation_summary(recorded["treatment"], round_size=1500)
    assert recommendation.probability_positive == fit.probability_positive
    assert f"{recommendation.decision.value.upper()}" in _text(page)


def test_risk_of_shipping_is_the_expected_loss_split_into_chance_and_cost(answers):
    for c in answers.comparisons:
        worse = c.lift_samples < 0
        assert c.expected_loss_comparison == pytest.approx(float((-c.lift_samples * worse).mean()))
        assert 1.0 - c.probability_positive == pytest.approx(float(worse.mean()))


def test_every_segments_sql_selects_the_visitors_it_reports(stored_experiment, answers, page):
    assert answers.segments, "the stored round has segments"
    with duckdb.connect(str(stored_experiment.store_path), read_only=True) as con:
        for s in answers.segments:
            assert s.sql == rule_to_sql(s.segment.rule)
            assert html.escape(s.sql) in page
            count = con.execute(f'SELECT count(*) FROM "visitors" WHERE "experiment_id" = ? AND ({s.sql})',
                                [stored_experiment.experiment_id]).fetchone()[0]
            assert count == s.n_visitors
    assert sum(s.n_visitors for s in answers.segments) == answers.stored.posterior.observed.n_visitors


def test_actionable_segments_are_stable_clear_of_zero_and_assignable(stored_experiment):
    stored = gather(stored_experiment.store_path, stored_experiment.experiment_id)
    unchecked = answer(stored)
    assert all(s.assignable is None for s in unchecked.segments)
    for s in unchecked.segments:
        assert s.actionable == (s.segment.is_stable and (s.segment.gate_ci[0] > 0 or s.segment.gate_ci[1] < 0))
    used = sorted({f for s in unchecked.segments for f in s.features})
    checked = answer(stored, assignable_attributes=used[:1])
    for s in checked.segments:
        assert s.assignable == (set(s.features) <= {used[0]})
        assert not s.actionable or s.assignable


def test_simulated_rounds_check_the_intervals_against_the_truth(answers):
    assert answers.stored.simulated and answers.stored.true_effects is not None
    n, k1 = answers.stored.true_effects.shape
    assert n == answers.stored.posterior.observed.n_visitors and k1 == len(answers.comparisons)
    for levels, coverage in answers.coverage.values():
        assert len(levels) == len(coverage) and all(b >= a for a, b in zip(coverage, coverage[1:], strict=False))
    assert len(answers.stored.scores) == 2


def test_an_earlier_round_can_be_reported(stored_experiment):
    first = stored_experiment.round_keys[0]
    page = build_report(stored_experiment.store_path, stored_experiment.experiment_id, round_key=first)
    assert f"Round {first} (1 planned round(s) so far)" in _text(page)
    with pytest.raises(RoundNotFoundError, match=r"planned rounds: .*Fix"):
        build_report(stored_experiment.store_path, stored_experiment.experiment_id, round_key="2030-01-07")


def test_write_report_writes_one_file_atomically(stored_experiment, tmp_path):
    out = write_report(stored_experiment.store_path, stored_experiment.experiment_id, tmp_path / "r.html")
    assert out == tmp_path / "r.html" and out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    out.write_text("stale")
    again = write_report(stored_experiment.store_path, stored_experiment.experiment_id, tmp_path)
    assert again == tmp_path / default_report_path(stored_experiment.store_path, "report-test", None).name
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["r.html", again.name])  # no temporary files left


def test_unknown_experiments_and_missing_stores_name_the_fix_and_write_nothing(stored_experiment, tmp_path):
    target = tmp_path / "out.html"
    with pytest.raises(ExperimentNotFoundError, match=r"'report-test'.*Fix"):
        write_report(stored_experiment.store_path, "no-such-experiment", target)
    with pytest.raises(FileNotFoundError, match=r"tasks.py run"):
        write_report(tmp_path / "missing.duckdb", "report-test", target)
    assert list(tmp_path.iterdir()) == []



def test_a_store_without_truth_reports_without_the_simulation_sections(stored_experiment, tmp_path):
    production = tmp_path / "production.duckdb"
    shutil.copyfile(stored_experiment.store_path, production)
    with duckdb.connect(str(production)) as con:
        for table in ("round_scores", "truth_visitors", "truth_rounds"):
            con.execute(f'DROP TABLE "{table}"')
    stored = gather(production, stored_experiment.experiment_id)
    assert not stored.simulated and stored.true_effects is None and stored.scores == ()
    page = build_report(production, stored_experiment.experiment_id)
    assert len(re.findall(r'<img src="data:image/png;base64,', page)) == 3  # no calibration, no loop curves
    assert "production (no truth)" in _text(page)
