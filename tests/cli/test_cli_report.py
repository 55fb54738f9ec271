"""`pytyche report`: the HTML report of a stored round, written whole or not at all."""

from __future__ import annotations

import json

import pytest

from tests.cli.helpers import error_line, invoke

pytest.importorskip("pytyche_core.report", reason="pytyche_core.report (write_report) is not in this checkout")


def test_the_report_is_one_html_file(planned_store, tmp_path):
    store, experiment, key = planned_store
    out = tmp_path / "report.html"
    done = invoke("report", experiment, "--store", store, "--out", out, "--json")
    assert done.exit_code == 0, done.stderr
    assert json.loads(done.stdout)["report"] == str(out)
    html = out.read_text()
    assert html.lstrip().lower().startswith("<!doctype html") and experiment in html
    assert "<img" in html or "<svg" in html
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_an_unknown_experiment_or_store_writes_nothing(planned_store, tmp_path):
    store, experiment, _ = planned_store
    out = tmp_path / "r.html"
    done = invoke("report", "no-such-experiment", "--store", store, "--out", out)
    assert done.exit_code == 1 and experiment in error_line(done)
    done = invoke("report", experiment, "--store", tmp_path / "missing.duckdb", "--out", out)
    assert done.exit_code == 1 and "--store" in error_line(done)
    done = invoke("report", experiment, "--store", store, "--out", tmp_path / "r.pdf")
    assert done.exit_code == 2 and ".html" in error_line(done)
    assert list(tmp_path.iterdir()) == []
