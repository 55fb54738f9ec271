"""Outcome families: what a BCF channel's outcome is, in one place.

A family says, for one channel (docs/concepts/sampler-math.md §3-5):

- ``model_scale``: the target transform and the prior scaling. From the
  host outcome and weights it returns the model-scale target, the
  (centre, scale, offset) that map the model scale back to the linear
  predictor, and the default leaf variances of both forests;
- ``start`` / ``before_sweeps`` / ``after_sweeps``: the latent and noise
  step around the forest sweeps (jitted; a family is a frozen dataclass, so
  it is a static, hashable part of the step's specification);
- ``mean``: the expected outcome given draws of the linear predictor (and
  the noise variance): the level from which results take contrasts.

Adding a family is one new class and one ``register_family`` call; the
sampler, persistence and diagnostics read everything else from it.
"""

from __future__ import annotations

import dataclasses
import math
from typing import ClassVar, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import ndtr, ndtri
from scipy import special


class ModelScale(NamedTuple):
    """A channel's outcome on the model scale, and the map back: linear predictor = centre + scale * model."""

    target: np.ndarray   # float64 [n]: what the forests fit (probit: the 0/1 outcome itself)
    centre: float
    scale: float
    offset: float        # the model-scale intercept the forests start from
    mu_var: float        # default leaf variance of the prognostic forest (before BCFConfig's scale)
    tau_var: float       # default leaf variance of each treatment column


def _weighted_mean(y: np.ndarray, w: np.ndarray) -> float:
    return float((w * y).sum() / w.sum())


@dataclasses.dataclass(frozen=True)
class OutcomeFamily:
    """The interface; see the module docstring. ``noise`` says whether sigma^2 is sampled."""

    name: ClassVar[str] = ""
    noise: ClassVar[bool] = True

    def model_scale(self, y: np.ndarray, w: np.ndarray, config) -> ModelScale:
        raise NotImplementedError

    def start(self, key: jax.Array, offset: jax.Array, target: jax.Array) -> jax.Array:
        """The latent the chain starts from (the target itself unless the family augments)."""
        return target

    def before_sweeps(self, key: jax.Array, latent: jax.Array, residual: jax.Array,
                      target: jax.Array) -> tuple[jax.Array, jax.Array]:
        """(latent, residual) before the forests move: data augmentation, if any."""
        return latent, residual

    def after_sweeps(self, key: jax.Array, residual: jax.Array, weight: jax.Array, sigma2: jax.Array,
                     nu: jax.Array, lam: jax.Array) -> jax.Array:
        """The noise variance after the forests moved."""
        return draw_sigma2(key, residual, weight, nu, lam)

    def mean(self, eta: np.ndarray, sigma2: np.ndarray) -> np.ndarray:
        """Expected outcome for linear-predictor draws ``eta`` [S, n] and noise variances ``sigma2`` [S]."""
        raise NotImplementedError


# -- the draws the families share -----------------------------------------------------------------

def positive_normal_tail(key: jax.Array, lower: jax.Array) -> jax.Array:
    """Draws of e ~ N(0, 1) truncated to e > ``lower``, finite in float32 for |lower| up to ~9.

    Inverse CDF on the upper tail: P(e > x | e > a) = Phi(-x) / Phi(-a) = u with
    u in (0, 1], so x = -ndtri(u Phi(-a)) never needs Phi close to 1.
    """
    u = 1.0 - jax.random.uniform(key, lower.shape, lower.dtype)
    return -ndtri(u * ndtr(-lower))


def draw_latent(key: jax.Array, fitted: jax.Array, converted: jax.Array) -> jax.Array:
    """Albert-Chib: w ~ N(fitted, 1) truncated to w > 0 if converted, w <= 0 otherwise."""
    sign = jnp.where(converted > 0.5, 1.0, -1.0)
    # For a non-converter draw -w > fitted' with the same routine, by symmetry.
    e = positive_normal_tail(key, -sign * fitted)
    return fitted + sign * e


def draw_sigma2(key: jax.Array, residual: jax.Array, weight: jax.Array, nu: jax.Array, lam: jax.Array) -> jax.Array:
    """sigma2 ~ InvGamma((nu + n) / 2, (nu lam + sum r^2) / 2) over the weighted visitors."""
    shape = 0.5 * (nu + weight.sum())
    rate = 0.5 * (nu * lam + (weight * residual**2).sum())
    return rate / jax.random.gamma(key, shape)


# -- the families ---------------------------------------------------------------------------------

_PHI0 = 1.0 / math.sqrt(2.0 * math.pi)


def probit_effect_scale(rate: float, config) -> float:
    """Prior sd of the treatment forest's sum on the latent scale, at the observed conversion rate.

    The largest plausible effect is the smaller of an absolute change ``probit_delta_max`` mapped
    at the steepest point of the probit (phi(0)), and a relative lift ``probit_max_relative_lift``
    of the observed rate mapped at that rate: at a 3% rate a doubling is 0.33 on the latent
    scale, where the absolute rule alone would allow 2.26 (3% -> 62%).
    """
    absolute = config.probit_delta_max / _PHI0
    lifted = min(rate * (1.0 + config.probit_max_relative_lift), 0.999)
    relative = float(special.ndtri(lifted) - special.ndtri(rate))
    return min(absolute, relative)


@dataclasses.dataclass(frozen=True)
class Probit(OutcomeFamily):
    """Binary outcome, P(y = 1) = Phi(eta), by Albert-Chib augmentation; sigma^2 fixed at 1."""

    name: ClassVar[str] = "probit"
    noise: ClassVar[bool] = False

    def model_scale(self, y, w, config):
        rate = _weighted_mean(y, w)
        if not 0.0 < rate < 1.0:
            raise ValueError(f"the binary outcome is constant (rate {rate}). Fix: a probit fit needs both "
                             "conversions and non-conversions.")
        return ModelScale(target=y, centre=0.0, scale=1.0, offset=float(special.ndtri(rate)),
                          mu_var=1.0 / config.mu_trees,
                          tau_var=probit_effect_scale(rate, config) ** 2 / config.tau_trees)

    def start(self, key, offset, target):
        return draw_latent(key, jnp.full(target.shape, offset), target)

    def before_sweeps(self, key, latent, residual, target):
        fitted = latent - residual
        latent = draw_latent(key, fitted, target)
        return latent, latent - fitted

    def after_sweeps(self, key, residual, weight, sigma2, nu, lam):
        return sigma2

    def mean(self, eta, sigma2):
        return special.ndtr(eta)


@dataclasses.dataclass(frozen=True)
class Gaussian(OutcomeFamily):
    """Continuous outcome, standardised; sigma^2 sampled; the mean is the linear predictor."""

    name: ClassVar[str] = "gaussian"
    _neutral: ClassVar[float] = 0.0  # what rows outside the likelihood are transformed as

    def transform(self, y: np.ndarray) -> np.ndarray:
        return y

    def model_scale(self, y, w, config):
        y = np.where(w > 0, self.transform(np.where(w > 0, y, self._neutral)), 0.0)
        centre = _weighted_mean(y, w)
        var = float((w * (y - centre) ** 2).sum() / w.sum())
        if not var > 0:
            raise ValueError("the outcome is constant over the fitted visitors. Fix: nothing to model; "
                             "check the data.")
        scale = math.sqrt(var)
        return ModelScale(target=np.where(w > 0, (y - centre) / scale, 0.0), centre=centre, scale=scale,
                          offset=0.0, mu_var=2.0 / config.mu_trees, tau_var=0.5 / config.tau_trees)

    def mean(self, eta, sigma2):
        return eta


@dataclasses.dataclass(frozen=True)
class LogNormal(Gaussian):
    """Positive outcome modelled as Gaussian on log y; the mean is exp(eta + sigma^2 / 2)."""

    name: ClassVar[str] = "lognormal"
    _neutral: ClassVar[float] = 1.0

    def transform(self, y):
        if (y <= 0).any():
            raise ValueError("a log-normal channel needs positive outcomes. Fix: fit only the rows with y > 0.")
        return np.log(y)

    def mean(self, eta, sigma2):
        return np.exp(eta + 0.5 * np.asarray(sigma2)[:, None])


FAMILIES: dict[str, OutcomeFamily] = {}


def register_family(family: OutcomeFamily) -> OutcomeFamily:
    """Make ``family`` known by its name (result files refer to channels' families by name)."""
    if not isinstance(family, OutcomeFamily) or not family.name:
        raise TypeError(f"register_family: expected an OutcomeFamily with a name, got {family!r}")
    if FAMILIES.get(family.name, family) != family:
        raise ValueError(f"register_family: a different family is already registered as {family.name!r}. "
                         "Fix: give yours another name.")
    FAMILIES[family.name] = family
    return family


def family_named(name: str) -> OutcomeFamily:
    if name not in FAMILIES:
        raise KeyError(f"no outcome family {name!r}. Fix: register it with register_family, or use one of "
                       f"{sorted(FAMILIES)}.")
    return FAMILIES[name]


PROBIT, GAUSSIAN, LOGNORMAL = (register_family(f) for f in (Probit(), Gaussian(), LogNormal()))

__all__ = ["FAMILIES", "GAUSSIAN", "LOGNORMAL", "PROBIT", "Gaussian", "LogNormal", "ModelScale", "OutcomeFamily",
           "Probit", "draw_latent", "draw_sigma2", "family_named", "positive_normal_tail", "probit_effect_scale",
           "register_family"]
