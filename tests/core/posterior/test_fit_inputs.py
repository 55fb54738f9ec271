"""``pt.fit`` on bad or awkward input: a clear error naming the fix, or the documented behaviour.

Every error case fails before the sampler starts, so they cost no fit. The
cases that need a fit (zero-revenue converters, ``predict``, reserved
columns) reuse the session fits of ``conftest.py`` or their exact shapes, so
they compile nothing new.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

import pytyche_core as pt
from pytyche_core.contracts import ContractViolation, SchemaViolation

ARMS = ("control", "treatment", "treatment_b")


def observed_of(metric: str = "revenue_per_visitor", *, n: int = 40, k: int = 2, seed: int = 0,
                edit=None) -> pt.ObservedExperimentData:
    """A small valid experiment (two features); ``edit(arm, frame)`` may change an arm's frame."""
    rng = np.random.default_rng(seed)
    variants = []
    for arm, name in enumerate(ARMS[:k]):
        converted = rng.random(n) < 0.3
        frame = pd.DataFrame({
            "visitor_id": [f"{name}-{i}" for i in range(n)],
            "experiment_id": "inputs",
            "variant": name,
            "converted": converted,
            "revenue": np.where(converted, rng.lognormal(3.0, 0.5, n), 0.0),
            "orders_count": converted.astype("int64"),
            "sessions_count": np.ones(n, dtype="int64"),
            "engagement": rng.normal(size=n),
            "device": pd.Categorical(rng.choice(["desktop", "mobile"], n), categories=["desktop", "mobile"]),
        })
        if edit is not None:
            frame = edit(arm, frame)
        variants.append(pt.VariantData.from_visitors(name, frame))
    return pt.ObservedExperimentData("inputs", metric, variants)


def no_sales(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(converted=False, revenue=0.0, orders_count=0)


# -- hurdle: the order-value channel needs revenue in every arm ---------------------------------------

def test_hurdle_arm_without_converters_names_the_arm_and_the_fix():
    observed = observed_of(edit=lambda arm, f: no_sales(f) if arm == 1 else f)
    with pytest.raises(ValueError, match=r"arm 'treatment' has no converter with revenue > 0") as err:
        pt.fit(observed)
    assert "Fix:" in str(err.value) and "conversion_rate" in str(err.value)


def test_hurdle_arm_whose_converters_all_have_zero_revenue_is_the_same_error():
    observed = observed_of(edit=lambda arm, f: f.assign(revenue=0.0) if arm == 1 else f)
    assert observed.variants[1].n_conversions > 0
    with pytest.raises(ValueError, match=r"arm 'treatment' has no converter with revenue > 0"):
        pt.fit(observed)


def test_hurdle_with_too_few_revenue_converters_for_the_leaf_size():
    def two_sales(arm, frame):
        converted = np.arange(len(frame)) < 2
        return frame.assign(converted=converted, revenue=np.where(converted, 30.0, 0.0),
                            orders_count=converted.astype("int64"))

    with pytest.raises(ValueError, match=r"only 4 converters with revenue.*minimum leaf size 5.*Fix:"):
        pt.fit(observed_of(edit=two_sales))


def test_conversion_metric_without_converters_in_an_arm_fits_no_hurdle():
    # The same data as conversion_rate is a probit fit: no order-value channel to starve.
    observed = observed_of("conversion_rate", edit=lambda arm, f: no_sales(f) if arm == 1 else f)
    with pytest.raises(ValueError, match="a hurdle model needs a revenue metric.*Fix: use model='binary'"):
        pt.fit(observed, model="hurdle")


# -- constant outcomes ---------------------------------------------------------------------------------

@pytest.mark.parametrize("converted", [False, True], ids=["nobody-converts", "everybody-converts"])
def test_constant_binary_outcome(converted):
    def constant(arm, frame):
        return frame.assign(converted=converted, revenue=25.0 if converted else 0.0,
                            orders_count=int(converted))

    observed = observed_of("conversion_rate", edit=constant)
    with pytest.raises(ValueError, match=r"binary outcome is constant.*Fix: a probit fit needs both"):
        pt.fit(observed)


@pytest.mark.parametrize("value", [0.0, 42.0])
def test_constant_continuous_outcome(value):
    def constant(arm, frame):
        return frame.assign(converted=value > 0, revenue=value, orders_count=int(value > 0))

    with pytest.raises(ValueError, match=r"outcome is constant.*Fix:"):
        pt.fit(observed_of(edit=constant), model="continuous")


# -- covariates ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("column,value,message", [
    ("engagement", np.nan, "missing value"),
    ("engagement", np.inf, "non-finite value"),
    ("device", np.nan, "missing value"),
], ids=["nan-numeric", "inf-numeric", "missing-category"])
def test_bad_feature_value_names_the_feature_and_the_fix(column, value, message):
    def spoil(arm, frame):
        if arm == 1:
            frame = frame.copy()
            frame.loc[3, column] = value
        return frame

    with pytest.raises(ValueError, match=rf"feature '{column}' has a {message}.*Fix:"):
        pt.fit(observed_of(edit=spoil))


def test_no_feature_columns():
    observed = observed_of(edit=lambda arm, f: f.drop(columns=["engagement", "device"]))
    assert observed.feature_names == ()
    with pytest.raises(ValueError, match=r"no feature columns.*Fix: add visitor features"):
        pt.fit(observed)


def test_reserved_columns_alone_are_no_features():
    # A propensity and a cell column describe the design, not the visitor: still no covariates.
    def design_only(arm, frame):
        return frame.drop(columns=["engagement", "device"]).assign(propensity=0.5, cell="rct")

    with pytest.raises(ValueError, match="no feature columns"):
        pt.fit(observed_of(edit=design_only))


def test_fewer_visitors_than_the_minimum_leaf_size_allows():
    with pytest.raises(ValueError, match=r"8 visitors is too few for a minimum leaf size of 5.*Fix:.*min_leaf_size"):
        pt.fit(observed_of(n=4), model="continuous")
    with pytest.raises(ValueError, match="too few for a minimum leaf size of 50"):
        pt.fit(observed_of(n=40), config=pt.BCFConfig(min_leaf_size=50), model="continuous")


# -- arguments -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("pooling", ["shared", "Joint", None])
def test_bad_pooling(pooling):
    with pytest.raises(ValueError, match=r"pooling must be 'joint' or 'independent'"):
        pt.fit(observed_of(), pooling=pooling)


@pytest.mark.parametrize("model", ["gaussian", "probit", "Hurdle"])
def test_bad_model(model):
    with pytest.raises(ValueError, match=r"model must be 'hurdle', 'binary' or 'continuous'"):
        pt.fit(observed_of(), model=model)


def test_config_must_be_a_bcf_config():
    with pytest.raises(TypeError, match="config must be a BCFConfig, got dict"):
        pt.fit(observed_of(), config={"mu_trees": 20})


def test_observed_must_be_observed_experiment_data():
    frame = observed_of().visitors()
    with pytest.raises(SchemaViolation, match="expected ObservedExperimentData.*Fix:"):
        pt.fit(frame)


@pytest.mark.parametrize("field,value,message", [
    ("mu_trees", 0, "mu_trees"),
    ("tau_trees", 2.5, "tau_trees"),
    ("max_depth", 11, "max_depth"),
    ("max_bins", 300, "max_bins"),
    ("draws", 0, "draws"),
    ("chains", 0, "chains"),
    ("min_leaf_size", -1, "min_leaf_size"),
    ("mu_alpha", 1.0, "mu_alpha"),
    ("tau_beta", -1.0, "tau_beta"),
    ("tau_leaf_scale", 0.0, "tau_leaf_scale"),
    ("probit_delta_max", 1.5, "probit_delta_max"),
    ("sigma_quantile", 0.0, "sigma_quantile"),
    ("mu_leaf_scale", float("nan"), "mu_leaf_scale"),
    ("change_probability", 1.0, "change_probability"),
    ("change_probability", -0.1, "change_probability"),
])
def test_bad_config_values_name_the_field_and_the_fix(field, value, message):
    with pytest.raises(ContractViolation, match=rf"BCFConfig\.{message}.*Fix:"):
        pt.BCFConfig(**{field: value})


def test_a_bad_config_value_is_refused_before_any_work():
    # dataclasses.replace re-runs the checks: a config cannot be bent into a bad state.
    with pytest.raises(ContractViolation, match="BCFConfig.max_depth"):
        dataclasses.replace(pt.BCFConfig(), max_depth=0)


# -- zero-revenue converters: allowed, counted, kept out of the order-value channel ------------------

def test_zero_revenue_converters_are_allowed_and_counted(hurdle_k2, short_config):
    """Free conversions stay in the conversion channel and are counted in ``info``.

    Built from the session's K = 2 hurdle data: three treatment converters
    lose their revenue and three control non-converters buy, so the number
    of converters with revenue (the order-value channel's size) stays the
    same and the compiled sampler is reused.
    """
    observed = hurdle_k2.observed
    control, treatment = (v.visitors.copy() for v in observed.variants)
    free = np.flatnonzero(treatment["converted"].to_numpy() & (treatment["revenue"].to_numpy() > 0))[:3]
    treatment.loc[free, "revenue"] = 0.0
    buyers = np.flatnonzero(~control["converted"].to_numpy())[:3]
    control.loc[buyers, ["converted", "revenue", "orders_count"]] = [True, 40.0, 1]
    edited = pt.ObservedExperimentData(observed.experiment_id, observed.metric, [
        pt.VariantData.from_visitors(observed.variants[0].name, control),
        pt.VariantData.from_visitors(observed.variants[1].name, treatment)])
    pt.validate_observed_data(edited)  # production data may have free conversions

    result = pt.fit(edited, config=short_config, seed=0)
    assert isinstance(result, pt.HurdleBCFResult)
    assert result.info.zero_revenue_converters == 3
    assert hurdle_k2.result.info.zero_revenue_converters == 0
    assert np.isfinite(result.cate_samples).all()
    # Order value is modelled on the 'revenue > 0' converters only: 3 fewer in the treatment arm.
    rows = edited.visitors()
    positive = rows["converted"].to_numpy() & (rows["revenue"].to_numpy() > 0)
    assert positive.sum() == (observed.visitors()["revenue"].to_numpy() > 0).sum()


# -- predict -------------------------------------------------------------------------------------------

def test_predict_without_a_feature_column_is_a_key_error_naming_it(continuous_k2, hurdle_k2):
    for fitted, column in ((continuous_k2, "x3"), (hurdle_k2, "price_sensitivity")):
        visitors = fitted.observed.visitors().drop(columns=[column])
        with pytest.raises(KeyError, match=rf"lack the features \['{column}'\]"):
            fitted.result.predict(visitors)


def test_predict_fills_missing_propensity_columns(continuous_k2, continuous_k3):
    """New visitors have no assignment yet: their propensities take the training mean.

    The effect of a continuous BCF is tau(x) alone, which never sees a
    propensity, so the draws cannot change (beyond float32 rounding of
    (mu + tau) - mu at an outcome level near 50); and on the training visitors
    they are the sampler's own draws, recomputed from the stored forests.
    """
    for fitted in (continuous_k2, continuous_k3):
        result = fitted.result
        visitors = fitted.observed.visitors()
        props = [c for c in visitors.columns if c.startswith("propensity")]
        assert props and set(props) == set(result.design.propensity_fill)
        full = result.predict(visitors)
        bare = result.predict(visitors.drop(columns=props))
        assert full.dtype == np.float32 and full.shape == result.cate_samples.shape
        np.testing.assert_allclose(bare, full, rtol=0, atol=5e-5)
        np.testing.assert_allclose(full, result.cate_samples, rtol=1e-4, atol=1e-4)


def test_predict_new_visitors_tracks_their_true_effects(continuous_k2, gaussian_experiment):
    """Out of sample: the stored forests' predictions for fresh visitors follow the truth."""
    fresh = gaussian_experiment(400, 2, seed=99)
    visitors = fresh.observed.visitors().drop(columns=["propensity"])
    draws = continuous_k2.result.predict(visitors)
    assert draws.shape == (400, continuous_k2.result.n_draws, 1)
    estimate, truth = draws.mean(axis=1)[:, 0], fresh.truth[:, 0]
    assert np.sqrt(np.mean((estimate - truth) ** 2)) < 0.6 * truth.std()


def test_predict_on_training_visitors_reproduces_hurdle_draws(hurdle_k2):
    result = hurdle_k2.result
    visitors = hurdle_k2.observed.visitors()
    np.testing.assert_allclose(result.predict(visitors), result.cate_samples, rtol=2e-3, atol=2e-3)
    # Simulated RCT visitors carry a constant propensity: filling it with its mean changes nothing.
    bare = result.predict(visitors.drop(columns=["propensity", "cell"]))
    np.testing.assert_allclose(bare, result.cate_samples, rtol=2e-3, atol=2e-3)


# -- reserved columns never reach the treatment forest -------------------------------------------------

def _tau_split_variables(result) -> np.ndarray:
    channels = [result.outcome] if isinstance(result, pt.ContinuousBCFResult) else \
        [result.conversion] + ([result.order_value] if isinstance(result, pt.HurdleBCFResult) else [])
    splits = np.concatenate([f.forests.tau_var.ravel() for c in channels for f in c.fits])
    return np.unique(splits[splits >= 0])


def test_reserved_columns_are_never_covariates_of_the_treatment_forest(continuous_k2, continuous_k3,
                                                                       hurdle_k2):
    for fitted in (continuous_k2, continuous_k3, hurdle_k2):
        design = fitted.result.design
        names = design.binned.names
        features = fitted.observed.feature_names
        reserved = [c for c in fitted.observed.visitors().columns if c.startswith("propensity") or c == "cell"]
        assert reserved
        assert "cell" not in names  # the cell id is not a covariate of either forest
        assert names[: len(features)] == features
        for name, allowed in zip(names, design.tau_allowed, strict=True):
            assert allowed == (name in features), name
        allowed_index = set(np.flatnonzero(design.tau_allowed))
        used = set(_tau_split_variables(fitted.result).tolist())
        assert used, "the treatment forest never split: the test would prove nothing"
        assert used <= allowed_index, [names[j] for j in used - allowed_index]


def test_the_prognostic_forest_does_use_a_varying_propensity(continuous_k2):
    # In the hand-built problem the propensity rises with x1, which drives the outcome: the prognostic
    # forest is free to split on it, so the test above is not vacuous for lack of a useful propensity.
    design = continuous_k2.result.design
    j = design.binned.names.index("propensity")
    assert design.binned.n_bins[j] > 10
    mu_splits = continuous_k2.result.outcome.fits[0].forests.mu_var
    assert (mu_splits == j).any()
