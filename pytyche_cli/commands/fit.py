"""``pytyche fit``: observed data -> a fitted BCF posterior in one result file (``result.save``)."""

from __future__ import annotations

import click

from ..files import check_target
from ..output import print_json
from .base import command
from .sources import load_observed

#: BCFConfig fields exposed as options (the rest keep the library's defaults).
CONFIG_OPTIONS = ("burn_in", "draws", "chains", "mu_trees", "tau_trees")


def split_names(values: tuple[str, ...]) -> list[str] | None:
    """``--features a,b --features c`` -> ``["a", "b", "c"]``; None when not given."""
    names = [n.strip() for v in values for n in v.split(",") if n.strip()]
    return names or None


def sampler_config(settings: dict):
    """``BCFConfig`` with the given fields (None: the library's default); it validates them."""
    import pytyche_core as pt

    return pt.BCFConfig(**{name: value for name, value in settings.items() if value is not None})


def fit_summary(result, out: str) -> dict:
    """What the person or script needs to know about a finished fit."""
    observed = result.observed
    info = result.info
    return {"out": out, "experiment_id": observed.experiment_id, "metric": observed.metric,
            "model": result.model, "visitors": observed.n_visitors, "arms": list(observed.arm_names),
            "features": list(observed.feature_names), "draws": result.n_draws,
            "config": {name: getattr(result.config, name) for name in CONFIG_OPTIONS},
            "pooling": info.pooling, "seed": info.seed, "device": info.device,
            "seconds": dict(info.seconds)}


@command("fit", short_help="Fit the BCF to observed data and save the result.")
@click.argument("data", type=click.Path(dir_okay=False))
@click.option("--out", required=True, type=click.Path(dir_okay=False),
              help="The result file to write (.npz); read it with `pytyche analyze` / `plan`.")
@click.option("--experiment-id", default=None,
              help="The experiment to load (needed when DATA holds several).")
@click.option("--round", "rounds", multiple=True, help="Only these round keys (repeatable; default all).")
@click.option("--metric", default=None,
              help="revenue_per_visitor or conversion_rate, for CSV / Parquet (a store records its own).")
@click.option("--control", default=None, help="The control variant of a file (default: 'control').")
@click.option("--features", "features", multiple=True,
              help="Covariates to use, comma-separated or repeated (default: every feature column).")
@click.option("--burn-in", type=click.IntRange(min=0), default=None, help="Burn-in iterations per chain.")
@click.option("--draws", type=click.IntRange(min=1), default=None, help="Kept draws per chain.")
@click.option("--chains", type=click.IntRange(min=1), default=None, help="Chains.")
@click.option("--mu-trees", type=click.IntRange(min=1), default=None, help="Trees of the prognostic forest.")
@click.option("--tau-trees", type=click.IntRange(min=1), default=None, help="Trees of the treatment-effect forest.")
@click.option("--pooling", type=click.Choice(["joint", "independent"]), default="joint", show_default=True,
              help="One effect forest over all arms, or one fit per treatment.")
@click.option("--model", type=click.Choice(["hurdle", "binary", "continuous"]), default=None,
              help="Default: follows the metric (hurdle for revenue, binary for conversion).")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True)
@click.option("--progress/--no-progress", default=True, show_default=True,
              help="Progress bars on stderr while the sampler runs.")
@click.option("--overwrite", is_flag=True, help="Replace an existing result file.")
@click.option("--json", "as_json", is_flag=True, help="Print the fit's summary as JSON.")
def fit(data: str, out: str, experiment_id: str | None, rounds: tuple[str, ...], metric: str | None,
        control: str | None, features: tuple[str, ...], burn_in: int | None, draws: int | None,
        chains: int | None, mu_trees: int | None, tau_trees: int | None, pooling: str, model: str | None,
        seed: int, progress: bool, overwrite: bool, as_json: bool) -> None:
    """Fit the hurdle (or binary) BCF to DATA and save the posterior to --out.

    DATA is a CSV or Parquet file of visitor rows, or a DuckDB store
    (with --experiment-id when it holds several experiments). The fit is
    deterministic on CPU for a given --seed.
    """
    target = check_target(out, overwrite=overwrite, what="--out")  # before the long part
    config = sampler_config({"burn_in": burn_in, "draws": draws, "chains": chains, "mu_trees": mu_trees,
                             "tau_trees": tau_trees})
    observed = load_observed(data, experiment_id=experiment_id, metric=metric, control=control, rounds=rounds)
    import pytyche_core as pt

    result = pt.fit(observed, pooling=pooling, config=config, seed=seed, progress=progress, model=model,
                    features=split_names(features))
    written = result.save(target, overwrite=overwrite)  # written beside, then moved into place
    summary = fit_summary(result, str(written))
    if as_json:
        print_json(summary)
        return
    seconds = sum(summary["seconds"].values())
    click.echo(f"Fitted {summary['model']} BCF on {summary['visitors']:,} visitors, {len(summary['features'])} "
               f"features, {summary['draws']} draws ({summary['device']}, {seconds:.1f} s) -> {written}")
    click.echo(f"Next: pytyche analyze {written}")


__all__ = ["CONFIG_OPTIONS", "fit", "fit_summary", "sampler_config", "split_names"]
