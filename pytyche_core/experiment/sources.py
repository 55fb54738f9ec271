"""Where a sequential experiment's rounds come from: the simulator, or the store.

``SimulationSource`` drives our simulator through its assignment hook: it
draws the round's visitors, asks the round's cells to assign them
(``assign_to_cells``: arm, the mixture probability of every arm, cell) and
lets the simulator observe outcomes, so there is one generation path and the
realized probabilities are recorded with the data. It also keeps the truth
for scoring. ``StoreSource`` reads each round's observed data from the
DuckDB store, in round-key order; the storefront assigned those visitors,
so the plan's cells are advice there, not something this side applies.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..contracts import CalibrationTruth, ObservedExperimentData, SegmentRule, apply_rule
from ..simulate import LATENT_CLUSTER_COLUMN, Scenario, SimulatedRounds
from ..simulate.observe import child_seeds, variant_names
from .cells import Cell, assign_to_cells
from .truth import EvaluationPopulation

#: Rounds index the simulator's streams; the evaluation sample uses its own index far above them.
_EVALUATION_ROUND = 1_000_000
_CELL_STREAM = 2


@dataclasses.dataclass(frozen=True, eq=False)
class RoundData:
    """One round's observed data; in simulation also its truth (row-aligned) and outcomes."""

    round_key: str
    observed: ObservedExperimentData
    truth: CalibrationTruth | None = None


class SimulationSource:
    """Rounds drawn from ``scenario``'s population, assigned by the round's cells.

    ``target_rule`` (e.g. a registered segment's rule) filters who enters:
    only matching visitors are part of the experiment. ``evaluation_size``
    visitors are drawn once to score round policies on (see ``truth``).
    """

    def __init__(self, scenario: Scenario, *, experiment_id: str | None = None, seed: int = 0,
                 target_rule: SegmentRule | None = None, evaluation_size: int = 20_000) -> None:
        if not isinstance(scenario, Scenario):
            raise TypeError(f"SimulationSource: expected a Scenario (pytyche_core.simulate.scenario(...)), "
                            f"got {type(scenario).__name__}.")
        if target_rule is not None and not isinstance(target_rule, SegmentRule):
            raise TypeError(f"target_rule: expected a SegmentRule, got {type(target_rule).__name__}.")
        self.scenario = scenario
        self.experiment_id = experiment_id or f"seq-{scenario.label}-s{seed}"
        self.seed = seed
        self.target_rule = target_rule
        self.rounds = SimulatedRounds(self.experiment_id, scenario, 1, seed)
        self.arm_names = tuple(variant_names(scenario.k))
        self.metric = scenario.metric
        self._population: EvaluationPopulation | None = None
        self._evaluation_size = evaluation_size

    def _features(self, round_index: int, n: int) -> pd.DataFrame:
        """``n`` visitors of the round that the target rule admits (oversampling as needed)."""
        if self.target_rule is None:
            return self.rounds.features(round_index, n)
        draw = n
        for _ in range(8):
            features = self.rounds.features(round_index, draw)
            admitted = features[apply_rule(self.target_rule, features)]
            if len(admitted) >= n:
                return admitted.iloc[:n].reset_index(drop=True)
            share = len(admitted) / draw
            draw = draw * 4 if share == 0 else math.ceil(1.2 * n / share)
        raise ValueError(f"target rule {self.target_rule.description!r} admits too few visitors of "
                         f"{self.scenario.label} to fill a round of {n}. Fix: target a larger segment.")

    @property
    def population(self) -> EvaluationPopulation:
        if self._population is None:
            features = self._features(_EVALUATION_ROUND, self._evaluation_size)
            outcomes = self.rounds.potential_outcomes(features)
            observable = features.drop(columns=[LATENT_CLUSTER_COLUMN], errors="ignore")
            self._population = EvaluationPopulation.of(observable, outcomes)
        return self._population

    def round(self, round_index: int, round_key: str, n_visitors: int, cells: Sequence[Cell]) -> RoundData:
        """Draw, assign by ``cells`` and observe round ``round_index`` (0-based)."""
        features = self._features(round_index, n_visitors)
        return self.observe_round(round_index, round_key, features, self.rounds.potential_outcomes(features), cells)

    def observe_round(self, round_index: int, round_key: str, features: pd.DataFrame, outcomes,
                      cells: Sequence[Cell]) -> RoundData:
        """Assign already drawn visitors by ``cells`` and observe them (a pipeline draws them in earlier steps)."""
        observable = features.drop(columns=[LATENT_CLUSTER_COLUMN], errors="ignore")
        rng = np.random.default_rng(child_seeds(np.random.SeedSequence([self.seed, round_index]),
                                                _CELL_STREAM + 1)[_CELL_STREAM])
        plan = assign_to_cells(cells, observable, self.arm_names, rng)
        bundle = self.rounds.observe(features, outcomes, round_index, round_key, plan=plan)
        return RoundData(round_key, bundle.observed, bundle.truth)


class StoreSource:
    """Rounds read from a pytyche DuckDB store, one round key after another."""

    def __init__(self, path: str | os.PathLike, experiment_id: str) -> None:
        from ..store import stored_round_keys

        self.path = path
        self.experiment_id = experiment_id
        keys = stored_round_keys(path, experiment_id)
        first = self._load(keys[0])
        self.arm_names = first.arm_names
        self.metric = first.metric

    def _load(self, round_key: str) -> ObservedExperimentData:
        from ..store import load_experiment

        return load_experiment(self.path, self.experiment_id, rounds=[round_key])

    def round_keys(self) -> list[str]:
        from ..store import stored_round_keys

        return stored_round_keys(self.path, self.experiment_id)

    def round(self, round_index: int) -> RoundData:
        keys = self.round_keys()
        if round_index >= len(keys):
            raise LookupError(f"experiment {self.experiment_id!r} has {len(keys)} stored round(s) in {self.path}; "
                              f"round {round_index + 1} is not there yet. Fix: write it with "
                              "pytyche_core.store.write_round, then advance again.")
        observed = self._load(keys[round_index])
        if observed.arm_names != self.arm_names:
            raise ValueError(f"round {keys[round_index]!r} has arms {list(observed.arm_names)}, the experiment "
                             f"{list(self.arm_names)}. Fix: keep one arm list per experiment (use a new id).")
        return RoundData(keys[round_index], observed)


__all__ = ["RoundData", "SimulationSource", "StoreSource"]
