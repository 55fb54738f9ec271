"""Resources: where the store lives, and which simulated experiment to run."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import dagster as dg

import pytyche_core as pt
from pytyche_core.experiment import LoopSettings
from pytyche_core.experiment.sources import SimulationSource
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


class _RepeatLast:
    """Explicit round sizes whose last size repeats (a pipeline's rounds are open-ended)."""

    def __init__(self, sizes: tuple[int, ...]) -> None:
        self.explicit = pt.ExplicitSchedule(sizes)

    @property
    def n_rounds(self) -> None:
        return None

    def next_round_size(self, rounds_completed: int) -> int:
        sizes = self.explicit.sizes
        return sizes[min(rounds_completed, len(sizes) - 1)]


class SimulatedExperiment(dg.ConfigurableResource):
    """The simulated experiment the pipeline runs: a catalog scenario, arms, traffic, loop and fit settings.

    The loop settings mirror ``pt.sequential_experiment``'s; the fit settings
    are the ``BCFConfig`` fields a run may want to change (defaults: the
    library's). ``round_sizes`` lists each round's visitors (round k gets
    ``round_sizes[k]``, the last repeating); None: ``visitors_per_round``
    every round. ``fits_dir`` holds each round's saved fit (None: beside the store).
    """

    experiment_id: str = "demo-clustered-k3"
    scenario: str = "clustered"
    arms: int = 3
    metric: str = "revenue_per_visitor"
    profile: str = "realistic"
    visitors_per_round: int = 5_000
    round_sizes: list[int] | None = None
    seed: int = 7
    min_control_weight: float = 0.05
    min_explore_weight: float = 0.05
    epsilon: float = 0.1
    max_segment_depth: int = 2
    min_segment_share: float = 0.1
    n_bootstrap: int = 50
    assignable_attributes: list[str] | None = None
    guardrail: bool = True
    on_empty_arm: str = "error"
    mu_trees: int = 200
    tau_trees: int = 50
    burn_in: int = 200
    draws: int = 100
    chains: int = 2
    fits_dir: str | None = None

    def design(self) -> dict:
        """What fixes the meaning of this experiment's rounds; recorded once per experiment id."""
        return {"scenario": self.scenario, "arms": self.arms, "metric": self.metric, "profile": self.profile,
                "seed": self.seed, "visitors_per_round": self.visitors_per_round,
                "round_sizes": None if self.round_sizes is None else list(self.round_sizes)}

    def schedule(self):
        """The round sizes as a schedule (never exhausted: partitions decide how many rounds run)."""
        if not self.round_sizes:
            return pt.FixedSchedule(self.visitors_per_round)
        return _RepeatLast(tuple(self.round_sizes))

    def round_size(self, round_index: int) -> int:
        """Visitors of round ``round_index`` (0-based)."""
        return self.schedule().next_round_size(round_index)

    def chosen_scenario(self):
        return scenario(self.scenario, k=self.arms, metric=self.metric, profile=self.profile)

    def rounds(self) -> SimulatedRounds:
        """The library object that simulates this experiment round by round."""
        return SimulatedRounds(self.experiment_id, self.chosen_scenario(), self.visitors_per_round, self.seed)

    def source(self) -> SimulationSource:
        """Assignment by cells and the evaluation sample, on the same seeds as ``rounds``."""
        return SimulationSource(self.chosen_scenario(), experiment_id=self.experiment_id, seed=self.seed)

    def settings(self) -> LoopSettings:
        return LoopSettings(
            min_control_weight=self.min_control_weight, min_explore_weight=self.min_explore_weight,
            epsilon=self.epsilon, max_segment_depth=self.max_segment_depth,
            min_segment_share=self.min_segment_share, n_bootstrap=self.n_bootstrap,
            assignable_attributes=None if self.assignable_attributes is None else tuple(self.assignable_attributes),
            guardrail=pt.Guardrail() if self.guardrail else None, on_empty_arm=self.on_empty_arm)

    def fit_config(self) -> pt.BCFConfig:
        return pt.BCFConfig(mu_trees=self.mu_trees, tau_trees=self.tau_trees, burn_in=self.burn_in,
                            draws=self.draws, chains=self.chains)

    def fits_directory(self, store_path: str) -> str:
        return self.fits_dir or str(Path(store_path).parent / "fits")


class JaxDevice(dg.ConfigurableResource):
    """Where fits run: ``"auto"`` (the first GPU JAX sees, else the CPU), ``"gpu"`` or ``"cpu"``.

    The device actually used is recorded in the fit's metadata. ``"gpu"`` on
    a machine where JAX sees none fails with the fix, rather than silently
    running on the CPU.
    """

    device: str = "auto"

    def selected(self):
        import jax

        if self.device not in ("auto", "gpu", "cpu"):
            raise dg.Failure(f"device={self.device!r}. Fix: use 'auto', 'gpu' or 'cpu'.")
        if self.device == "cpu":
            return jax.devices("cpu")[0]
        try:
            gpus = jax.devices("gpu")
        except RuntimeError:  # no GPU backend installed
            gpus = []
        if self.device == "gpu" and not gpus:
            raise dg.Failure("device='gpu' but JAX sees no GPU. Fix: install the gpu extra "
                             "(pip install 'tyche-lab[gpu]') on a machine with one, or use device='auto'.")
        return gpus[0] if gpus else jax.devices("cpu")[0]

    @contextlib.contextmanager
    def placed(self) -> Iterator[str]:
        """Run the block with JAX's default device set; yields the device's name (e.g. ``cpu:0``)."""
        import jax

        chosen = self.selected()
        with jax.default_device(chosen):
            yield f"{chosen.platform}:{chosen.id}"
