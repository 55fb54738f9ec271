"""Bad input at the estimator: empty arms, outcome copies, explicit features, predict's edge cases."""

from __future__ import annotations

import numpy as np
import pytest

import pytyche_core as pt
from pytyche_core.contracts import ObservedExperimentData, VariantData
from pytyche_core.posterior.fit_inputs import check_no_outcome_copies, select_features
from tests.core.posterior.small_fits import SMALL_CONFIG, hurdle_fit


def _with_column(observed: ObservedExperimentData, name: str, make) -> ObservedExperimentData:
    variants = [VariantData.from_visitors(v.name, v.visitors.assign(**{name: make(v.visitors)}))
                for v in observed.variants]
    return ObservedExperimentData(observed.experiment_id, observed.metric, tuple(variants))


def test_an_arm_without_visitors_is_refused_by_name():
    observed = hurdle_fit().observed
    variants = list(observed.variants)
    variants[2] = VariantData.from_visitors(variants[2].name, variants[2].visitors.iloc[:0])
    empty = ObservedExperimentData(observed.experiment_id, observed.metric, tuple(variants))
    with pytest.raises(ValueError, match=rf"\['{variants[2].name}'\] have no visitors.*Fix:"):
        pt.fit(empty, config=SMALL_CONFIG)
    # The fix the message names works.
    from pytyche_core.experiment import without_arms

    assert without_arms(empty, [variants[2].name]).n_arms == 2


@pytest.mark.parametrize("make", [
    lambda v: v["revenue"] * 1.02 + 0.01,                 # a revenue copy in other units
    lambda v: np.log1p(v["revenue"]),                     # a transformed copy
    lambda v: v["converted"].astype(bool),                # a conversion flag
], ids=["revenue", "log-revenue", "converted"])
def test_a_near_copy_of_the_outcome_is_refused(make):
    leaky = _with_column(hurdle_fit().observed, "order_total", make)
    with pytest.raises(ValueError, match="'order_total' is a near-copy of the outcome.*Fix: drop the column, or "
                                         "pass features="):
        pt.fit(leaky, config=SMALL_CONFIG)


def test_real_covariates_are_not_mistaken_for_outcome_copies():
    observed = hurdle_fit().observed
    check_no_outcome_copies(observed)  # the simulator's features predict conversion, they do not copy it
    # A strong but honest covariate: the outcome plus as much noise again.
    rng = np.random.default_rng(0)
    noisy = _with_column(observed, "signal", lambda v: v["revenue"] + rng.normal(0, v["revenue"].std() * 3, len(v)))
    check_no_outcome_copies(noisy)


def test_explicit_features_fit_without_the_copy():
    reference = hurdle_fit()
    leaky = _with_column(reference.observed, "order_total", lambda v: v["revenue"] * 1.02)
    result = pt.fit(leaky, config=SMALL_CONFIG, features=list(reference.observed.feature_names))
    assert result.observed.feature_names == reference.observed.feature_names
    # Same data and seed as the reference fit: the copy left no trace.
    np.testing.assert_allclose(result.cate_samples, reference.cate_samples, rtol=1e-5, atol=1e-5)


def test_select_features_keeps_outcomes_and_design_columns():
    observed = hurdle_fit().observed
    narrow = select_features(observed, ["engagement", "device"])
    assert narrow.feature_names == ("engagement", "device")
    assert narrow.n_visitors == observed.n_visitors
    assert {"converted", "revenue", "propensity_1"} <= set(narrow.variants[1].visitors.columns)
    with pytest.raises(KeyError, match="not feature columns.*Fix: choose from"):
        select_features(observed, ["engagement", "revenue"])
    with pytest.raises(ValueError, match="nothing to split on"):
        select_features(observed, [])
    with pytest.raises(TypeError, match="list of column names"):
        select_features(observed, "engagement")


def test_predict_on_zero_rows_is_empty_and_refuses_infinities():
    result = hurdle_fit()
    visitors = result.observed.visitors()[list(result.observed.feature_names)]
    empty = result.predict(visitors.iloc[:0])
    assert empty.shape == (0, result.n_draws, 2) and empty.dtype == np.float32
    bad = visitors.iloc[:5].copy()
    bad.loc[bad.index[1], "engagement"] = np.inf
    with pytest.raises(ValueError, match=r"\['engagement'\] hold infinite values.*Fix:"):
        result.predict(bad)
