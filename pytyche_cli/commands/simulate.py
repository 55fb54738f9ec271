"""``pytyche simulate``: a simulated experiment's observed data, written as Parquet, CSV or a DuckDB store."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import CliFailure, CliUsageError
from ..files import atomic_path, check_target
from ..output import number, print_json, table
from .base import command

FILE_SUFFIXES = (".parquet", ".csv")
STORE_SUFFIXES = (".duckdb",)


def check_choices(name: str | None, arms: int | None, metric: str | None, profile: str | None, *,
                  scenario_option: str = "SCENARIO") -> None:
    """A wrong scenario name or setting is a usage error that lists the choices (None: not given)."""
    from pytyche_core.simulate import PROFILES, SCENARIO_NAMES
    from pytyche_core.simulate.scenarios.build import ARM_COUNTS, METRICS

    for option, value, allowed in ((scenario_option, name, SCENARIO_NAMES), ("--arms", arms, ARM_COUNTS),
                                   ("--metric", metric, METRICS), ("--profile", profile, tuple(PROFILES))):
        if value is not None and value not in allowed:
            raise CliUsageError(f"{option}: unknown value {value!r}. Fix: use one of "
                                f"{', '.join(str(a) for a in allowed)}.")


def _scenario(name: str, arms: int, metric: str, profile: str):
    from pytyche_core.simulate import scenario

    check_choices(name, arms, metric, profile)
    return scenario(name, k=arms, metric=metric, profile=profile)


def _arm_rows(observed) -> list[dict]:
    """Per arm: visitors, the share who converted, mean revenue per visitor (what was observed)."""
    visitors = observed.visitors()
    grouped = visitors.groupby("variant", sort=False, observed=True)
    return [{"arm": arm, "visitors": int(len(rows)), "conversion_rate": float(rows["converted"].mean()),
             "revenue_per_visitor": float(rows["revenue"].mean())}
            for arm, rows in ((a, grouped.get_group(a)) for a in observed.arm_names)]


def _check_store_round(store: Path, experiment_id: str, round_key: str, overwrite: bool) -> None:
    """Refuse to replace a stored round unless asked: ``write_round`` would replace it silently."""
    from pytyche_core.store import ExperimentNotFoundError, stored_round_keys

    try:
        keys = stored_round_keys(store, experiment_id)
    except ExperimentNotFoundError:
        return
    if round_key in keys and not overwrite:
        raise CliFailure(f"{store} already holds round {round_key!r} of experiment {experiment_id!r}. "
                         "Fix: pass --overwrite to replace it, or another --round-key / --experiment-id.")


def _write_store(observed, truth, store: Path, round_key: str, overwrite: bool) -> None:
    from pytyche_core.store import write_round

    def write(path: Path) -> None:
        write_round(path, observed, round_key=round_key, run_id="pytyche-cli-simulate",
                    code_version=_code_version(), truth=truth)

    if store.exists():  # an existing store: the round lands in one transaction, or not at all
        _check_store_round(store, observed.experiment_id, round_key, overwrite)
        write(store)
        return
    with atomic_path(store) as temporary:
        write(temporary)


def _code_version() -> str:
    from pytyche_core import __version__

    return __version__


def _write_file(observed, target: Path) -> None:
    frame = observed.visitors()
    with atomic_path(target) as temporary:
        if target.name.lower().endswith(".parquet"):
            frame.to_parquet(temporary, index=False)
        else:
            frame.to_csv(temporary, index=False)


@command("simulate", short_help="Simulate an experiment and write its observed data.")
@click.argument("scenario_name", metavar="SCENARIO")
@click.option("-k", "--arms", type=int, default=2, show_default=True, help="Arms, control included (2 to 5).")
@click.option("--profile", default="realistic", show_default=True, help="Effect sizes: realistic or stress.")
@click.option("--metric", default="revenue_per_visitor", show_default=True,
              help="revenue_per_visitor or conversion_rate.")
@click.option("--visitors", type=click.IntRange(min=1), default=10_000, show_default=True,
              help="Visitors in the experiment.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True)
@click.option("--experiment-id", default=None, help="Default: the scenario's label, e.g. reversal-k2-...-realistic.")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False),
              help="Where to write: .parquet or .csv (observed visitors), or .duckdb (a store round, with truth).")
@click.option("--round-key", default="round-1", show_default=True, help="The round's key in a .duckdb store.")
@click.option("--overwrite", is_flag=True, help="Replace an existing file (or the same round in a store).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def simulate(scenario_name: str, arms: int, profile: str, metric: str, visitors: int, seed: int,
             experiment_id: str | None, out: str, round_key: str, overwrite: bool, as_json: bool) -> None:
    """Simulate SCENARIO (a catalog template such as reversal, clustered, constant) and write what was observed.

    The observed visitors (arm, conversion, revenue, features and recorded
    assignment probabilities) go to OUT; the truth stays out of Parquet and
    CSV files and is kept beside the data in a DuckDB store (for scoring).
    Load either with `pytyche fit`.
    """
    suffixes = FILE_SUFFIXES + STORE_SUFFIXES
    is_store = out.lower().endswith(STORE_SUFFIXES)
    # An existing store receives a round; any other existing file needs --overwrite.
    target = check_target(out, overwrite=overwrite or (is_store and Path(out).is_file()), suffixes=suffixes)
    if experiment_id is not None and not experiment_id.strip():
        raise CliUsageError("--experiment-id: empty. Fix: pass a name, or omit it for the scenario's label.")
    chosen = _scenario(scenario_name, arms, metric, profile)
    import pytyche_core as pt

    observed, truth = pt.simulate(chosen.config(visitors, seed=seed, experiment_id=experiment_id))
    if is_store:
        _write_store(observed, truth, target, round_key, overwrite)
    else:
        _write_file(observed, target)
    summary = {"out": str(target), "format": "duckdb" if is_store else target.suffix.lstrip(".").lower(),
               "experiment_id": observed.experiment_id, "scenario": chosen.label, "metric": observed.metric,
               "seed": seed, "visitors": observed.n_visitors, "round_key": round_key if is_store else None,
               "truth_stored": is_store, "arms": _arm_rows(observed)}
    if as_json:
        print_json(summary)
        return
    click.echo(f"Simulated {observed.n_visitors:,} visitors of {chosen.label} (seed {seed}) -> {target}"
               + (f" (round {round_key!r}, truth kept)" if is_store else ""))
    click.echo(table(["arm", "visitors", "converted", "revenue/visitor"],
                     [[r["arm"], f"{r['visitors']:,}", number(r["conversion_rate"]), number(r["revenue_per_visitor"])]
                      for r in summary["arms"]]))
    metric_hint = "" if is_store or metric == "revenue_per_visitor" else f" --metric {metric}"
    experiment_hint = f" --experiment-id {observed.experiment_id}" if is_store else ""
    click.echo(f"Next: pytyche fit {target}{experiment_hint}{metric_hint} --out fit.npz")


__all__ = ["check_choices", "simulate"]
