"""Segment routing: a segment leaves the pooled decision only on its own evidence; the guardrail vetoes."""

from __future__ import annotations

import numpy as np
import pytest

from pytyche_core.experiment import Guardrail, RoutingRule
from pytyche_core.posterior.policy_tree import fit_policy_tree
from pytyche_core.posterior.routing import route_segments
from tests.core.experiment.planted import PlantedHurdle, regional_draws, visitors


def _tree(posterior, **kw):
    return fit_policy_tree(posterior, max_depth=2, min_segment_share=0.1, n_bootstrap=0, **kw)


def _noise_only_posterior():
    # Truth: arm 1 gains 0.3 everywhere, arm 2 nothing. The posterior means pull two regions away
    # (one towards arm 2, one towards control) with wide per-region uncertainty: pure noise.
    offsets = {(True, True): (0.0, 0.5), (False, False): (-0.6, -0.3)}
    draws = regional_draws(3, offsets, truth=(0.3, 0.0), region_sd=0.35, seed=4)
    return PlantedHurdle(3, None, 0.0, draws=draws)


def test_no_true_difference_every_segment_inherits_the_pooled_arm():
    posterior = _noise_only_posterior()
    tree = _tree(posterior)
    assert len(tree.segments) > 1, "the test needs a tree that split on noise"
    routing = route_segments(posterior, tree, guardrail=None, rule=RoutingRule(expected_loss_tolerance=0.01))
    assert routing.pooled_arm == "treatment_1"
    assert {r.arm for r in routing.routes} == {"treatment_1"}
    assert all(r.source == "pooled" for r in routing.routes)
    for r in routing.routes:
        assert r.allocation == pytest.approx(routing.pooled_allocation)


def test_the_trees_own_allocation_would_have_followed_the_noise():
    # Teeth for the test above: on these draws some segment's own favourite is not the pooled arm,
    # and the tree's own Thompson allocation sends most of some segment elsewhere.
    posterior = _noise_only_posterior()
    tree = _tree(posterior)
    routing = route_segments(posterior, tree, guardrail=None, rule=RoutingRule(expected_loss_tolerance=0.01))
    assert any(r.own_best_arm != routing.pooled_arm for r in routing.routes)
    assert any(w["treatment_1"] < 0.5 for w in tree.allocation_map.values())


def test_segments_that_truly_differ_get_their_own_arms():
    x = visitors(3)["price_sensitivity"].to_numpy()
    effects = np.column_stack([np.where(x < 0, 1.0, -1.0), np.where(x < 0, -1.0, 1.0)])
    posterior = PlantedHurdle(3, effects, noise=0.05)
    tree = _tree(posterior)
    routing = route_segments(posterior, tree, guardrail=None)
    segment_of = tree.assign(visitors(3))
    for r in routing.routes:
        members = x[segment_of == r.segment_id]
        expected = "treatment_1" if np.median(members) < 0 else "treatment_2"
        assert r.arm == expected
    assert {r.arm for r in routing.routes} == {"treatment_1", "treatment_2"}
    assert any(r.source == "own" for r in routing.routes)


def test_expected_loss_tolerance_decides_deviation():
    x = visitors(3)["price_sensitivity"].to_numpy()
    effects = np.column_stack([np.where(x < 0, 0.3, 0.1), np.where(x < 0, 0.0, 0.2)])
    posterior = PlantedHurdle(3, effects, noise=0.4, seed=3)
    tree = _tree(posterior)
    strict = route_segments(posterior, tree, guardrail=None,
                            rule=RoutingRule(expected_loss_tolerance=0.0, p_best_threshold=0.999999))
    loose = route_segments(posterior, tree, guardrail=None, rule=RoutingRule(expected_loss_tolerance=10.0))
    assert all(r.arm == strict.pooled_arm for r in strict.routes)
    assert all(r.arm == r.own_best_arm for r in loose.routes)
    assert {r.arm for r in loose.routes} != {strict.pooled_arm}


def test_guardrail_vetoes_an_arm_that_cuts_conversion_in_a_segment():
    v = visitors(2)
    x = v["price_sensitivity"].to_numpy()
    effects = np.where(x < 0, 1.0, 0.6)[:, None]  # the treatment raises revenue for everyone ...
    # ... but where price_sensitivity >= 0 it cuts conversion by 0.05 (a third of the 0.15 rate).
    conversion = np.where(x < 0, 0.0, -0.05)[:, None]
    posterior = PlantedHurdle(2, effects, noise=0.05, conversion_delta=conversion)
    tree = _tree(posterior)
    assert len(tree.segments) > 1
    guarded = route_segments(posterior, tree, guardrail=Guardrail(relative_tolerance=0.05))
    open_ = route_segments(posterior, tree, guardrail=None)
    assert {r.arm for r in open_.routes} == {"treatment"}
    segment_of = tree.assign(v)
    floor = 0.1 / 2
    for r in guarded.routes:
        harmed = np.median(x[segment_of == r.segment_id]) >= 0
        assert ("treatment" in r.vetoed_arms) == harmed
        if harmed:
            assert r.arm == "control"
            assert r.allocation["treatment"] == pytest.approx(floor)
            assert r.guardrail_drop_probability["treatment"] > 0.8
        else:  # the pooled decision is vetoed too (half the visitors lose conversion): this one earns its own
            assert r.arm == "treatment" and r.source == "own"
    assert guarded.pooled_vetoed_arms == ("treatment",)
    assert guarded.vetoes, "the routing must say where the guardrail vetoed a route"


def test_excluded_arms_get_no_weight_and_no_route():
    n = len(visitors(3))
    effects = np.column_stack([np.zeros(n), np.full(n, 0.5)])
    posterior = PlantedHurdle(3, effects, noise=0.05)
    routing = route_segments(posterior, _tree(posterior), guardrail=None, excluded_arms=("treatment_2",))
    assert routing.pooled_arm != "treatment_2"
    for r in routing.routes:
        assert r.arm != "treatment_2" and r.allocation["treatment_2"] == 0.0
        assert sum(r.allocation.values()) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="not treatments"):
        route_segments(posterior, _tree(posterior), guardrail=None, excluded_arms=("nope",))


def test_policy_tree_splits_only_on_assignable_features():
    x = visitors(3)["price_sensitivity"].to_numpy()
    effects = np.column_stack([np.where(x < 0, 1.0, -1.0), np.zeros(len(x))])
    posterior = PlantedHurdle(3, effects, noise=0.05)
    free = _tree(posterior)
    assert any("price_sensitivity" in s.rule.features for s in free.segments)
    allowed = ["device", "returning", "engagement"]
    limited = _tree(posterior, features=allowed)
    for s in limited.segments:
        assert set(s.rule.features) <= set(allowed)
    with pytest.raises(ValueError, match="not features"):
        _tree(posterior, features=["revenue_copy"])
