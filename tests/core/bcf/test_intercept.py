"""The treatment intercept's Gibbs draw against its closed-form conditional (docs/concepts/sampler-math.md §3c).

Given the residual, tau0_k is a single leaf holding every visitor of arm k:
N(v S / (sigma2 + n v), v sigma2 / (sigma2 + n v)) with n the arm's weight and
S the sum of its partial residuals (residual + old tau0_k). A wrong count,
sign or variance moves the draws' distribution away from that normal.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from pytyche_core.bcf.intercept import draw_intercept

SIGMA2, PRIOR_VAR = 1.7, 0.4


def _problem(seed: int = 0):
    rng = np.random.default_rng(seed)
    n = 90
    arm = np.arange(n) % 3
    weight = np.where(rng.random(n) < 0.8, 1.0, 0.0)  # weight-0 rows (padding) must not count
    residual = rng.normal(0.5 * arm, 1.0)
    tau0 = np.array([0.0, 0.3, -0.2])
    return arm, weight, residual, tau0


def _draws(prior_only: bool, n_draws: int = 4000):
    arm, weight, residual, tau0 = _problem()
    prior = jnp.array([0.0, PRIOR_VAR, PRIOR_VAR], jnp.float32)

    def one(key):
        return draw_intercept(key, jnp.asarray(tau0, jnp.float32), jnp.asarray(residual, jnp.float32),
                              jnp.asarray(arm, jnp.int32), jnp.asarray(weight, jnp.float32),
                              jnp.float32(SIGMA2), prior, prior_only=prior_only)

    return jax.vmap(one)(jax.random.split(jax.random.PRNGKey(1), n_draws))


def test_the_intercept_draw_is_its_conjugate_conditional():
    arm, weight, residual, tau0 = _problem()
    new, new_residual = _draws(prior_only=False)
    new, new_residual = np.asarray(new, float), np.asarray(new_residual, float)
    assert np.all(new[:, 0] == 0.0)  # control carries no intercept
    for k in (1, 2):
        members = arm == k
        count = weight[members].sum()
        total = (weight[members] * (residual[members] + tau0[k])).sum()
        denom = SIGMA2 + count * PRIOR_VAR
        exact = stats.norm(PRIOR_VAR * total / denom, np.sqrt(PRIOR_VAR * SIGMA2 / denom))
        assert stats.kstest(new[:, k], exact.cdf).pvalue > 0.001
    # The residual keeps latent - fit: the old intercept added back, the new one taken off.
    expected = residual[None, :] + tau0[arm][None, :] - new[:, arm]
    np.testing.assert_allclose(new_residual, expected, atol=1e-5)


def test_a_broken_conditional_is_caught():
    """The same check against a conditional that ignores the weights (counts padding rows) fails."""
    arm, weight, residual, tau0 = _problem()
    new, _ = _draws(prior_only=False)
    members = arm == 1
    count = members.sum()  # wrong: weight-0 rows counted
    total = (residual[members] + tau0[1]).sum()
    denom = SIGMA2 + count * PRIOR_VAR
    wrong = stats.norm(PRIOR_VAR * total / denom, np.sqrt(PRIOR_VAR * SIGMA2 / denom))
    assert stats.kstest(np.asarray(new[:, 1], float), wrong.cdf).pvalue < 1e-6


def test_without_the_likelihood_the_intercept_is_its_prior():
    new, _ = _draws(prior_only=True)
    for k in (1, 2):
        assert stats.kstest(np.asarray(new[:, k], float), stats.norm(0.0, np.sqrt(PRIOR_VAR)).cdf).pvalue > 0.001


@pytest.fixture(scope="module")
def intercept_fit():
    import pytyche_core as pt
    from pytyche_core.simulate import scenario

    observed, _ = pt.simulate(scenario("constant", k=3, profile="stress").config(1500, seed=3))
    config = pt.BCFConfig(burn_in=20, draws=20, chains=1, mu_trees=20, tau_trees=10, treatment_intercept=True)
    return observed, pt.fit(observed, config=config, seed=0)


def test_predictions_from_stored_forests_carry_the_intercept(intercept_fit):
    """The intercept is folded into the stored trees: predicting the training visitors again from
    them gives the sampler's own draws."""
    observed, result = intercept_fit
    again = result.predict(observed.visitors())
    np.testing.assert_allclose(again, result.cate_samples, atol=2e-3)
    conversion = result.conversion.fits[0]
    assert np.abs(conversion.forests.tau_leaf[:, :, 0, :, 1:]).max() > 0  # something was folded in
