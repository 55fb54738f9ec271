"""Resources: where the store lives, and which simulated experiment to run."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg

from pytyche_core.simulate import SimulatedRounds, scenario

DEFAULT_DUCKDB = Path(__file__).resolve().parent.parent / "data" / "pytyche.duckdb"


def default_duckdb_path() -> str:
    return os.environ.get("PYTYCHE_DUCKDB", str(DEFAULT_DUCKDB))


class DuckDBStore(dg.ConfigurableResource):
    """The DuckDB file every asset reads and writes (one writer at a time)."""

    path: str = default_duckdb_path()

    def resolved_path(self) -> str:
        path = Path(self.path).expanduser().resolve()
        path.parent.mkdir(parents=True, exist_ok=True)
        return str(path)


class SimulatedExperiment(dg.ConfigurableResource):
    """The simulated experiment the pipeline runs: a catalog scenario, arms and traffic."""

    experiment_id: str = "demo-clustered-k3"
    scenario: str = "clustered"
    arms: int = 3
    metric: str = "revenue_per_visitor"
    profile: str = "realistic"
    visitors_per_round: int = 5_000
    seed: int = 7

    def rounds(self) -> SimulatedRounds:
        """The library object that simulates this experiment round by round."""
        chosen = scenario(self.scenario, k=self.arms, metric=self.metric, profile=self.profile)
        return SimulatedRounds(self.experiment_id, chosen, self.visitors_per_round, self.seed)
