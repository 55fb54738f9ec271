"""The figures render from the objects the library returns, and show what those objects say."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from pytyche_core import plots
from pytyche_core.contracts import DecisionThresholds
from pytyche_core.experiment import FixedSchedule, cold_start_plan, recommend
from pytyche_core.experiment.truth import RoundScore
from pytyche_core.posterior.calibration import DEFAULT_LEVELS
from tests.core.posterior.small_fits import hurdle_fit

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def plan():
    return recommend(hurdle_fit().analyze(n_bootstrap=0), history=[],
                     treatments=["control", "treatment_1", "treatment_2"], schedule=FixedSchedule(100), n_bootstrap=0)


@pytest.fixture(scope="module")
def comparisons():
    return [hurdle_fit().compare(t) for t in hurdle_fit().treatment_names]


def _score(i: int) -> RoundScore:
    values = {f: 0.1 * i for f in RoundScore.__dataclass_fields__}
    values.update(round_index=i, n_round=100, n_cumulative=100 * i, segment_count=2)
    return RoundScore(**values)


def test_figures_render_as_png(plan, comparisons):
    for fig in (plots.posterior_lift_figure(hurdle_fit()), plots.segments_figure(plan),
                plots.loop_curves_figure([_score(1), _score(2)]), plots.decomposition_figure(comparisons),
                plots.calibration_figure({"raw": (DEFAULT_LEVELS, DEFAULT_LEVELS)})):
        data = plots.png_bytes(fig)
        assert data[:8] == PNG and len(data) > 5_000
    lines = plots.segments_figure(plan).axes[0].get_yticklabels()
    assert len(lines) == len(plan.tree.segments) and "->" in lines[0].get_text()


def test_the_lift_figure_marks_the_decision_thresholds_and_reports_each_comparison(comparisons):
    thresholds = DecisionThresholds(expected_loss_tolerance=0.25)
    fig = plots.lift_figure(comparisons, thresholds)
    ax = fig.axes[0]
    verticals = sorted(float(line.get_xdata()[0]) for line in ax.get_lines())
    assert verticals == pytest.approx([-0.25, 0.0, 0.25])
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    for c in comparisons:
        entry = next(t for t in legend if t.startswith(c.comparison))
        assert f"P(>0) {c.probability_positive:.2f}" in entry and f"P(harm) {c.probability_harmful:.2f}" in entry
    with pytest.raises(ValueError, match="Fix"):
        plots.lift_figure([], thresholds)


def test_the_decomposition_figure_shows_parts_that_add_up_to_the_total(comparisons):
    fig = plots.decomposition_figure(comparisons)
    means = [float(np.asarray(c.get_children()[0].get_xdata())[0]) for c in fig.axes[0].containers]
    assert len(means) == 3 * len(comparisons)
    for total, conversion, order_value in np.reshape(means, (-1, 3)):
        assert total == pytest.approx(conversion + order_value, rel=1e-4, abs=1e-6)
    without = [dataclasses.replace(c, decomposition=None) for c in comparisons]
    with pytest.raises(ValueError, match="hurdle"):
        plots.decomposition_figure(without)


def test_the_segment_figure_shows_every_segments_allocation(plan):
    fig = plots.segments_figure(plan)
    bars = fig.axes[1].patches
    per_segment = np.zeros(len(plan.tree.segments))
    for bar in bars:
        per_segment[int(round(bar.get_y() + bar.get_height() / 2))] += bar.get_width()
    np.testing.assert_allclose(per_segment, 1.0, atol=1e-9)
    with pytest.raises(ValueError, match="cold start"):
        plots.segments_figure(cold_start_plan(["control", "treatment_1"], 100))


def test_the_calibration_figure_draws_each_curve_against_the_diagonal():
    levels = np.array([0.2, 0.5, 0.8])
    fig = plots.calibration_figure({"too narrow": (levels, levels * 0.5), "honest": (levels, levels)})
    lines = fig.axes[0].get_lines()
    drawn = {line.get_label(): np.asarray(line.get_ydata()) for line in lines}
    np.testing.assert_allclose(drawn["too narrow"], levels * 0.5)
    np.testing.assert_allclose(drawn["honest"], levels)
    with pytest.raises(ValueError, match="one coverage per level"):
        plots.calibration_figure({"bad": (levels, levels[:2])})
    with pytest.raises(ValueError, match="Fix"):
        plots.calibration_figure({})


def test_the_loop_curves_plot_the_scores_round_by_round():
    scores = [_score(1), _score(2), _score(3)]
    fig = plots.loop_curves_figure(scores)
    gap = fig.axes[0].get_lines()[0]
    np.testing.assert_allclose(gap.get_xdata(), [1, 2, 3])
    np.testing.assert_allclose(gap.get_ydata(), [s.oracle_gap_captured for s in scores])
    with pytest.raises(ValueError, match="Fix"):
        plots.loop_curves_figure([])
