"""`pytyche plan`: the next round's plan from a fit (made now) or from the store (as stored)."""

from __future__ import annotations

import json

import pytest

from tests.cli.helpers import VISITORS, error_line, invoke


def _plan(*args) -> dict:
    done = invoke("plan", *args, "--json")
    assert done.exit_code == 0, done.stderr
    return json.loads(done.stdout)


def test_a_plan_from_a_fit_has_cells_that_sum_to_one_and_routes_for_every_segment(fitted):
    answer = _plan(fitted.result, "--visitors", 2000, "--assignable", "device,engagement")
    plan = answer["plan"]
    assert [c["name"] for c in plan["cells"]] == ["control", "explore", "optimized"]
    assert sum(c["weight"] for c in plan["cells"]) == pytest.approx(1.0)
    assert plan["n_visitors"] == 2000 and plan["rounds_completed"] == 1
    assert {r["segment_id"] for r in plan["routes"]} == {s["id"] for s in answer["segments"]}
    split_on = set().union(*(_features(s["rule"]) for s in plan["tree"]["segments"]))
    assert split_on <= {"device", "engagement"}  # only what the storefront can route on
    assert "Next round: 2,000 visitors" in plan["prose_summary"]


def test_the_floors_reach_the_cells(fitted):
    plan = _plan(fitted.result, "--min-control", "0.2", "--min-explore", "0.1")["plan"]
    weights = {c["name"]: c["weight"] for c in plan["cells"]}
    assert weights["control"] == pytest.approx(0.2) and weights["explore"] == pytest.approx(0.1)


def test_the_stored_plan_reads_back_as_written(planned_store):
    store, experiment, key = planned_store
    answer = _plan("--store", store)
    assert answer["source"] == {"store": str(store), "experiment_id": experiment, "round_key": key}
    assert answer["plan"]["n_visitors"] == VISITORS
    text = invoke("plan", "--store", store, "--round", key)
    assert text.exit_code == 0 and answer["plan"]["prose_summary"] in text.stdout


def test_text_shows_cells_routes_and_prose(fitted):
    done = invoke("plan", fitted.result)
    assert done.exit_code == 0, done.stderr
    for part in ("Plan for the next round", "cell", "optimized", "Segment routes", "Decision for"):
        assert part in done.stdout, part


@pytest.mark.parametrize("args, code, words", [
    ([], 2, "either RESULT_FILE"),
    (["--round", "x"], 2, "--store"),
])
def test_a_plan_needs_exactly_one_source(fitted, args, code, words):
    done = invoke("plan", *args)
    assert done.exit_code == code
    assert words in error_line(done)


def test_a_round_without_a_plan_is_exit_1_with_the_rounds_that_have_one(planned_store, tmp_path):
    store, experiment, key = planned_store
    done = invoke("plan", "--store", store, "--round", "2031-01-01")
    assert done.exit_code == 1 and key in error_line(done)
    bare = tmp_path / "bare.duckdb"
    assert invoke("simulate", "constant", "--visitors", 300, "--out", bare).exit_code == 0
    done = invoke("plan", "--store", bare)
    assert done.exit_code == 1 and "pytyche run" in error_line(done)


def _features(rule: dict) -> set[str]:
    """Feature names of a rule's JSON condition: ``{"all": [{"feature": ..., ...}, ...]}``."""
    return {clause["feature"] for clause in rule.get("all", [])}
