"""Statistical correctness of ``pt.fit``: recovery of known effects, interval coverage, the hurdle
identity, determinism and pooling.

Effects are scored against the simulator's truth (aligned with the observed
rows). Per-visitor bounds are set only in strong-effect regimes, where the
effect spread is large next to the outcome noise at these sizes; at realistic
rates (3% conversion) per-visitor effects are barely identifiable even at
n = 50k (docs/concepts/engine.md), so those tests (``slow``) bound
group-level effects. Every bound below was set from measured values with a
margin, and an estimate shrunk halfway to its mean (the same fit, with half
its heterogeneity) must fail it, so the bounds tell a good estimate from a
clearly worse one.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy.special import ndtr

import pytyche_core as pt
from pytyche_core.simulate import scenario

# Per-visitor RMSE of the posterior mean and error of quartile-group effects (groups by true effect),
# as fractions of the truth's sd, per (model, K) and arm, in strong-effect regimes. Measured on
# these data with fit seeds 0, 1, 2 (the fit seed stands in for another machine's float rounding):
#   continuous K=2: 0.27-0.41 / 0.08-0.12     K=3: 0.36-0.39, 0.23-0.33 / 0.19-0.22, 0.13-0.17
#   binary     K=2: 0.42-0.50 / 0.34-0.44     K=3: 0.30-0.36, 0.44-0.48 / 0.18-0.20, 0.36-0.37
#   hurdle     K=2: 0.43-0.53 / 0.31-0.46     K=3: 0.34-0.45, 0.31-0.34 / 0.18-0.31, 0.17-0.20
# The halfway-shrunk estimate scored 0.47-0.74 / 0.43-0.71.
PER_VISITOR_BOUND = {("continuous", 2): (0.47,), ("continuous", 3): (0.45, 0.40), ("binary", 2): (0.58,),
                     ("binary", 3): (0.41, 0.55), ("hurdle", 2): (0.62,), ("hurdle", 3): (0.52, 0.40)}
GROUP_BOUND = {("continuous", 2): (0.20,), ("continuous", 3): (0.28, 0.22), ("binary", 2): (0.51,),
               ("binary", 3): (0.26, 0.44), ("hurdle", 2): (0.53,), ("hurdle", 3): (0.37, 0.25)}


def relative_rmse(estimate: np.ndarray, truth: np.ndarray) -> float:
    return float(np.sqrt(np.mean((estimate - truth) ** 2)) / truth.std())


def quartile_groups(truth: np.ndarray) -> np.ndarray:
    """Group index 0..3 of every visitor by quartile of its true effect."""
    return np.searchsorted(np.quantile(truth, [0.25, 0.5, 0.75]), truth)


def group_error(estimate: np.ndarray, truth: np.ndarray, groups: np.ndarray) -> float:
    """RMSE over groups of (mean estimate - mean truth) in each group, as a fraction of sd(truth)."""
    labels = np.unique(groups)
    diffs = [estimate[groups == g].mean() - truth[groups == g].mean() for g in labels]
    return float(np.sqrt(np.mean(np.square(diffs))) / truth.std())


def shrunk_halfway(estimate: np.ndarray) -> np.ndarray:
    """A deliberately degraded estimate: the same ranking with half the spread around its mean."""
    return estimate.mean() + 0.5 * (estimate - estimate.mean())


# -- recovery ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind,k", [("continuous", 2), ("continuous", 3), ("binary", 2), ("binary", 3),
                                    ("hurdle", 2), ("hurdle", 3)])
def test_posterior_mean_tracks_the_true_effect_per_visitor(request, kind, k):
    fitted = request.getfixturevalue(f"{kind}_k{k}")
    result = fitted.result
    assert result.model == kind
    assert result.cate_samples.shape == (fitted.observed.n_visitors, result.n_draws, k - 1)
    assert result.cate_samples.dtype == np.float32 and np.isfinite(result.cate_samples).all()
    estimate = result.cate_samples.mean(axis=1)
    for j in range(k - 1):
        truth = fitted.truth[:, j]
        groups = quartile_groups(truth)
        rmse_bound, gate_bound = PER_VISITOR_BOUND[kind, k][j], GROUP_BOUND[kind, k][j]
        rmse = relative_rmse(estimate[:, j], truth)
        gate = group_error(estimate[:, j], truth, groups)
        assert rmse < rmse_bound, f"arm {j + 1}: per-visitor RMSE {rmse:.3f} sd"
        assert gate < gate_bound, f"arm {j + 1}: quartile-group RMSE {gate:.3f} sd"
        # The group bound has teeth: the same fit with half its heterogeneity fails it. (Shrunk
        # halfway, a noisy per-visitor estimate loses less per-visitor RMSE than it loses group
        # accuracy: its per-visitor bound alone would not always catch it.)
        assert group_error(shrunk_halfway(estimate[:, j]), truth, groups) > gate_bound


@pytest.mark.parametrize("k", [2, 3])
def test_hurdle_parts_track_the_true_decomposition(request, k):
    """Conversion and order-value parts each follow their true counterparts.

    The split of an effect between the parts is less well identified than the
    total (measured correlations 0.74-0.96), so only the correlation is bounded.
    """
    fitted = request.getfixturevalue(f"hurdle_k{k}")
    true_conv, true_order = fitted.decomposition
    for estimate, truth in ((fitted.result.conversion_part_samples.mean(axis=1), true_conv),
                            (fitted.result.order_value_part_samples.mean(axis=1), true_order)):
        for j in range(k - 1):
            assert np.corrcoef(estimate[:, j], truth[:, j])[0, 1] > 0.5


# -- the hurdle identity -------------------------------------------------------------------------------

@pytest.mark.parametrize("k", [2, 3])
def test_hurdle_identity_per_draw(request, k):
    """Per draw: total = conversion part + order-value part, each as docs/concepts/sampler-math.md §5 defines it
    from the channels' linear predictors and the order-value noise variance."""
    result = request.getfixturevalue(f"hurdle_k{k}").result
    total, conv, order = result.rpv_cate_samples, result.conversion_part_samples, result.order_value_part_samples
    assert total.shape == conv.shape == order.shape
    np.testing.assert_array_equal(total, result.cate_samples)
    scale = np.abs(total).max()
    np.testing.assert_allclose(conv.astype(np.float64) + order, total, rtol=0, atol=1e-6 * scale)
    for j in range(k - 1):
        eta0, eta = (x.astype(np.float64) for x in result.conversion.predictors(j))      # [S, n]
        nu0, nu = (x.astype(np.float64) for x in result.order_value.predictors(j))
        half_var = 0.5 * result.order_value.sigma2_for(j).astype(np.float64)[:, None]
        p0, p = ndtr(eta0), ndtr(eta)
        m0, m = np.exp(nu0 + half_var), np.exp(nu + half_var)
        np.testing.assert_allclose(conv[:, :, j].T, (p - p0) * m0, rtol=1e-5, atol=1e-5 * scale)
        np.testing.assert_allclose(order[:, :, j].T, p * (m - m0), rtol=1e-5, atol=1e-5 * scale)
        np.testing.assert_allclose(total[:, :, j].T, p * m - p0 * m0, rtol=1e-5, atol=1e-5 * scale)
    assert (result.order_value.sigma2 > 0).all() and np.isfinite(total).all()


# -- determinism ---------------------------------------------------------------------------------------

def _draws(result) -> dict[str, np.ndarray]:
    out = {"cate": result.cate_samples}
    if isinstance(result, pt.HurdleBCFResult):
        out |= {"conversion": result.conversion_part_samples, "order_value": result.order_value_part_samples,
                "sigma2": result.order_value.sigma2}
    return out


def test_same_seed_same_draws_and_another_seed_other_draws(hurdle_k2, continuous_k3, short_config):
    if hurdle_k2.result.info.device != "cpu":
        pytest.skip("bit-for-bit determinism is promised on CPU")
    cases = ((hurdle_k2.observed, {}), (continuous_k3.observed, {"model": "continuous", "pooling": "independent"}))
    for observed, kwargs in cases:
        first = _draws(pt.fit(observed, config=short_config, seed=3, **kwargs))
        again = _draws(pt.fit(observed, config=short_config, seed=3, **kwargs))
        other = _draws(pt.fit(observed, config=short_config, seed=4, **kwargs))
        for name in first:
            np.testing.assert_array_equal(first[name], again[name], err_msg=name)
            assert not np.array_equal(first[name], other[name]), name
        assert np.abs(first["cate"] - other["cate"]).mean() > 1e-3 * np.abs(first["cate"]).mean()


# -- pooling -------------------------------------------------------------------------------------------

def test_independent_pooling_agrees_with_joint(continuous_k3, continuous_k3_independent):
    joint, independent = continuous_k3.result, continuous_k3_independent.result
    assert independent.info.pooling == "independent" and joint.info.pooling == "joint"
    assert len(independent.outcome.fits) == 2 and len(joint.outcome.fits) == 1
    assert independent.cate_samples.shape == joint.cate_samples.shape
    a, b = joint.cate_samples.mean(axis=1), independent.cate_samples.mean(axis=1)
    for j in range(2):
        assert np.corrcoef(a[:, j], b[:, j])[0, 1] > 0.85, f"arm {j + 1}"
        # Each control-vs-arm fit also recovers its arm (a little less data than the joint fit sees).
        assert relative_rmse(b[:, j], continuous_k3.truth[:, j]) < 0.7, f"arm {j + 1}"


# -- coverage of the average effect ---------------------------------------------------------------------

def average_effect_coverage(bundles, fit, level: float = 0.8) -> np.ndarray:
    """Per replicate and arm: does the central ``level`` interval of the sample-average effect cover it?

    Per draw, the average effect of an arm is the mean over visitors of its
    effect draws; the truth is the mean of the true contrasts over the same
    visitors (the sample ATE).
    """
    lo, hi = 50 * (1 - level), 100 - 50 * (1 - level)
    covered = []
    for bundle in bundles:
        draws = fit(bundle).cate_samples.mean(axis=0)  # [S, K-1]
        low, high = np.percentile(draws, [lo, hi], axis=0)
        sate = bundle.truth.mean(axis=0)
        covered.append((low <= sate) & (sate <= high))
    return np.array(covered)


def test_average_effect_intervals_cover_at_their_level(gaussian_experiment, gaussian_sizes, coverage_config):
    """40 replicates of the randomised K = 3 Gaussian problem (900 visitors): 80 intervals of arm ATEs.

    Randomised (``confounding=0``) so the test checks the sampler's calibration
    alone; the confounded variants run in the slow tier. Measured at these
    seeds: 82.5% (both arms); over 200 replicates 77.5% and 81%. The binomial
    sd of 80 intervals at 80% is 4.5 points.
    """
    n = gaussian_sizes[3]
    bundles = (gaussian_experiment(n, 3, seed=1000 + r, confounding=0.0) for r in range(40))
    covered = average_effect_coverage(
        bundles, lambda b: pt.fit(b.observed, config=coverage_config, seed=0, model="continuous"))
    rate = covered.mean()
    print(f"coverage of 80% intervals: {rate:.1%} (per arm {covered.mean(axis=0)})")
    assert 0.70 <= rate <= 0.90, f"80% intervals covered {rate:.1%} (per arm {covered.mean(axis=0)})"


# -- slow tier: more replicates, every model, realistic rates ----------------------------------------------

#: Burn-in of the strong-effect cases whose 10-tree treatment forest needs longer than the shared 200
#: sweeps to carry effects of this size (see the test's docstring).
_LONG_BURN_IN = {("binary", 3): 600, ("hurdle", 2): 600}


@pytest.mark.slow
@pytest.mark.parametrize("kind,k,replicates,confounding", [
    ("continuous", 2, 200, 0.0), ("continuous", 3, 200, 0.0), ("continuous", 2, 200, 1.0),
    ("continuous", 3, 200, 1.0), ("binary", 2, 100, None), ("binary", 3, 100, None), ("hurdle", 2, 30, None)])
def test_average_effect_coverage_per_arm(kind, k, replicates, confounding, gaussian_experiment, gaussian_sizes,
                                         scenario_data, strong_knobs, coverage_config):
    """Each arm's 80% intervals of its sample ATE cover it 70-90% of the time.

    The hand-built problem runs twice: randomised (``confounding=0``, a pure
    check of the sampler's calibration) and with assignment driven by x1, as
    in an adaptive experiment. Measured (seeds 2000+, sampled leaf scales,
    the default since 2026-12-01): randomised K = 2 77.5%, K = 3 76.5% and
    84%; confounded K = 2 77%, K = 3 73% and 79%; binary K = 2 85%, K = 3 77%
    and 79% and hurdle K = 2 77% (both at 600 burn-in, below). With fixed
    leaf variances (2026-11-23): randomised 75%, 81.5% / 82%; confounded
    69.5%, 77% / 75%; binary 80%, 75% / 75%.
    Hurdle replicates are few: its order-value channel is sized by the number
    of converters, so every replicate compiles the sampler anew (about 17 s
    each here).

    The binary K = 3 case burns in longer. After the probit prior was scaled
    at the observed rate (2026-11-30) it covered 67% / 61% at the shared 200
    burn-in; over 16 replicates the posterior mean sat 0.41 / 0.49 posterior
    sd below the truth. With 600 burn-in sweeps that offset is 0.01 / 0.10 sd
    and the coverage 78% / 79% (100 replicates): the chain had not reached
    the posterior, the posterior itself is calibrated. (A treatment
    intercept, sampler-math §3c, gave only 70% / 65% at 200.) The hurdle K = 2
    case likewise: at 200 burn-in it covered 70% with sampled leaf scales and
    77% with fixed ones, the posterior mean 0.64 / 0.59 posterior sd below
    the truth on average under both; at 600 the offset is 0.32 sd and the
    coverage 77% (sampled).
    """
    if kind == "continuous":
        bundles = (gaussian_experiment(gaussian_sizes[k], k, seed=2000 + r, confounding=confounding)
                   for r in range(replicates))
        kwargs = {"model": "continuous"}
    else:
        bundles = (scenario_data(k, seed=2000 + r, **strong_knobs[kind]) for r in range(replicates))
        kwargs = {}
    if (kind, k) in _LONG_BURN_IN:
        coverage_config = dataclasses.replace(coverage_config, burn_in=_LONG_BURN_IN[kind, k])
    covered = average_effect_coverage(bundles, lambda b: pt.fit(b.observed, config=coverage_config, seed=0,
                                                                **kwargs))
    rates = covered.mean(axis=0)
    print(f"{kind} K={k} confounding={confounding}: coverage per arm {rates}")
    assert ((rates >= 0.70) & (rates <= 0.90)).all(), f"{kind} K={k}: coverage per arm {rates}"


@pytest.mark.slow
@pytest.mark.xfail(reason="known estimator limitation: with poor overlap the effect forest extrapolates "
                          "arm 1's effect flatly into the region where arm 1 is rare, biasing its ATE "
                          "upward by about 1 posterior sd (see the report of this test)", strict=False)
def test_average_effect_coverage_with_poor_overlap(gaussian_experiment, gaussian_sizes, coverage_config):
    """K = 3, no probability floor: arm 1 is given to about 4% of visitors with x1 < -1.5.

    Measured: arm 1's 80% intervals cover its sample ATE 55% of the time
    (z of the posterior mean 1.2 on average), 60% with the default forest sizes
    (200 / 50 trees, depth 6), 57% under independent pooling; arm 2 80%.
    """
    bundles = (gaussian_experiment(gaussian_sizes[3], 3, seed=3000 + r, floor=0.0) for r in range(100))
    covered = average_effect_coverage(
        bundles, lambda b: pt.fit(b.observed, config=coverage_config, seed=0, model="continuous"))
    rates = covered.mean(axis=0)
    print(f"poor overlap: coverage per arm {rates}")
    assert ((rates >= 0.70) & (rates <= 0.90)).all(), f"coverage per arm {rates}"


REALISTIC_GROUP_BOUND = {"conversion_rate": (0.6,), "revenue_per_visitor": (0.30, 0.50)}


@pytest.mark.slow
@pytest.mark.parametrize("metric,k,hte_scale", [("conversion_rate", 2, 0.007), ("revenue_per_visitor", 3, 0.28)])
def test_group_effects_at_realistic_rates(metric, k, hte_scale, recovery_config):
    """Realistic rates (3% conversion, $60 AOV), 200k visitors: group-level effects, not per-visitor.

    The effect spread is about 2-3x the profile's default (23% of the baseline
    rate; 16% of the baseline revenue per visitor). At the default spread even
    oracle groups barely show the heterogeneity at this size (the true
    benefit-vs-harm gap of revenue is 2 standard errors of its difference in
    means), so a bound there would test luck. Measured (data seed 1, fit seed
    0, after the probit prior moved to the observed rate): quartile-group
    error 0.49 sd (binary; 0.35 under the old prior), 0.14 / 0.39 (hurdle arms
    1 / 2); shrunk halfway 0.71, 0.46 / 0.59; estimated benefit-vs-harm gap
    53% of the true gap (binary), 110% / 105% (hurdle).
    """
    observed, truth = pt.simulate(scenario("reversal", k=k, metric=metric, profile="realistic",
                                           hte_scale=hte_scale).config(200_000, seed=1))
    estimate = pt.fit(observed, config=recovery_config, seed=0).cate_samples.mean(axis=1)
    for j in range(k - 1):
        t, e = truth.contrasts()[:, j], estimate[:, j]
        bound = REALISTIC_GROUP_BOUND[metric][j]
        assert group_error(e, t, quartile_groups(t)) < bound, f"arm {j + 1}"
        benefit = t > 0
        true_gap = t[benefit].mean() - t[~benefit].mean()
        assert e[benefit].mean() - e[~benefit].mean() > 0.5 * true_gap, f"arm {j + 1}"
        assert group_error(shrunk_halfway(e), t, quartile_groups(t)) > bound, f"arm {j + 1}: no teeth"
