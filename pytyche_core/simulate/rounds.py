"""A simulated experiment run round by round: the same population, fresh visitors each round.

The pipeline materialises a round in stages (features, potential outcomes,
observation) and stores each stage; this class gives every stage its own
reproducible randomness from ``(seed, round index)``, so any stage can be
recomputed alone and gives the same answer.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from ..contracts import CalibrationBundle
from ..contracts._checks import fail, integer, non_empty_str
from .bundle import build_bundle
from .config import LATENT_CLUSTER_COLUMN, AssignmentConfig, AssignmentPlan
from .features import sample_features
from .observe import assign_and_observe, child_seeds
from .outcomes import PotentialOutcomes, compute_potential_outcomes
from .scenarios import Scenario

# Children of a round's seed: features, then assignment + outcome noise.
_FEATURES, _OBSERVE = 0, 1


@dataclasses.dataclass(frozen=True)
class SimulatedRounds:
    """``visitors_per_round`` new visitors per round from ``scenario``'s population."""

    experiment_id: str
    scenario: Scenario
    visitors_per_round: int
    seed: int = 0

    def __post_init__(self) -> None:
        owner = "SimulatedRounds"
        non_empty_str(owner, "experiment_id", self.experiment_id)
        if not isinstance(self.scenario, Scenario):
            raise fail(owner, "scenario", f"got {type(self.scenario).__name__}", "pass scenario(...)")
        integer(owner, "visitors_per_round", self.visitors_per_round, minimum=1)
        integer(owner, "seed", self.seed, minimum=0)

    def _round_seed(self, round_index: int, stream: int) -> np.random.SeedSequence:
        integer("SimulatedRounds", "round_index", round_index, minimum=0)
        return child_seeds(np.random.SeedSequence([self.seed, round_index]), 2)[stream]

    def features(self, round_index: int, n_visitors: int | None = None) -> pd.DataFrame:
        """The round's visitors' features in generation order (with the latent cluster, if any).

        ``n_visitors`` overrides ``visitors_per_round`` (rounds of a schedule differ in size).
        """
        n = self.visitors_per_round if n_visitors is None else integer("SimulatedRounds", "n_visitors",
                                                                        n_visitors, minimum=1)
        rng = np.random.default_rng(self._round_seed(round_index, _FEATURES))
        return sample_features(self.scenario.feature_sampler, rng, n)

    def potential_outcomes(self, features: pd.DataFrame) -> PotentialOutcomes:
        """Every visitor's conversion probability and order value under every arm."""
        return compute_potential_outcomes(features, self.scenario.metric_mode)

    def observe(self, features: pd.DataFrame, outcomes: PotentialOutcomes, round_index: int,
                round_key: str, *, plan: AssignmentPlan | None = None) -> CalibrationBundle:
        """Assign (``plan``, or uniform over arms) and observe; truth aligned to the rows.

        Visitor ids are ``<experiment_id>-<round_key>-<generation index>``,
        unique across rounds.
        """
        non_empty_str("SimulatedRounds", "round_key", round_key)
        observable = features.drop(columns=[LATENT_CLUSTER_COLUMN], errors="ignore")
        variants, order = assign_and_observe(
            observable, outcomes, AssignmentConfig(), self._round_seed(round_index, _OBSERVE), plan=plan,
            experiment_id=self.experiment_id, visitor_id_prefix=f"{self.experiment_id}-{round_key}")
        return build_bundle(variants, outcomes, order, experiment_id=self.experiment_id)
