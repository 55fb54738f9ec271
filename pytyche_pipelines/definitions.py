"""The Dagster code location: per experiment of experiments.yaml its round assets, job and schedule; benchmarks."""

from __future__ import annotations

from collections.abc import Sequence

import dagster as dg

from .assets.accuracy import AccuracySettings, accuracy_benchmark, accuracy_summary
from .assets.benchmarks import BenchmarkSettings, flywheel_benchmark, flywheel_summary
from .assets.round_loop import build_round_loop
from .assets.simulation import build_simulation_assets
from .automation import benchmark_seed_sensor, round_schedule
from .experiments import SimulatedExperiment, load_experiments
from .resources import DuckDBStore, JaxDevice

BENCHMARK_ASSETS = [flywheel_benchmark, flywheel_summary, accuracy_benchmark, accuracy_summary]

benchmark_job = dg.define_asset_job(
    "flywheel_benchmarks", selection=[flywheel_benchmark],
    description="Whole simulated experiments over scenario x seed partitions (backfill them from the UI).")
accuracy_job = dg.define_asset_job(
    "accuracy_benchmarks", selection=[accuracy_benchmark],
    description="Every system fitted and scored per scenario x seed partition (backfill them from the UI).")


def round_assets(experiment: SimulatedExperiment) -> list[dg.AssetsDefinition]:
    """One experiment's round assets: features, potential outcomes and the round loop."""
    return [*build_simulation_assets(experiment), build_round_loop(experiment)]


def round_job_name(experiment: SimulatedExperiment) -> str:
    return f"{experiment.key_prefix()}__round"


def build_definitions(experiments: Sequence[SimulatedExperiment]) -> dg.Definitions:
    """Round assets, a round job and its weekly schedule per experiment; the benchmarks; shared resources."""
    assets, jobs, schedules = [], [], []
    for experiment in experiments:
        assets.extend(round_assets(experiment))
        job = dg.define_asset_job(
            round_job_name(experiment), selection=dg.AssetSelection.groups(experiment.key_prefix()),
            description=f"One round of {experiment.experiment_id}: features, potential outcomes, then the round "
                        "loop (assignment by the previous plan, fit, segments, next plan, truth comparison).")
        jobs.append(job)
        schedules.append(round_schedule(job))
    return dg.Definitions(
        assets=[*assets, *BENCHMARK_ASSETS], jobs=[*jobs, benchmark_job, accuracy_job], schedules=schedules,
        sensors=[benchmark_seed_sensor],
        resources={"store": DuckDBStore(), "device": JaxDevice(), "benchmark": BenchmarkSettings(),
                   "accuracy": AccuracySettings()})


defs = build_definitions(load_experiments())
