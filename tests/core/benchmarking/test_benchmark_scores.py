"""The benchmark scores on hand-checked answers, and the system checks' errors."""

from __future__ import annotations

import importlib.util

import numpy as np
import pandas as pd
import pytest

from pytyche_core.benchmarking import Estimate, as_estimate, check_systems, quartile_groups, score


class _Observed:
    """Just what ``score`` reads: revenue and arm per visitor."""

    def __init__(self, revenue, arm):
        self._frame = pd.DataFrame({"revenue": revenue})
        self._arm = np.asarray(arm)

    def visitors(self):
        return self._frame

    def arm_index(self):
        return self._arm


def test_scores_of_a_known_answer():
    truth = np.array([[0.0], [0.0], [2.0], [2.0], [4.0], [4.0], [6.0], [6.0]])
    mean = truth + np.array([[1.0], [-1.0]] * 4)            # every visitor off by 1: RMSE 1
    estimate = Estimate(mean, mean - 0.5, mean + 0.5, None)   # intervals of width 1 never reach the truth
    observed = _Observed(revenue=[0, 0, 0, 0, 3, 3, 3, 3], arm=[0, 0, 0, 0, 1, 1, 1, 1])
    s = score(estimate, truth, observed)
    assert s["rmse"] == pytest.approx(1.0)
    assert s["cover80"] == 0.0 and s["width80"] == pytest.approx(1.0)
    # Estimates -1, 1, 3, 1, 5, 3, 7, 5 have quartile edges 1, 3, 5, so the groups are {-1}, {1, 1},
    # {3, 3}, {5, 7, 5} against truths {0}, {0, 2}, {2, 4}, {4, 6, 6}: errors -1, 0, 0, 1/3.
    assert quartile_groups(mean[:, 0]).tolist() == [1, 0, 2, 1, 3, 2, 3, 3]
    assert s["gate_rmse"] == pytest.approx(np.sqrt(10) / 6)
    assert np.isnan(s["gate_cover80"])  # no group intervals
    assert s["ate_error"] == pytest.approx(0.0) and s["ate_vs_dim"] == pytest.approx(0.0)  # ATE 3 = 3 - 0
    assert s["true_het_sd"] == pytest.approx(truth.std())


def test_draws_become_an_estimate_with_group_intervals():
    rng = np.random.default_rng(0)
    draws = rng.normal(1.0, 1.0, (50, 400, 1))
    estimate = as_estimate(draws)
    assert np.allclose(estimate.mean, draws.mean(axis=1))
    lo, hi, point = estimate.group(np.arange(50) < 25, 0)
    assert lo < point < hi and abs(point - 1.0) < 0.1


def test_a_score_refuses_mismatched_shapes():
    with pytest.raises(ValueError, match="Fix"):
        score(Estimate(np.zeros((3, 1)), None, None, None), np.zeros((3, 2)), _Observed([0, 0, 0], [0, 1, 0]))


def test_system_checks_name_the_fix(monkeypatch):
    assert check_systems(["pytyche", "t_learner"], k=3) == ("pytyche", "t_learner")
    for systems, k, match in ((["forest"], 3, "unknown system"), (["bartz"], 3, "K = 2 only"), ([], 2, "no system")):
        with pytest.raises(ValueError, match=match):
            check_systems(systems, k=k)
    with pytest.raises(ValueError, match="stochtree setting"):
        check_systems(["stochtree"], k=2, stochtree="fast")
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ImportError, match=r"bench\]"):
        check_systems(["pytyche", "econml"], k=2)
