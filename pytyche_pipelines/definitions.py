"""The Dagster code location: assets, jobs and resources (loaded by workspace.yaml)."""

from __future__ import annotations

import dagster as dg

from .assets.benchmarks import BenchmarkSettings, flywheel_benchmark, flywheel_summary
from .assets.round_loop import round_loop
from .assets.simulation import features, potential_outcomes
from .automation import benchmark_seed_sensor, round_schedule
from .resources import DuckDBStore, JaxDevice, SimulatedExperiment

SIMULATION_ASSETS = [features, potential_outcomes]
ROUND_ASSETS = [*SIMULATION_ASSETS, round_loop]

simulated_round_job = dg.define_asset_job(
    "simulated_round", selection=ROUND_ASSETS,
    description="One round of the simulated adaptive experiment: features, potential outcomes, then the round "
                "loop (assignment by the previous plan, fit, segments, next plan, truth comparison).",
)

BENCHMARK_ASSETS = [flywheel_benchmark, flywheel_summary]

benchmark_job = dg.define_asset_job(
    "flywheel_benchmarks", selection=[flywheel_benchmark],
    description="Whole simulated experiments over scenario x seed partitions (backfill them from the UI).")

defs = dg.Definitions(
    assets=[*ROUND_ASSETS, *BENCHMARK_ASSETS],
    jobs=[simulated_round_job, benchmark_job],
    schedules=[round_schedule(simulated_round_job)],
    sensors=[benchmark_seed_sensor],
    resources={"store": DuckDBStore(), "experiment": SimulatedExperiment(), "device": JaxDevice(),
               "benchmark": BenchmarkSettings()},
)
