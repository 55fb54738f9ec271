"""The recommendation engine on a real (small) fit: cells at the floors, routes, prose, graduation, drops."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import pytyche_core as pt
from pytyche_core.experiment import (
    BaselinePolicy,
    DecayingControlShare,
    ExpectedLossRule,
    FixedSchedule,
    TreePolicy,
    UniformPolicy,
    cold_start_plan,
    detect_dropped_treatments,
    next_fit_num_trees_tau,
    recommend,
)
from tests.core.posterior.small_fits import hurdle_fit

ARMS = ["control", "treatment_1", "treatment_2"]
SCHEDULE = FixedSchedule(2000, rounds=3)


@pytest.fixture(scope="module")
def analysis():
    return hurdle_fit().analyze(n_bootstrap=0)


def _recommend(analysis, **kw):
    options = dict(history=[], treatments=ARMS, schedule=SCHEDULE, n_bootstrap=5)
    options.update(kw)
    return recommend(analysis, **options)


def test_cold_start_is_control_and_explore_at_half():
    plan = cold_start_plan(ARMS, 10_000)
    assert [(c.name, c.weight) for c in plan.cells] == [("control", 0.5), ("explore", 0.5)]
    assert isinstance(plan.cells[0].policy, BaselinePolicy) and isinstance(plan.cells[1].policy, UniformPolicy)
    assert plan.tree is None and plan.routing is None and plan.targeting_policy() is None
    assert plan.n_visitors == 10_000 and plan.treatments == ARMS
    assert "10,000 visitors" in plan.prose_summary


def test_plan_has_three_cells_at_the_floors(analysis):
    plan = _recommend(analysis)
    weights = {c.name: c.weight for c in plan.cells}
    assert weights == pytest.approx({"control": 0.05, "explore": 0.05, "optimized": 0.9})
    assert isinstance(plan.cell("optimized").policy, TreePolicy)
    assert plan.n_visitors == 2000 and plan.rounds_completed == 1
    assert plan.tree is not None and len(plan.routing.routes) == len(plan.tree.segments)
    assert plan.decision is analysis.recommendation
    assert 50 <= plan.fit_num_trees_tau <= 200
    # The targeting policy sends each segment wholly to its routed arm.
    visitors = hurdle_fit().observed.visitors()
    chosen = plan.targeting_policy().probabilities(visitors, ARMS)
    assert set(np.unique(chosen)) <= {0.0, 1.0}
    segment_of = plan.tree.assign(visitors)
    for route in plan.routing.routes:
        rows = segment_of == route.segment_id
        assert (chosen[rows, ARMS.index(route.arm)] == 1.0).all()


def test_prose_is_deterministic_and_names_the_plan(analysis):
    first, second = _recommend(analysis), _recommend(analysis)
    assert first.prose_summary == second.prose_summary
    assert "Cells: control 5%" in first.prose_summary
    assert first.routing.pooled_arm in first.prose_summary


def test_control_share_schedule_and_floors(analysis):
    plan = _recommend(analysis, control_share=DecayingControlShare((0.5, 0.3)))
    assert plan.cell("control").weight == pytest.approx(0.5)
    assert plan.cell("optimized").weight == pytest.approx(0.45)
    with pytest.raises(ValueError, match="leaves nothing"):
        _recommend(analysis, min_control_weight=0.6, min_explore_weight=0.4)


def test_assignable_attributes_bound_the_tree(analysis):
    plan = _recommend(analysis, assignable_attributes=["device", "returning"])
    for segment in plan.tree.segments:
        assert set(segment.rule.features) <= {"device", "returning"}


def test_an_arm_without_data_is_an_error_naming_it(analysis):
    with pytest.raises(ValueError, match="treatment_3"):
        _recommend(analysis, treatments=[*ARMS, "treatment_3"])
    plan = _recommend(analysis, treatments=[*ARMS, "treatment_3"], dropped=["treatment_3"])
    assert "treatment_3" in plan.dropped_treatments and "treatment_3" not in plan.treatments


def test_dropped_treatment_gets_no_traffic(analysis):
    plan = _recommend(analysis, dropped=["treatment_2"])
    assert plan.treatments == ["control", "treatment_1"]
    visitors = hurdle_fit().observed.visitors()
    for cell in plan.cells:
        assert (cell.policy.probabilities(visitors, ARMS)[:, 2] == 0).all()


def test_detect_dropped_treatments():
    starved = {1: {"control": 0.5, "a": 0.49, "b": 0.01}, 2: {"control": 0.9, "a": 0.1}}
    fed = {1: {"control": 0.5, "a": 0.2, "b": 0.3}, 2: {"control": 0.9, "a": 0.1}}
    assert detect_dropped_treatments([starved], ["a", "b"]) == []  # history too short
    assert detect_dropped_treatments([starved, starved], ["a", "b"]) == ["b"]
    assert detect_dropped_treatments([fed, starved], ["a", "b"]) == []
    assert detect_dropped_treatments([fed, starved, starved], ["b", "a"], sustained_rounds=2) == ["b"]


@dataclasses.dataclass
class _Evidence:
    expected_loss_comparison: float
    probability_positive: float
    probability_better: float


class _Posterior:
    treatment_names = ("treatment_1",)

    def __init__(self, evidence):
        self.evidence = evidence

    def recommendation_summary(self, treatment, segment=None):
        return self.evidence


@dataclasses.dataclass
class _Round:
    posterior: object


def test_expected_loss_rule_counts_trailing_rounds():
    good, bad = _Evidence(0.001, 0.99, 0.9), _Evidence(0.001, 0.99, 0.5)
    rule = ExpectedLossRule(sustained_rounds=2)
    segment = pt.DiscoveredSegment(0, pt.SegmentRule("all"), 0.1, (0.0, 0.2), 1.0, float("nan"),
                                   {"control": 0.1, "treatment_1": 0.9})
    history = [_Round(_Posterior(e)) for e in (good, bad, good, good, good)]
    assert rule.consecutive_held("treatment_1", segment, history) == 3
    assert rule.is_candidate("treatment_1", segment, history)
    assert not rule.is_candidate("treatment_1", segment, history[:3])
    assert rule.consecutive_held("treatment_2", segment, history) == 0  # unknown to those fits


def test_next_fit_num_trees_tau_grows_with_split_features_and_data(analysis):
    posterior = hurdle_fit()
    tree = posterior.fit_policy_tree(2, n_bootstrap=0)
    small = next_fit_num_trees_tau(posterior, tree, 1_000)
    large = next_fit_num_trees_tau(posterior, tree, 10_000_000)
    assert 50 <= small <= large <= 200


def test_plan_round_trips_through_json(analysis):
    import json

    from pytyche_core.experiment.plan_io import plan_from_json, plan_to_json

    plan = _recommend(analysis, dropped=["treatment_2"])
    text = json.dumps(plan_to_json(plan))
    back = plan_from_json(json.loads(text))
    visitors = hurdle_fit().observed.visitors()
    assert [c.name for c in back.cells] == [c.name for c in plan.cells]
    for original, restored in zip(plan.cells, back.cells, strict=True):
        assert restored.weight == original.weight
        np.testing.assert_allclose(restored.policy.probabilities(visitors, ARMS),
                                   original.policy.probabilities(visitors, ARMS))
    assert back.prose_summary == plan.prose_summary and back.dropped_treatments == plan.dropped_treatments
    assert back.routing == plan.routing
    assert back.tree.segments == plan.tree.segments
    cold = plan_from_json(json.loads(json.dumps(plan_to_json(cold_start_plan(ARMS, 100)))))
    assert [c.weight for c in cold.cells] == [0.5, 0.5]
    with pytest.raises(ValueError, match="version"):
        plan_from_json({"version": 99})
