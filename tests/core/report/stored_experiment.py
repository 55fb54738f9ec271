"""A small stored experiment, written the way `python3 tasks.py run` writes one (through the round loop).

The report reads what the pipeline stores, so the tests make that store with
the pipeline itself: tiny rounds, the fit shapes of the pipeline tests (their
compiled samplers are reused from the on-disk cache).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

#: The pipeline tests' shapes: 1500 visitors per round, small forests, 2 chains x 20 draws.
EXPERIMENT = dict(experiment_id="report-test", scenario="reversal", arms=3, metric="revenue_per_visitor",
                  profile="stress", visitors_per_round=1500, seed=11, mu_trees=20, tau_trees=10, burn_in=30,
                  draws=20, chains=2, n_bootstrap=5)


@dataclasses.dataclass(frozen=True)
class StoredExperiment:
    store_path: Path
    experiment_id: str
    round_keys: list[str]


def materialize_rounds(directory: Path, rounds: int = 2, *, instance=None) -> StoredExperiment:
    """Materialise ``rounds`` rounds of ``EXPERIMENT`` into ``directory/pytyche.duckdb`` (fits beside it)."""
    import dagster as dg

    from pytyche_pipelines.definitions import round_assets
    from pytyche_pipelines.experiments import SimulatedExperiment
    from pytyche_pipelines.partitions import first_round_keys
    from pytyche_pipelines.resources import DuckDBStore, JaxDevice

    path = Path(directory) / "pytyche.duckdb"
    resources = {"store": DuckDBStore(path=str(path)), "device": JaxDevice()}
    instance = dg.DagsterInstance.ephemeral() if instance is None else instance
    keys = first_round_keys(rounds)
    for key in keys:
        result = dg.materialize(round_assets(SimulatedExperiment(**EXPERIMENT)), partition_key=key,
                                resources=resources, instance=instance)
        assert result.success, f"round {key} failed"
    return StoredExperiment(path, EXPERIMENT["experiment_id"], keys)
