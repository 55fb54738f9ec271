"""Shared state of the CLI tests: one simulated data file, one tiny fit, one store with a planned round.

The fit is made once per session through `pytyche fit` itself (tiny sampler
settings, an explicit feature list), and every command that reads a result
reuses it. The store holds that fit's round as the round loop stores one
(data, fit file, plan, segments), written without Dagster to stay fast.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.cli.helpers import FEATURES, TINY_FIT, VISITORS, invoke


@dataclass(frozen=True)
class Fitted:
    data: Path
    result: Path
    summary: dict
    stderr: str


@pytest.fixture(scope="session")
def cli_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cli")


@pytest.fixture(scope="session")
def observed_parquet(cli_dir) -> Path:
    path = cli_dir / "observed.parquet"
    done = invoke("simulate", "reversal", "-k", "3", "--profile", "stress", "--visitors", VISITORS, "--seed", "1",
                  "--out", path)
    assert done.exit_code == 0, done.stderr
    return path


@pytest.fixture(scope="session")
def fitted(cli_dir, observed_parquet) -> Fitted:
    path = cli_dir / "fit.npz"
    done = invoke("fit", observed_parquet, "--out", path, *TINY_FIT, "--features", FEATURES, "--json")
    assert done.exit_code == 0, done.stderr
    return Fitted(observed_parquet, path, json.loads(done.stdout), done.stderr)


@pytest.fixture(scope="session")
def planned_store(cli_dir, fitted) -> tuple[Path, str, str]:
    """A store holding the fit's data as round "2026-01-05" with its fit file, plan and segments."""
    import pytyche_core as pt
    from pytyche_core import FixedSchedule, recommend
    from pytyche_core.experiment.round_step import RoundOutcome
    from pytyche_core.experiment.stored import round_frames, save_fit
    from pytyche_core.store import write_round

    store, key = cli_dir / "store.duckdb", "2026-01-05"
    result = pt.load_result(fitted.result)
    experiment = result.observed.experiment_id
    analysis = result.analyze(n_bootstrap=0)
    plan = recommend(analysis, history=[], treatments=list(result.observed.arm_names),
                     schedule=FixedSchedule(VISITORS))
    fit_file = save_fit(result, cli_dir / "fits", experiment, key)
    outcome = RoundOutcome(result.observed, [], result, analysis, plan, 0.0)
    write_round(store, result.observed, round_key=key, run_id="cli-test", code_version="test",
                extra_tables=round_frames(outcome, fit_file, None))
    return store, experiment, key
