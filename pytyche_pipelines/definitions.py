"""The Dagster code location: assets, jobs and resources (loaded by workspace.yaml)."""

from __future__ import annotations

import dagster as dg

from .assets.round_loop import round_loop
from .assets.simulation import features, potential_outcomes
from .resources import DuckDBStore, JaxDevice, SimulatedExperiment

SIMULATION_ASSETS = [features, potential_outcomes]
ROUND_ASSETS = [*SIMULATION_ASSETS, round_loop]

simulated_round_job = dg.define_asset_job(
    "simulated_round", selection=ROUND_ASSETS,
    description="One round of the simulated adaptive experiment: features, potential outcomes, then the round "
                "loop (assignment by the previous plan, fit, segments, next plan, truth comparison).",
)

defs = dg.Definitions(
    assets=ROUND_ASSETS,
    jobs=[simulated_round_job],
    resources={"store": DuckDBStore(), "experiment": SimulatedExperiment(), "device": JaxDevice()},
)
