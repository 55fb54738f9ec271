"""`pytyche power`: the library's power analysis, from options or from a data file's control arm."""

from __future__ import annotations

import json

import pytest

from pytyche_core.experiment.power import baseline_from_revenue, detectable_lift, visitors_needed
from tests.cli.helpers import error_line, invoke

BASELINE = ["--baseline-conversion", "0.03", "--order-value-mean", "60", "--order-value-cv", "1.0"]


def _json(*args) -> dict:
    done = invoke("power", *args, "--json")
    assert done.exit_code == 0, done.stderr
    return json.loads(done.stdout)


def test_visitors_needed_are_the_librarys():
    answer = _json("--lift", "0.05", "-k", "3", *BASELINE)
    expected = visitors_needed(0.05, baseline_conversion=0.03, order_value_mean=60, order_value_cv=1.0, arms=3)
    assert answer["visitors_per_arm"] == expected.visitors_per_arm
    assert answer["total_visitors"] == 3 * expected.visitors_per_arm
    assert answer["achieved_power"] >= 0.8


def test_the_detectable_lift_inverts_visitors_needed():
    answer = _json("--visitors-per-arm", "50000", *BASELINE)
    assert answer["relative_lift"] == pytest.approx(detectable_lift(
        50000, baseline_conversion=0.03, order_value_mean=60, order_value_cv=1.0).relative_lift)
    assert answer["achieved_power"] == pytest.approx(0.8, abs=1e-6)


def test_a_segment_check_answers_in_weeks():
    answer = _json("--lift", "0.1", *BASELINE, "--segment-share", "0.2", "--weekly-visitors", "200000")
    assert answer["traffic_visitors"] >= answer["total_visitors"] * 5 - 1
    assert answer["weeks_needed"] == pytest.approx(answer["traffic_visitors"] / 200000)
    assert answer["large_enough"] == (answer["weeks_needed"] <= 4)


def test_the_baseline_can_come_from_the_control_arm(observed_parquet):
    import pytyche_core as pt

    control = pt.load_experiment(observed_parquet, "reversal-k3-revenue_per_visitor-stress").variants[0].visitors
    estimated = baseline_from_revenue(control["revenue"].to_numpy())
    answer = _json("--lift", "0.05", "--from-data", observed_parquet)
    assert answer["baseline_conversion"] == pytest.approx(estimated["baseline_conversion"])
    assert answer["order_value_cv"] == pytest.approx(estimated["order_value_cv"])
    overridden = _json("--lift", "0.05", "--from-data", observed_parquet, "--order-value-mean", "99")
    assert overridden["order_value_mean"] == 99.0


def test_the_text_names_the_answer():
    done = invoke("power", "--lift", "0.05", *BASELINE)
    assert done.exit_code == 0 and "visitors each" in done.stdout and "visitors per arm" in done.stdout


@pytest.mark.parametrize("args, code, words", [
    (["--lift", "0.05"], 2, "--baseline-conversion"),
    ([*BASELINE], 2, "--lift"),
    (["--visitors-per-arm", "100", "--weekly-visitors", "5", *BASELINE], 2, "--weekly-visitors"),
    (["--lift", "0.05", "--baseline-conversion", "1.5", "--order-value-mean", "60", "--order-value-cv", "1"], 1,
     "baseline_conversion"),
])
def test_missing_or_bad_inputs_are_one_line(args, code, words):
    done = invoke("power", *args)
    assert done.exit_code == code
    assert words in error_line(done)
