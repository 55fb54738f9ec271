"""One MCMC step of a BCF channel: the family's latent step, both forests, the family's noise step.

The model (docs/concepts/sampler-math.md §3): ``target = offset + mu(x, e) + tau_z(x) + eps``. The
prognostic forest ``mu`` has scalar leaves; the treatment forest ``tau`` has
one leaf column per arm with the control column held at 0 (one-hot coding),
so every arm shares the tree topology. What happens around the sweeps is
the outcome family's (``families.py``): the probit family draws latent
utilities (Albert & Chib) and keeps the noise variance at 1, Gaussian
families sample it.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from .depth_prior import draw_alpha
from .families import OutcomeFamily
from .forest import Forest
from .grow_from_root import grow_from_root_sweep
from .intercept import draw_intercept
from .leaves import draw_leaf_variance, draw_tail_scales
from .rescale import STEP, rescale_forest
from .sweep import ForestPrior, SweepData, sweep, sweep_student, take


class ChannelData(NamedTuple):
    """Device arrays of one channel. ``target``: the family's model-scale target (probit: 0/1)."""

    bins: jax.Array         # uint8 [p, n]
    arm: jax.Array          # int32 [n]
    weight: jax.Array       # float32 [n]: 1 for visitors in the likelihood, 0 for those carried along
    target: jax.Array       # float32 [n]
    offset: jax.Array       # float32 []
    mu_bins: jax.Array      # int32 [p]: bins per variable for mu (1 = not allowed)
    tau_bins: jax.Array     # int32 [p]: bins per variable for tau (reserved columns set to 1)
    mu_prior_var: jax.Array   # float32 [1]: the mu leaf variance (its prior mean when sampled)
    tau_prior_var: jax.Array  # float32 [K]: the same per arm; column 0 (control) is 0
    tau0_prior_var: jax.Array  # float32 [K]: the treatment intercept's prior variance (control 0)
    nu: jax.Array           # float32 []: inverse-gamma degrees of freedom
    lam: jax.Array          # float32 []: inverse-gamma scale


class ChannelState(NamedTuple):
    """The sampler state of one chain of one channel (a pytree)."""

    mu: Forest
    tau: Forest
    mu_nodes: jax.Array     # [m_mu, n]
    tau_nodes: jax.Array    # [m_tau, n]
    latent: jax.Array       # float32 [n]: the target, or the family's latent (probit: the utility)
    residual: jax.Array     # float32 [n]: latent - offset - mu(x) - tau0_arm - tau_arm(x)
    sigma2: jax.Array       # float32 []
    mu_fit: jax.Array       # float32 [n]: mu(x), kept up to date from the residual (see ``step``)
    mu_leaf_var: jax.Array  # float32 [1]: the mu leaf variance in use (fixed, or sampled)
    tau_leaf_var: jax.Array  # float32 [K]: the same per arm column (control 0)
    tau0: jax.Array         # float32 [K]: the treatment intercept (all 0 unless the spec samples it)
    tau_alpha: jax.Array    # float32 []: the treatment forest's depth-prior alpha (fixed, or sampled)
    tau_fit: jax.Array      # float32 [n]: the tau trees' sum in the visitor's own arm column (no tau0); kept
                            # up to date only when the spec rescales leaves, exact after ``refresh_residual``
    tau_tails: jax.Array | None = None  # float32 [m_tau, 2H]: tail scales of Student-t tau leaves (else None)


class Acceptance(NamedTuple):
    """Mean acceptance rate of the tree moves of each forest: scalars in a step, [blocks] per run."""

    mu: jax.Array
    tau: jax.Array


class ChannelSpec(NamedTuple):
    """Static (hashable) settings of a channel's step."""

    mu: ForestPrior
    tau: ForestPrior
    family: OutcomeFamily
    prior_only: bool = False
    leaf_scale_shape: float | None = None  # None: leaf variances fixed; else the IG shape of their prior
    treatment_intercept: bool = False  # sample tau0 (intercept.py); False: it stays 0
    tau_alpha_prior: tuple[float, ...] | None = None  # None: tau's alpha fixed; else log weights on the grid
    rescale_leaves: bool = False  # rescale.py's move after each sampled leaf variance (needs leaf_scale_shape)
    tau_sweeps: int = 1  # passes over the treatment side per step (each pass leaves the posterior invariant)

    @property
    def rescales(self) -> bool:
        """Whether ``rescale.py``'s move runs: asked for, and there is a sampled leaf variance to move."""
        return self.rescale_leaves and self.leaf_scale_shape is not None


def forest_fit(forest: Forest, nodes: jax.Array) -> jax.Array:
    """Every visitor's fitted value per leaf column, summed over trees: [n, C]."""
    n, c = nodes.shape[1], forest.leaf.shape[2]
    columns = jnp.arange(c, dtype=jnp.uint32)

    def add_tree(total, xs):
        leaf, tree_nodes = xs
        # A flat gather with unsigned indices: no pass wrapping negative indices, and vmap over
        # chains keeps it one gather (see ``sweep.take``).
        return total + take(leaf.reshape(-1), tree_nodes[:, None].astype(jnp.uint32) * c + columns), None

    total, _ = jax.lax.scan(add_tree, jnp.zeros((n, c), forest.leaf.dtype), (forest.leaf, nodes))
    return total


def fits(state: ChannelState) -> tuple[jax.Array, jax.Array]:
    """(mu [n], tau [n, K-1]) of the current trees and intercept, on the model scale without the offset."""
    tau = state.tau._replace(leaf=state.tau.leaf[:, :, 1:])  # the control column is 0: skip it
    return state.mu_fit, forest_fit(tau, state.tau_nodes) + state.tau0[1:]


def refresh_residual(state: ChannelState, data: ChannelData) -> ChannelState:
    """Recompute the residual and mu's fit exactly from the trees (undoes float32 drift of the
    running updates)."""
    mu, tau = forest_fit(state.mu, state.mu_nodes)[:, 0], forest_fit(state.tau, state.tau_nodes)
    own_tau = jnp.take_along_axis(tau, data.arm[:, None], axis=1)[:, 0]
    return state._replace(residual=state.latent - data.offset - mu - (own_tau + state.tau0[data.arm]), mu_fit=mu,
                          tau_fit=own_tau)


def step(key: jax.Array, state: ChannelState, data: ChannelData, spec: ChannelSpec,
         sample_scales: jax.Array | bool = True) -> tuple[ChannelState, Acceptance]:
    """One iteration: [latent draw] -> every mu tree -> [mu leaf variance] -> ([treatment intercept] ->
    every tau tree -> [tau's alpha] -> [tau leaf variances]) x ``spec.tau_sweeps`` -> [sigma2]. Returns
    acceptance rates (tau's: the mean over its passes).
    With ``spec.rescale_leaves`` each sampled leaf variance is followed by ``rescale.py``'s move.

    Leaf variances (and the treatment forest's alpha) are drawn only when ``spec.leaf_scale_shape``
    (``spec.tau_alpha_prior``) is set and ``sample_scales`` holds (the run holds them fixed through
    the first half of burn-in: see ``run.run_channel``)."""
    k_latent, k_mu, k_tau, k_sigma, k_mu_var, k_tau_var = jax.random.split(key, 6)
    k_tau0 = jax.random.fold_in(key, 6)  # apart from the split, so fits without the intercept keep their draws
    k_alpha = jax.random.fold_in(key, 7)  # likewise for fits with a fixed depth prior
    k_mu_scale, k_tau_scale = jax.random.fold_in(key, 8), jax.random.fold_in(key, 9)  # and without rescaling
    latent, residual = spec.family.before_sweeps(k_latent, state.latent, state.residual, data.target)
    zeros = jnp.zeros_like(data.arm)
    before_mu = residual
    mu, mu_nodes, residual, mu_acc = sweep(
        k_mu, state.mu, state.mu_nodes, residual,
        SweepData(data.bins, zeros, data.weight, data.mu_bins, state.mu_leaf_var),
        state.sigma2, spec.mu, prior_only=spec.prior_only)
    mu_leaf_var = state.mu_leaf_var
    if spec.leaf_scale_shape is not None:
        mu_leaf_var = jnp.where(sample_scales, draw_leaf_variance(k_mu_var, mu, data.mu_prior_var,
                                                                  spec.leaf_scale_shape), mu_leaf_var)
    # Only mu changed during its sweep, so its fit moved by exactly what the residual lost: one
    # pass instead of walking every tree when a draw is kept.
    mu_fit = state.mu_fit + (before_mu - residual)
    if spec.rescales:
        mu, mu_leaf_var, mu_fit, residual = _rescale(k_mu_scale, mu, mu_leaf_var, mu_fit, residual, zeros, data,
                                                     state.sigma2, data.mu_prior_var, spec, sample_scales)
    state = state._replace(mu=mu, mu_nodes=mu_nodes, latent=latent, residual=residual, mu_fit=mu_fit,
                           mu_leaf_var=mu_leaf_var)
    tau_acc = []
    for repeat in range(spec.tau_sweeps):  # each pass is a valid update on its own: the posterior stays put
        keys = ((k_tau0, k_tau, k_alpha, k_tau_var, k_tau_scale) if repeat == 0
                else jax.random.split(jax.random.fold_in(key, 10 + repeat), 5))
        state, accepted = _tau_pass(keys, state, data, spec, sample_scales)
        tau_acc.append(accepted)
    sigma2 = spec.family.after_sweeps(k_sigma, state.residual, data.weight, state.sigma2, data.nu, data.lam)
    return state._replace(sigma2=sigma2), Acceptance(mu=mu_acc.mean(), tau=jnp.stack(tau_acc).mean())


def _tau_pass(keys, state: ChannelState, data: ChannelData, spec: ChannelSpec,
              sample_scales) -> tuple[ChannelState, jax.Array]:
    """The treatment side of a step: [intercept] -> every tau tree -> [alpha] -> [leaf variances] ->
    [rescale]. Returns the state after it and which trees' moves were accepted."""
    k_tau0, k_tau, k_alpha, k_tau_var, k_tau_scale = keys
    tau0, residual = _intercept(k_tau0, state.tau0, state.residual, data, state.sigma2, spec)
    before_tau = residual
    tau_data = SweepData(data.bins, data.arm, data.weight, data.tau_bins, state.tau_leaf_var)
    alpha = None if spec.tau_alpha_prior is None else state.tau_alpha  # None: the compiled default
    tails = state.tau_tails
    if spec.tau.tail_dof is None:
        tau, tau_nodes, residual, accepted = sweep(k_tau, state.tau, state.tau_nodes, residual, tau_data,
                                                   state.sigma2, spec.tau, prior_only=spec.prior_only, alpha=alpha)
    else:  # Student-t leaves: the sweep, then every leaf's tail scale given its values (leaves.py)
        (tau, tau_nodes, residual, accepted), tails = sweep_student(
            k_tau, state.tau, state.tau_nodes, residual, tau_data, state.sigma2, spec.tau, tails,
            prior_only=spec.prior_only, alpha=alpha)
        tails = draw_tail_scales(jax.random.fold_in(k_tau_var, 1), tau, state.tau_leaf_var, spec.tau.tail_dof)
    tau_alpha, tau_leaf_var, tau_fit = state.tau_alpha, state.tau_leaf_var, state.tau_fit
    if spec.tau_alpha_prior is not None:
        tau_alpha = jnp.where(sample_scales, draw_alpha(k_alpha, tau, data.tau_bins, spec.tau.beta, spec.tau.depth,
                                                        spec.tau_alpha_prior), tau_alpha)
    if spec.leaf_scale_shape is not None:
        tau_leaf_var = jnp.where(sample_scales, draw_leaf_variance(k_tau_var, tau, data.tau_prior_var,
                                                                   spec.leaf_scale_shape, tails), tau_leaf_var)
    if spec.rescales:
        tau_fit = tau_fit + (before_tau - residual)
        tau, tau_leaf_var, tau_fit, residual = _rescale(k_tau_scale, tau, tau_leaf_var, tau_fit, residual, data.arm,
                                                        data, state.sigma2, data.tau_prior_var, spec, sample_scales)
    return state._replace(tau0=tau0, tau=tau, tau_nodes=tau_nodes, residual=residual, tau_alpha=tau_alpha,
                          tau_leaf_var=tau_leaf_var, tau_fit=tau_fit, tau_tails=tails), accepted


def _rescale(key, forest, leaf_var, fit, residual, column, data, sigma2, prior_mean, spec, sample_scales):
    """``rescale.rescale_forest`` while leaf variances are sampled; a step of 0 (no change) before."""
    forest, leaf_var, fit, residual, _ = rescale_forest(
        key, forest, leaf_var, fit, residual, column, data.weight, sigma2, prior_mean, spec.leaf_scale_shape,
        prior_only=spec.prior_only, step=jnp.where(sample_scales, STEP, 0.0))
    return forest, leaf_var, fit, residual


def _intercept(key: jax.Array, tau0: jax.Array, residual: jax.Array, data: ChannelData, sigma2: jax.Array,
               spec: ChannelSpec) -> tuple[jax.Array, jax.Array]:
    if not spec.treatment_intercept:
        return tau0, residual
    return draw_intercept(key, tau0, residual, data.arm, data.weight, sigma2, data.tau0_prior_var,
                          prior_only=spec.prior_only)


def warm_step(key: jax.Array, state: ChannelState, data: ChannelData, spec: ChannelSpec) -> ChannelState:
    """One grow-from-root iteration: [latent draw] -> regrow every mu tree -> [treatment intercept] ->
    every tau tree -> [sigma2].

    Leaf variances stay at their starting values: a warm start places the trees, the MCMC after it
    samples everything."""
    k_latent, k_mu, k_tau, k_sigma = jax.random.split(key, 4)
    k_tau0 = jax.random.fold_in(key, 4)
    latent, residual = spec.family.before_sweeps(k_latent, state.latent, state.residual, data.target)
    zeros = jnp.zeros_like(data.arm)
    before_mu = residual
    mu, mu_nodes, residual = grow_from_root_sweep(
        k_mu, state.mu, state.mu_nodes, residual,
        SweepData(data.bins, zeros, data.weight, data.mu_bins, state.mu_leaf_var), state.sigma2, spec.mu)
    mu_fit = state.mu_fit + (before_mu - residual)
    tau0, residual = _intercept(k_tau0, state.tau0, residual, data, state.sigma2, spec)
    tau, tau_nodes, residual = grow_from_root_sweep(
        k_tau, state.tau, state.tau_nodes, residual,
        SweepData(data.bins, data.arm, data.weight, data.tau_bins, state.tau_leaf_var), state.sigma2, spec.tau)
    sigma2 = spec.family.after_sweeps(k_sigma, residual, data.weight, state.sigma2, data.nu, data.lam)
    return state._replace(mu=mu, tau=tau, mu_nodes=mu_nodes, tau_nodes=tau_nodes, latent=latent,
                          residual=residual, sigma2=sigma2, mu_fit=mu_fit, tau0=tau0)
