"""Diagnostics of a fitted result: the InferenceData it builds and the convergence table."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import xarray as xr

from pytyche_core.contracts import DiagnosticsBundle
from pytyche_core.posterior.diagnostics import sample_visitors, summarize
from tests.core.posterior.small_fits import SMALL_CONFIG, hurdle_fit

with warnings.catch_warnings():
    warnings.simplefilter("ignore", FutureWarning)  # arviz 0.23 announces its 1.x refactor on import
    import arviz as az


@pytest.fixture(scope="module")
def result():
    return hurdle_fit()


@pytest.fixture(scope="module")
def idata(result):
    return result.diagnostics(n_visitors=12, seed=3).inference_data


def test_posterior_variables_dims_and_coords(result, idata):
    bundle = result.diagnostics()
    assert isinstance(bundle, DiagnosticsBundle)
    assert isinstance(bundle.inference_data, az.InferenceData)
    post = idata.posterior
    chains, draws = SMALL_CONFIG.chains, SMALL_CONFIG.draws
    # The probit conversion channel has sigma^2 fixed at 1, so only order value reports one; both
    # channels sample their leaf variances and the treatment forest's alpha (the defaults).
    assert set(post.data_vars) == {"sigma2_order_value", "average_effect", "visitor_effect",
                                   *(f"{name}_{channel}" for name in ("mu_leaf_sd", "tau_leaf_sd", "tau_alpha")
                                     for channel in ("conversion", "order_value"))}
    assert post["tau_alpha_conversion"].dims == ("chain", "draw")
    assert post["mu_leaf_sd_conversion"].dims == ("chain", "draw")
    assert post["tau_leaf_sd_order_value"].dims == ("chain", "draw", "treatment")
    assert post["sigma2_order_value"].dims == ("chain", "draw")
    assert post["average_effect"].dims == ("chain", "draw", "treatment")
    assert post["visitor_effect"].dims == ("chain", "draw", "visitor", "treatment")
    assert post["visitor_effect"].shape == (chains, draws, 12, 2)
    assert list(post["treatment"].values) == list(result.treatment_names)
    rows = post["row"].values
    ids = result.observed.visitors()["visitor_id"].to_numpy()
    assert list(post["visitor"].values) == list(ids[rows])
    assert np.all(np.isfinite(post["visitor_effect"].values))


def test_values_are_the_results_draws_reshaped_by_chain(result, idata):
    post = idata.posterior
    effects = result.cate_samples  # (n, S, K-1), S chain-major
    chains, draws = SMALL_CONFIG.chains, SMALL_CONFIG.draws
    np.testing.assert_allclose(post["average_effect"].values,
                               effects.mean(axis=0, dtype=np.float64).reshape(chains, draws, -1), rtol=1e-12)
    rows = post["row"].values
    # Draw s of chain c is column c * draws + s of cate_samples.
    np.testing.assert_array_equal(post["visitor_effect"].values[1, 5], effects[rows, draws + 5])
    np.testing.assert_array_equal(post["sigma2_order_value"].values, result.order_value.fits[0].sigma2)
    priors = result.channel_fits["conversion"].fits[0].priors
    np.testing.assert_allclose(post["tau_leaf_sd_conversion"].values, np.sqrt(priors.tau_leaf_var), rtol=1e-6)
    np.testing.assert_allclose(post["mu_leaf_sd_conversion"].values, np.sqrt(priors.mu_leaf_var), rtol=1e-6)


def test_visitor_sample_is_reproducible_and_seeded():
    a, b = sample_visitors(1500, 50, 0), sample_visitors(1500, 50, 0)
    np.testing.assert_array_equal(a, b)
    assert len(np.unique(a)) == 50 and np.all(np.diff(a) > 0)
    assert not np.array_equal(a, sample_visitors(1500, 50, 1))
    assert len(sample_visitors(10, 50, 0)) == 10


def test_summary_has_finite_rhat_and_ess_and_acceptance(result):
    table = result.diagnostics_summary(n_visitors=12, seed=3)
    stats = table[table["variable"] != "acceptance"]
    assert len(stats) == 1 + 2 + 12 * 2 + 2 * (1 + 2 + 1)  # sigma2, average effects, visitors, leaf sds, alpha
    leaf = table.loc["tau_leaf_sd_order_value[treatment_2]"]
    assert (leaf["channel"], leaf["forest"], leaf["treatment"]) == ("order_value", "tau", "treatment_2")
    for column in ("r_hat", "ess_bulk", "ess_tail"):
        assert np.all(np.isfinite(stats[column])), column
    assert (stats["ess_bulk"] > 0).all()
    expected = az.rhat(result.diagnostics(12, 3).inference_data, method="rank")["average_effect"].values
    np.testing.assert_allclose(stats.loc[["average_effect[treatment_1]", "average_effect[treatment_2]"],
                                         "r_hat"], expected)
    acc = table[table["variable"] == "acceptance"]
    assert set(zip(acc["channel"], acc["forest"], strict=True)) == {
        (c, f) for c in ("conversion", "order_value") for f in ("mu", "tau")}
    assert ((acc["acceptance"] >= 0) & (acc["acceptance"] <= 1)).all()
    assert acc["acceptance"].gt(0).any()  # some trees moved after burn-in


def test_rhat_flags_chains_that_disagree(idata):
    """Same draws, two arrangements: shuffled across chains they mix; chain 1 shifted by 3 sd, they do not.

    With only 20 draws a chain, R-hat of exchangeable draws is itself noisy
    (up to about 1.2 over these 27 scalars), so the well-mixed case is
    judged by its median and by being below the shifted case scalar by scalar.
    """
    post = idata.posterior
    chains, draws = post.sizes["chain"], post.sizes["draw"]
    order = np.random.default_rng(0).permutation(chains * draws)
    mixed = post.copy(data={name: post[name].values.reshape(chains * draws, *post[name].shape[2:])[order]
                            .reshape(post[name].shape) for name in post.data_vars})
    shift = xr.DataArray([0.0, 3.0], dims="chain") * mixed.std(("chain", "draw"))
    split = mixed + shift + 1e-9
    mixed_table = summarize(az.InferenceData(posterior=mixed))
    split_table = summarize(az.InferenceData(posterior=split))
    assert mixed_table["r_hat"].median() < 1.05
    assert (split_table["r_hat"] > 1.1).all()
    assert (split_table["r_hat"] > mixed_table["r_hat"]).all()


def test_one_chain_is_a_clear_error(idata):
    one = az.InferenceData(posterior=idata.posterior.isel(chain=[0]))
    with pytest.raises(ValueError, match=r"BCFConfig\(chains=2"):
        summarize(one)


def test_independent_pooling_reports_each_treatments_leaf_sd(continuous_k3_independent):
    result = continuous_k3_independent.result
    post = result.diagnostics(n_visitors=4).inference_data.posterior
    fits = result.channel_fits["outcome"].fits
    for forest in ("mu", "tau"):
        values = post[f"{forest}_leaf_sd_outcome"]
        assert values.dims == ("chain", "draw", "treatment")
        for j, fit in enumerate(fits):  # treatment j's values are its own fit's draws
            expected = getattr(fit.priors, f"{forest}_leaf_var").reshape(values.shape[:2])
            np.testing.assert_allclose(values.values[..., j], np.sqrt(expected), rtol=1e-6)
