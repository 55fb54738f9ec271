"""Peers fitted as a two-part (hurdle) model on pytyche's simulated data, returning revenue-effect draws.

Each ``*_effects`` function takes an ``ObservedData`` and returns per-visitor
draws of the revenue-per-visitor contrast of every arm against control,
shaped (n, S, K-1), so the benchmark scripts score every system the same way.

- stochtree's ``BCFModel`` twice: probit on conversion for everyone, Gaussian
  on log order value for converters, a multivariate (one-hot) treatment; the
  revenue effect of each draw is P(convert) x E[order value] under the arm
  minus under control, as in our hurdle combination.
- bartz's ``bcf`` the same way at K = 2 (it has one binary treatment only).

Systems without posterior draws return an ``Estimate`` instead (``as_estimate``
turns draws into one): EconML's ``CausalForestDML`` on revenue with the arm as
a discrete treatment (its own per-visitor and group intervals), and a
cross-fitted T-learner (gradient-boosted trees per arm; no intervals).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np
from scipy.special import ndtr

#: stochtree as its authors recommend (warm start by grow-from-root, then MCMC) or with our sweep counts.
STOCHTREE_SETTINGS = ("recommended", "matched")


def stochtree_design(observed):
    """Covariates (bools as numbers; stochtree one-hot encodes unordered categoricals) and one-hot arms."""
    visitors = observed.visitors()
    x = visitors[list(observed.feature_names)].copy()
    for name in x.columns:
        if x[name].dtype == bool:
            x[name] = x[name].astype(float)
    arm = observed.arm_index()
    z = np.column_stack([(arm == j).astype(float) for j in range(1, observed.n_arms)])
    return x, z


def _stochtree_channel(x, z, y, *, probit: bool, sweeps: dict, seed: int, trees: tuple[int, int]):
    from stochtree import BCFModel, OutcomeModel

    general = {"propensity_covariate": "none", "adaptive_coding": False, "num_chains": sweeps["chains"],
               "random_seed": seed}
    if probit:
        general["outcome_model"] = OutcomeModel(outcome="binary", link="probit")
    model = BCFModel()
    model.sample(x, z, y, num_gfr=sweeps["gfr"], num_burnin=sweeps["burn_in"], num_mcmc=sweeps["draws"],
                 general_params=general, prognostic_forest_params={"num_trees": trees[0]},
                 treatment_effect_forest_params={"num_trees": trees[1]})
    return model


def stochtree_sweeps(setting: str, *, burn_in: int = 200, draws: int = 100, chains: int = 2) -> dict:
    if setting == "recommended":  # stochtree's documented default: 10 grow-from-root sweeps, then 100 MCMC
        return {"gfr": 10, "burn_in": 0, "draws": 100, "chains": 1}
    if setting == "matched":
        return {"gfr": 0, "burn_in": burn_in, "draws": draws, "chains": chains}
    raise ValueError(f"unknown stochtree setting {setting!r}. Fix: one of {STOCHTREE_SETTINGS}.")


class StochtreeHurdle(NamedTuple):
    """stochtree's two-part fit, every visitor: revenue-effect draws and the conversion channel's parts."""

    effects: np.ndarray  # (n, S, K-1): revenue-per-visitor contrasts vs control
    p0: np.ndarray       # (n, S): control conversion probability
    p: np.ndarray        # (n, S, K-1): conversion probability under each treatment


def stochtree_hurdle(observed, *, sweeps: dict, seed: int, trees: tuple[int, int] = (200, 50)) -> StochtreeHurdle:
    """stochtree's BCF as a hurdle model: probit conversion for everyone, Gaussian log order value
    for converters; per draw, revenue per visitor under arm k is Phi(eta_k) exp(nu_k + sigma^2 / 2)."""
    x, z = stochtree_design(observed)
    visitors = observed.visitors()
    converted = visitors["converted"].to_numpy(dtype=bool)
    revenue = visitors["revenue"].to_numpy(dtype=float)
    positive = converted & (revenue > 0)
    conversion = _stochtree_channel(x, z, converted.astype(float), probit=True, sweeps=sweeps, seed=seed,
                                    trees=trees)
    order = _stochtree_channel(x[positive].reset_index(drop=True), z[positive], np.log(revenue[positive]),
                               probit=False, sweeps=sweeps, seed=seed, trees=trees)
    eta0 = conversion.predict(x, np.zeros_like(z))["mu_hat"]
    order_pred = order.predict(x, np.zeros_like(z))
    nu0, tau_order = order_pred["mu_hat"], order_pred["tau_hat"]
    tau_conversion = conversion.tau_hat_train
    # One treatment column comes back as (n, S): give it the arm axis.
    tau_conversion, tau_order = (t if t.ndim == 3 else t[:, :, None] for t in (tau_conversion, tau_order))
    half_var = 0.5 * order.global_var_samples[None, :]
    p0, m0 = ndtr(eta0), np.exp(nu0 + half_var)
    p = np.stack([ndtr(eta0 + tau_conversion[:, :, j]) for j in range(z.shape[1])], axis=-1)
    effects = np.stack([p[:, :, j] * np.exp(nu0 + tau_order[:, :, j] + half_var) - p0 * m0
                        for j in range(z.shape[1])], axis=-1)
    return StochtreeHurdle(effects.astype(np.float32), p0, p)


def stochtree_effects(observed, *, sweeps: dict, seed: int, trees: tuple[int, int] = (200, 50)) -> np.ndarray:
    """Revenue-per-visitor contrast draws (n, S, K-1) of stochtree's BCF used as a hurdle model."""
    return stochtree_hurdle(observed, sweeps=sweeps, seed=seed, trees=trees).effects


class Estimate(NamedTuple):
    """One system's answer for every visitor and treatment, scored the same way for all systems.

    ``mean``, ``low``, ``high``: (n, K-1) point estimates and 80% interval ends (None: the
    system gives no intervals); ``group``: the 80% interval and point estimate of the average
    effect of treatment ``j`` over a group of visitors (a boolean mask), or None.
    """

    mean: np.ndarray
    low: np.ndarray | None
    high: np.ndarray | None
    group: Callable[[np.ndarray, int], tuple[float, float, float]] | None


def as_estimate(effects: np.ndarray) -> Estimate:
    """Posterior draws (n, S, K-1) as an ``Estimate``: draw means, 10% / 90% quantiles, group draws."""
    low, high = np.quantile(effects, [0.1, 0.9], axis=1)

    def group(members: np.ndarray, j: int) -> tuple[float, float, float]:
        draws = effects[members, :, j].mean(axis=0)
        lo, hi = np.quantile(draws, [0.1, 0.9])
        return float(lo), float(hi), float(draws.mean())

    return Estimate(effects.mean(axis=1), low, high, group)


def feature_matrix(observed) -> np.ndarray:
    """The visitors' features as numbers for scikit-learn style learners (categoricals one-hot)."""
    import pandas as pd

    x = observed.visitors()[list(observed.feature_names)]
    return pd.get_dummies(x, dtype=float).to_numpy(dtype=float)


def econml_estimate(observed, *, seed: int) -> Estimate:
    """EconML's CausalForestDML on revenue, the arm a discrete treatment, gradient-boosted nuisances."""
    from econml.dml import CausalForestDML
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    x = feature_matrix(observed)
    arm = observed.arm_index()
    revenue = observed.visitors()["revenue"].to_numpy(dtype=float)
    forest = CausalForestDML(model_y=HistGradientBoostingRegressor(random_state=seed),
                             model_t=HistGradientBoostingClassifier(random_state=seed),
                             discrete_treatment=True, cv=3, random_state=seed)
    forest.fit(revenue, arm, X=x)
    arms = range(1, observed.n_arms)
    mean = np.column_stack([forest.effect(x, T0=0, T1=j) for j in arms])
    bounds = [forest.effect_interval(x, T0=0, T1=j, alpha=0.2) for j in arms]
    low = np.column_stack([b[0] for b in bounds])
    high = np.column_stack([b[1] for b in bounds])

    def group(members: np.ndarray, j: int) -> tuple[float, float, float]:
        lo, hi = forest.ate_interval(x[members], T0=0, T1=j + 1, alpha=0.2)
        return float(lo), float(hi), float(forest.ate(x[members], T0=0, T1=j + 1))

    return Estimate(mean, low, high, group)


def t_learner_estimate(observed, *, seed: int, folds: int = 2) -> Estimate:
    """A cross-fitted T-learner: per arm a gradient-boosted regression of revenue on the features,
    fitted on the other folds; a visitor's effect is its arm prediction minus its control one."""
    from sklearn.ensemble import HistGradientBoostingRegressor

    x = feature_matrix(observed)
    arm = observed.arm_index()
    revenue = observed.visitors()["revenue"].to_numpy(dtype=float)
    fold = np.random.default_rng(seed).integers(0, folds, size=len(arm))
    predicted = np.empty((len(arm), observed.n_arms))
    for f in range(folds):
        for k in range(observed.n_arms):
            train = (fold != f) & (arm == k)
            model = HistGradientBoostingRegressor(random_state=seed).fit(x[train], revenue[train])
            predicted[fold == f, k] = model.predict(x[fold == f])
    return Estimate(predicted[:, 1:] - predicted[:, :1], None, None, None)


def bartz_effects(observed, *, seed: int, burn_in: int = 100, draws: int = 100) -> np.ndarray:
    """Revenue-per-visitor contrast draws (n, S, 1) of bartz's BCF as a hurdle model (K = 2 only).

    bartz 0.13's ``bcf`` takes one binary treatment: probit on conversion for everyone, Gaussian on
    log order value for converters, each at its defaults (its treatment intercept, adaptive coding
    off to match the other systems), ``burn_in`` + ``draws`` sweeps on one chain.
    """
    from bartz.bcf import bcf

    if observed.n_arms != 2:
        raise ValueError(f"bartz's BCF has one binary treatment; this experiment has {observed.n_arms} arms. "
                         "Fix: run bartz at K = 2 only.")
    x = feature_matrix(observed).astype(np.float32)
    z = (observed.arm_index() == 1).astype(np.float32)
    visitors = observed.visitors()
    converted = visitors["converted"].to_numpy(dtype=bool)
    revenue = visitors["revenue"].to_numpy(dtype=float)
    positive = converted & (revenue > 0)
    common = {"ndpost": draws, "nskip": burn_in, "seed": seed, "adaptive_coding": False}
    conversion = bcf(x, converted.astype(np.float32), z, outcome_type="binary", **common)
    order = bcf(x[positive], np.log(revenue[positive]).astype(np.float32), z[positive], **common)
    c = conversion.predict(x)
    o = order.predict(x)
    half_var = 0.5 * np.square(np.asarray(order.sigma_trace))[:, None]
    p0, p1 = np.asarray(c["p0"]), np.asarray(c["p1"])
    nu0, tau = np.asarray(o["mu"]), np.asarray(o["tau"])
    effect = p1 * np.exp(nu0 + tau + half_var) - p0 * np.exp(nu0 + half_var)  # (S, n)
    return effect.T[:, :, None].astype(np.float32)
