"""benchmarks/effect_by_truth.py: visitors grouped by their true effect, each group's level against its posterior."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import numpy as np
import pytest

BENCHMARKS = Path(__file__).resolve().parents[3] / "benchmarks"


@pytest.fixture(scope="module")
def by_truth():
    sys.path.insert(0, str(BENCHMARKS))
    try:
        yield importlib.import_module("effect_by_truth")
    finally:
        sys.path.remove(str(BENCHMARKS))


def test_exact_nulls_make_null_and_affected_groups(by_truth):
    truth = np.r_[np.zeros(80), np.linspace(1.0, 2.0, 20)]
    groups, names = by_truth.truth_groups(truth)
    assert names == ["null", "affected"]
    np.testing.assert_array_equal(groups, (truth > 0).astype(int))


def test_without_enough_nulls_the_groups_are_quartiles_of_the_truth(by_truth):
    truth = np.r_[np.zeros(2), np.arange(1.0, 99.0)]  # 2% nulls: too few for their own group
    groups, names = by_truth.truth_groups(truth)
    assert names == ["q1", "q2", "q3", "q4"]
    assert np.bincount(groups).tolist() == [25, 25, 25, 25]
    assert (np.diff(groups[np.argsort(truth, kind="stable")]) >= 0).all()


def test_a_truth_without_heterogeneity_is_one_group(by_truth):
    groups, names = by_truth.truth_groups(np.full(40, 0.3))
    assert names == ["all"] and (groups == 0).all()


def test_group_rows_tell_a_level_error_from_posterior_noise(by_truth):
    rng = np.random.default_rng(0)
    truth = np.r_[np.zeros(500), np.full(500, 2.0)]
    noise = rng.normal(0.0, 0.1, (1, 400))                   # one shared draw-to-draw wobble, sd 0.1
    centred = truth[:, None] + noise
    shrunk = np.r_[np.full(500, 0.5), np.full(500, 1.5)][:, None] + noise  # each group 0.5 (5 sd) off
    ok = {row["group"]: row for row in by_truth.group_rows(centred, truth)}
    off = {row["group"]: row for row in by_truth.group_rows(shrunk, truth)}
    assert ok["null"]["covers"] and ok["affected"]["covers"]
    assert abs(ok["affected"]["z"]) < 1.0
    assert not off["null"]["covers"] and not off["affected"]["covers"]
    assert off["null"]["z"] == pytest.approx((0.5 + noise.mean()) / noise.std(), rel=1e-6)
    assert off["affected"]["z"] == pytest.approx((-0.5 + noise.mean()) / noise.std(), rel=1e-6)
    assert off["null"]["spread"] == pytest.approx(0.0, abs=1e-12)  # every visitor's mean equal: none invented
