"""Cart revenue: the analytic expectation matches the sampler, prices are clipped (not
truncated), quantities multiply, base probabilities of 1 work, and carts run at K >= 3."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, stats

from pytyche_core.contracts import CartRevenueConfig, ProductCategory
from pytyche_core.simulate import (
    CopulaConfig,
    FeatureSpec,
    MetricMode,
    SimulationConfig,
    add_surfaces,
    constant_surface,
    expected_cart_revenue,
    expected_prices,
    feature_surface,
    sample_cart_revenue,
    scale_surface,
    sigmoid_surface,
    simulate,
)
from pytyche_core.simulate.cart import draw_cart_noise, purchase_probabilities

# Wide price spreads: a fifth to a third of raw prices fall below the floor of base / 2.
CART = CartRevenueConfig(
    categories=(ProductCategory("shoes", 60.0, 35.0, 0.3), ProductCategory("socks", 8.0, 5.0, 0.5),
                ProductCategory("bags", 120.0, 90.0, 0.1)),
    base_quantity_mu=1.4, base_quantity_sigma=0.7,
)


def monte_carlo(config: CartRevenueConfig, delta: float, n: int, seed: int) -> tuple[float, float]:
    """Mean and standard error of the sampled revenue of n converters with one shift."""
    noise = draw_cart_noise(config, np.random.default_rng(seed), n)
    revenue = sample_cart_revenue(config, np.full(n, delta), noise)
    assert (revenue > 0).all()
    return float(revenue.mean()), float(revenue.std() / np.sqrt(n))


@pytest.mark.parametrize("delta", [-3.0, 0.0, 1.5])
def test_expected_revenue_matches_the_sampler(delta):
    mean, se = monte_carlo(CART, delta, 200_000, seed=int(10 * delta) + 50)
    (expected,) = expected_cart_revenue(CART, np.array([delta]))
    assert abs(mean - expected) < 4 * se, (mean, expected, se)


def test_price_floor_is_a_clip_not_a_truncation():
    mu, sd = 60.0, 35.0
    draws = np.maximum(np.random.default_rng(0).normal(mu, sd, 1_000_000), mu / 2)
    se = draws.std() / 1000.0
    (clipped,) = expected_prices(CartRevenueConfig((ProductCategory("a", mu, sd, 0.5),)))
    assert abs(draws.mean() - clipped) < 4 * se
    alpha = (mu / 2 - mu) / sd
    truncated = mu + sd * stats.norm.pdf(alpha) / stats.norm.sf(alpha)  # the older system's formula
    assert abs(draws.mean() - truncated) > 50 * se


@settings(max_examples=40, deadline=None)
@given(st.floats(0.5, 500.0), st.just(0.0) | st.floats(0.01, 3.0))
def test_clipped_mean_matches_numerical_integration(mu, relative_sd):
    sd = mu * relative_sd
    (value,) = expected_prices(CartRevenueConfig((ProductCategory("a", mu, sd, 0.5),)))
    if sd == 0.0:
        assert value == mu
        return
    floor = mu / 2
    tail, _ = integrate.quad(lambda x: x * stats.norm.pdf(x, mu, sd), floor, mu + 40 * sd)
    assert value == pytest.approx(floor * stats.norm.cdf(floor, mu, sd) + tail, rel=1e-7)
    assert value >= mu


def test_empty_cart_falls_back_to_the_cheapest_category():
    config = CartRevenueConfig((ProductCategory("a", 30.0, 0.0, 0.1), ProductCategory("b", 10.0, 0.0, 0.2)))
    (expected,) = expected_cart_revenue(config, np.zeros(1))
    assert expected == pytest.approx(0.1 * 30 + 0.2 * 10 + 0.9 * 0.8 * 10)
    noise = draw_cart_noise(config, np.random.default_rng(1), 20_000)
    revenue = sample_cart_revenue(config, np.zeros(20_000), noise)
    assert set(np.unique(revenue)) == {10.0, 30.0, 40.0}
    # b alone (0.9 * 0.2) or an empty cart that buys b (0.9 * 0.8): both cost 10.
    assert np.mean(revenue == 10.0) == pytest.approx(0.9, abs=0.01)
    assert np.mean(revenue == 30.0) == pytest.approx(0.1 * 0.8, abs=0.01)
    assert np.mean(revenue == 40.0) == pytest.approx(0.1 * 0.2, abs=0.005)


def test_quantity_multiplier_has_the_configured_mean_and_sd():
    noise = draw_cart_noise(CART, np.random.default_rng(2), 200_000)
    assert noise.quantity.mean() == pytest.approx(1.4, rel=0.01)
    assert noise.quantity.std() == pytest.approx(0.7, rel=0.02)
    fixed = CartRevenueConfig(CART.categories, base_quantity_mu=2.0)
    assert (draw_cart_noise(fixed, np.random.default_rng(2), 100).quantity == 2.0).all()
    no_quantity = CartRevenueConfig(CART.categories)
    ratio = expected_cart_revenue(CART, np.zeros(1)) / expected_cart_revenue(no_quantity, np.zeros(1))
    assert ratio == pytest.approx(1.4)


def test_a_certain_category_has_probability_one_whatever_the_shift():
    config = CartRevenueConfig((ProductCategory("always", 20.0, 8.0, 1.0), ProductCategory("rare", 5.0, 1.0, 0.05)),
                               base_quantity_mu=1.0, base_quantity_sigma=0.3)
    deltas = np.array([-50.0, -1.0, 0.0, 3.0])
    probs = purchase_probabilities(config, deltas)
    assert np.isfinite(probs).all() and (probs[:, 0] == 1.0).all()
    assert np.isfinite(expected_cart_revenue(config, deltas)).all()
    for delta in (-2.0, 2.0):
        mean, se = monte_carlo(config, delta, 100_000, seed=3)
        (expected,) = expected_cart_revenue(config, np.array([delta]))
        assert abs(mean - expected) < 4 * se


def test_the_shift_moves_revenue_the_right_way():
    revenue = expected_cart_revenue(CART, np.linspace(-4, 4, 9))
    assert np.all(np.diff(revenue) > 0)


def _cart_config(k: int, n: int) -> SimulationConfig:
    features = (FeatureSpec("x", "continuous"), FeatureSpec("flag", "binary"), FeatureSpec("seg", "categorical"))
    corr = np.array([[1.0, 0.3, 0.0], [0.3, 1.0, 0.0], [0.0, 0.0, 1.0]])
    p = [sigmoid_surface(add_surfaces(-0.2, scale_surface(feature_surface("x"), 0.4 + 0.1 * a)))
         for a in range(k)]
    # Severity shifts the cart logits: arm a adds a * (0.8 + 0.5 x).
    m = [add_surfaces(50.0, scale_surface(add_surfaces(0.8, scale_surface(feature_surface("x"), 0.5)), a))
         for a in range(k)]
    sigma = [constant_surface(0.5)] * k
    mode = MetricMode("revenue_per_visitor", p_surfaces=p, m_surfaces=m, sigma_surfaces=sigma)
    return SimulationConfig(n_visitors=n, feature_sampler=CopulaConfig(features, corr), metric_mode=mode,
                            seed=5, revenue_model=CART)


def test_cart_revenue_at_three_arms_matches_the_truth():
    observed, truth = simulate(_cart_config(3, 45_000))
    order_values = truth.order_values()
    arm = observed.arm_index()
    visitors = observed.visitors()
    converted = visitors["converted"].to_numpy()
    revenue = visitors["revenue"].to_numpy()
    # Severity deltas are spread over visitors, so the arms' order values differ.
    assert order_values[:, 2].mean() > order_values[:, 1].mean() > order_values[:, 0].mean()
    for k in range(3):
        rows = (arm == k) & converted
        sampled, expected = revenue[rows], order_values[rows, k]
        se = sampled.std() / np.sqrt(rows.sum())
        assert abs(sampled.mean() - expected.mean()) < 4 * se, (k, sampled.mean(), expected.mean(), se)
        np.testing.assert_allclose(
            order_values[arm == k, k],
            expected_cart_revenue(CART, 0.8 * k + 0.5 * k * visitors.loc[arm == k, "x"].to_numpy()),
            rtol=1e-12)
