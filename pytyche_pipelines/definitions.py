"""The Dagster code location: assets, jobs and resources (loaded by workspace.yaml)."""

from __future__ import annotations

import dagster as dg

from .assets.simulation import features, observed, potential_outcomes
from .resources import DuckDBStore, SimulatedExperiment

SIMULATION_ASSETS = [features, potential_outcomes, observed]

simulated_round_job = dg.define_asset_job(
    "simulated_round", selection=SIMULATION_ASSETS,
    description="One round of the simulated experiment: features, potential outcomes, observed data.",
)

defs = dg.Definitions(
    assets=SIMULATION_ASSETS,
    jobs=[simulated_round_job],
    resources={"store": DuckDBStore(), "experiment": SimulatedExperiment()},
)
