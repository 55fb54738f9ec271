"""``pt.fit``: observed experiment data -> a fitted BCF result of the right kind.

The model follows the metric's family: revenue per visitor -> hurdle
(probit conversion x log-normal order value), conversion -> probit BCF; any
metric may be fit as a plain Gaussian BCF on ``revenue`` with
``model="continuous"``.
"""

from __future__ import annotations

import dataclasses

import jax
import numpy as np

from ..bcf.compile_cache import use_default_compilation_cache
from ..bcf.config import BCFConfig
from ..bcf.design import ModelDesign, build_design
from ..bcf.families import GAUSSIAN, LOGNORMAL, PROBIT, OutcomeFamily
from ..bcf.run import ChannelDraws, ChannelInputs, run_channel
from ..bcf.stored import predict_forests
from ..contracts import MetricFamily, ObservedExperimentData
from ..validation import validate_observed_data
from .channels import ChannelFits
from .fit_info import FitInfo
from .fit_inputs import check_arms_have_visitors, check_no_outcome_copies, select_features
from .results import BinaryBCFResult, ContinuousBCFResult, HurdleBCFResult

_MODELS = {MetricFamily.HURDLE_REAL: "hurdle", MetricFamily.BINARY: "binary", MetricFamily.CONTINUOUS: "continuous"}


def _run_on_rows(design: ModelDesign, rows: np.ndarray, arm: np.ndarray, n_arms: int, target: np.ndarray,
                 family: OutcomeFamily, config: BCFConfig, key: jax.Array, progress: bool,
                 label: str) -> ChannelDraws:
    """Sample on the visitors ``rows`` only, then give every visitor its draws.

    Visitors outside the likelihood (non-converters for order value, other
    arms under independent pooling) are not carried through the sweeps: their
    draws come from the stored forests afterwards, one traversal per kept
    draw, which is far cheaper than updating them every iteration.
    """
    every = rows.size == design.n_visitors
    inputs = ChannelInputs(bins=design.binned.bins[:, rows], n_bins=design.binned.n_bins, arm=arm[rows],
                           n_arms=n_arms, target=target[rows].astype(np.float32),
                           weight=np.ones(rows.size, np.float32), tau_allowed=design.tau_allowed, family=family)
    draws = run_channel(inputs, config, key, progress=progress, label=label)
    if every:
        return draws
    mu, tau = predict_forests(draws.forests, design.binned.bins)
    return dataclasses.replace(draws, mu=(draws.centre + draws.scale * (draws.offset + mu)).astype(np.float32),
                               tau=(draws.scale * tau).astype(np.float32))


def _channel(design: ModelDesign, target: np.ndarray, in_likelihood: np.ndarray, family: OutcomeFamily,
             pooling: str, config: BCFConfig, key: jax.Array, progress: bool, label: str) -> ChannelFits:
    """One channel: a joint fit over all arms, or one control-vs-arm fit per treatment."""
    if pooling == "joint":
        rows = np.flatnonzero(in_likelihood)
        return ChannelFits((_run_on_rows(design, rows, design.arm, design.n_arms, target, family, config, key,
                                         progress, label),), family)
    fits = []
    for j, k in enumerate(jax.random.split(key, design.n_arms - 1), start=1):
        rows = np.flatnonzero(in_likelihood & ((design.arm == 0) | (design.arm == j)))
        pair_arm = (design.arm == j).astype(np.int32)
        fits.append(_run_on_rows(design, rows, pair_arm, 2, target, family, config, k, progress,
                                 f"{label} ({design.arm_names[j]})"))
    return ChannelFits(tuple(fits), family)


def _check_converters(observed: ObservedExperimentData, positive: np.ndarray, arm: np.ndarray,
                      min_leaf: int) -> None:
    for k, name in enumerate(observed.arm_names):
        if not positive[arm == k].any():
            raise ValueError(f"arm {name!r} has no converter with revenue > 0, so its order-value effect "
                             "cannot be estimated. Fix: collect more data, or fit metric "
                             "'conversion_rate' (model='binary').")
    if positive.sum() < 2 * max(min_leaf, 1):
        raise ValueError(f"only {int(positive.sum())} converters with revenue: too few for the order-value "
                         f"model (minimum leaf size {min_leaf}). Fix: collect more data.")


def fit(observed: ObservedExperimentData, *, pooling: str = "joint", config: BCFConfig | None = None,
        seed: int = 0, progress: bool = False, model: str | None = None, features=None):
    """Fit a BCF to ``observed`` and return its posterior.

    - ``pooling``: ``"joint"`` (one treatment forest whose leaves carry one
      value per treatment, so arms share topology) or ``"independent"`` (a
      control-vs-arm fit per treatment). With one treatment (K = 2) the two
      are the same model and differ only in their random streams.
    - ``config``: sampler settings (``BCFConfig()`` by default).
    - ``seed``: the run is deterministic on CPU for a given seed.
    - ``model``: ``None`` follows the metric (hurdle / binary); ``"continuous"``
      fits a Gaussian BCF to ``revenue``.
    - ``features``: the covariates to use (default: every feature column).
      Without it, a column that is a near-copy of the outcome is refused.

    Returns ``HurdleBCFResult``, ``BinaryBCFResult`` or ``ContinuousBCFResult``.
    Converters with zero revenue (allowed in production data) stay in the
    conversion channel and are left out of the order-value channel, which
    models log revenue; ``result.info.zero_revenue_converters`` counts them.
    """
    validate_observed_data(observed)
    check_arms_have_visitors(observed)
    if features is None:
        check_no_outcome_copies(observed)
    else:
        observed = select_features(observed, features)
    config = BCFConfig() if config is None else config
    if not isinstance(config, BCFConfig):
        raise TypeError(f"fit: config must be a BCFConfig, got {type(config).__name__}")
    if pooling not in ("joint", "independent"):
        raise ValueError(f"fit: pooling must be 'joint' or 'independent', got {pooling!r}")
    model = model or _MODELS[observed.metric_family]
    if model not in ("hurdle", "binary", "continuous"):
        raise ValueError(f"fit: model must be 'hurdle', 'binary' or 'continuous', got {model!r}")
    if model == "hurdle" and observed.metric_family is not MetricFamily.HURDLE_REAL:
        raise ValueError(f"fit: a hurdle model needs a revenue metric, not {observed.metric!r}. "
                         "Fix: use model='binary' for conversion.")
    use_default_compilation_cache()
    design = build_design(observed, config.max_bins, config.min_leaf_size)
    visitors = observed.visitors()
    converted = visitors["converted"].to_numpy(dtype=bool)
    revenue = visitors["revenue"].to_numpy(dtype=np.float64)
    everyone = np.ones(design.n_visitors, dtype=bool)
    k_conv, k_order = jax.random.split(jax.random.PRNGKey(seed))
    device = jax.default_backend()
    if model == "binary":
        conversion = _channel(design, converted.astype(float), everyone, PROBIT, pooling, config, k_conv, progress,
                              "conversion")
        info = FitInfo(pooling, seed, device, {"conversion": sum(f.seconds for f in conversion.fits)})
        return BinaryBCFResult(observed, config, design, info, conversion)
    if model == "continuous":
        outcome = _channel(design, revenue, everyone, GAUSSIAN, pooling, config, k_conv, progress, "outcome")
        info = FitInfo(pooling, seed, device, {"outcome": sum(f.seconds for f in outcome.fits)})
        return ContinuousBCFResult(observed, config, design, info, outcome, "revenue")
    positive = converted & (revenue > 0)
    _check_converters(observed, positive, design.arm, config.min_leaf_size)
    conversion = _channel(design, converted.astype(float), everyone, PROBIT, pooling, config, k_conv, progress,
                          "conversion")
    order = _channel(design, revenue, positive, LOGNORMAL, pooling, config, k_order, progress, "order value")
    info = FitInfo(pooling, seed, device,
                   {"conversion": sum(f.seconds for f in conversion.fits),
                    "order_value": sum(f.seconds for f in order.fits)},
                   zero_revenue_converters=int((converted & ~positive).sum()))
    return HurdleBCFResult(observed, config, design, info, conversion, order)


__all__ = ["fit"]
