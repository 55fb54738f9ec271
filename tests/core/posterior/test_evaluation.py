"""Policy evaluation with known assignment probabilities (``posterior/evaluation.py``).

No BCF fits: the outcome models are deliberately wrong (a constant, a scaled
and noised truth) or absent, because the doubly-robust estimate must be
unbiased whatever they are, as long as the recorded propensities are the
ones the arms were drawn with. Assignment here is non-uniform and depends
on the features that drive the effects, so an unweighted estimate is
biased and the test has power to tell.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

import pytyche_core as pt
from pytyche_core.contracts import ObservedExperimentData, VariantData
from pytyche_core.posterior.evaluation import (
    PolicyValue,
    RateResult,
    doubly_robust_scores,
    observed_outcomes,
    policy_value,
    policy_value_difference,
    rate,
    rate_from_scores,
)
from pytyche_core.simulate import scenario
from pytyche_core.simulate.config import AssignmentPlan

N_VISITORS = 2000
N_REPLICATES = 200
N_RATE_REPLICATES = 40
SCENARIO = scenario("reversal", k=3, metric="revenue_per_visitor", profile="stress")


# -- simulated data with known, feature-dependent propensities -----------------------


def feature_propensities(features: pd.DataFrame) -> np.ndarray:
    """P(arm | x) ``(n, 3)``: a softmax of the effect-driving features, floored at 0.05."""
    engagement = features["engagement"].to_numpy()
    price = features["price_sensitivity"].to_numpy()
    logits = np.column_stack([np.zeros(len(features)), 0.8 * engagement - 0.6 * price, 0.8 * price])
    weights = np.exp(logits - logits.max(axis=1, keepdims=True))
    return 0.85 * weights / weights.sum(axis=1, keepdims=True) + 0.05


def assign(features: pd.DataFrame) -> AssignmentPlan:
    return AssignmentPlan(probabilities=feature_propensities(features))


def price_policy(visitors: pd.DataFrame) -> np.ndarray:
    """A fixed rule: arm 1 to price-insensitive shoppers, arm 2 to sensitive ones, else control."""
    price = visitors["price_sensitivity"].to_numpy()
    return np.where(price < -0.3, 1, np.where(price > 0.3, 2, 0))


def true_means(truth: pt.CalibrationTruth) -> np.ndarray:
    """E[Y_i(k) | x_i] ``(n, K)``: conversion probability times order value."""
    return truth.conversion_probabilities() * truth.order_values()


@pytest.fixture(scope="module")
def replicates() -> list[tuple[ObservedExperimentData, pt.CalibrationTruth]]:
    return [tuple(pt.simulate(SCENARIO.config(N_VISITORS, seed=seed), assign=assign))
            for seed in range(N_REPLICATES)]


def _error_summary(errors: np.ndarray, ses: np.ndarray) -> tuple[float, float]:
    """(bias in Monte-Carlo SEs, sd of the z-scores)."""
    mcse = errors.std(ddof=1) / np.sqrt(len(errors))
    return float(errors.mean() / mcse), float((errors / ses).std(ddof=1))


def test_policy_value_is_unbiased_under_feature_dependent_propensities(replicates):
    errors: dict[str, list[tuple[float, float]]] = {"ipw": [], "constant": [], "noisy": [], "difference": [],
                                                    "unweighted": []}
    for seed, (observed, truth) in enumerate(replicates):
        mu = true_means(truth)
        arms = price_policy(observed.visitors())
        rows = np.arange(len(arms))
        target = mu[rows, arms].mean()
        noise = np.random.default_rng(seed).normal(0.0, 5.0, mu.shape)
        models = {"ipw": None, "constant": np.full(mu.shape, 30.0), "noisy": 1.5 * mu + noise}
        for name, model in models.items():
            estimate = policy_value(observed, arms, model)
            errors[name].append((estimate.value - target, estimate.standard_error))
        gain = policy_value_difference(observed, arms, "control", 0.7 * mu)
        errors["difference"].append((gain.value - (mu[rows, arms] - mu[:, 0]).mean(), gain.standard_error))
        # The unweighted mean among visitors who happened to follow the policy: biased by design.
        y, follows = observed_outcomes(observed), observed.arm_index() == arms
        naive_se = y[follows].std(ddof=1) / np.sqrt(follows.sum())
        errors["unweighted"].append((y[follows].mean() - target, naive_se))

    for name in ("ipw", "constant", "noisy", "difference"):
        err, se = np.array(errors[name]).T
        bias_in_mcse, z_sd = _error_summary(err, se)
        assert abs(bias_in_mcse) < 3.0, (name, bias_in_mcse)
        assert 0.8 < z_sd < 1.25, (name, z_sd)
    err, se = np.array(errors["unweighted"]).T
    assert abs(_error_summary(err, se)[0]) > 4.0, "the design is too close to uniform to test anything"


def test_rate_finds_true_heterogeneity_and_not_noise(replicates):
    found, noise = [], []
    for seed, (observed, truth) in enumerate(replicates[:N_RATE_REPLICATES]):
        tau = truth.contrasts()[:, 0]
        random_priority = np.random.default_rng(10_000 + seed).normal(size=len(tau))
        # RATE is linear in the scores for a fixed ranking: with the true effects as scores it is the target.
        target = rate_from_scores(tau, tau, n_bootstrap=2).estimate
        result = rate(observed, tau, "treatment_1", n_bootstrap=100, seed=seed)
        found.append((result.estimate, result.standard_error, target))
        blind = rate(observed, random_priority, 1, n_bootstrap=100, seed=seed)
        noise.append((blind.estimate, blind.ci[0] <= 0.0 <= blind.ci[1]))

    estimate, se, target = np.array(found).T
    assert (target > 0).all()
    mcse = estimate.std(ddof=1) / np.sqrt(len(estimate))
    assert estimate.mean() / mcse > 4.0
    assert abs((estimate - target).mean()) < 3.0 * mcse
    assert 0.7 < se.mean() / (estimate - target).std(ddof=1) < 1.4  # the bootstrap SE is about right
    blind_estimate, covers = np.array(noise).T
    assert abs(blind_estimate.mean()) < 3.0 * blind_estimate.std(ddof=1) / np.sqrt(len(blind_estimate))
    assert covers.mean() >= 0.8


# -- an example small enough to do by hand ---------------------------------------------


def hand_frame(arm: str, ids: list[str], revenue: list[float], p_treatment: list[float]) -> pd.DataFrame:
    revenue_array = np.array(revenue, dtype=float)
    return pd.DataFrame({
        "visitor_id": ids, "experiment_id": "hand", "variant": arm,
        "converted": revenue_array > 0, "revenue": revenue_array,
        "orders_count": (revenue_array > 0).astype(np.int64),
        "sessions_count": np.ones(len(ids), dtype=np.int64),
        "score": [1.0] * len(ids), "propensity": p_treatment,
    })


@pytest.fixture
def hand_data() -> ObservedExperimentData:
    """Rows (arm, y, e of the arm received): (control, 0, 0.5), (control, 10, 0.2),
    (treatment, 20, 0.25), (treatment, 0, 0.5)."""
    control = hand_frame("control", ["a", "b"], [0.0, 10.0], [0.5, 0.8])
    treated = hand_frame("treatment", ["c", "d"], [20.0, 0.0], [0.25, 0.5])
    return ObservedExperimentData("hand", "revenue_per_visitor", [
        VariantData.from_visitors("control", control), VariantData.from_visitors("treatment", treated)])


HAND_MEANS = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [7.0, 8.0]])


def test_scores_by_hand(hand_data):
    # Γ[i, z_i] = m + (y − m) / e: 1 − 1/0.5, 3 + 7/0.2, 6 + 14/0.25, 8 − 8/0.5; other arms keep m.
    expected = np.array([[-1.0, 2.0], [38.0, 4.0], [5.0, 62.0], [7.0, -8.0]])
    np.testing.assert_allclose(doubly_robust_scores(hand_data, HAND_MEANS), expected)
    np.testing.assert_allclose(doubly_robust_scores(hand_data), [[0, 0], [50, 0], [0, 80], [0, 0]])


def test_policy_value_by_hand(hand_data):
    value = policy_value(hand_data, np.array([1, 0, 1, 0]), HAND_MEANS)
    # Scores 2, 38, 62, 7: mean 27.25, squared deviations sum to 2370.75 over n − 1 = 3.
    assert value == PolicyValue(27.25, float(np.sqrt(2370.75 / 3) / 2), 4)
    by_name = policy_value(hand_data, np.array(["treatment", "control", "treatment", "control"]), HAND_MEANS)
    assert by_name == value
    assert policy_value(hand_data, np.array([1, 0, 1, 0])).value == pytest.approx(32.5)
    gain = policy_value_difference(hand_data, np.array([1, 0, 1, 0]), 0, HAND_MEANS)
    assert gain.value == pytest.approx(15.0)  # paired differences 3, 0, 57, 0
    assert gain.standard_error == pytest.approx(np.std([3, 0, 57, 0], ddof=1) / 2)
    low, high = gain.interval(0.95)
    assert low < gain.value < high and high - gain.value == pytest.approx(1.959964 * gain.standard_error)


def test_propensities_override_replaces_the_recorded_ones(hand_data):
    given = np.array([[0.5, 0.5], [0.5, 0.5], [0.5, 0.5], [0.5, 0.5]])
    scores = doubly_robust_scores(hand_data, propensities=given)
    np.testing.assert_allclose(scores, [[0, 0], [20, 0], [0, 40], [0, 0]])


def test_rate_by_hand(hand_data):
    # Effect scores (Γ treat − Γ control) 3, −34, 57, −15; priority ranks row 0, then the tie {2, 3}
    # (averaged to 21 each), then row 1: running means 3, 12, 15, 2.75 against the mean 2.75.
    priority = np.array([2.0, 0.0, 1.0, 1.0])
    autoc = rate(hand_data, priority, "treatment", HAND_MEANS, n_bootstrap=50)
    assert autoc.estimate == pytest.approx((0.25 + 9.25 + 12.25 + 0.0) / 4)
    qini = rate(hand_data, priority, 1, HAND_MEANS, weighting="qini", n_bootstrap=50)
    assert qini.estimate == pytest.approx((0.25 * 1 + 9.25 * 2 + 12.25 * 3) / 16)
    assert isinstance(autoc, RateResult) and autoc.weighting == "autoc" and autoc.ci[0] <= autoc.ci[1]


@pytest.mark.parametrize("weighting", ["autoc", "qini"])
def test_rate_ties_average_every_order_of_breaking_them(weighting):
    rng = np.random.default_rng(3)
    scores, priority = rng.normal(size=7), np.array([3.0, 1.0, 3.0, 2.0, 3.0, 1.0, 0.0])

    def by_ranks(order: np.ndarray) -> float:
        n = len(order)
        toc = np.cumsum(scores[order]) / np.arange(1, n + 1) - scores.mean()
        weights = np.ones(n) if weighting == "autoc" else np.arange(1, n + 1) / n
        return float(np.mean(weights * toc))

    every_order = [by_ranks(np.lexsort((np.array(p), -priority))) for p in itertools.permutations(range(7))]
    result = rate_from_scores(scores, priority, weighting=weighting, n_bootstrap=2)
    assert result.estimate == pytest.approx(np.mean(every_order), abs=1e-12)
    shuffled = rng.permutation(7)
    again = rate_from_scores(scores[shuffled], priority[shuffled], weighting=weighting, n_bootstrap=2)
    assert again.estimate == pytest.approx(result.estimate, abs=1e-12)


def test_rate_bootstrap_is_seeded():
    rng = np.random.default_rng(0)
    scores, priority = rng.normal(size=300), rng.normal(size=300)
    first = rate_from_scores(scores, priority, seed=5)
    assert first == rate_from_scores(scores, priority, seed=5)
    assert first.standard_error != rate_from_scores(scores, priority, seed=6).standard_error


# -- bad inputs fail closed, naming the fix -----------------------------------------------


def test_missing_propensities_name_the_fix(hand_data):
    bare = ObservedExperimentData("hand", "revenue_per_visitor", [
        VariantData.from_visitors(v.name, v.visitors.drop(columns="propensity")) for v in hand_data.variants])
    with pytest.raises(ValueError, match="record them at assignment.*propensities="):
        policy_value(bare, 0)
    assert policy_value(bare, 0, propensities=np.full((4, 2), 0.5)).value == pytest.approx(5.0)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"outcome_means": np.zeros((4, 3))}, r"outcome_means has shape \(4, 3\), expected \(4, 2\)"),
    ({"outcome_means": np.zeros(4)}, r"outcome_means has shape \(4,\)"),
    ({"outcome_means": np.where(np.eye(4, 2) > 0, np.nan, 0.0)}, r"outcome_means is not finite at \(0, 0\)"),
    ({"propensities": np.full((3, 2), 0.5)}, r"propensities has shape \(3, 2\)"),
    ({"propensities": np.array([[0.5, 0.5], [0.5, 0.5], [1.0, 0.0], [0.5, 0.5]])},
     "visitor 2 received arm 'treatment'.*is 0"),
    ({"propensities": np.array([[0.5, 0.5], [np.nan, 0.5], [0.5, 0.5], [0.5, 0.5]])}, "not finite at"),
    ({"propensities": np.array([[0.5, 0.4], [0.5, 0.5], [0.5, 0.5], [0.5, 0.5]])}, "sum to 0.9"),
    ({"propensities": np.array([[1.5, -0.5], [0.5, 0.5], [0.5, 0.5], [0.5, 0.5]])}, "not a probability"),
])
def test_bad_scores_inputs(hand_data, kwargs, message):
    with pytest.raises(ValueError, match=message):
        doubly_robust_scores(hand_data, **kwargs)


@pytest.mark.parametrize(("policy", "message"), [
    (np.array([0, 1, 0]), r"policy has shape \(3,\), expected \(4,\)"),
    (np.array([0, 1, 2, 0]), "outside 0..1"),
    (np.array([0.0, 1.0, 0.0, 1.0]), "dtype float64"),
    (np.array(["control", "treatmnt", "control", "control"]), r"unknown arm\(s\) \['treatmnt'\]"),
])
def test_bad_policies(hand_data, policy, message):
    with pytest.raises(ValueError, match=message):
        policy_value(hand_data, policy)


def test_policy_outside_the_design_is_not_identified(hand_data):
    never_treated = np.array([[1.0, 0.0], [0.5, 0.5], [0.5, 0.5], [0.5, 0.5]])
    with pytest.raises(ValueError, match="visitor 0 .* probability 0; its value is not identified"):
        policy_value(hand_data, 1, propensities=never_treated)
    with pytest.raises(ValueError, match="could not receive arm 'treatment'"):
        rate(hand_data, np.arange(4.0), 1, propensities=never_treated)
    assert policy_value(hand_data, 0, propensities=never_treated).n == 4


def test_bad_rate_inputs(hand_data):
    with pytest.raises(ValueError, match=r"priority has shape \(3,\)"):
        rate(hand_data, np.ones(3), 1)
    with pytest.raises(ValueError, match="priority is not finite"):
        rate(hand_data, np.array([1.0, np.nan, 0.0, 2.0]), 1)
    with pytest.raises(ValueError, match="unknown treatment 'control'"):
        rate(hand_data, np.ones(4), "control")
    with pytest.raises(ValueError, match="is not a treatment arm"):
        rate(hand_data, np.ones(4), 0)
    with pytest.raises(ValueError, match="weighting 'toc'"):
        rate(hand_data, np.ones(4), 1, weighting="toc")
    with pytest.raises(ValueError, match="n_bootstrap"):
        rate(hand_data, np.ones(4), 1, n_bootstrap=1)


def test_boundary_types_fail_closed():
    with pytest.raises(ValueError, match="PolicyValue.value: expected a finite number"):
        PolicyValue(float("nan"), 1.0, 10)
    with pytest.raises(ValueError, match="PolicyValue.standard_error"):
        PolicyValue(1.0, -1.0, 10)
    with pytest.raises(ValueError, match="RateResult.ci: low 2.0 exceeds high 1.0"):
        RateResult(1.5, 0.1, (2.0, 1.0), "autoc")
    with pytest.raises(ValueError, match="RateResult.weighting"):
        RateResult(1.5, 0.1, (1.0, 2.0), "toc")
    with pytest.raises(ValueError, match="PolicyValue.interval.level"):
        PolicyValue(1.0, 1.0, 10).interval(1.5)


# -- the thorough version -----------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("metric", ["conversion_rate", "revenue_per_visitor"])
def test_policy_value_calibration_thorough(metric):
    """1000 replicates per metric: tighter bands on the bias and the z-score spread."""
    sim = scenario("reversal", k=3, metric=metric, profile="stress")
    err, se = [], []
    for seed in range(1000):
        observed, truth = pt.simulate(sim.config(N_VISITORS, seed=seed), assign=assign)
        mu = truth.conversion_probabilities()
        mu = mu * truth.order_values() if metric == "revenue_per_visitor" else mu
        arms = price_policy(observed.visitors())
        gain = policy_value_difference(observed, arms, 0, 0.5 * mu)
        err.append(gain.value - (mu[np.arange(len(arms)), arms] - mu[:, 0]).mean())
        se.append(gain.standard_error)
    bias_in_mcse, z_sd = _error_summary(np.array(err), np.array(se))
    assert abs(bias_in_mcse) < 3.0
    assert 0.9 < z_sd < 1.1
