"""Experiments as configuration: each entry of ``experiments.yaml`` is one simulated experiment.

The definitions build one set of round assets per experiment, under the
experiment's key prefix, so several experiments coexist in one code location
and one store. ``PYTYCHE_EXPERIMENTS`` names another file. An experiment id
keeps the design it began with (``store.record_design``): change the
scenario, arms, metric, profile, seed or round sizes under a new id.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import dagster as dg
import pydantic
import yaml

import pytyche_core as pt
from pytyche_core.experiment import LoopSettings
from pytyche_core.experiment.sources import SimulationSource
from pytyche_core.simulate import SimulatedRounds, scenario

EXPERIMENTS_FILE = Path(__file__).resolve().parent.parent / "experiments.yaml"


_LIBRARY = pt.BCFConfig()


class FitSettings(dg.Config):
    """The ``BCFConfig`` fields a pipeline run may want to change (defaults: the library's)."""

    mu_trees: int = _LIBRARY.mu_trees
    tau_trees: int = _LIBRARY.tau_trees
    burn_in: int = _LIBRARY.burn_in
    draws: int = _LIBRARY.draws
    chains: int = _LIBRARY.chains

    def fit_config(self) -> pt.BCFConfig:
        return pt.BCFConfig(mu_trees=self.mu_trees, tau_trees=self.tau_trees, burn_in=self.burn_in,
                            draws=self.draws, chains=self.chains)


class SimulatedExperiment(FitSettings):
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
    fits_dir: str | None = None

    @pydantic.model_validator(mode="after")
    def _check(self):
        """Refuse a bad experiment when it is built (loading the definitions), not in the middle of a round."""
        self.chosen_scenario()  # unknown scenario / arms / metric / profile: the catalog names the fix
        self.settings()  # floors, on_empty_arm
        self.fit_config()
        if self.visitors_per_round < 1 or (self.round_sizes is not None and
                                           (not self.round_sizes or min(self.round_sizes) < 1)):
            raise ValueError("visitors_per_round and every round_sizes entry must be >= 1.")
        return self

    def key_prefix(self) -> str:
        """The experiment's asset-key prefix and group: its id with every other character than [A-Za-z0-9_] as _."""
        return re.sub(r"[^A-Za-z0-9_]", "_", self.experiment_id)

    def design(self) -> dict:
        """What fixes the meaning of this experiment's rounds; recorded once per experiment id."""
        return {"scenario": self.scenario, "arms": self.arms, "metric": self.metric, "profile": self.profile,
                "seed": self.seed, "visitors_per_round": self.visitors_per_round,
                "round_sizes": None if self.round_sizes is None else list(self.round_sizes)}

    def schedule(self):
        """The round sizes as a schedule (never exhausted: partitions decide how many rounds run)."""
        if not self.round_sizes:
            return pt.FixedSchedule(self.visitors_per_round)
        return pt.ExplicitSchedule(tuple(self.round_sizes), repeat_last=True)

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

    def fits_directory(self, store_path: str) -> str:
        return self.fits_dir or str(Path(store_path).parent / "fits")


def experiments_file() -> Path:
    return Path(os.environ.get("PYTYCHE_EXPERIMENTS", str(EXPERIMENTS_FILE)))


def load_experiments(path: str | os.PathLike | None = None) -> list[SimulatedExperiment]:
    """The experiments of a spec file (``experiments:`` list of settings); clear errors naming the file."""
    path = Path(path) if path is not None else experiments_file()
    if not path.is_file():
        raise FileNotFoundError(f"experiment spec file {str(path)!r} does not exist. Fix: create it (see "
                                "experiments.yaml at the repository root) or point PYTYCHE_EXPERIMENTS at one.")
    try:
        document = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise ValueError(f"{path}: not valid YAML ({err}). Fix: correct the file.") from None
    entries = document.get("experiments") if isinstance(document, dict) else None
    if not isinstance(entries, list) or not entries:
        raise ValueError(f"{path}: expected a top-level 'experiments:' list with at least one entry.")
    specs = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or "experiment_id" not in entry:
            raise ValueError(f"{path}: experiments[{i}] must be a mapping with an experiment_id.")
        try:
            specs.append(SimulatedExperiment(**entry))
        except Exception as err:  # pydantic's validation error: name the entry and the fix
            raise ValueError(f"{path}: experiments[{i}] ({entry.get('experiment_id')!r}): {err}. Fix: use the "
                             "settings SimulatedExperiment documents.") from None
    prefixes = [s.key_prefix() for s in specs]
    duplicated = sorted({p for p in prefixes if prefixes.count(p) > 1})
    if duplicated:
        raise ValueError(f"{path}: experiment ids {duplicated} repeat (after mapping to asset-key prefixes). "
                         "Fix: give every experiment its own id.")
    return specs
