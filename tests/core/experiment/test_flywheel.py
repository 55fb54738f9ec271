"""The loop against the truth at default fit settings (slow): what the issue's figures rest on.

Each test runs whole simulated experiments (10k visitors a round) and reads
the per-round scores of ``experiment/truth.py``. Figures are recorded with
``benchmarks/flywheel.py`` in docs/benchmarks.md.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

import pytyche_core as pt
from pytyche_core.posterior.draws import group_means

pytestmark = pytest.mark.slow


@functools.cache
def _run(name: str, k: int, profile: str, seed: int, rounds: int = 3, visitors: int = 10_000, **kw):
    experiment = pt.sequential_experiment(name, k=k, profile=profile, seed=seed,
                                          schedule=pt.FixedSchedule(visitors, rounds=rounds), **kw)
    experiment.run_to_completion()
    return experiment


def test_stress_clustered_loop_captures_most_of_the_gap_and_regret_flattens():
    experiment = _run("clustered", 3, "stress", seed=0)
    scores = [e.score for e in experiment.history]
    assert scores[-1].oracle_gap_captured >= 0.5
    assert scores[-1].oracle_gap_captured >= scores[0].oracle_gap_captured
    assert scores[-1].targeting_regret <= scores[0].targeting_regret  # cumulative regret flattens
    assert scores[-1].expected_lift > scores[-1].best_arm_lift  # targeting beats shipping one arm


@pytest.mark.xfail(strict=True, reason="the specification's 75%-by-round-3 figure is not reached at the "
                   "realistic profile: per-segment effects are below what 30k visitors at 3% conversion can "
                   "resolve, and the engine shows spurious heterogeneity there (issue 15); see "
                   "docs/benchmarks.md")
def test_realistic_clustered_reaches_three_quarters_of_the_gap_by_round_three():
    experiment = _run("clustered", 3, "realistic", seed=0)
    assert experiment.history[-1].score.oracle_gap_captured >= 0.75


def _spurious_stable_claims(record) -> int:
    """Stable segments whose 80% interval of (segment effect - everyone's effect) excludes zero."""
    posterior, tree = record.posterior, record.plan.tree
    if len(tree.segments) < 2:
        return 0
    labels = tree.assign(posterior.observed.visitors())
    index = np.full(labels.shape, -1)
    for i, s in enumerate(tree.segments):
        index[labels == s.id] = i
    segments = group_means(posterior.cate_samples, index, len(tree.segments))  # (L, S, K-1)
    overall = group_means(posterior.cate_samples, np.zeros(len(labels), dtype=np.int64), 1)[0]
    claims = 0
    for i, s in enumerate(tree.segments):
        if not s.is_stable:
            continue
        low, high = np.quantile(segments[i] - overall, [0.1, 0.9], axis=0)
        claims += int(((low > 0) | (high < 0)).any())
    return claims


SEEDS = (0, 1, 2)


@pytest.mark.parametrize("k", [2, 3])
def test_constant_effect_no_stable_segment_claims_a_spurious_effect(k):
    """At most one of three seeds has a stable segment whose interval claims an effect that does not exist.

    History: with fixed leaf variances, and with sampled ones while both chains shared one device,
    two or more seeds claimed one (a strict expected failure until 2026-12-01). With one chain per
    CPU core (other random streams, the same sampler) it passes at K = 2 and 3. Three seeds cannot
    tell a lower claim rate from other draws of a rate near the bound: read a failure here as a
    borderline rate, not as a new defect, and measure it on more seeds."""
    claimed = sum(any(_spurious_stable_claims(e) for e in _run("constant", k, "realistic", seed=seed).history)
                  for seed in SEEDS)
    assert claimed <= 1, f"{claimed} of {len(SEEDS)} seeds had a stable segment claiming a spurious effect"


@pytest.mark.parametrize("k", [2, 3])
def test_constant_effect_routing_costs_at_most_its_tolerance(k):
    for seed in SEEDS:
        experiment = _run("constant", k, "realistic", seed=seed)
        values = experiment.source.population.values
        for e in experiment.history:
            routing, score = e.plan.routing, e.score
            pooled = experiment.arm_names.index(routing.pooled_arm)
            pooled_lift = float((values[:, pooled] - values[:, 0]).mean())
            # Segments leave the pooled arm only on their own evidence: never worse than its stated tolerance.
            assert score.expected_lift >= pooled_lift - routing.expected_loss_tolerance


def test_segments_preferring_different_arms_are_routed_to_different_arms():
    experiment = _run("reversal", 3, "stress", seed=0, rounds=2)
    arms = set(experiment.plan.routing.route_map.values())
    assert {"treatment_1", "treatment_2"} <= arms


def test_a_non_assignable_attribute_carrying_the_heterogeneity_is_never_routed_on():
    features = ("engagement", "recency", "basket_affinity", "device", "returning")  # not price_sensitivity
    experiment = _run("reversal", 3, "stress", seed=0, rounds=2, assignable_attributes=features)
    for e in experiment.history:
        for segment in e.plan.tree.segments:
            assert set(segment.rule.features) <= set(features)
    # The heterogeneity still entered the fit: the posterior-mean effects vary with price sensitivity.
    record = experiment.latest
    x = record.posterior.observed.visitors()["price_sensitivity"].to_numpy()
    effects = record.posterior.cate_samples.mean(axis=1)[:, 0]
    assert np.corrcoef(x, effects)[0, 1] < -0.3
