"""The simulator's core: truth aligned with observed rows, identities, the assignment hook,
common random numbers, determinism and fail-closed inputs.

Scenarios are built inline: a three-feature copula (or a two-cluster mixture)
and simple surfaces, so every check can recompute the truth by hand.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special

import pytyche_core as pt
from pytyche_core.contracts import (
    AlignmentViolation,
    CartRevenueConfig,
    ContractViolation,
    ProductCategory,
    propensity_columns,
)
from pytyche_core.simulate import (
    LATENT_CLUSTER_COLUMN,
    AssignmentConfig,
    AssignmentPlan,
    CopulaConfig,
    FeatureSpec,
    MetricMode,
    MixtureConfig,
    PotentialOutcomes,
    SimulationConfig,
    SurfaceConfig,
    add_surfaces,
    assign_and_observe,
    build_bundle,
    build_truth,
    compute_potential_outcomes,
    constant_surface,
    expected_cart_revenue,
    feature_surface,
    multiply_surfaces,
    sample_features,
    scale_surface,
    sigmoid_surface,
    simulate,
    threshold_surface,
)
from pytyche_core.simulate.observe import draw_arms

RPV, CR = "revenue_per_visitor", "conversion_rate"
CART = CartRevenueConfig(
    categories=(ProductCategory("shoes", 60.0, 25.0, 0.3), ProductCategory("socks", 8.0, 3.0, 0.6),
                ProductCategory("bags", 120.0, 70.0, 0.1)),
    base_quantity_mu=1.3, base_quantity_sigma=0.5,
)


# -- inline scenarios -------------------------------------------------------------------


def copula() -> CopulaConfig:
    features = (FeatureSpec("x", "continuous"), FeatureSpec("seg", "categorical", categories=("a", "b", "c")),
                FeatureSpec("flag", "binary"))
    corr = np.array([[1.0, 0.4, -0.2], [0.4, 1.0, 0.1], [-0.2, 0.1, 1.0]])
    return CopulaConfig(features, corr)


def mixture() -> MixtureConfig:
    features = (FeatureSpec("x", "continuous"), FeatureSpec("seg", "categorical"), FeatureSpec("flag", "binary"))
    params = (
        {"x_mean": -3.0, "x_std": 0.5, "seg_probs": {"a": 0.8, "b": 0.2}, "flag_prob": 0.2},
        {"x_mean": 3.0, "x_std": 0.5, "seg_probs": {"a": 0.3, "b": 0.7}, "flag_prob": 0.7},
    )
    return MixtureConfig(features, (0.4, 0.6), params)


def is_b(features: pd.DataFrame) -> np.ndarray:
    return (features["seg"].astype(str) == "b").to_numpy(dtype=float)


def p_surface(arm: int) -> SurfaceConfig:
    """Arm k's conversion: logit -1 + 0.5 x + 0.4 k flag - 0.3 k [seg = b]."""
    logit = add_surfaces(-1.0, scale_surface(feature_surface("x"), 0.5),
                         scale_surface(feature_surface("flag"), 0.4 * arm),
                         scale_surface(SurfaceConfig(is_b, "seg=b"), -0.3 * arm))
    return sigmoid_surface(logit)


def m_surface(arm: int) -> SurfaceConfig:
    """Arm k's order value: 40 exp(0.2 x) (1 + 0.1 k [seg = b])."""
    growth = SurfaceConfig(lambda f: np.exp(0.2 * f["x"].to_numpy(dtype=float)), "exp(0.2x)")
    return multiply_surfaces(40.0, growth, add_surfaces(1.0, scale_surface(SurfaceConfig(is_b), 0.1 * arm)))


def cluster_p_surface(arm: int) -> SurfaceConfig:
    """Reads the latent cluster: cluster 1 gains 0.15 per arm, cluster 0 loses 0.05."""
    gain = threshold_surface(feature_surface(LATENT_CLUSTER_COLUMN), 0.5, 0.15 * arm, -0.05 * arm)
    return add_surfaces(0.3, gain, scale_surface(feature_surface("x"), 0.01))


def cluster_m_surface(arm: int) -> SurfaceConfig:
    return add_surfaces(30.0, scale_surface(feature_surface(LATENT_CLUSTER_COLUMN), 5.0 * arm),
                        scale_surface(feature_surface("flag"), 2.0))


def metric_mode(metric: str, k: int, *, p=p_surface, m=m_surface) -> MetricMode:
    sigma = [constant_surface(0.6) for _ in range(k)]
    ps = [p(a) for a in range(k)]
    ms = [m(a) for a in range(k)] if metric == RPV else None
    if k == 2:
        hurdle = {} if ms is None else {"m0_surface": ms[0], "m1_surface": ms[1],
                                        "sigma0_surface": sigma[0], "sigma1_surface": sigma[1]}
        return MetricMode(metric, p0_surface=ps[0], p1_surface=ps[1], **hurdle)
    return MetricMode(metric, p_surfaces=ps, m_surfaces=ms, sigma_surfaces=sigma if ms else None)


def config(metric: str = RPV, k: int = 2, *, n: int = 3000, seed: int = 7, cart: bool = False,
           sampler=None, mode: MetricMode | None = None, **kw) -> SimulationConfig:
    return SimulationConfig(n_visitors=n, feature_sampler=sampler or copula(),
                            metric_mode=mode or metric_mode(metric, k), seed=seed,
                            revenue_model=CART if cart else None, experiment_id="exp-sim", **kw)


def generation_index(visitors: pd.DataFrame) -> np.ndarray:
    return visitors["visitor_id"].str.rsplit("-", n=1).str[-1].astype(int).to_numpy()


def recomputed_contrasts(frame: pd.DataFrame, mode: MetricMode, cart: CartRevenueConfig | None) -> np.ndarray:
    """Each row's true effects, from that row's own features through the surfaces: (n, K-1)."""
    p_s, m_s, _ = mode.arm_surfaces()
    p = np.column_stack([s.fn(frame) for s in p_s])
    if m_s is None:
        return p[:, 1:] - p[:, :1]
    m = np.column_stack([s.fn(frame) for s in m_s])
    if cart is not None:
        m = np.column_stack([expected_cart_revenue(cart, m[:, k] - m[:, 0]) for k in range(m.shape[1])])
    value = p * m
    return value[:, 1:] - value[:, :1]


# -- 1. truth alignment ------------------------------------------------------------------

ALIGNMENT_CASES = [(metric, k, cart) for metric in (CR, RPV) for k in (2, 3) for cart in (False, True)
                   if not (cart and metric == CR)]


@pytest.mark.parametrize(("metric", "k", "cart"), ALIGNMENT_CASES)
def test_truth_is_aligned_with_observed_rows(metric, k, cart):
    cfg = config(metric, k, cart=cart)
    observed, truth = simulate(cfg)
    visitors = observed.visitors()
    expected = recomputed_contrasts(visitors, cfg.metric_mode, cfg.revenue_model)
    np.testing.assert_allclose(truth.contrasts(), expected, rtol=1e-12, atol=1e-12)
    assert truth.n_arms == k == observed.n_arms

    assert set(observed.feature_names) == {"x", "seg", "flag"}

    # The same check fails on truth left in generation order (the older system's bug),
    # so it can catch a misalignment.
    in_generation_order = np.empty_like(expected)
    in_generation_order[generation_index(visitors)] = expected
    assert not np.allclose(truth.contrasts(), in_generation_order)


@settings(max_examples=12, deadline=None)
@given(k=st.integers(2, 4), seed=st.integers(0, 2**32), treat=st.floats(0.05, 0.95),
       metric=st.sampled_from([CR, RPV]))
def test_truth_alignment_holds_for_any_design(k, seed, treat, metric):
    probs = (1 - treat, treat) if k == 2 else (1 - treat, *([treat / (k - 1)] * (k - 1)))
    cfg = config(metric, k, n=300, seed=seed, assignment=AssignmentConfig(treatment_probabilities=probs))
    observed, truth = simulate(cfg)
    expected = recomputed_contrasts(observed.visitors(), cfg.metric_mode, None)
    np.testing.assert_allclose(truth.contrasts(), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("k", [2, 3])
def test_truth_alignment_with_latent_clusters(k):
    mode = metric_mode(RPV, k, p=cluster_p_surface, m=cluster_m_surface)
    observed, truth = simulate(config(k=k, sampler=mixture(), mode=mode))
    visitors = observed.visitors()
    assert LATENT_CLUSTER_COLUMN not in visitors.columns
    cluster = truth.latent_cluster_per_visitor.values
    # The stored cluster belongs to the row: clusters are far apart in x.
    assert np.mean((visitors["x"].to_numpy() > 0) == (cluster == 1)) > 0.999
    with_cluster = visitors.assign(**{LATENT_CLUSTER_COLUMN: cluster})
    np.testing.assert_allclose(truth.contrasts(), recomputed_contrasts(with_cluster, mode, None), rtol=1e-12)


def test_potential_outcomes_follow_the_feature_rows():
    features = sample_features(copula(), np.random.default_rng(3), 500)
    mode = metric_mode(RPV, 3)
    outcomes = compute_potential_outcomes(features, mode)
    np.testing.assert_allclose(outcomes.contrasts(), recomputed_contrasts(features, mode, None), rtol=1e-12)
    order = np.random.default_rng(4).permutation(500)
    np.testing.assert_allclose(outcomes.take(order).contrasts(),
                               recomputed_contrasts(features.iloc[order], mode, None), rtol=1e-12)


# -- 2. identities -----------------------------------------------------------------------


def test_hurdle_k2_cate_is_conversion_plus_order_value_part():
    observed, truth = simulate(config(RPV, 2))
    p0, p1, m0, m1 = (a.values for a in (truth.p0_per_visitor, truth.p1_per_visitor,
                                         truth.m0_per_visitor, truth.m1_per_visitor))
    cate, conv, aov = truth.cate_per_visitor.values, truth.conv_cate_per_visitor.values, truth.aov_cate_per_visitor.values
    np.testing.assert_allclose(cate, conv + aov, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(conv, (p1 - p0) * m0, rtol=1e-12)
    np.testing.assert_allclose(aov, p1 * (m1 - m0), rtol=1e-12)
    assert truth.effect == pytest.approx(cate.mean(), rel=1e-12)
    assert set(truth.effect_components) == {"conv_effect", "aov_effect"}
    assert truth.effect_components["conv_effect"] + truth.effect_components["aov_effect"] == \
        pytest.approx(truth.effect, rel=1e-9)


def test_binary_k2_truth_has_only_conversion_fields():
    _, truth = simulate(config(CR, 2))
    np.testing.assert_allclose(truth.cate_per_visitor.values,
                               truth.p1_per_visitor.values - truth.p0_per_visitor.values, rtol=1e-12)
    assert truth.m0_per_visitor is None and truth.conv_cate_per_visitor is None
    assert dict(truth.effect_components) == {"conv_effect": pytest.approx(truth.effect)}


@pytest.mark.parametrize("metric", [CR, RPV])
def test_multi_arm_contrasts_and_decomposition(metric):
    observed, truth = simulate(config(metric, 4))
    p = truth.conversion_probabilities()
    contrasts = truth.contrasts()
    assert contrasts.shape == (observed.n_visitors, 3)
    if metric == RPV:
        m = truth.order_values()
        np.testing.assert_allclose(contrasts, p[:, 1:] * m[:, 1:] - p[:, :1] * m[:, :1], rtol=1e-12)
        conv, aov = truth.decomposition()
        np.testing.assert_allclose(conv + aov, contrasts, rtol=1e-10, atol=1e-10)
    else:
        assert truth.m_per_visitor is None
        np.testing.assert_allclose(contrasts, p[:, 1:] - p[:, :1], rtol=1e-12)
    means = contrasts.mean(axis=0)
    assert dict(truth.effect_components) == {f"treatment_{j}_effect": pytest.approx(means[j - 1]) for j in (1, 2, 3)}
    assert truth.effect == pytest.approx(means.max())


def test_potential_outcome_decomposition_adds_up():
    features = sample_features(copula(), np.random.default_rng(1), 400)
    outcomes = compute_potential_outcomes(features, metric_mode(RPV, 3), CART)
    conv, aov = outcomes.decomposition()
    np.testing.assert_allclose(conv + aov, outcomes.contrasts(), rtol=1e-10, atol=1e-10)
    assert compute_potential_outcomes(features, metric_mode(CR, 3)).decomposition() is None


# -- 3. determinism ----------------------------------------------------------------------


@pytest.mark.parametrize("cart", [False, True])
def test_same_seed_same_bundle_other_seed_other_bundle(cart):
    a_obs, a_truth = simulate(config(RPV, 3, cart=cart, n=1000))
    b_obs, b_truth = simulate(config(RPV, 3, cart=cart, n=1000))
    pd.testing.assert_frame_equal(a_obs.visitors(), b_obs.visitors(), check_exact=True)
    np.testing.assert_array_equal(a_truth.contrasts(), b_truth.contrasts())
    assert a_truth.effect == b_truth.effect
    c_obs, c_truth = simulate(config(RPV, 3, cart=cart, n=1000, seed=8))
    assert not a_obs.visitors()["x"].equals(c_obs.visitors()["x"])
    assert not np.array_equal(a_truth.contrasts(), c_truth.contrasts())


def test_visitor_ids_are_unique_and_independent_of_assignment():
    obs, _ = simulate(config(n=800, visitor_id_prefix="v"))
    ids = obs.visitors()["visitor_id"]
    assert ids.is_unique and ids.str.startswith("v-").all()
    assert sorted(generation_index(obs.visitors())) == list(range(800))
    other, _ = simulate(config(n=800, visitor_id_prefix="v", assignment=AssignmentConfig(0.2)))
    assert set(other.visitors()["visitor_id"]) == set(ids)


# -- 4. the assignment hook -----------------------------------------------------------------


def _by_generation(observed) -> pd.DataFrame:
    visitors = observed.visitors()
    return visitors.assign(arm=observed.arm_index()).set_index(generation_index(visitors)).sort_index()


@pytest.mark.parametrize("k", [2, 3])
def test_hook_routes_by_feature_and_design_columns_are_recorded(k):
    seen: dict[str, pd.DataFrame] = {}

    def assign(features: pd.DataFrame) -> AssignmentPlan:
        seen["features"] = features
        x = features["x"].to_numpy()
        arms = np.digitize(x, [-0.3, 0.4][: k - 1]).astype(np.int64)
        probs = np.full((len(x), k), 0.1 / (k - 1))
        probs[np.arange(len(x)), arms] = 0.9
        probs *= 1.0 + 0.05 * (x > 1)[:, None]  # rows that differ
        probs /= probs.sum(axis=1, keepdims=True)
        cells = np.where(x > 1.0, "tree", "explore")
        assign.plan = AssignmentPlan(probabilities=probs, arms=arms, cells=cells)
        return assign.plan

    observed, _ = simulate(config(RPV, k, n=1500), assign=assign)
    plan = assign.plan
    assert LATENT_CLUSTER_COLUMN not in seen["features"].columns
    rows = _by_generation(observed)
    np.testing.assert_array_equal(rows["arm"].to_numpy(), plan.arms)
    np.testing.assert_array_equal(rows["x"].to_numpy(), seen["features"]["x"].to_numpy())
    for name in propensity_columns(k):
        arm = 1 if name == "propensity" else int(name.split("_")[1])
        np.testing.assert_array_equal(rows[name].to_numpy(), plan.probabilities[:, arm])
    assert "propensity_0" not in rows.columns
    np.testing.assert_array_equal(rows["cell"].to_numpy(dtype=object), plan.cells)
    np.testing.assert_allclose(pt.propensity_matrix(observed)[np.argsort(generation_index(observed.visitors()))],
                               plan.probabilities, rtol=1e-12)


def test_hook_with_probabilities_only_draws_matching_frequencies():
    def assign(features: pd.DataFrame) -> AssignmentPlan:
        flag = features["flag"].to_numpy()
        probs = np.where(flag[:, None], [0.2, 0.3, 0.5], [0.6, 0.3, 0.1])
        return AssignmentPlan(probabilities=probs)

    observed, _ = simulate(config(CR, 3, n=6000), assign=assign)
    rows = _by_generation(observed)
    assert (rows["cell"] == "rct").all()
    for flag, target in ((True, [0.2, 0.3, 0.5]), (False, [0.6, 0.3, 0.1])):
        arms = rows.loc[rows["flag"] == flag, "arm"].to_numpy()
        freq = np.bincount(arms, minlength=3) / len(arms)
        se = np.sqrt(np.array(target) * (1 - np.array(target)) / len(arms))
        assert np.all(np.abs(freq - target) < 4 * se), (flag, freq, target)


def test_fixed_design_records_its_probabilities():
    observed, _ = simulate(config(RPV, 3, assignment=AssignmentConfig(treatment_probabilities=(0.5, 0.3, 0.2))))
    visitors = observed.visitors()
    assert (visitors["propensity_1"] == 0.3).all() and (visitors["propensity_2"] == 0.2).all()
    assert (visitors["cell"] == "rct").all()


@pytest.mark.parametrize(("bad", "error", "match"), [
    (lambda n, k: AssignmentPlan(probabilities=np.full((n - 1, k), 1 / k)), ValueError, "assign hook"),
    (lambda n, k: AssignmentPlan(probabilities=np.full((n, k + 1), 1 / (k + 1))), ValueError, r"\(3000, 2\)"),
    (lambda n, k: np.zeros(n, dtype=int), TypeError, "AssignmentPlan"),
])
def test_hook_returning_a_bad_plan_raises(bad, error, match):
    with pytest.raises(error, match=match):
        simulate(config(RPV, 2), assign=lambda f: bad(len(f), 2))


def test_plans_fail_closed_on_impossible_arms():
    with pytest.raises(ContractViolation, match="probability 0"):
        AssignmentPlan(probabilities=np.array([[1.0, 0.0]]), arms=np.array([1]))


# -- 5. common random numbers --------------------------------------------------------------


@pytest.mark.parametrize("cart", [False, True])
def test_same_visitor_same_arm_same_outcome_under_any_policy(cart):
    def random_plan(seed):
        def assign(features):
            rng = np.random.default_rng(seed)
            arms = rng.integers(0, 3, len(features))
            return AssignmentPlan(probabilities=np.full((len(features), 3), 1 / 3), arms=arms)
        return assign

    a = _by_generation(simulate(config(RPV, 3, cart=cart, n=2000), assign=random_plan(1))[0])
    b = _by_generation(simulate(config(RPV, 3, cart=cart, n=2000), assign=random_plan(2))[0])
    same = a["arm"].to_numpy() == b["arm"].to_numpy()
    assert 0.2 < same.mean() < 0.5 and a["converted"].any()
    np.testing.assert_array_equal(a.loc[same, "converted"], b.loc[same, "converted"])
    np.testing.assert_array_equal(a.loc[same, "revenue"], b.loc[same, "revenue"])
    np.testing.assert_array_equal(a["x"], b["x"])


def test_common_noise_couples_conversion_across_arms():
    # p1 >= p0 for every visitor, so whoever converts under control converts under treatment.
    mode = MetricMode(CR, p0_surface=p_surface(0), p1_surface=add_surfaces(p_surface(0), 0.05))
    outcomes = {}
    for arm in (0, 1):
        probs = np.zeros((2000, 2))
        probs[:, arm] = 1.0
        plan = AssignmentPlan(probabilities=probs, arms=np.full(2000, arm))
        outcomes[arm] = _by_generation(simulate(config(n=2000, mode=mode), assign=lambda f, p=plan: p)[0])
    converted0, converted1 = outcomes[0]["converted"].to_numpy(), outcomes[1]["converted"].to_numpy()
    assert (converted0 <= converted1).all() and converted1.sum() > converted0.sum()


# -- 6. latent cluster ------------------------------------------------------------------------


def test_latent_cluster_never_reaches_observed_data():
    seen = {}

    def assign(features):
        seen["columns"] = list(features.columns)
        return AssignmentPlan(probabilities=np.full((len(features), 2), 0.5))

    mode = metric_mode(RPV, 2, p=cluster_p_surface, m=cluster_m_surface)
    observed, truth = simulate(config(sampler=mixture(), mode=mode, n=1000), assign=assign)
    assert LATENT_CLUSTER_COLUMN not in seen["columns"]
    for variant in observed.variants:
        assert LATENT_CLUSTER_COLUMN not in variant.visitors.columns
    assert LATENT_CLUSTER_COLUMN not in observed.feature_names
    assert set(np.unique(truth.latent_cluster_per_visitor.values)) == {0, 1}
    _, copula_truth = simulate(config(n=200))
    assert copula_truth.latent_cluster_per_visitor is None


# -- 8. log-normal orders ---------------------------------------------------------------------


def test_lognormal_orders_have_mean_m():
    mode = MetricMode(RPV, p0_surface=constant_surface(0.5), p1_surface=constant_surface(0.6),
                      m0_surface=constant_surface(50.0), m1_surface=constant_surface(80.0),
                      sigma0_surface=constant_surface(0.8), sigma1_surface=constant_surface(0.3))
    observed, truth = simulate(config(mode=mode, n=20000, seed=11))
    for variant, m, sigma in zip(observed.variants, (50.0, 80.0), (0.8, 0.3), strict=True):
        rows = variant.visitors
        revenue = rows.loc[rows["converted"], "revenue"].to_numpy()
        se = m * np.sqrt(np.expm1(sigma**2) / len(revenue))
        assert abs(revenue.mean() - m) < 4 * se
        assert np.median(revenue) == pytest.approx(m * np.exp(-sigma**2 / 2), rel=0.05)
        assert (rows.loc[~rows["converted"], "revenue"] == 0).all()
        assert (rows["orders_count"] == rows["converted"].astype(int)).all() and (rows["sessions_count"] == 1).all()
    assert truth.effect == pytest.approx(0.6 * 80 - 0.5 * 50)


# -- 9. bad inputs ----------------------------------------------------------------------------


def _features(n=200):
    return sample_features(copula(), np.random.default_rng(0), n)


def _nan_at_row_3(f):
    out = np.full(len(f), 0.3)
    out[3] = np.nan
    return out


@pytest.mark.parametrize(("mode", "match"), [
    (lambda: MetricMode(CR, p0_surface=p_surface(0), p1_surface=SurfaceConfig(_nan_at_row_3)),
     r"p1_surface.*non-finite.*row 3"),
    (lambda: MetricMode(CR, p0_surface=add_surfaces(p_surface(0), 1.0), p1_surface=p_surface(1)),
     r"p0_surface.*probability in \[0, 1\].*sigmoid"),
    (lambda: MetricMode(RPV, p_surfaces=[p_surface(a) for a in range(3)],
                        m_surfaces=[m_surface(0), m_surface(1), SurfaceConfig(lambda f: np.ones(len(f) - 1))],
                        sigma_surfaces=[constant_surface(0.5)] * 3),
     r"m_surfaces\[2\].*shape \(199,\)"),
    (lambda: MetricMode(RPV, p_surfaces=[p_surface(a) for a in range(3)],
                        m_surfaces=[m_surface(0), scale_surface(feature_surface("x"), 10.0), m_surface(2)],
                        sigma_surfaces=[constant_surface(0.5)] * 3),
     r"m_surfaces\[1\] \('10\*x'\).*not > 0"),
    (lambda: MetricMode(RPV, p0_surface=p_surface(0), p1_surface=p_surface(1), m0_surface=m_surface(0),
                        m1_surface=m_surface(1), sigma0_surface=constant_surface(0.5),
                        sigma1_surface=constant_surface(0.0)),
     r"sigma1_surface.*not > 0"),
    (lambda: MetricMode(CR, p0_surface=p_surface(0), p1_surface=SurfaceConfig(lambda f: 0.3)),
     r"p1_surface.*shape \(\)"),
])
def test_bad_surface_output_raises_naming_the_surface(mode, match):
    with pytest.raises(ValueError, match=match):
        compute_potential_outcomes(_features(), mode())


def test_a_surface_that_raises_is_named_in_a_note():
    mode = MetricMode(CR, p0_surface=p_surface(0), p1_surface=feature_surface("no_such_column"))
    with pytest.raises(KeyError) as info:
        compute_potential_outcomes(_features(), mode)
    assert any("p1_surface" in note for note in info.value.__notes__)


def test_outcomes_and_observation_must_use_one_revenue_model():
    features = _features()
    outcomes = compute_potential_outcomes(features, metric_mode(RPV, 2))
    with pytest.raises(ValueError, match="another revenue model"):
        assign_and_observe(features, outcomes, AssignmentConfig(), 0, revenue_model=CART)


def test_build_bundle_rejects_an_order_that_is_not_a_permutation():
    features = _features()
    outcomes = compute_potential_outcomes(features, metric_mode(RPV, 2))
    variants, order = assign_and_observe(features, outcomes, AssignmentConfig(), 0)
    bundle = build_bundle(variants, outcomes, order, experiment_id="sim")
    assert bundle.truth.n_visitors == 200
    broken = order.copy()
    broken[0] = broken[1]
    with pytest.raises(AlignmentViolation, match="permutation"):
        build_bundle(variants, outcomes, broken, experiment_id="sim")
    with pytest.raises(AlignmentViolation):
        build_bundle(variants, outcomes, order[:-1], experiment_id="sim")


# -- PotentialOutcomes as a value ---------------------------------------------------------------


def test_potential_outcomes_round_trip_through_a_frame():
    features = sample_features(mixture(), np.random.default_rng(2), 300)
    mode = metric_mode(RPV, 3, p=cluster_p_surface, m=cluster_m_surface)
    outcomes = compute_potential_outcomes(features, mode, CART)
    frame = outcomes.to_frame()
    assert list(frame.columns) == ["row", "arm", "conversion", "order_value", "severity", "sigma", "latent_cluster"]
    shuffled = frame.sample(frac=1.0, random_state=0)
    back = PotentialOutcomes.from_frame(shuffled, RPV)
    for name in ("conversion", "order_value", "severity", "sigma", "latent_cluster"):
        np.testing.assert_array_equal(getattr(back, name), getattr(outcomes, name))
    with duckdb.connect() as con:  # the form a pipeline stores
        con.register("outcomes_frame", frame)
        stored = con.execute("SELECT * FROM outcomes_frame ORDER BY arm DESC, row").df()
    np.testing.assert_array_equal(PotentialOutcomes.from_frame(stored, RPV).order_value, outcomes.order_value)
    binary = compute_potential_outcomes(features, metric_mode(CR, 3, p=cluster_p_surface))
    assert PotentialOutcomes.from_frame(binary.to_frame(), CR).conversion.tolist() == binary.conversion.tolist()
    with pytest.raises(ValueError, match="once each"):
        PotentialOutcomes.from_frame(frame.iloc[1:], RPV)


def test_potential_outcomes_fail_closed():
    p = np.full((4, 2), 0.5)
    m = np.full((4, 2), 10.0)
    with pytest.raises(ContractViolation, match=r"conversion.*visitor 1, arm 0"):
        PotentialOutcomes(CR, np.array([[0.5, 0.5], [1.5, 0.5], [0.1, 0.1], [0.1, 0.1]]))
    with pytest.raises(ContractViolation, match="order_value.*missing"):
        PotentialOutcomes(RPV, p)
    with pytest.raises(ContractViolation, match=r"sigma.*not > 0"):
        PotentialOutcomes(RPV, p, m, m, np.zeros((4, 2)))
    with pytest.raises(ContractViolation, match=r"severity.*shape \(4, 3\)"):
        PotentialOutcomes(RPV, p, m, np.full((4, 3), 1.0), m)
    with pytest.raises(ContractViolation, match="order_value.*set for conversion_rate"):
        PotentialOutcomes(CR, p, m)
    outcomes = PotentialOutcomes(RPV, p, m, m, m)
    assert not outcomes.conversion.flags.writeable
    assert outcomes.take(np.array([3, 0])).n_visitors == 2


def test_build_truth_from_outcomes_in_observed_order():
    features = _features(50)
    outcomes = compute_potential_outcomes(features, metric_mode(RPV, 2))
    truth = build_truth(outcomes.take(np.arange(50)[::-1]))
    np.testing.assert_allclose(truth.cate_per_visitor.values, outcomes.contrasts()[::-1, 0], rtol=1e-12)
    p = special.expit(-1.0 + 0.5 * features["x"].to_numpy())
    np.testing.assert_allclose(truth.p0_per_visitor.values, p[::-1], rtol=1e-12)


# -- surface helpers ----------------------------------------------------------------------------


def test_surface_helpers_compute_and_name_what_they_do():
    frame = pd.DataFrame({"x": [-1.0, 0.0, 2.0], "flag": [True, False, True],
                          "seg": pd.Categorical(["a", "b", "a"])})
    x = feature_surface("x")
    np.testing.assert_array_equal(feature_surface("flag").fn(frame), [1.0, 0.0, 1.0])
    np.testing.assert_allclose(add_surfaces(x, 1.0, x).fn(frame), [-1.0, 1.0, 5.0])
    np.testing.assert_allclose(multiply_surfaces(x, x, 2.0).fn(frame), [2.0, 0.0, 8.0])
    np.testing.assert_allclose(scale_surface(x, -3.0).fn(frame), [3.0, 0.0, -6.0])
    np.testing.assert_allclose(sigmoid_surface(x).fn(frame), special.expit([-1.0, 0.0, 2.0]))
    np.testing.assert_array_equal(threshold_surface(x, 0.0, 5.0, 1.0).fn(frame), [1.0, 1.0, 5.0])
    np.testing.assert_array_equal(constant_surface(0.25).fn(frame), [0.25] * 3)
    assert add_surfaces(x, 1.0).name == "(x + 1)"
    with pytest.raises(TypeError, match="not a number"):
        feature_surface("seg").fn(frame)
    with pytest.raises(KeyError, match="no such column"):
        feature_surface("y").fn(frame)
    with pytest.raises(ValueError, match="at least one"):
        add_surfaces()


def test_drawn_arms_never_have_probability_zero():
    probs = np.tile([0.3, 0.7 - 1e-17, 0.0], (50_000, 1))
    arms = draw_arms(probs, np.random.default_rng(0))
    assert set(np.unique(arms)) == {0, 1}
    assert np.mean(arms == 0) == pytest.approx(0.3, abs=0.01)
