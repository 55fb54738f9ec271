"""Outcome families: a new one is a class in its own file and one registry line; the engine runs it."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import jax
import numpy as np
import pytest

from pytyche_core.bcf.config import BCFConfig
from pytyche_core.bcf.families import (
    FAMILIES,
    GAUSSIAN,
    LOGNORMAL,
    PROBIT,
    ModelScale,
    OutcomeFamily,
    family_named,
    register_family,
)
from pytyche_core.bcf.run import ChannelInputs, run_channel
from pytyche_core.posterior.channels import ChannelFits


@dataclasses.dataclass(frozen=True)
class KnownNoiseGaussian(OutcomeFamily):
    """A toy family defined outside the engine: Gaussian with a known noise variance, not standardised."""

    noise_var: float = 0.25
    name: ClassVar[str] = "known-noise-gaussian"
    noise: ClassVar[bool] = False

    def model_scale(self, y, w, config):
        centre = float((w * y).sum() / w.sum())
        return ModelScale(target=np.where(w > 0, y - centre, 0.0), centre=centre, scale=1.0, offset=0.0,
                          mu_var=2.0 / config.mu_trees, tau_var=0.5 / config.tau_trees)

    def after_sweeps(self, key, residual, weight, sigma2, nu, lam):
        return jax.numpy.float32(self.noise_var)

    def mean(self, eta, sigma2):
        return eta


def test_a_family_from_outside_the_engine_runs_through_it():
    family = register_family(KnownNoiseGaussian())
    assert family_named("known-noise-gaussian") is family
    rng = np.random.default_rng(0)
    n = 1200
    bins = rng.integers(0, 10, (2, n)).astype(np.uint8)
    arm = rng.integers(0, 2, n).astype(np.int32)
    y = 1.0 + 0.8 * (arm == 1) + rng.normal(0, 0.5, n)
    inputs = ChannelInputs(bins, np.full(2, 10), arm, 2, y.astype(np.float32), np.ones(n, np.float32),
                           np.ones(2, bool), family)
    draws = run_channel(inputs, BCFConfig(mu_trees=10, tau_trees=5, burn_in=50, draws=40, chains=2, chunk=10),
                        jax.random.PRNGKey(0))
    np.testing.assert_allclose(draws.sigma2, 0.25)  # the family's noise step, not the engine's default
    fits = ChannelFits((draws,), family)
    base, treated = fits.levels(0)
    effect = (treated - base).mean(axis=1)  # per draw, the average effect
    assert abs(effect.mean() - 0.8) < 4 * 0.5 * np.sqrt(4 / n) + 0.05
    assert abs(draws.mu.mean() - 1.0) < 0.15  # the control level, back on the outcome scale


def test_the_registry_refuses_a_second_family_under_a_taken_name():
    register_family(KnownNoiseGaussian())
    with pytest.raises(ValueError, match="already registered.*Fix"):
        register_family(KnownNoiseGaussian(noise_var=1.0))
    with pytest.raises(KeyError, match="register_family"):
        family_named("poisson")
    assert {"probit", "gaussian", "lognormal"} <= set(FAMILIES)


def test_builtin_means():
    eta = np.array([[-1.0, 0.0, 1.0]])
    sigma2 = np.array([0.5])
    np.testing.assert_allclose(PROBIT.mean(eta, sigma2), [[0.158655, 0.5, 0.841345]], atol=1e-6)
    np.testing.assert_allclose(GAUSSIAN.mean(eta, sigma2), eta)
    np.testing.assert_allclose(LOGNORMAL.mean(eta, sigma2), np.exp(eta + 0.25))
    with pytest.raises(ValueError, match="positive outcomes"):
        LOGNORMAL.model_scale(np.array([1.0, 0.0]), np.ones(2), BCFConfig())
