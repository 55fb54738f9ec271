"""The figures render from the objects the library returns."""

from __future__ import annotations

import pytest

from pytyche_core import plots
from pytyche_core.experiment import FixedSchedule, recommend
from pytyche_core.experiment.truth import RoundScore
from tests.core.posterior.small_fits import hurdle_fit


@pytest.fixture(scope="module")
def plan():
    return recommend(hurdle_fit().analyze(n_bootstrap=0), history=[],
                     treatments=["control", "treatment_1", "treatment_2"], schedule=FixedSchedule(100), n_bootstrap=0)


def _score(i: int) -> RoundScore:
    values = {f: 0.1 * i for f in RoundScore.__dataclass_fields__}
    values.update(round_index=i, n_round=100, n_cumulative=100 * i, segment_count=2)
    return RoundScore(**values)


def test_figures_render_as_png(plan):
    for fig in (plots.posterior_lift_figure(hurdle_fit()), plots.segments_figure(plan),
                plots.loop_curves_figure([_score(1), _score(2)])):
        data = plots.png_bytes(fig)
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5_000
    lines = plots.segments_figure(plan).axes[0].get_yticklabels()
    assert len(lines) == len(plan.tree.segments) and "->" in lines[0].get_text()
