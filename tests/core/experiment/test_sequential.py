"""pt.sequential_experiment end to end on small fits: rounds, propensities, scores, overrides, empty arms."""

from __future__ import annotations

import numpy as np
import pytest

import pytyche_core as pt
from pytyche_core.contracts import EqRule, SegmentRule, propensity_matrix
from pytyche_core.experiment import (
    BaselinePolicy,
    Cell,
    FixedSchedule,
    UniformPolicy,
    mixture_probabilities,
    sequential_experiment,
)
from pytyche_core.experiment.sources import SimulationSource
from pytyche_core.simulate import scenario
from tests.core.posterior.small_fits import SMALL_CONFIG

N = 1500


def _experiment(seed: int = 3, **kw):
    options = dict(k=3, profile="stress", schedule=FixedSchedule(N, rounds=2), config=SMALL_CONFIG, seed=seed,
                   n_bootstrap=5, evaluation_size=4000)
    options.update(kw)
    return sequential_experiment("reversal", **options)


@pytest.fixture(scope="module")
def finished():
    experiment = _experiment()
    experiment.run_to_completion()
    return experiment


def test_rounds_accumulate_and_the_schedule_ends(finished):
    assert [e.round_index for e in finished.history] == [1, 2]
    assert finished.done and finished.plan.n_visitors is None
    first, second = finished.history
    assert first.observed.n_visitors == N and second.cumulative.n_visitors == 2 * N
    assert second.posterior.observed.n_visitors == 2 * N  # the fit is cumulative
    assert finished.latest is second
    with pytest.raises(StopIteration):
        finished.advance()


def test_recorded_propensities_are_the_deployed_mixture(finished):
    for e in finished.history:
        visitors = e.observed.visitors()
        recorded = propensity_matrix(e.observed)
        expected = mixture_probabilities(e.deployed_cells, visitors, finished.arm_names)
        np.testing.assert_allclose(recorded, expected, atol=1e-9)
        assert set(visitors["cell"].astype(str)) <= {c.name for c in e.deployed_cells}
        assert e.cell_observations["visitors"].sum() == e.observed.n_visitors
    # Round 1 ran the cold start; round 2 the plan round 1 produced.
    assert [c.name for c in finished.history[0].deployed_cells] == ["control", "explore"]
    assert [c.name for c in finished.history[1].deployed_cells] == ["control", "explore", "optimized"]


def test_scores_are_consistent(finished):
    scores = [e.score for e in finished.history]
    for s in scores:
        assert s.oracle_lift >= s.expected_lift - 1e-12 and s.oracle_lift >= s.best_arm_lift - 1e-12
        assert s.targeting_regret == pytest.approx(s.oracle_lift - s.expected_lift)
        assert 0.0 <= s.policy_accuracy <= 1.0 and s.cate_rmse > 0 and s.gate_rmse > 0
        assert s.segment_count == len(finished.history[s.round_index - 1].plan.tree.segments)
    assert scores[1].cumulative_regret == pytest.approx(scores[0].targeting_regret + scores[1].targeting_regret)
    assert np.isnan(scores[0].segment_stability) and 0.0 <= scores[1].segment_stability <= 1.0
    # The truth the scores use is aligned with the fitted rows: recompute it from each row's own features.
    last = finished.history[-1]
    truth = finished.source.scenario.effects(last.cumulative.visitors())
    estimate = last.posterior.cate_samples.mean(axis=1, dtype=np.float64)
    assert last.score.cate_rmse == pytest.approx(float(np.sqrt(np.mean((estimate - truth) ** 2))), rel=1e-9)
    summary = finished.summary()
    assert list(summary["round"]) == [1, 2] and "oracle_gap_captured" in summary.columns


def test_same_seed_same_prose(finished):
    again = _experiment()
    again.run_to_completion()
    assert [e.plan.prose_summary for e in again.history] == [e.plan.prose_summary for e in finished.history]


def test_operator_override_must_respect_the_floors():
    experiment = _experiment()
    with pytest.raises(ValueError, match="min_control_weight"):
        experiment.advance(cells=[Cell("explore", 1.0, UniformPolicy())])
    assert experiment.history == []  # nothing ran


def test_an_empty_arm_is_an_error_or_an_explicit_drop():
    cells = [Cell("control", 0.5, BaselinePolicy()), Cell("explore", 0.5, UniformPolicy(("control", "treatment_1")))]
    strict = _experiment()
    with pytest.raises(ValueError, match="treatment_2"):
        strict.advance(cells=cells)
    lenient = _experiment(on_empty_arm="drop")
    record = lenient.advance(cells=cells)
    assert "treatment_2" in record.plan.dropped_treatments
    assert "treatment_2" not in record.plan.treatments
    assert record.posterior.observed.arm_names == ("control", "treatment_1")
    visitors = record.observed.visitors()
    for cell in record.plan.cells:
        assert (cell.policy.probabilities(visitors, lenient.arm_names)[:, 2] == 0).all()


def test_target_segment_filters_who_enters():
    mobile = SegmentRule("mobile", (EqRule("device", "mobile"),))
    source = SimulationSource(scenario("reversal", k=3, profile="stress"), seed=1, target_rule=mobile)
    data = source.round(0, "r001", 800, [Cell("explore", 1.0, UniformPolicy())])
    assert data.observed.n_visitors == 800
    assert (data.observed.visitors()["device"].astype(str) == "mobile").all()
    # A registered segment targets the same way (its rule filters who enters).
    registered = pt.RegisteredSegment("mobile_shoppers", mobile, None, "deployed")
    assert _experiment(target_segment=registered).source.target_rule == mobile


def test_production_mode_reads_rounds_from_the_store(tmp_path, finished):
    path = tmp_path / "store.duckdb"
    for e in finished.history:
        pt.store.write_round(path, e.observed, round_key=e.round_key, run_id="test", code_version="test")
    production = sequential_experiment(path, experiment_id=finished.experiment_id, config=SMALL_CONFIG,
                                       n_bootstrap=5)
    record = production.advance()
    assert record.score is None and record.deployed_cells is None
    assert record.observed.n_visitors == N
    assert not production.done
    with pytest.raises(ValueError, match="experiment_id"):
        sequential_experiment(path, config=SMALL_CONFIG)
