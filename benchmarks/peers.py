"""Peers fitted as a two-part (hurdle) model on pytyche's simulated data, returning revenue-effect draws.

Each ``*_effects`` function takes an ``ObservedData`` and returns per-visitor
draws of the revenue-per-visitor contrast of every arm against control,
shaped (n, S, K-1), so the benchmark scripts score every system the same way.

- stochtree's ``BCFModel`` twice: probit on conversion for everyone, Gaussian
  on log order value for converters, a multivariate (one-hot) treatment; the
  revenue effect of each draw is P(convert) x E[order value] under the arm
  minus under control, as in our hurdle combination.
"""

from __future__ import annotations

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
