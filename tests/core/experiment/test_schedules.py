"""Visitor schedules and control-share schedules."""

from __future__ import annotations

import math

import pytest

import pytyche_core as pt
from pytyche_core.contracts import SegmentRule
from pytyche_core.experiment import (
    ConstantControlShare,
    DecayingControlShare,
    ExplicitSchedule,
    FixedSchedule,
    GeometricSchedule,
    StabilityControlShare,
)


def test_fixed_geometric_and_explicit_sizes():
    fixed = FixedSchedule(10_000, rounds=3)
    assert [fixed.next_round_size(r) for r in range(4)] == [10_000, 10_000, 10_000, None]
    assert FixedSchedule(5).next_round_size(1000) == 5
    geometric = GeometricSchedule(5_000, 2.0, rounds=3)
    assert [geometric.next_round_size(r) for r in range(4)] == [5_000, 10_000, 20_000, None]
    assert GeometricSchedule(1000, 1.5).next_round_size(2) == 2250
    explicit = ExplicitSchedule((50_000, 100_000, 200_000))
    assert [explicit.next_round_size(r) for r in range(4)] == [50_000, 100_000, 200_000, None]
    assert explicit.n_rounds == 3 and fixed.n_rounds == 3 and FixedSchedule(5).n_rounds is None
    open_ended = ExplicitSchedule((10, 20), repeat_last=True)
    assert [open_ended.next_round_size(r) for r in range(4)] == [10, 20, 20, 20] and open_ended.n_rounds is None


@pytest.mark.parametrize("bad", [lambda: FixedSchedule(0), lambda: GeometricSchedule(100, 0.5),
                                 lambda: ExplicitSchedule(()), lambda: ExplicitSchedule((10, -1)),
                                 lambda: DecayingControlShare((1.5,)), lambda: StabilityControlShare(0.1, 0.5)])
def test_bad_schedules_are_refused(bad):
    with pytest.raises(pt.ContractViolation):
        bad()


def test_negative_rounds_completed_is_refused():
    with pytest.raises(pt.ContractViolation):
        FixedSchedule(10).next_round_size(-1)


def _tree(stabilities):
    segments = [pt.DiscoveredSegment(i, SegmentRule(f"s{i}"), 0.0, (0.0, 0.0), share, stability,
                                     {"control": 0.5, "treatment": 0.5})
                for i, (share, stability) in enumerate(stabilities)]
    return pt.PolicyTreeResult(segments, {s.id: {"control": 0.5, "treatment": 0.5} for s in segments}, 1, 0.1)


def test_control_share_schedules():
    decay = DecayingControlShare((0.5, 0.3, 0.1))
    assert [decay.control_share(r) for r in (1, 2, 3, 4, 9)] == [0.5, 0.3, 0.1, 0.1, 0.1]
    by_stability = StabilityControlShare(0.5, 0.1)
    assert by_stability.control_share(1, None) == 0.5
    assert by_stability.control_share(2, _tree([(0.5, 0.9), (0.5, 0.2)])) == pytest.approx(0.3)
    assert by_stability.control_share(2, _tree([(0.5, 0.9), (0.5, 0.95)])) == pytest.approx(0.1)
    assert by_stability.control_share(2, _tree([(1.0, math.nan)])) == pytest.approx(0.5)
    assert ConstantControlShare(0.2).control_share(5) == 0.2
