"""One round's statistics, shared by ``pt.sequential_experiment`` and the Dagster round loop.

``LoopSettings`` holds every option of the loop that is not data (floors,
Thompson floor, tree, routing, guardrail, graduation, empty arms, pooling).
``fit_and_plan`` takes the cumulative data of rounds 1..r and the history of
rounds 1..r-1 and returns the fit, its analysis and the plan for round r+1:
the same code whether the loop runs in memory or as pipeline partitions.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence

from ..bcf.config import BCFConfig
from ..contracts import AnalysisResult, ObservedExperimentData
from ..posterior.fit import fit
from ..posterior.routing import DEFAULT_GUARDRAIL, Guardrail, RoutingRule
from .data import unusable_arms, without_arms
from .graduation import GraduationRule
from .recommendation import NextRoundPlan, check_floors, recommend
from .schedules import ControlShareSchedule, Schedule

_ON_EMPTY_ARM = ("error", "drop")


@dataclasses.dataclass(frozen=True)
class LoopSettings:
    """The loop's options (see ``pt.sequential_experiment`` for what each does)."""

    min_control_weight: float = 0.05
    min_explore_weight: float = 0.05
    control_share: ControlShareSchedule | None = None
    epsilon: float = 0.1
    max_segment_depth: int | str = 2
    min_segment_share: float = 0.1
    n_bootstrap: int = 50
    assignable_attributes: tuple[str, ...] | None = None
    guardrail: Guardrail | None = DEFAULT_GUARDRAIL
    routing_rule: RoutingRule | None = None
    graduation_rule: GraduationRule | None = None
    on_empty_arm: str = "error"
    pooling: str = "joint"

    def __post_init__(self) -> None:
        if self.on_empty_arm not in _ON_EMPTY_ARM:
            raise ValueError(f"on_empty_arm must be one of {_ON_EMPTY_ARM}, got {self.on_empty_arm!r}.")
        if self.pooling not in ("joint", "independent"):
            raise ValueError(f"pooling must be 'joint' or 'independent', got {self.pooling!r}.")
        check_floors(self.min_control_weight, self.min_explore_weight)
        if self.assignable_attributes is not None:
            if isinstance(self.assignable_attributes, str):
                raise TypeError("assignable_attributes: pass a list of feature names, not one string.")
            object.__setattr__(self, "assignable_attributes", tuple(self.assignable_attributes))

    def recommend_options(self) -> dict:
        return dict(min_control_weight=self.min_control_weight, min_explore_weight=self.min_explore_weight,
                    max_segment_depth=self.max_segment_depth, min_segment_share=self.min_segment_share,
                    graduation_rule=self.graduation_rule, epsilon=self.epsilon, n_bootstrap=self.n_bootstrap,
                    control_share=self.control_share, assignable_attributes=self.assignable_attributes,
                    guardrail=self.guardrail, routing_rule=self.routing_rule)


@dataclasses.dataclass(frozen=True, eq=False)
class RoundOutcome:
    """What one round's statistics produced: the data fitted, the fit, its analysis, the next plan."""

    fit_data: ObservedExperimentData
    dropped: list[str]
    posterior: object
    analysis: AnalysisResult
    plan: NextRoundPlan
    fit_seconds: float


def fit_data_for(cumulative: ObservedExperimentData, dropped_before: Sequence[str], settings: LoopSettings,
                 round_index: int) -> tuple[ObservedExperimentData, list[str]]:
    """The cumulative data minus dropped or empty arms; an empty arm is an error unless dropping."""
    unusable = unusable_arms(cumulative)
    empty = [a for a in unusable if a not in dropped_before]
    if empty and settings.on_empty_arm == "error":
        raise ValueError(f"arm(s) {empty} have no data to estimate from after round {round_index} (no visitors, "
                         "or no converter with revenue), so they can be neither recommended nor given traffic. "
                         "Fix: pass on_empty_arm='drop' to drop them explicitly, or give them traffic.")
    dropped = list(dict.fromkeys([*dropped_before, *empty]))
    return without_arms(cumulative, [a for a in unusable if a in dropped]), dropped


def fit_and_plan(cumulative: ObservedExperimentData, *, settings: LoopSettings, schedule: Schedule,
                 config: BCFConfig, seed: int, round_index: int, history: Sequence, treatments: Sequence[str],
                 dropped_before: Sequence[str], round_size: int, progress: bool = False) -> RoundOutcome:
    """Fit rounds 1..``round_index`` and plan the next round (``history``: rounds before, oldest first)."""
    fit_data, dropped = fit_data_for(cumulative, dropped_before, settings, round_index)
    started = time.perf_counter()
    posterior = fit(fit_data, pooling=settings.pooling, config=config, seed=seed + round_index, progress=progress)
    fit_seconds = time.perf_counter() - started
    analysis = posterior.analyze(max_depth=settings.max_segment_depth, n_bootstrap=0,
                                 min_segment_share=settings.min_segment_share, seed=seed, round_size=round_size)
    plan = recommend(analysis, history=history, treatments=list(treatments), schedule=schedule, seed=seed,
                     dropped=dropped, **settings.recommend_options())
    return RoundOutcome(fit_data, dropped, posterior, analysis, plan, fit_seconds)


__all__ = ["LoopSettings", "RoundOutcome", "fit_and_plan", "fit_data_for"]
