"""Cells and policies: probabilities, floors, and the mixture propensities recorded at assignment."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import pytyche_core as pt
from pytyche_core.contracts import ComparisonRule, EqRule, SegmentRule
from pytyche_core.experiment import (
    BaselinePolicy,
    Cell,
    HypothesisPolicy,
    TreePolicy,
    UniformPolicy,
    assign_to_cells,
    check_cells,
    mixture_probabilities,
)
from tests.core.experiment.planted import visitors

ARMS = ("control", "treatment_1", "treatment_2")


def _tree():
    low = SegmentRule("low price sensitivity", (ComparisonRule("price_sensitivity", "lte", 0.0),))
    high = SegmentRule("high price sensitivity", (ComparisonRule("price_sensitivity", "gt", 0.0),))
    segments = [pt.DiscoveredSegment(i, rule, 0.1, (0.0, 0.2), 0.5, float("nan"),
                                     {"control": 0.2, "treatment_1": 0.4, "treatment_2": 0.4})
                for i, rule in ((1, low), (2, high))]
    allocation = {1: {"control": 0.1, "treatment_1": 0.8, "treatment_2": 0.1},
                  2: {"control": 0.1, "treatment_1": 0.1, "treatment_2": 0.8}}
    return pt.PolicyTreeResult(segments, allocation, max_depth=1, epsilon=0.3)


def test_policies_give_probability_rows():
    v = visitors(3)
    for policy in (BaselinePolicy(), BaselinePolicy("treatment_2"), UniformPolicy(),
                   UniformPolicy(("control", "treatment_1")),
                   HypothesisPolicy(((SegmentRule("mobile", (EqRule("device", "mobile"),)), "treatment_1"),)),
                   TreePolicy(_tree(), _tree().allocation_map, {"control": 1.0})):
        p = policy.probabilities(v, ARMS)
        assert p.shape == (len(v), 3)
        np.testing.assert_allclose(p.sum(axis=1), 1.0)
        assert (p >= 0).all()
        assert isinstance(policy.describe(), str)
    assert (BaselinePolicy().probabilities(v, ARMS)[:, 0] == 1).all()
    np.testing.assert_allclose(UniformPolicy(("control", "treatment_1")).probabilities(v, ARMS)[0], [0.5, 0.5, 0])


def test_tree_policy_routes_by_rule_and_hypothesis_first_match_wins():
    v = visitors(3)
    p = TreePolicy(_tree(), _tree().allocation_map, {"control": 1.0}).probabilities(v, ARMS)
    high = v["price_sensitivity"].to_numpy() > 0
    np.testing.assert_allclose(p[high], np.broadcast_to([0.1, 0.1, 0.8], (high.sum(), 3)))
    np.testing.assert_allclose(p[~high], np.broadcast_to([0.1, 0.8, 0.1], ((~high).sum(), 3)))
    mobile = SegmentRule("mobile", (EqRule("device", "mobile"),))
    hypothesis = HypothesisPolicy(((mobile, "treatment_2"), (SegmentRule("all"), "treatment_1")))
    arm = hypothesis.probabilities(v, ARMS).argmax(axis=1)
    is_mobile = (v["device"].astype(str) == "mobile").to_numpy()
    assert (arm[is_mobile] == 2).all() and (arm[~is_mobile] == 1).all()


def test_unknown_arms_and_bad_cells_are_refused():
    v = visitors(3)
    with pytest.raises(ValueError, match="not among the experiment's arms"):
        BaselinePolicy("nope").probabilities(v, ARMS)
    with pytest.raises(ValueError, match="sum to"):
        check_cells([Cell("control", 0.5, BaselinePolicy()), Cell("explore", 0.4, UniformPolicy())])
    with pytest.raises(ValueError, match="duplicate"):
        check_cells([Cell("a", 0.5, BaselinePolicy()), Cell("a", 0.5, UniformPolicy())])
    with pytest.raises(ValueError, match="min_control_weight"):
        check_cells([Cell("control", 0.02, BaselinePolicy()), Cell("explore", 0.98, UniformPolicy())],
                     min_control_weight=0.05)
    with pytest.raises(ValueError, match="min_explore_weight"):
        check_cells([Cell("control", 0.98, BaselinePolicy()), Cell("explore", 0.02, UniformPolicy())],
                     min_explore_weight=0.05)
    with pytest.raises(pt.ContractViolation):
        Cell("c", 1.5, BaselinePolicy())
    with pytest.raises(pt.ContractViolation):
        Cell("c", 0.5, "control")


def _cells():
    return [Cell("control", 0.2, BaselinePolicy()), Cell("explore", 0.3, UniformPolicy()),
            Cell("optimized", 0.5, TreePolicy(_tree(), _tree().allocation_map, {"control": 1.0}))]


def test_assignment_records_the_mixture_probability_and_the_cell():
    v = visitors(3)
    plan = assign_to_cells(_cells(), v, ARMS, np.random.default_rng(0))
    expected = mixture_probabilities(_cells(), v, ARMS)
    np.testing.assert_allclose(plan.probabilities, expected)
    assert set(plan.cells) == {"control", "explore", "optimized"}
    # Each cell's arms follow its own policy: the control cell never treats.
    assert (plan.arms[plan.cells == "control"] == 0).all()
    shares = pd.Series(plan.cells).value_counts(normalize=True)
    assert abs(shares["optimized"] - 0.5) < 0.05 and abs(shares["control"] - 0.2) < 0.05


def test_mixture_propensities_make_inverse_probability_weighting_unbiased():
    # A known outcome g(x, arm): IPW with the recorded (mixture) probabilities recovers each arm's
    # population mean; the within-cell probability of the optimized cell alone would not.
    v = pd.concat([visitors(3)] * 4, ignore_index=True)
    x = v["price_sensitivity"].to_numpy()
    g = np.column_stack([np.ones(len(v)), 1.0 + x, 1.0 - 2.0 * x])
    truth = g.mean(axis=0)
    estimates, naive = [], []
    for seed in range(10):
        plan = assign_to_cells(_cells(), v, ARMS, np.random.default_rng(seed))
        rows = np.arange(len(v))
        y = g[rows, plan.arms]
        within = TreePolicy(_tree(), _tree().allocation_map, {"control": 1.0}).probabilities(v, ARMS)
        estimates.append([np.mean(np.where(plan.arms == k, y / plan.probabilities[:, k], 0)) for k in range(3)])
        naive.append([np.mean(np.where(plan.arms == k, y / within[:, k], 0)) for k in range(3)])
    estimates, naive = np.array(estimates), np.array(naive)
    se = estimates.std(axis=0, ddof=1) / np.sqrt(len(estimates))
    assert (np.abs(estimates.mean(axis=0) - truth) < 4 * se + 1e-3).all()
    assert (np.abs(naive.mean(axis=0) - truth) > 0.1).any()
