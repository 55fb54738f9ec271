"""Jobs, the weekly round schedule and the sensor that registers benchmark seeds."""

# No "from __future__ import annotations": Dagster inspects annotations at definition time.

import os

import dagster as dg

from .assets.benchmarks import BENCHMARK_SEEDS, seed_key

#: How many benchmark seeds the sensor keeps registered (``PYTYCHE_BENCHMARK_SEEDS``, default 3: seeds 0..2).
DEFAULT_BENCHMARK_SEEDS = 3


def wanted_seed_count() -> int:
    raw = os.environ.get("PYTYCHE_BENCHMARK_SEEDS", str(DEFAULT_BENCHMARK_SEEDS))
    try:
        count = int(raw)
    except ValueError:
        raise ValueError(f"PYTYCHE_BENCHMARK_SEEDS={raw!r}. Fix: set it to a whole number of seeds.") from None
    if not 0 <= count <= 1000:
        raise ValueError(f"PYTYCHE_BENCHMARK_SEEDS={count}. Fix: use a number between 0 and 1000.")
    return count


@dg.sensor(minimum_interval_seconds=300, default_status=dg.DefaultSensorStatus.STOPPED,
           description="Registers benchmark seeds 000..N-1 (N from PYTYCHE_BENCHMARK_SEEDS) as partitions.")
def benchmark_seed_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    known = set(context.instance.get_dynamic_partitions(BENCHMARK_SEEDS.name))
    missing = [seed_key(s) for s in range(wanted_seed_count()) if seed_key(s) not in known]
    if not missing:
        return dg.SensorResult(skip_reason=dg.SkipReason("every wanted benchmark seed is registered"))
    return dg.SensorResult(dynamic_partitions_requests=[BENCHMARK_SEEDS.build_add_request(missing)])


def round_schedule(job) -> dg.ScheduleDefinition:
    """One round a week, the partition being the week that just ended (stopped until turned on)."""
    return dg.build_schedule_from_partitioned_job(job, default_status=dg.DefaultScheduleStatus.STOPPED)
