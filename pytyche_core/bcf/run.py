"""Running a channel: the host loop over blocks of jitted iterations, draws back to the host.

The outcome's transform and prior scaling are the family's (``families.py``),
the random numbers the generator's (``rng.py``). ``init_state`` builds one
chain's state, ``models.step`` advances it, and this module owns the loop: a jitted block of
``chunk * thin`` iterations (a ``lax.scan`` per chain; the chains side by side as ``chains.py``
places them: one per CPU core, or ``vmap``-ed on one device) that returns ``chunk`` kept draws, called
repeatedly from the host so device memory stays bounded and progress can be
shown. One compilation serves burn-in and sampling.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from scipy import stats

from .buckets import bucket_size, pad_rows
from .chains import chain_mesh, constrain, over_chains, place
from .config import BCFConfig
from .depth_prior import alpha_log_prior
from .families import OutcomeFamily
from .forest import empty_forest
from .models import (
    Acceptance,
    ChannelData,
    ChannelSpec,
    ChannelState,
    fits,
    refresh_residual,
    step,
    warm_step,
)
from .rng import channel_key
from .stored import StoredForests
from .sweep import ForestPrior


@dataclasses.dataclass(frozen=True)
class ChannelInputs:
    """Host arrays of one channel.

    ``bins`` uint8 [p, n]; ``n_bins`` [p]; ``arm`` int [n] (0 = control);
    ``target`` float [n] (the outcome as the family reads it: 0/1 for probit); ``weight`` float [n]
    (1 = in the likelihood, 0 = carried along for prediction only);
    ``tau_allowed`` bool [p] (False for reserved design columns); ``family`` the outcome family.
    """

    bins: np.ndarray
    n_bins: np.ndarray
    arm: np.ndarray
    n_arms: int
    target: np.ndarray
    weight: np.ndarray
    tau_allowed: np.ndarray
    family: OutcomeFamily


class PriorDraws(NamedTuple):
    """The sampled prior settings of every kept draw, on the model scale (host arrays, chains first).

    ``mu_leaf_var`` [chains, draws] and ``tau_leaf_var`` [chains, draws, K-1] are the forests' leaf
    variances (constant when ``sample_leaf_scales`` is off), ``tau_alpha`` [chains, draws] the
    treatment forest's depth-prior alpha (constant unless ``tau_alpha_concentration`` is set).
    They show how much heterogeneity the posterior allows, and mix more slowly than the effects:
    ``posterior.inference_data`` puts them beside the effects for R-hat and ESS."""

    mu_leaf_var: np.ndarray
    tau_leaf_var: np.ndarray
    tau_alpha: np.ndarray


@dataclasses.dataclass(frozen=True)
class ChannelDraws:
    """Posterior draws of one channel on the original scale, chains first.

    ``mu`` [chains, draws, n] includes the offset; ``tau`` [chains, draws, n, K-1]
    are the arm-vs-control contrasts on the linear-predictor scale;
    ``sigma2`` [chains, draws] (1 for probit).
    """

    mu: np.ndarray
    tau: np.ndarray
    sigma2: np.ndarray
    forests: StoredForests  # the trees of every kept draw, to predict for new visitors
    centre: float           # outcome = centre + scale * model scale
    scale: float
    offset: float           # model-scale intercept (probit: Phi^-1 of the observed rate)
    acceptance: Acceptance  # mu, tau: [blocks] mean acceptance of each forest's moves per block
    seconds: float
    priors: PriorDraws      # the sampled leaf variances and depth-prior alpha per kept draw


def _spec(config: BCFConfig, family: OutcomeFamily, prior_only: bool = False) -> ChannelSpec:
    return ChannelSpec(
        mu=ForestPrior(config.max_depth, config.mu_alpha, config.mu_beta, float(config.min_leaf_size),
                       config.change_probability),
        tau=ForestPrior(config.max_depth, config.tau_alpha, config.tau_beta, float(config.min_leaf_size),
                        config.change_probability, config.tau_leaf_dof),
        family=family, prior_only=prior_only,
        leaf_scale_shape=config.leaf_scale_shape if config.sample_leaf_scales else None,
        treatment_intercept=config.treatment_intercept,
        tau_alpha_prior=None if config.tau_alpha_concentration is None
        else alpha_log_prior(config.tau_alpha, config.tau_alpha_concentration),
        rescale_leaves=config.rescale_leaves, tau_sweeps=config.tau_sweeps)


def _device_data(inputs: ChannelInputs, config: BCFConfig) -> tuple[ChannelData, float, float]:
    """Device arrays plus the (centre, scale) that maps the model scale back to the outcome."""
    w = inputs.weight.astype(np.float64)
    if w.sum() <= 0:
        raise ValueError("no visitor carries weight in this channel. Fix: pass data with at least one outcome.")
    k = inputs.n_arms
    scaled = inputs.family.model_scale(inputs.target.astype(np.float64), w, config)
    centre, scale, offset, target = scaled.centre, scaled.scale, scaled.offset, scaled.target
    mu_var = config.mu_leaf_scale * scaled.mu_var
    tau_var = config.tau_leaf_scale * scaled.tau_var
    nu = config.sigma_nu
    lam = stats.chi2.ppf(1.0 - config.sigma_quantile, nu) / nu  # P(sigma2 < 1) = quantile, target sd 1
    tau_bins = np.where(inputs.tau_allowed, inputs.n_bins, 1)
    data = ChannelData(
        bins=jnp.asarray(inputs.bins, jnp.uint8), arm=jnp.asarray(inputs.arm, jnp.int32),
        weight=jnp.asarray(w, jnp.float32), target=jnp.asarray(target, jnp.float32),
        offset=jnp.float32(offset), mu_bins=jnp.asarray(inputs.n_bins, jnp.int32),
        tau_bins=jnp.asarray(tau_bins, jnp.int32), mu_prior_var=jnp.asarray([mu_var], jnp.float32),
        tau_prior_var=jnp.asarray([0.0] + [tau_var] * (k - 1), jnp.float32),
        tau0_prior_var=jnp.asarray([0.0] + [config.treatment_intercept_var] * (k - 1), jnp.float32),
        nu=jnp.float32(nu), lam=jnp.float32(lam))
    return data, centre, scale


def _node_dtype(depth: int):
    return jnp.uint8 if 2 ** (depth + 1) <= 256 else jnp.int16


def init_state(key: jax.Array, data: ChannelData, config: BCFConfig, n_arms: int,
               family: OutcomeFamily) -> ChannelState:
    """Every tree a root at 0; the family's starting latent (probit: utilities given the offset)."""
    n = data.target.shape[0]
    latent = family.start(key, data.offset, data.target)
    dtype = _node_dtype(config.max_depth)
    tau = empty_forest(config.tau_trees, config.max_depth, n_arms)
    return ChannelState(
        mu=empty_forest(config.mu_trees, config.max_depth, 1),
        tau=tau,
        mu_nodes=jnp.ones((config.mu_trees, n), dtype), tau_nodes=jnp.ones((config.tau_trees, n), dtype),
        latent=latent, residual=latent - data.offset, sigma2=jnp.float32(1.0), mu_fit=jnp.zeros(n, jnp.float32),
        mu_leaf_var=data.mu_prior_var, tau_leaf_var=data.tau_prior_var,
        tau0=jnp.zeros(n_arms, jnp.float32), tau_alpha=jnp.float32(config.tau_alpha), tau_fit=jnp.zeros(n, jnp.float32),
        tau_tails=None if config.tau_leaf_dof is None else jnp.ones(tau.leaf.shape[:2], jnp.float32))  # per slot


@functools.partial(jax.jit, static_argnames=("config", "n_arms", "family", "mesh"))
def _init_states(key: jax.Array, data: ChannelData, *, config: BCFConfig, n_arms: int,
                 family: OutcomeFamily, mesh) -> ChannelState:
    """Every chain's starting state, compiled (run op by op, its few dozen small ops cost seconds)
    and made where the chains run (split on the host, each array would compile its own slice)."""
    states = jax.vmap(lambda k: init_state(k, data, config, n_arms, family))(jax.random.split(key, config.chains))
    return constrain(states, mesh, batched=True)


def _no_fits(state: ChannelState) -> tuple[jax.Array, jax.Array]:
    """Zeros shaped like ``fits(state)``: what a burn-in block returns."""
    n = state.mu_fit.shape[0]
    return jnp.zeros(n, jnp.float32), jnp.zeros((n, state.tau.leaf.shape[-1] - 1), jnp.float32)


def _iteration_keys(key: jax.Array, chunk: int, thin: int, n_chains: int) -> jax.Array:
    """Every iteration's key per chain, [chains, chunk, thin]: a key per kept draw, per thinned
    iteration within it, then per chain.

    ``lax.map``, not ``vmap``: a batched split draws every child from the first key's stream
    (JAX's batching rule for the generator op), which would tie the keys to how they are batched."""
    per_iteration = jax.lax.map(lambda k: jax.random.split(k, thin), jax.random.split(key, chunk))
    per_chain = jax.lax.map(lambda ks: jax.lax.map(lambda k: jax.random.split(k, n_chains), ks), per_iteration)
    return jnp.moveaxis(per_chain, 2, 0)


def _chain_block(state: ChannelState, keys: jax.Array, data: ChannelData, keep: jax.Array,
                 sample_scales: jax.Array, spec: ChannelSpec):
    """One chain's block: ``keys`` [chunk, thin] -> its state, ``chunk`` kept draws, mean acceptance."""
    state = refresh_residual(state, data)

    def one_draw(state, draw_keys):
        state, acceptance = jax.lax.scan(lambda s, k: step(k, s, data, spec, sample_scales), state, draw_keys)
        mu, tau = jax.lax.cond(keep, fits, _no_fits, state)
        priors = (state.mu_leaf_var[0], state.tau_leaf_var[1:], state.tau_alpha)  # control column dropped
        kept = (mu, tau, state.sigma2, priors, state.mu, state.tau, state.tau0)
        return state, (kept, jax.tree.map(lambda a: a.mean(axis=0), acceptance))  # over thin

    state, (kept, acceptance) = jax.lax.scan(one_draw, state, keys)
    return state, kept, jax.tree.map(lambda a: a.mean(axis=0), acceptance)


@functools.partial(jax.jit, static_argnames=("spec", "chunk", "thin", "mesh"), donate_argnums=(0,))
def _block(states: ChannelState, block_keys: jax.Array, b: jax.Array, data: ChannelData, keep: jax.Array,
           sample_scales: jax.Array, *, spec: ChannelSpec, chunk: int, thin: int, mesh):
    """Block ``b``: ``chunk * thin`` iterations of every chain from ``block_keys[b]``; returns the
    states, ``chunk`` kept draws per chain (chains first; zeros unless ``keep``: burn-in blocks skip
    computing them, with the same compiled code) and each chain's mean acceptance.

    All blocks' keys go in at once and are indexed here: slicing them on the host compiles a
    slice per block in every new process."""
    keys = _iteration_keys(block_keys[b], chunk, thin, states.sigma2.shape[0])
    run = over_chains(functools.partial(_chain_block, spec=spec), mesh, (True, True, False, False, False))
    return run(states, keys, data, keep, sample_scales)


@functools.partial(jax.jit, static_argnames=("spec", "sweeps", "mesh"), donate_argnums=(0,))
def _warm_start(states: ChannelState, key: jax.Array, data: ChannelData, *, spec: ChannelSpec,
                sweeps: int, mesh) -> ChannelState:
    """``sweeps`` grow-from-root iterations of every chain (each chain its own random stream)."""
    n_chains = states.sigma2.shape[0]
    keys = jnp.moveaxis(jax.lax.map(lambda k: jax.random.split(k, n_chains), jax.random.split(key, sweeps)), 1, 0)

    def one_chain(state, keys, data):
        return jax.lax.scan(lambda s, k: (warm_step(k, s, data, spec), None), state, keys)[0]

    return over_chains(one_chain, mesh, (True, True, False))(states, keys, data)


def scale_hold_blocks(config: BCFConfig) -> int:
    """Blocks of burn-in whose leaf variances and alpha stay at their prior values.

    From the empty start every leaf is near 0 and a variance sampled from them would follow them
    down and stay there, so they are held through half the burn-in, or through the first
    ``config.hold_scales`` iterations (whole blocks) where that is set and shorter."""
    per_block = config.chunk * config.thin
    half = -(-config.burn_in // per_block) // 2
    return half if config.hold_scales is None else min(-(-config.hold_scales // per_block), half)


def run_channel(inputs: ChannelInputs, config: BCFConfig, key: jax.Array, *, progress: bool = False,
                label: str = "fit", prior_only: bool = False) -> ChannelDraws:
    """Burn in and sample ``config.chains`` chains of one channel; draws come back on the host."""
    started = time.perf_counter()
    n_visitors = inputs.target.shape[0]
    if config.pad_to_buckets:
        inputs = pad_rows(inputs, bucket_size(n_visitors))
    data, centre, scale = _device_data(inputs, config)
    spec = _spec(config, inputs.family, prior_only)
    k_init, k_run = jax.random.split(channel_key(key))
    mesh = chain_mesh(config.chains)
    states = _init_states(k_init, data, config=config, n_arms=inputs.n_arms, family=inputs.family, mesh=mesh)
    data = place(data, mesh, batched=False)
    if config.warm_start > 0 and not prior_only:
        states = _warm_start(states, jax.random.fold_in(k_init, 1), data, spec=spec, sweeps=config.warm_start,
                             mesh=mesh)
    per_block = config.chunk * config.thin
    burn_blocks = -(-config.burn_in // per_block)
    draw_blocks = -(-config.draws // config.chunk)
    n = inputs.target.shape[0]
    mu = np.empty((config.chains, draw_blocks * config.chunk, n), np.float32)
    tau = np.empty((config.chains, draw_blocks * config.chunk, n, inputs.n_arms - 1), np.float32)
    sigma2 = np.empty((config.chains, draw_blocks * config.chunk), np.float32)
    priors = PriorDraws(*(np.empty((config.chains, draw_blocks * config.chunk, *extra), np.float32)
                          for extra in ((), (inputs.n_arms - 1,), ())))
    forests = StoredForests.allocate(config, inputs.n_arms, draw_blocks * config.chunk)
    acceptance = []
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=(burn_blocks + draw_blocks) * per_block, desc=label, unit="it")
    block_keys = jax.random.split(k_run, burn_blocks + draw_blocks)
    hold_blocks = scale_hold_blocks(config)
    for b in range(burn_blocks + draw_blocks):
        sample_scales = np.bool_(b >= hold_blocks)
        states, kept, acc = _block(states, block_keys, np.int32(b), data, np.bool_(b >= burn_blocks),
                                   sample_scales, spec=spec, chunk=config.chunk, thin=config.thin, mesh=mesh)
        acceptance.append((float(acc.mu.mean()), float(acc.tau.mean())))  # over chains
        if b >= burn_blocks:
            lo = (b - burn_blocks) * config.chunk
            mu[:, lo:lo + config.chunk], tau[:, lo:lo + config.chunk], sigma2[:, lo:lo + config.chunk] = (
                np.asarray(x) for x in kept[:3])  # [chains, chunk, ...]
            for stored, values in zip(priors, kept[3], strict=True):
                stored[:, lo:lo + config.chunk] = np.asarray(values)
            forests.store(slice(lo, lo + config.chunk), *kept[4:])
        if bar is not None:
            bar.update(per_block)
    if bar is not None:
        bar.close()
    keep = slice(0, config.draws)
    offset = float(data.offset)
    mu = centre + scale * (offset + mu[:, keep, :n_visitors])  # padding rows dropped
    tau = scale * tau[:, keep, :n_visitors]
    sigma2 = scale**2 * sigma2[:, keep]
    return ChannelDraws(mu=mu.astype(np.float32), tau=tau.astype(np.float32), sigma2=sigma2.astype(np.float32),
                        forests=forests.first(config.draws), centre=centre, scale=scale, offset=offset,
                        acceptance=Acceptance(*np.array(acceptance, np.float32).reshape(-1, 2).T),
                        seconds=time.perf_counter() - started,
                        priors=PriorDraws(*(values[:, keep] for values in priors)))
