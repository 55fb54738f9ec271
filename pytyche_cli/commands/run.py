"""``pytyche run``: a simulated sequential experiment through the Dagster round pipeline into the store.

The work is ``pytyche_pipelines.main`` (the same job as ``python3 tasks.py
run``), imported only when this command runs. Options left out keep that
job's defaults, which come from the first experiment of experiments.yaml.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

import click

from ..errors import CliFailure, CliUsageError
from ..options import store_option, store_path
from ..output import print_json
from .base import command
from .simulate import check_choices

#: Fit settings passed through to the pipeline's job when given.
FIT_OPTIONS = ("mu_trees", "tau_trees", "burn_in", "draws", "chains", "n_bootstrap")


def job_arguments(options: dict, store: str) -> list[str]:
    """The pipeline job's command line for the options that were given (None: the job's default)."""
    argv = ["--duckdb", store]
    for name, value in options.items():
        if value is None or value is False:
            continue
        flag = f"--{name.replace('_', '-')}"
        argv += [flag] if value is True else [flag, str(value)]
    return argv


def dagster_home_for(store: str) -> Path:
    """DAGSTER_HOME as ``tasks.py`` sets it: $DAGSTER_HOME, else ``dagster_home`` beside the store."""
    return Path(os.environ.get("DAGSTER_HOME") or Path(store).resolve().parent / "dagster_home").resolve()


def _user_error(error: BaseException) -> BaseException:
    """The error a failed step raised, not Dagster's wrapper around it (so it is reported as itself)."""
    inner = getattr(error, "user_exception", None)
    return inner if isinstance(inner, BaseException) else error


def _run_job(argv: list[str], quiet_stdout: bool) -> int:
    from pytyche_pipelines.main import main as job_main

    redirect = contextlib.redirect_stdout(sys.stderr) if quiet_stdout else contextlib.nullcontext()
    try:
        with redirect:
            return job_main(argv)
    except SystemExit as stop:  # argparse refusing an option the checks above let through
        raise CliUsageError(f"the pipeline refused the options {argv}. Fix: see `pytyche run --help`.") from stop
    except Exception as error:
        inner = _user_error(error)
        if inner is error:
            raise
        raise inner from error


def _summary(store: str, experiment_id: str | None) -> dict:
    from pytyche_core.store import round_summary
    from pytyche_pipelines.experiments import load_experiments

    from .plan import plan_from_store

    experiment = experiment_id or load_experiments()[0].experiment_id
    _, plan_json, _, key = plan_from_store(store, experiment, None)
    rounds = round_summary(store, experiment)
    return {"store": store, "dagster_home": os.environ.get("DAGSTER_HOME"), "experiment_id": experiment,
            "summary": rounds.to_dict(orient="records"), "last_round": key, "next_plan": plan_json}


@command("run", short_help="A sequential experiment through the Dagster pipeline into the store.")
@click.option("--experiment-id", default=None, help="Default: the first experiment of experiments.yaml.")
@click.option("--scenario", default=None, help="A catalog scenario (default from experiments.yaml).")
@click.option("-k", "--arms", type=int, default=None, help="Arms, control included (2 to 5).")
@click.option("--metric", default=None, help="revenue_per_visitor or conversion_rate.")
@click.option("--profile", default=None, help="realistic or stress.")
@click.option("--rounds", type=click.IntRange(min=1), default=None, help="Rounds to run (default 3).")
@click.option("--visitors-per-round", type=click.IntRange(min=1), default=None)
@click.option("--full-size", is_flag=True, help="The canonical rounds of 50k, 100k and 200k visitors (long on CPU).")
@click.option("--seed", type=click.IntRange(min=0), default=None)
@store_option
@click.option("--mu-trees", type=click.IntRange(min=1), default=None)
@click.option("--tau-trees", type=click.IntRange(min=1), default=None)
@click.option("--burn-in", type=click.IntRange(min=0), default=None)
@click.option("--draws", type=click.IntRange(min=1), default=None)
@click.option("--chains", type=click.IntRange(min=1), default=None)
@click.option("--bootstrap", "n_bootstrap", type=click.IntRange(min=0), default=None,
              help="Bootstrap refits for segment stability.")
@click.option("--json", "as_json", is_flag=True,
              help="Print the per-round summary and the next plan as JSON (the job's own output goes to stderr).")
def run(experiment_id, scenario, arms, metric, profile, rounds, visitors_per_round, full_size, seed, store,
        mu_trees, tau_trees, burn_in, draws, chains, n_bootstrap, as_json) -> None:
    """Run rounds of a simulated adaptive experiment through the Dagster round loop.

    Each round is one Dagster run (recorded under DAGSTER_HOME, so `pytyche
    ui` shows it): assignment by the previous round's plan, the fit on every
    round so far, segments, the next plan and the score against the truth,
    all written to the store. Then the per-round summary and the next plan.
    """
    check_choices(scenario, arms, metric, profile, scenario_option="--scenario")
    store = store_path(store)
    if not Path(store).resolve().parent.is_dir():
        raise CliFailure(f"the store's folder {str(Path(store).resolve().parent)!r} does not exist. "
                         "Fix: create it, or pass another --store.")
    # As tasks.py does: the job, its assets and a later `pytyche ui` agree on the instance and the store.
    os.environ["DAGSTER_HOME"] = str(dagster_home_for(store))
    os.environ["PYTYCHE_DUCKDB"] = str(store)
    options = {"experiment_id": experiment_id, "scenario": scenario, "arms": arms, "metric": metric,
               "profile": profile, "rounds": rounds, "visitors_per_round": visitors_per_round,
               "full_size": full_size, "seed": seed,
               **dict(zip(FIT_OPTIONS, (mu_trees, tau_trees, burn_in, draws, chains, n_bootstrap), strict=True))}
    code = _run_job(job_arguments(options, store), quiet_stdout=as_json)
    if code != 0:
        raise CliFailure(f"the pipeline job stopped with exit code {code} (see the line above). Fix: open the "
                         "failed run in the Dagster UI (pytyche ui) for its logs, then rerun.")
    if as_json:
        print_json(_summary(store, experiment_id))


__all__ = ["dagster_home_for", "job_arguments", "run"]
