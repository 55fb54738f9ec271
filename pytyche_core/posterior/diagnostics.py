"""Convergence diagnostics of a fitted BCF result (docs/concepts/sampler-math.md §6), as ArviZ sees them.

Tree ensembles mix slowly in topology, so convergence is judged on
summaries, not tree parameters: each Gaussian channel's noise variance
sigma^2, each treatment's average effect over the training visitors, and
the effects of a reproducible random sample of visitors. ``inference_data``
puts them in one ArviZ ``InferenceData`` (arviz 0.x), dims ``(chain, draw,
...)``; ``summarize`` turns it into a table of rank-normalized R-hat and
bulk / tail ESS (Vehtari et al. 2021), plus the sampler's acceptance rates.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..contracts._checks import integer

if TYPE_CHECKING:
    import arviz as az

    from .results import BCFResult

#: The fewest chains and draws per chain for which ArviZ computes R-hat.
MIN_CHAINS = 2
MIN_DRAWS = 4

_COLUMNS = ["variable", "channel", "forest", "treatment", "visitor", "mean", "sd", "r_hat", "ess_bulk",
            "ess_tail", "acceptance"]


def _arviz():
    # ArviZ 0.23 announces its 1.x refactor with a FutureWarning on import; it says nothing about us.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        import arviz
    return arviz


def sample_visitors(n: int, n_visitors: int, seed: int) -> np.ndarray:
    """Sorted row positions of ``min(n_visitors, n)`` distinct visitors drawn with ``seed``."""
    n_visitors = integer("diagnostics", "n_visitors", n_visitors, minimum=0)
    rng = np.random.default_rng(integer("diagnostics", "seed", seed, minimum=0))
    return np.sort(rng.choice(n, size=min(n_visitors, n), replace=False))


def inference_data(result: BCFResult, n_visitors: int = 50, seed: int = 0) -> az.InferenceData:
    """The posterior summaries that convergence is judged on, as an ``InferenceData``.

    Posterior group, all float64 with leading dims ``(chain, draw)``:

    - ``sigma2_<channel>`` ``[chain, draw]`` for each Gaussian channel
      (``order_value``, ``outcome``; families without a sampled noise
      variance, such as probit, have none); ``[chain, draw, treatment]`` under independent pooling, where
      each treatment's fit has its own;
    - ``average_effect`` ``[chain, draw, treatment]``: per draw, the mean over
      training visitors of ``result.cate_samples`` (metric units);
    - ``visitor_effect`` ``[chain, draw, visitor, treatment]`` for
      ``min(n_visitors, n)`` visitors drawn with ``seed`` (coords: visitor
      ids, plus ``row``, their positions in the concatenated visitors);
    - the prior settings the sampler draws, per channel, on its model scale
      (docs/concepts/sampler-math.md §3b, §3d): ``mu_leaf_sd_<channel>``
      ``[chain, draw]`` and ``tau_leaf_sd_<channel>`` ``[chain, draw,
      treatment]`` when ``sample_leaf_scales`` is on, ``tau_alpha_<channel>``
      ``[chain, draw]`` when ``tau_alpha_concentration`` is set. The
      treatment forest's leaf sd is how much heterogeneity the posterior
      allows; these move more slowly than the effects, so their R-hat and
      ESS are the first to read. Under independent pooling each carries a
      trailing ``treatment`` dim (one fit per treatment).
    """
    az = _arviz()
    chains, draws = result.config.chains, result.config.draws
    treatments = list(result.treatment_names)
    posterior: dict[str, np.ndarray] = {}
    dims: dict[str, list[str]] = {}
    for channel, fits in result.channel_fits.items():
        if not fits.family.noise:
            continue
        sigma2 = np.stack([f.sigma2 for f in fits.fits], axis=-1).astype(np.float64)
        if fits.joint:
            posterior[f"sigma2_{channel}"] = sigma2[..., 0]
        else:
            posterior[f"sigma2_{channel}"] = sigma2
            dims[f"sigma2_{channel}"] = ["treatment"]
    for name, values in _prior_draws(result).items():
        posterior[name] = values
        if values.ndim == 3:
            dims[name] = ["treatment"]
    effects = result.cate_samples  # (n, S, K-1), S chain-major
    average = effects.mean(axis=0, dtype=np.float64)
    posterior["average_effect"] = average.reshape(chains, draws, len(treatments))
    dims["average_effect"] = ["treatment"]
    rows = sample_visitors(effects.shape[0], n_visitors, seed)
    coords: dict[str, object] = {"treatment": treatments}
    if rows.size:
        picked = effects[rows].astype(np.float64)  # (m, S, K-1)
        posterior["visitor_effect"] = np.moveaxis(picked, 0, 1).reshape(chains, draws, rows.size, len(treatments))
        dims["visitor_effect"] = ["visitor", "treatment"]
        ids = result.observed.visitors()["visitor_id"].to_numpy()[rows]
        coords["visitor"] = [str(v) for v in ids]
    attrs = {"experiment_id": result.observed.experiment_id, "metric": result.observed.metric,
             "model": result.model, "pooling": result.info.pooling, "seed": int(seed)}
    idata = az.from_dict(posterior=posterior, coords=coords, dims=dims, attrs=attrs)
    if rows.size:
        # The visitors' positions too, so a flagged visitor traces back to its row.
        idata.posterior = idata.posterior.assign_coords(row=("visitor", rows.astype(np.int64)))
    return idata


def _prior_draws(result: BCFResult) -> dict[str, np.ndarray]:
    """The sampled prior settings per channel, float64 [chain, draw(, treatment)]; fixed ones left out."""
    config = result.config
    wanted = []
    if config.sample_leaf_scales:
        wanted += [("mu_leaf_sd", "mu_leaf_var", True), ("tau_leaf_sd", "tau_leaf_var", True)]
    if config.tau_alpha_concentration is not None:
        wanted.append(("tau_alpha", "tau_alpha", False))
    out: dict[str, np.ndarray] = {}
    for channel, fits in result.channel_fits.items():
        for label, field, is_variance in wanted:
            per_fit = [np.asarray(getattr(f.priors, field), dtype=np.float64) for f in fits.fits]
            values = np.sqrt(np.stack(per_fit)) if is_variance else np.stack(per_fit)  # [fits, chain, draw(, 1)]
            if fits.joint:
                values = values[0]  # tau: [chain, draw, K-1] already; mu, alpha: [chain, draw]
            else:  # one fit per treatment, each with one treatment column: treatment last
                values = np.moveaxis(values.reshape(values.shape[:3]), 0, -1)
            out[f"{label}_{channel}"] = values
    return out


def acceptance_table(result: BCFResult) -> pd.DataFrame:
    """Mean Metropolis-Hastings acceptance of tree moves per channel, fit and forest, after burn-in.

    One row per (channel, treatment fit, forest ``mu`` / ``tau``); ``treatment``
    is empty for a joint fit. Rates near 0 mean the trees barely move.
    """
    config = result.config
    burn_blocks = -(-config.burn_in // (config.chunk * config.thin))
    rows = []
    for channel, fits in result.channel_fits.items():
        for j, fit in enumerate(fits.fits):
            for forest in ("mu", "tau"):
                rates = np.asarray(getattr(fit.acceptance, forest), dtype=np.float64)  # [blocks]
                kept = rates[burn_blocks:] if rates.shape[0] > burn_blocks else rates
                rows.append({"variable": "acceptance", "channel": channel, "forest": forest,
                             "treatment": "" if fits.joint else result.treatment_names[j],
                             "acceptance": float(kept.mean())})
    return pd.DataFrame(rows)


#: Per-channel variables of ``inference_data``: name prefix -> the forest it belongs to ("" for none).
_CHANNEL_PREFIXES = {"sigma2_": "", "mu_leaf_sd_": "mu", "tau_leaf_sd_": "tau", "tau_alpha_": "tau"}
#: Name prefixes of the sampled prior settings among them (hyperparameters, not effects).
PRIOR_SETTINGS = tuple(prefix for prefix in _CHANNEL_PREFIXES if prefix != "sigma2_")


def _channel_and_forest(name: str) -> tuple[str, str]:
    for prefix, forest in _CHANNEL_PREFIXES.items():
        if name.startswith(prefix):
            return name.removeprefix(prefix), forest
    return "", ""


def _label(name: str, index: dict[str, str]) -> str:
    return f"{name}[{', '.join(index.values())}]" if index else name


def summarize(idata: az.InferenceData, acceptance: pd.DataFrame | None = None) -> pd.DataFrame:
    """R-hat (rank-normalized), bulk and tail ESS, mean and sd of every posterior scalar.

    One row per scalar (e.g. ``average_effect[treatment_1]``), indexed by
    that label, columns ``variable, channel, forest, treatment, visitor,
    mean, sd, r_hat, ess_bulk, ess_tail, acceptance``; ``acceptance``
    (from ``acceptance_table``) adds one row per forest with only
    ``acceptance`` filled, so ``r_hat.max()`` and ``ess_bulk.min()`` still
    read the worst quantity. R-hat is NaN for a quantity that is constant
    across all draws. Raises ValueError with fewer than 2 chains or 4 draws
    per chain (ArviZ cannot compute R-hat then).
    """
    az = _arviz()
    posterior = idata.posterior
    chains, draws = posterior.sizes["chain"], posterior.sizes["draw"]
    if chains < MIN_CHAINS or draws < MIN_DRAWS:
        raise ValueError(f"R-hat compares chains: it needs at least {MIN_CHAINS} chains of {MIN_DRAWS} draws, "
                         f"this posterior has {chains} chain(s) of {draws} draw(s). Fix: refit with "
                         f"BCFConfig(chains={MIN_CHAINS}, draws={max(draws, MIN_DRAWS)}) or more.")
    stats = {"mean": posterior.mean(("chain", "draw")), "sd": posterior.std(("chain", "draw"), ddof=1),
             "r_hat": az.rhat(idata, method="rank"), "ess_bulk": az.ess(idata, method="bulk"),
             "ess_tail": az.ess(idata, method="tail")}
    rows, labels = [], []
    for name in posterior.data_vars:
        extra = [d for d in posterior[name].dims if d not in ("chain", "draw")]
        channel, forest = _channel_and_forest(name)
        shape = [posterior.sizes[d] for d in extra]
        for position in np.ndindex(*shape):
            where = dict(zip(extra, position, strict=True))
            index = {d: str(posterior[d].values[i]) for d, i in where.items()}
            row = {"variable": name, "channel": channel, "forest": forest, "treatment": index.get("treatment", ""),
                   "visitor": index.get("visitor", "")}
            for stat, values in stats.items():
                row[stat] = float(values[name].isel(where).values)
            rows.append(row)
            labels.append(_label(name, index))
    table = pd.DataFrame(rows, index=pd.Index(labels, name="quantity"))
    if acceptance is not None and len(acceptance):
        extra_labels = [f"acceptance[{r.channel}, {r.forest}" + (f", {r.treatment}]" if r.treatment else "]")
                        for r in acceptance.itertuples()]
        table = pd.concat([table, acceptance.set_axis(pd.Index(extra_labels, name="quantity"))])
    table = table.reindex(columns=_COLUMNS)
    for column in ("variable", "channel", "forest", "treatment", "visitor"):
        table[column] = table[column].fillna("").astype(str)
    return table


__all__ = ["MIN_CHAINS", "MIN_DRAWS", "PRIOR_SETTINGS", "acceptance_table", "inference_data", "sample_visitors", "summarize"]
