"""The scenario catalog: calibrated knobs, valid surfaces and the promised truth shapes.

Scenarios are evaluated the way the simulator will: draw features from the
scenario's own sampler, evaluate every arm's surfaces, and take
tau_k = p_k m_k - p_0 m_0 (revenue) or p_k - p_0 (conversion).
"""

from __future__ import annotations

import dataclasses
import functools
import itertools

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from pytyche_core.simulate.config import LATENT_CLUSTER_COLUMN, AssignmentConfig, SimulationConfig
from pytyche_core.simulate.features import sample_features
from pytyche_core.simulate.scenarios import PROFILES, SCENARIO_NAMES, Scenario, scenario

N = 30_000
METRICS = ("conversion_rate", "revenue_per_visitor")
PROFILE_NAMES = ("realistic", "stress")
CONTINUOUS = ("engagement", "recency", "basket_affinity", "price_sensitivity")
ALL = list(itertools.product(SCENARIO_NAMES, (2, 3), METRICS, PROFILE_NAMES))


@dataclasses.dataclass(frozen=True)
class Evaluated:
    scenario: Scenario
    features: pd.DataFrame
    p: np.ndarray  # (n, K)
    m: np.ndarray | None  # (n, K), revenue only
    sigma: np.ndarray | None

    @property
    def outcome(self) -> np.ndarray:
        return self.p * self.m if self.m is not None else self.p

    @property
    def tau(self) -> np.ndarray:  # (n, K - 1)
        y = self.outcome
        return y[:, 1:] - y[:, :1]

    @property
    def baseline_metric(self) -> float:
        s = self.scenario
        return s.baseline_rate * (s.aov if s.aov is not None else 1.0)


def evaluate_on(s: Scenario, features: pd.DataFrame) -> Evaluated:
    p_surfaces, m_surfaces, sigma_surfaces = s.metric_mode.arm_surfaces()

    def stack(surfaces):
        return None if surfaces is None else np.column_stack([f(features) for f in surfaces])

    return Evaluated(s, features, stack(p_surfaces), stack(m_surfaces), stack(sigma_surfaces))


@functools.cache
def evaluated(name: str, k: int, metric: str, profile: str, seed: int = 7) -> Evaluated:
    s = scenario(name, k=k, metric=metric, profile=profile)
    return evaluate_on(s, sample_features(s.feature_sampler, np.random.default_rng(seed), N))


def sampling_tolerance(values: np.ndarray) -> float:
    # The knobs are exact on a 200k reference sample; both it and our sample
    # deviate from the population by sd / sqrt(n).
    return 5.0 * float(values.std()) * np.sqrt(1.0 / N + 1.0 / 200_000) + 1e-12


def best_arm(tau: np.ndarray) -> np.ndarray:
    return np.where(tau.max(axis=1) <= 0.0, 0, tau.argmax(axis=1) + 1)


# -- the public API ------------------------------------------------------------------


def test_catalog_names_and_profiles():
    assert SCENARIO_NAMES == ("constant", "reversal", "sparse_benefit", "monotone_gradient", "nonlinear",
                              "interaction_only", "partial_null", "high_noise", "clustered")
    assert set(PROFILES) == {"realistic", "stress"}
    realistic, stress = PROFILES["realistic"], PROFILES["stress"]
    assert realistic.baseline_rate == pytest.approx(0.03) and realistic.aov == pytest.approx(60.0)
    assert realistic.sigma == pytest.approx(0.6)
    assert stress.baseline_rate > realistic.baseline_rate
    for name in SCENARIO_NAMES:
        r, s = realistic.effects[name], stress.effects[name]
        assert s.hte >= r.hte and (r.main is None or s.main > r.main)


@pytest.mark.parametrize("name,k,metric,profile", ALL)
def test_surfaces_are_valid_and_knobs_hold(name, k, metric, profile):
    ev = evaluated(name, k, metric, profile)
    s = ev.scenario
    assert (s.name, s.k, s.metric, s.profile) == (name, k, metric, profile)
    assert s.metric_mode.n_treatments == k and len(s.main_delta) == k - 1
    assert np.isfinite(ev.p).all() and ((ev.p >= 0) & (ev.p <= 1)).all()
    if metric == "revenue_per_visitor":
        assert np.isfinite(ev.m).all() and (ev.m > 0).all()
        assert np.isfinite(ev.sigma).all() and (ev.sigma > 0).all()
        assert s.aov is not None and s.sigma is not None
    else:
        assert ev.m is None and ev.sigma is None and s.aov is None and s.sigma is None
    assert ev.p[:, 0].mean() == pytest.approx(s.baseline_rate, abs=sampling_tolerance(ev.p[:, 0]))
    tau = ev.tau
    for arm in range(k - 1):
        assert tau[:, arm].mean() == pytest.approx(s.main_delta[arm], abs=sampling_tolerance(tau[:, arm]))
        homogeneous = s.truth.effects[arm].is_homogeneous
        if homogeneous:
            assert tau[:, arm].std() <= 1e-9 * ev.baseline_metric
        else:
            assert tau[:, arm].std() == pytest.approx(s.hte_scale, rel=0.05)
    np.testing.assert_allclose(s.effects(ev.features), tau, rtol=1e-9, atol=1e-12 * ev.baseline_metric)


@pytest.mark.parametrize("name,k,metric,profile", ALL)
def test_surfaces_have_readable_names(name, k, metric, profile):
    s = evaluated(name, k, metric, profile).scenario
    p, m, sigma = s.metric_mode.arm_surfaces()
    for surface in (*p, *(m or ()), *(sigma or ())):
        assert surface.name != "surface" and name in surface.name
    line = s.truth_shape
    assert line and "\n" not in line and ("tau_2" in line) == (k == 3)


# -- template shapes -------------------------------------------------------------------

GRID = list(itertools.product((2, 3), METRICS, PROFILE_NAMES))


@pytest.mark.parametrize("k,metric,profile", GRID)
def test_constant_has_no_heterogeneity(k, metric, profile):
    ev = evaluated("constant", k, metric, profile)
    assert ev.scenario.hte_scale == 0.0
    for arm in range(k - 1):
        assert np.ptp(ev.tau[:, arm]) <= 1e-9 * ev.baseline_metric
        assert (ev.tau[:, arm] > 0).all()


@pytest.mark.parametrize("k,metric,profile", GRID)
def test_reversal_harms_about_half(k, metric, profile):
    ev = evaluated("reversal", k, metric, profile)
    for arm in range(k - 1):
        assert 0.40 <= (ev.tau[:, arm] < 0).mean() <= 0.60


@pytest.mark.parametrize("k,metric,profile", GRID)
def test_sparse_benefit_helps_about_15_percent_and_nobody_else(k, metric, profile):
    ev = evaluated("sparse_benefit", k, metric, profile)
    for arm in range(k - 1):
        tau = ev.tau[:, arm]
        assert 0.10 <= (tau > 0).mean() <= 0.20
        assert (tau[tau <= 0] == 0.0).all()  # exactly zero, not merely small


@pytest.mark.parametrize("k,metric,profile", GRID)
def test_monotone_gradient_is_monotone_in_engagement(k, metric, profile):
    ev = evaluated("monotone_gradient", k, metric, profile)
    engagement = ev.features["engagement"].to_numpy()
    assert stats.spearmanr(ev.tau[:, 0], engagement).statistic > 0.999
    if k == 3:
        assert stats.spearmanr(ev.tau[:, 1], engagement).statistic < -0.999


def _design(features: pd.DataFrame) -> np.ndarray:
    columns = [features[c].to_numpy(dtype=float) for c in (*CONTINUOUS, "returning")]
    columns += [(features["device"] == d).to_numpy(dtype=float) for d in ("desktop", "tablet")]
    return np.column_stack(columns)


@pytest.mark.parametrize("k,metric,profile", GRID)
def test_nonlinear_has_low_linear_r2(k, metric, profile):
    ev = evaluated("nonlinear", k, metric, profile)
    design = np.column_stack([np.ones(N), _design(ev.features)])
    for arm in range(k - 1):
        tau = ev.tau[:, arm]
        coef, *_ = np.linalg.lstsq(design, tau, rcond=None)
        r2 = 1.0 - np.sum((tau - design @ coef) ** 2) / np.sum((tau - tau.mean()) ** 2)
        assert r2 < 0.05


@pytest.mark.parametrize("k,metric,profile", GRID)
def test_interaction_only_has_no_marginal_effects(k, metric, profile):
    ev = evaluated("interaction_only", k, metric, profile)
    x = ev.features
    pairs = (("engagement", "price_sensitivity"), ("recency", "basket_affinity"))
    design = _design(x)
    for arm in range(k - 1):
        tau = ev.tau[:, arm]
        for j in range(design.shape[1]):
            assert abs(np.corrcoef(tau, design[:, j])[0, 1]) < 0.05
        a, b = pairs[arm]
        assert np.corrcoef(tau, x[a].to_numpy() * x[b].to_numpy())[0, 1] > 0.8


@pytest.mark.parametrize("k,metric,profile", GRID)
def test_partial_null_is_exactly_null_for_returning_shoppers(k, metric, profile):
    ev = evaluated("partial_null", k, metric, profile)
    returning = ev.features["returning"].to_numpy()
    tau = ev.tau[:, 0]
    assert (tau[returning] == 0.0).all() and (tau[~returning] > 0).all()
    assert (tau == 0.0).mean() == pytest.approx(returning.mean())
    if k == 3:
        assert ev.scenario.main_delta[1] == 0.0
        assert (ev.tau[:, 1] == 0.0).all()
        np.testing.assert_array_equal(ev.p[:, 2], ev.p[:, 0])


@pytest.mark.parametrize("k,metric,profile", GRID)
def test_high_noise_buries_a_weak_effect(k, metric, profile):
    ev = evaluated("high_noise", k, metric, profile)
    baseline_spread = ev.outcome[:, 0].std()
    assert baseline_spread > 10 * ev.tau.std(axis=0).max()
    assert ev.scenario.main_delta[0] <= 0.03 * ev.baseline_metric + 1e-12
    if metric == "revenue_per_visitor":
        assert ev.scenario.sigma == pytest.approx(2 * PROFILES[profile].sigma)


@pytest.mark.parametrize("k,metric,profile", GRID)
def test_clustered_segments_benefit_and_harm(k, metric, profile):
    ev = evaluated("clustered", k, metric, profile)
    cluster = ev.features[LATENT_CLUSTER_COLUMN].to_numpy()
    labels = np.unique(cluster)
    assert 4 <= labels.size <= 6
    assert 0.30 <= (ev.tau[:, 0] < 0).mean() <= 0.40
    for arm in range(k - 1):
        tau = ev.tau[:, arm]
        assert (tau > 0).mean() > 0.1 and (tau < 0).mean() > 0.1
        means = np.array([tau[cluster == c].mean() for c in labels])
        within = np.sqrt(np.mean([tau[cluster == c].var() for c in labels]))
        assert within < 0.25 * means.std()  # nearly constant within a segment
    if metric == "revenue_per_visitor":
        p, m = ev.p, ev.m
        conversion_part = (p[:, 1] - p[:, 0]) * m[:, 0]
        order_value_part = p[:, 1] * (m[:, 1] - m[:, 0])
        opposite = [c for c in labels
                    if conversion_part[cluster == c].mean() * order_value_part[cluster == c].mean() < 0
                    and min(abs(conversion_part[cluster == c].mean()),
                            abs(order_value_part[cluster == c].mean())) > 0.05 * ev.scenario.hte_scale]
        assert opposite


@pytest.mark.parametrize("name,metric,profile", list(itertools.product(
    [n for n in SCENARIO_NAMES if n not in ("constant", "high_noise", "partial_null")], METRICS, PROFILE_NAMES)))
def test_best_arm_differs_across_shoppers_at_k3(name, metric, profile):
    shares = np.bincount(best_arm(evaluated(name, 3, metric, profile).tau), minlength=3) / N
    assert (shares >= 0.05).sum() >= 2


# -- the two knobs ---------------------------------------------------------------------

HETEROGENEOUS = [n for n in SCENARIO_NAMES if n != "constant"]


@pytest.mark.parametrize("name,metric", list(itertools.product(HETEROGENEOUS, METRICS)))
def test_knobs_are_independent(name, metric):
    base = evaluated(name, 2, metric, "realistic")
    s = base.scenario
    # From half the default heterogeneity to the default: doubling hte_scale
    # doubles the effect's sd and leaves its mean where it was.
    half = evaluate_on(scenario(name, metric=metric, main_delta=s.main_delta, hte_scale=s.hte_scale / 2),
                       base.features)
    assert half.scenario.main_delta == s.main_delta
    assert half.tau.mean() == pytest.approx(base.tau.mean(), abs=sampling_tolerance(base.tau))
    assert base.tau.std() == pytest.approx(2 * half.tau.std(), rel=1e-6)
    # Moving main_delta shifts every shopper's effect by the same amount.
    shifted = evaluate_on(scenario(name, metric=metric, main_delta=2 * s.main_delta[0], hte_scale=s.hte_scale),
                          base.features)
    np.testing.assert_allclose(shifted.tau - base.tau, s.main_delta[0],
                               rtol=1e-6, atol=1e-9 * base.baseline_metric)


@pytest.mark.parametrize("name", ["reversal", "monotone_gradient", "nonlinear", "interaction_only",
                                  "high_noise"])
def test_hte_default_does_not_move_the_main_effect(name):
    s = scenario(name)
    assert scenario(name, hte_scale=s.hte_scale / 2).main_delta == s.main_delta


def test_defaults_are_fractions_of_the_baseline():
    realistic = scenario("reversal")
    assert realistic.main_delta[0] == pytest.approx(0.03 * 0.03 * 60)
    assert realistic.hte_scale == pytest.approx(0.08 * 0.03 * 60)
    bigger = scenario("reversal", baseline_rate=0.06, aov=80.0)
    assert bigger.main_delta[0] == pytest.approx(0.03 * 0.06 * 80)
    conversion = scenario("monotone_gradient", metric="conversion_rate", profile="stress")
    assert conversion.main_delta[0] == pytest.approx(0.10 * 0.15)
    assert conversion.hte_scale == pytest.approx(0.15 * 0.15)


def test_scalar_main_delta_keeps_the_template_ratio():
    assert scenario("constant", k=3, main_delta=0.1).main_delta == pytest.approx((0.1, 0.05))
    assert scenario("partial_null", k=3, main_delta=0.1).main_delta == (0.1, 0.0)
    assert scenario("monotone_gradient", k=3, main_delta=(0.1, -0.2)).main_delta == (0.1, -0.2)


def test_construction_is_deterministic():
    for name in ("reversal", "clustered"):
        a, b = scenario(name, k=3), scenario(name, k=3)
        assert (a.main_delta, a.hte_scale) == (b.main_delta, b.hte_scale)
        assert a.truth.baseline == b.truth.baseline
        x = sample_features(a.feature_sampler, np.random.default_rng(3), 2_000)
        ea, eb = evaluate_on(a, x), evaluate_on(b, x)
        np.testing.assert_array_equal(ea.p, eb.p)
        np.testing.assert_array_equal(ea.m, eb.m)


# -- failing closed --------------------------------------------------------------------


@pytest.mark.parametrize("kwargs,knob", [
    ({"main_delta": -50.0}, "main_delta"),
    ({"metric": "conversion_rate", "main_delta": -0.05}, "main_delta"),
    ({"hte_scale": 50.0}, "hte_scale"),
    ({"metric": "conversion_rate", "hte_scale": 0.05}, "hte_scale"),
    ({"hte_scale": -0.1}, "hte_scale"),
    ({"main_delta": (0.1, 0.1)}, "main_delta"),
    ({"main_delta": float("nan")}, "main_delta"),
    ({"baseline_rate": 1.5}, "baseline_rate"),
    ({"aov": -3.0}, "aov"),
    ({"metric": "conversion_rate", "aov": 50.0}, "aov"),
])
def test_bad_knobs_name_the_knob(kwargs, knob):
    with pytest.raises(ValueError, match=knob):
        scenario("reversal", **kwargs)


def test_homogeneous_template_refuses_heterogeneity():
    with pytest.raises(ValueError, match="hte_scale"):
        scenario("constant", hte_scale=0.1)
    assert scenario("constant", hte_scale=0.0).hte_scale == 0.0


@pytest.mark.parametrize("kwargs,field", [
    ({"name": "sparkle"}, "name"),
    ({"name": "reversal", "profile": "optimistic"}, "profile"),
    ({"name": "reversal", "metric": "clicks"}, "metric"),
    ({"name": "reversal", "k": 6}, "k"),
    ({"name": "reversal", "k": True}, "k"),
])
def test_unknown_choices_fail_clearly(kwargs, field):
    name = kwargs.pop("name")
    with pytest.raises(ValueError, match=rf"scenario\.{field}: .*Fix: use one of"):
        scenario(name, **kwargs)


@pytest.mark.parametrize("name", SCENARIO_NAMES)
def test_arms_beyond_two_repeat_the_templates_shapes(name):
    wide = evaluated(name, 5, "conversion_rate", "realistic")
    assert wide.tau.shape == (N, 4)
    np.testing.assert_allclose(wide.tau[:, :2], evaluated(name, 3, "conversion_rate", "realistic").tau, atol=1e-9)
    mains = wide.scenario.main_delta
    for extra, own in ((2, 0), (3, 1)):
        if wide.tau[:, own].std() < 1e-9:  # homogeneous (or null): the same constant at its own main effect
            ratio = mains[extra] / mains[own] if mains[own] else 1.0
            np.testing.assert_allclose(wide.tau[:, extra], wide.tau[:, own] * ratio, rtol=1e-6, atol=1e-12)
        else:  # the same shape: ranked alike
            assert stats.spearmanr(wide.tau[:, extra], wide.tau[:, own])[0] > 0.99


def test_k5_simulates_five_arms():
    import pytyche_core as pt

    observed, truth = pt.simulate(scenario("reversal", k=5).config(2_000, seed=1))
    assert observed.n_arms == 5 and len(truth.contrast_cate_per_visitor) == 4


def test_clustered_surfaces_need_the_latent_column():
    s = scenario("clustered")
    x = sample_features(s.feature_sampler, np.random.default_rng(0), 100).drop(columns=[LATENT_CLUSTER_COLUMN])
    with pytest.raises(KeyError, match=LATENT_CLUSTER_COLUMN):
        s.metric_mode.p1_surface(x)


# -- configs and the simulator ---------------------------------------------------------


def test_config_builds_a_simulation_config():
    s = scenario("sparse_benefit", k=3, metric="conversion_rate")
    config = s.config(500, seed=4)
    assert isinstance(config, SimulationConfig)
    assert (config.n_visitors, config.seed, config.experiment_id) == (500, 4, s.label)
    assert config.metric_mode is s.metric_mode and config.feature_sampler is s.feature_sampler
    probs = (0.5, 0.25, 0.25)
    custom = s.config(500, experiment_id="exp-7", assignment=AssignmentConfig(treatment_probabilities=probs))
    assert custom.experiment_id == "exp-7" and custom.assignment.treatment_probabilities == probs
    with pytest.raises(ValueError, match="revenue_model"):
        scenario("reversal").config(500, revenue_model=object())


@pytest.mark.parametrize("metric", METRICS)
def test_simulate_runs_end_to_end(metric):
    from pytyche_core.simulate import simulate

    s = scenario("clustered", k=3, metric=metric)
    observed, truth = simulate(s.config(2_000, seed=1))
    assert observed.n_visitors == truth.n_visitors == 2_000 and observed.n_arms == 3
    assert LATENT_CLUSTER_COLUMN not in observed.visitors().columns
