"""Interval calibration (docs/concepts/calibration.md) and scoring against truth.

Synthetic posteriors (no sampler) check the corrections on held-out
replicates; one small K = 2 hurdle fit checks ``apply_calibration`` on a real
result; hand-built analyses check ``calibrate``. The ``slow`` test runs the
whole simulation-based calibration with the sampler.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from types import SimpleNamespace

import numpy as np
import pytest

import pytyche_core as pt
from pytyche_core.contracts import (
    AnalysisResult,
    ClaimLevel,
    Comparison,
    ContractViolation,
    Decision,
    DecisionThresholds,
    RecommendationSummary,
)
from pytyche_core.experiment import CalibrationReplicate, calibration_replicates, run_calibration
from pytyche_core.posterior.calibration import (
    CalibrationFileError,
    IntervalCalibration,
    apply_calibration,
    calibrate_draws,
    coverage_curve,
    fit_interval_calibration,
    split_calibrated_parts,
)
from pytyche_core.posterior.oracle import (
    OracleConfig,
    calibrate,
    decision_correct,
    decision_regret,
    oracle_decision,
)
from pytyche_core.simulate import scenario
from tests.core.posterior.small_fits import SMALL_CONFIG, hurdle_fit

# -- synthetic posteriors -------------------------------------------------------------------------


def overconfident(rng: np.random.Generator, m: int = 2000, s: int = 400, error_sd: float = 0.6):
    """Truth ~ N(0, 1); draws centred on a noisy estimate (error sd ``error_sd``) with half that sd."""
    truth = rng.normal(size=m)
    estimate = truth + error_sd * rng.normal(size=m)
    return estimate[:, None] + 0.5 * error_sd * rng.normal(size=(m, s)), truth


def calibrated(rng: np.random.Generator, m: int = 2000, s: int = 400, noise_sd: float = 0.7):
    """The exact posterior of truth ~ N(0, 1) given one observation with noise sd ``noise_sd``."""
    truth = rng.normal(size=m)
    observed = truth + noise_sd * rng.normal(size=m)
    shrink = 1.0 / (1.0 + noise_sd**2)
    sd = np.sqrt(noise_sd**2 * shrink)
    return (observed * shrink)[:, None] + sd * rng.normal(size=(m, s)), truth


def fit_on(replicates, **kwargs) -> IntervalCalibration:
    return fit_interval_calibration([d for d, _ in replicates], [t for _, t in replicates], **kwargs)


def held_out_coverage(replicates, calibration=None, method=None, level=0.8) -> float:
    values = []
    for draws, truth in replicates:
        if calibration is not None:
            draws = calibrate_draws(draws, calibration, method)
        values.append(coverage_curve(draws, truth, [level])[0])
    return float(np.mean(values))


@pytest.fixture(scope="module")
def overconfident_fit() -> IntervalCalibration:
    rng = np.random.default_rng(1)
    return fit_on([overconfident(rng) for _ in range(3)], scenarios=("synthetic-overconfident",),
                  seeds=(1,), config={"error_sd": 0.6, "posterior_sd": 0.3})


@pytest.fixture(scope="module")
def held_out():
    rng = np.random.default_rng(2)
    return [overconfident(rng) for _ in range(3)]


def test_coverage_curve_is_the_share_of_central_intervals_holding_the_truth():
    rng = np.random.default_rng(0)
    draws, truth = overconfident(rng, m=300, s=50)
    levels = [0.1, 0.5, 0.8, 0.95]
    expected = [np.mean((np.quantile(draws, 0.5 - p / 2, axis=1) <= truth)
                        & (truth <= np.quantile(draws, 0.5 + p / 2, axis=1))) for p in levels]
    got = coverage_curve(draws, truth, levels)
    np.testing.assert_allclose(got, expected)
    assert (np.diff(got) >= 0).all()
    # A (n, S, 1) contrast array pairs with (n, 1) truth as well.
    np.testing.assert_allclose(coverage_curve(draws[:, :, None], truth[:, None], levels), expected)


@pytest.mark.parametrize("method", ["remap", "scale"])
def test_correction_fitted_on_replicates_fixes_other_replicates(overconfident_fit, held_out, method):
    before = held_out_coverage(held_out)
    after = held_out_coverage(held_out, overconfident_fit, method)
    assert 0.4 < before < 0.55  # P(|Z| < 0.64): half-width posteriors cover ~48% at 80%
    assert abs(after - 0.8) < 0.05, (method, before, after)


def test_overconfident_artifact_shape(overconfident_fit):
    cal = overconfident_fit
    levels, coverage, remap = map(np.asarray, (cal.levels, cal.coverage, cal.remap))
    assert (np.diff(coverage) >= 0).all() and (np.diff(remap) >= 0).all()
    assert (remap >= levels).all()  # overconfident: a calibrated level-p interval is a wider raw one
    assert (coverage < levels).all()
    assert 1.7 < cal.scale < 2.3  # the posterior sd is half the error sd
    assert cal.remap_level(0.8) > 0.97
    assert cal.fitted_coverage["raw"] < 0.55 and abs(cal.fitted_coverage["scale"] - 0.8) < 0.01
    assert cal.target == "visitor" and cal.method == "remap" and cal.target_level == 0.8
    assert cal.provenance.n_replicates == 3 and cal.provenance.n_units == 6000


def test_calibrated_posterior_gives_a_near_identity_correction():
    rng = np.random.default_rng(3)
    cal = fit_on([calibrated(rng) for _ in range(3)])
    assert np.max(np.abs(np.asarray(cal.remap) - np.asarray(cal.levels))) < 0.04
    assert 1.0 <= cal.scale < 1.06
    draws, truth = calibrated(rng, m=500, s=200)
    for method in ("remap", "scale"):
        moved = calibrate_draws(draws, cal, method)
        assert np.abs(moved - draws).mean() < 0.05 * draws.std(axis=1).mean()


def test_remap_keeps_ranks_and_maps_level_p_to_raw_level_R_p(overconfident_fit):
    rng = np.random.default_rng(4)
    draws, _ = overconfident(rng, m=50, s=101)  # S - 1 = 100: rank r sits at level r / 100
    moved = calibrate_draws(draws, overconfident_fit, "remap")
    assert moved.dtype == np.float32 and moved.shape == draws.shape
    # Monotone per unit: in each unit's raw order the moved draws never decrease (the tails beyond
    # R = remap_cap collapse onto the capped quantile, so ties may appear there).
    order = np.argsort(draws, axis=1)
    assert (np.diff(np.take_along_axis(moved, order, axis=1), axis=1) >= 0).all()
    for p in (0.2, 0.5, 0.8):
        raw_level = overconfident_fit.remap_level(p)
        for side in (-1, 1):
            np.testing.assert_allclose(np.quantile(moved, 0.5 + side * p / 2, axis=1),
                                       np.quantile(draws, 0.5 + side * raw_level / 2, axis=1), rtol=1e-5,
                                       atol=1e-5)
    np.testing.assert_allclose(np.median(moved, axis=1), np.median(draws, axis=1), atol=1e-5)


def test_scale_widens_around_the_median(overconfident_fit):
    rng = np.random.default_rng(5)
    draws = rng.gamma(2.0, size=(40, 60, 1))  # skewed: median and mean differ
    moved = calibrate_draws(draws, overconfident_fit, "scale")
    np.testing.assert_allclose(np.median(moved, axis=1), np.median(draws, axis=1), rtol=1e-5)
    width = np.ptp(draws, axis=1)
    np.testing.assert_allclose(np.ptp(moved, axis=1), overconfident_fit.scale * width, rtol=1e-4)


def test_bad_inputs_fail_with_a_fix():
    rng = np.random.default_rng(6)
    draws, truth = overconfident(rng, m=20, s=10)
    with pytest.raises(ValueError, match="do not pair"):
        coverage_curve(draws, truth[:-1])
    with pytest.raises(ValueError, match="non-finite"):
        coverage_curve(np.where(np.arange(10) == 3, np.nan, draws), truth)
    with pytest.raises(ValueError, match="levels"):
        coverage_curve(draws, truth, [0.5, 1.0])
    with pytest.raises(ValueError, match="one per replicate"):
        fit_interval_calibration(draws, truth)
    with pytest.raises(ValueError, match="target"):
        fit_interval_calibration([draws], [truth], target="segment")


# -- the artifact as JSON -----------------------------------------------------------------------


def test_json_round_trip(overconfident_fit, tmp_path):
    text = overconfident_fit.to_json()
    assert json.loads(text)["format_version"] == 1
    assert IntervalCalibration.from_json(text) == overconfident_fit
    path = overconfident_fit.save(tmp_path / "cal.json")
    loaded = IntervalCalibration.load(path)
    assert loaded == overconfident_fit
    assert loaded.provenance.scenarios == ("synthetic-overconfident",)
    assert loaded.provenance.config["error_sd"] == 0.6
    datetime.fromisoformat(loaded.provenance.created_at)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        overconfident_fit.save(path)
    overconfident_fit.save(path, overwrite=True)


def _edited(cal: IntervalCalibration, **changes) -> str:
    payload = cal.to_dict()
    for key, value in changes.items():
        if value is None:
            payload.pop(key)
        else:
            payload[key] = value
    return json.dumps(payload)


@pytest.mark.parametrize(("changes", "message"), [
    ({"format": "something.else"}, "format"),
    ({"format_version": 99}, "format_version 99"),
    ({"scale": None}, "missing fields \\['scale'\\]"),
    ({"colour": "blue"}, "unknown fields \\['colour'\\]"),
    ({"scale": 0.5}, "scale"),
    ({"remap": [0.5] * 19 + [0.4, 0.9]}, "remap"),
    ({"coverage": [0.1, 0.2]}, "coverage"),
    ({"method": "stretch"}, "method"),
    ({"provenance": "nowhere"}, "provenance"),
])
def test_malformed_json_fails_clearly(overconfident_fit, changes, message):
    with pytest.raises(CalibrationFileError, match=message):
        IntervalCalibration.from_json(_edited(overconfident_fit, **changes))


def test_unreadable_files_fail_clearly(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(CalibrationFileError, match="not valid JSON"):
        IntervalCalibration.load(bad)
    with pytest.raises(CalibrationFileError, match="cannot be read"):
        IntervalCalibration.load(tmp_path / "missing.json")
    with pytest.raises(ContractViolation, match="scale"):
        dataclasses.replace(IntervalCalibration.from_json(_valid_text()), scale=0.9)


def _valid_text() -> str:
    rng = np.random.default_rng(7)
    return fit_on([overconfident(rng, m=200, s=50)]).to_json()


# -- applying to a real fit ---------------------------------------------------------------------

#: One tiny hurdle fit (probit + log-normal channels compile once each).
TINY = pt.BCFConfig(mu_trees=10, tau_trees=5, max_depth=3, chunk=20, burn_in=20, draws=20, chains=2)
STRONG_REVENUE = dict(name="reversal", metric="revenue_per_visitor", profile="stress", baseline_rate=0.5,
                      hte_scale=9.0)


@pytest.fixture(scope="module")
def hurdle():
    observed, _ = pt.simulate(scenario(k=2, **STRONG_REVENUE).config(600, seed=3))
    return pt.fit(observed, config=TINY, seed=0)


def _width(draws: np.ndarray, level: float = 0.8) -> np.ndarray:
    return np.diff(np.quantile(draws, [0.5 - level / 2, 0.5 + level / 2], axis=1), axis=0)[0]


@pytest.mark.parametrize("method", ["remap", "scale"])
def test_apply_calibration_to_a_hurdle_fit(hurdle, overconfident_fit, method):
    raw = hurdle.cate_samples.copy()
    out = apply_calibration(hurdle, overconfident_fit, method=method)
    assert type(out) is type(hurdle) and out is not hurdle
    assert out.is_calibrated and out.calibration is overconfident_fit and out.calibration_method == method
    assert not hurdle.is_calibrated and hurdle.calibration is None and hurdle.calibration_method is None
    np.testing.assert_array_equal(hurdle.cate_samples, raw)  # the raw result is untouched
    new = out.cate_samples
    assert new.shape == raw.shape and new.dtype == np.float32
    assert (_width(new) >= _width(raw) - 1e-6).all() and _width(new).mean() > 1.5 * _width(raw).mean()
    tol = 1e-5 * float(np.abs(raw).max())
    if method == "scale":  # widening around the median keeps it
        np.testing.assert_allclose(np.median(new, axis=1), np.median(raw, axis=1), atol=tol)
    else:  # the middle draws (level |2u - 1| = 1/(S-1)) move to raw quantiles at 1/2 +- R(1/(S-1))/2
        half = overconfident_fit.remap_level(1.0 / (raw.shape[1] - 1)) / 2
        low, high = np.quantile(raw, [0.5 - half, 0.5 + half], axis=1)
        median = np.median(new, axis=1)
        assert ((low - tol <= median) & (median <= high + tol)).all()
    np.testing.assert_allclose(out.conversion_part_samples + out.order_value_part_samples, new,
                               atol=1e-4 * float(np.abs(new).max()))
    assert _width(out.conversion_part_samples).mean() > _width(hurdle.conversion_part_samples).mean()
    visitors = hurdle.observed.visitors().head(5)
    np.testing.assert_allclose(out.predict(visitors),
                               calibrate_draws(hurdle.predict(visitors), overconfident_fit, method), rtol=1e-6)
    with pytest.raises(ValueError, match="already calibrated"):
        apply_calibration(out, overconfident_fit)


def test_apply_calibration_refusals(hurdle, overconfident_fit):
    average = dataclasses.replace(overconfident_fit, target="average", method="scale")
    with pytest.raises(ValueError, match="method='scale'"):
        apply_calibration(hurdle, average, method="remap")
    assert apply_calibration(hurdle, average).calibration_method == "scale"  # the artifact's default
    with pytest.raises(ValueError, match="calibration method"):
        apply_calibration(hurdle, overconfident_fit, method="stretch")


def test_k3_results_are_calibrated_contrast_by_contrast(overconfident_fit):
    three = hurdle_fit()  # K = 3
    out = apply_calibration(three, overconfident_fit, method="scale")
    raw = three.cate_samples
    assert out.cate_samples.shape == raw.shape == (three.observed.n_visitors, three.n_draws, 2)
    np.testing.assert_allclose(out.cate_samples, calibrate_draws(raw, overconfident_fit, "scale"), rtol=1e-6)
    for j in range(2):  # each treatment's intervals widen by the artifact's factor around their medians
        np.testing.assert_allclose(_width(out.cate_samples[:, :, j]), overconfident_fit.scale
                                   * _width(raw[:, :, j]), rtol=1e-3, atol=1e-6)
    np.testing.assert_allclose(out.conversion_part_samples + out.order_value_part_samples, out.cate_samples,
                               atol=1e-4 * float(np.abs(out.cate_samples).max()))


def test_k3_replicates_pool_every_contrast():
    replicates = calibration_replicates(["reversal"], [0], n=1500, config=SMALL_CONFIG, k=3)
    assert [r.contrast for r in replicates] == [0, 1]
    assert {r.scenario for r in replicates} == {"reversal-k3-revenue_per_visitor-realistic"}
    assert all(r.samples.shape == (1500, SMALL_CONFIG.total_draws) for r in replicates)
    assert not np.array_equal(replicates[0].truth, replicates[1].truth)


def test_split_parts_adds_up_and_follows_the_total():
    rng = np.random.default_rng(8)
    conversion = rng.normal(1.0, 0.3, size=(30, 80, 1))
    order = 0.5 * conversion + rng.normal(0.2, 0.1, size=(30, 80, 1))
    total = conversion + order
    wider = np.median(total, axis=1, keepdims=True) + 2.0 * (total - np.median(total, axis=1, keepdims=True))
    new_c, new_o = split_calibrated_parts(total, wider, conversion, order)
    np.testing.assert_allclose(new_c + new_o, wider, rtol=1e-5)
    assert (new_c.std(axis=1) > conversion.std(axis=1)).all()
    assert (new_o.std(axis=1) > order.std(axis=1)).all()


# -- scoring against truth ----------------------------------------------------------------------


def test_oracle_rules():
    plain, strict = OracleConfig(), OracleConfig(min_effect=0.1, ambiguity_band=0.05)
    assert oracle_decision(0.2) is Decision.SHIP and oracle_decision(-0.2) is Decision.STOP
    assert oracle_decision(0.0) is Decision.STOP and oracle_decision(0.08, strict) is Decision.STOP
    assert decision_correct(Decision.SHIP, 0.2) is True and decision_correct(Decision.STOP, 0.2) is False
    assert decision_correct(Decision.CONTINUE, 0.0) is None and decision_correct(Decision.CONTINUE, 0.2) is False
    assert decision_correct(Decision.CONTINUE, 0.12, strict) is None
    assert decision_correct(Decision.CONTINUE, 0.2, strict) is False
    assert decision_regret(Decision.SHIP, -0.3, plain) == pytest.approx(0.3)
    assert decision_regret(Decision.STOP, 0.3, plain) == pytest.approx(0.3)
    assert decision_regret(Decision.SHIP, 0.3, plain) == 0.0 and decision_regret(Decision.STOP, -0.3) == 0.0
    assert decision_regret(Decision.SHIP, 0.08, strict) == pytest.approx(0.02)
    assert decision_regret(Decision.CONTINUE, 0.3) is None
    with pytest.raises(ContractViolation, match="ambiguity_band"):
        OracleConfig(ambiguity_band=-1.0)


def _analysis(n: int, decision: Decision, *, treatment: str = "treatment", names=("treatment",),
              model: str = "hurdle", is_calibrated: bool = False, lift: float = 0.05) -> AnalysisResult:
    posterior = SimpleNamespace(model=model, is_calibrated=is_calibrated, treatment_names=names,
                                calibration_method="scale" if is_calibrated else None)
    comparisons = [Comparison(treatment=t, probability_positive=0.9, lift_estimate=lift,
                              lift_ci=(lift - 0.02, lift + 0.02)) for t in names]
    recommendation = RecommendationSummary(
        treatment=treatment, decision=decision, expected_loss_baseline=0.03, expected_loss_comparison=0.001,
        probability_positive=0.9, probability_better=0.8, probability_harmful=0.02,
        thresholds=DecisionThresholds().as_dict())
    cate = np.zeros(n) if len(names) == 1 else np.zeros((n, len(names)))
    return AnalysisResult(experiment_id="exp", metric="revenue_per_visitor", comparisons=comparisons, segments=[],
                          recommendation=recommendation, cate_per_visitor=cate,
                          analyzed_at=datetime.now(UTC), posterior=posterior)


def _truth(main_delta: float, k: int = 2):
    return pt.simulate(scenario("constant", k=k, main_delta=main_delta).config(400, seed=5)).truth


@pytest.mark.parametrize(("main_delta", "decision", "oracle", "correct", "regret"), [
    (0.5, Decision.SHIP, Decision.SHIP, True, 0.0),
    (0.5, Decision.STOP, Decision.SHIP, False, "effect"),
    (-0.3, Decision.STOP, Decision.STOP, True, 0.0),
    (-0.3, Decision.SHIP, Decision.STOP, False, "-effect"),
    (0.01, Decision.CONTINUE, Decision.SHIP, None, None),
    (0.5, Decision.CONTINUE, Decision.SHIP, False, None),
])
def test_calibrate_scores_hand_built_analyses(main_delta, decision, oracle, correct, regret):
    truth = _truth(main_delta)
    record = calibrate(_analysis(truth.n_visitors, decision), truth, scenario_id="constant-k2", seed=5,
                       oracle=OracleConfig(ambiguity_band=0.05))
    assert record.effect == pytest.approx(truth.effect) and record.effect == pytest.approx(main_delta, rel=0.05)
    assert record.oracle_decision is oracle and record.decision is decision
    assert record.decision_correct is correct
    expected = {"effect": record.effect, "-effect": -record.effect}.get(regret, regret)
    assert record.regret == (None if expected is None else pytest.approx(expected))
    assert set(record.effect_components) == {"conv_effect", "aov_effect"}
    assert sum(record.effect_components.values()) == pytest.approx(record.effect)
    assert record.estimator_id == "hurdle_lognormal" and record.analysis_mode is ClaimLevel.HONEST_ESTIMATE
    assert (record.estimated_lift, record.ci_low, record.ci_high, record.ci_level) == \
        pytest.approx((0.05, 0.03, 0.07, 0.8))
    assert record.expected_loss_baseline == 0.03 and record.probability_harmful == 0.02
    assert type(record).from_dict(json.loads(json.dumps(record.to_dict()))) == record


def test_calibrate_k3_picks_the_recommended_treatment():
    truth = _truth(0.4, k=3)
    names = ("treatment_1", "treatment_2")
    record = calibrate(_analysis(truth.n_visitors, Decision.SHIP, treatment="treatment_2", names=names,
                                 is_calibrated=True), truth, scenario_id="constant-k3", seed=5)
    effect = truth.contrasts()[:, 1].mean()
    assert record.effect == pytest.approx(effect) and record.effect != pytest.approx(truth.contrasts()[:, 0].mean())
    assert sum(record.effect_components.values()) == pytest.approx(effect)
    assert record.estimator_id == "hurdle_lognormal+calibrated-scale"
    with pytest.raises(ValueError, match="recommendation is for 'nope'"):
        calibrate(_analysis(truth.n_visitors, Decision.SHIP, treatment="nope", names=names), truth,
                  scenario_id="x", seed=0)
    with pytest.raises(ValueError, match="contrast"):
        calibrate(_analysis(truth.n_visitors, Decision.SHIP), truth, scenario_id="x", seed=0)


# -- the simulation-based run (slow) ------------------------------------------------------------

#: One short chain: per-visitor 80% intervals from it cover about 65% of the true effects in this
#: scenario, which is what the run must detect and correct. Per-visitor coverage varies a lot between
#: replicates (0.15 to 0.9: one fit's errors are shared by all its visitors), hence 12 + 12 seeds.
SHORT_RUN = pt.BCFConfig(mu_trees=20, tau_trees=10, max_depth=4, chunk=25, burn_in=25, draws=50, chains=1)
STRONG_BINARY = scenario("reversal", k=2, metric="conversion_rate", profile="stress", baseline_rate=0.3,
                         hte_scale=0.1)


@pytest.mark.slow
def test_run_calibration_moves_held_out_coverage_toward_nominal():
    cal = run_calibration([STRONG_BINARY], range(12), n=1000, config=SHORT_RUN)
    assert cal.provenance.seeds == tuple(range(12)) and cal.provenance.n_visitors == 1000
    assert cal.provenance.scenarios == (STRONG_BINARY.label,) and cal.provenance.config["burn_in"] == 25
    assert cal.scale > 1.0 and cal.remap_level(0.8) > 0.8
    held = calibration_replicates([STRONG_BINARY], range(100, 112), n=1000, config=SHORT_RUN)
    assert all(isinstance(r, CalibrationReplicate) and r.samples.shape == (1000, 50) for r in held)
    pairs = [(r.samples, r.truth) for r in held]
    before = held_out_coverage(pairs)
    for method in ("remap", "scale"):
        after = held_out_coverage(pairs, cal, method)
        print(f"held-out coverage at 80%: raw {before:.3f}, {method} {after:.3f}; "
              f"fitted {cal.fitted_coverage}, s = {cal.scale:.2f}, R(0.8) = {cal.remap_level(0.8):.3f}")
        assert before < 0.75 and after > before and abs(after - 0.8) < abs(before - 0.8)
