"""``pt.sequential_experiment``: the adaptive loop, round after round.

Each ``advance()`` runs one round: the current plan's cells assign the
round's visitors (simulation) or the round is read from the store
(production); the BCF is fit on every round so far; the posterior is
analysed; the recommendation engine proposes the next round's plan; in
simulation the round is scored against the truth. The operator may override
the plan's cells for the next round (``advance(cells=...)``).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Sequence

import numpy as np
import pandas as pd

from ..bcf.config import BCFConfig
from ..contracts import RegisteredSegment, SegmentRule
from ..posterior.routing import DEFAULT_GUARDRAIL, Guardrail, RoutingRule
from ..simulate.scenarios import Scenario, scenario
from .cells import Cell, check_cells
from .data import concat_rounds
from .graduation import GraduationCandidate, GraduationRule
from .history import Experiment, cell_observations
from .recommendation import NextRoundPlan, cold_start_plan
from .round_step import LoopSettings, fit_and_plan
from .schedules import ControlShareSchedule, FixedSchedule, Schedule, check_schedule
from .sources import SimulationSource, StoreSource
from .truth import RoundScore, fitted_true_effects, score_round, stack_rounds_truth, truth_values


class SequentialExperiment:
    """A sequential experiment in progress. Build it with ``pt.sequential_experiment``.

    ``history`` holds one ``Experiment`` per completed round; ``plan`` is the
    plan for the next round (the cold-start plan before round 1).
    """

    def __init__(self, source: SimulationSource | StoreSource, *, schedule: Schedule, config: BCFConfig,
                 seed: int, settings: LoopSettings, progress: bool = False) -> None:
        self.source = source
        self.schedule = check_schedule(schedule)
        self.config = config
        self.seed = seed
        self.settings = settings
        self.progress = progress
        self.arm_names = tuple(source.arm_names)
        self.history: list[Experiment] = []
        self.plan: NextRoundPlan = cold_start_plan(list(self.arm_names), self.schedule.next_round_size(0))
        self._rounds = []

    @property
    def simulated(self) -> bool:
        return isinstance(self.source, SimulationSource)

    @property
    def experiment_id(self) -> str:
        return self.source.experiment_id

    @property
    def done(self) -> bool:
        """True when the schedule sizes no further round (simulation) or no stored round is left (production)."""
        if self.simulated:
            return self.plan.n_visitors is None
        return len(self.history) >= len(self.source.round_keys())

    @property
    def latest(self) -> Experiment | None:
        return self.history[-1] if self.history else None

    @property
    def graduation_candidates(self) -> list[GraduationCandidate]:
        return list(self.plan.graduation_candidates)

    @property
    def dropped_treatments(self) -> list[str]:
        return list(self.plan.dropped_treatments)

    def _say(self, message: str) -> None:
        if self.progress:
            print(f"[pytyche] {message}", flush=True)

    def _next_round(self, cells: tuple[Cell, ...]):
        index = len(self.history)
        if self.simulated:
            if self.plan.n_visitors is None:
                raise StopIteration
            return self.source.round(index, f"r{index + 1:03d}", self.plan.n_visitors, cells)
        return self.source.round(index)

    def advance(self, cells: Sequence[Cell] | None = None) -> Experiment:
        """Run the next round and return it; ``cells`` replaces the plan's cells for this round.

        Overriding cells must still respect the floors (``min_control_weight``
        and ``min_explore_weight``). Raises StopIteration when the experiment is done.
        """
        if self.done:
            raise StopIteration("the schedule is exhausted (or no stored round is left)")
        started = time.perf_counter()
        # The engine's own cells are at the floors by construction; an operator's are checked against them.
        floors = (self.settings.min_control_weight, self.settings.min_explore_weight) if cells is not None \
            else (0.0, 0.0)
        deployed = check_cells(cells if cells is not None else self.plan.cells, min_control_weight=floors[0],
                               min_explore_weight=floors[1])
        if cells is not None and self.plan.dropped_treatments:
            probe = self._deployed_probe(deployed)
            if probe:
                raise ValueError(f"cells give traffic to dropped treatment(s) {probe}. Fix: leave dropped arms "
                                 "out of the cells' policies.")
        round_index = len(self.history) + 1
        data = self._next_round(deployed)
        cumulative = concat_rounds([r.observed for r in [*self._rounds, data]])
        self._say(f"round {round_index} ({data.round_key}): {data.observed.n_visitors:,} visitors, fitting on "
                  f"{cumulative.n_visitors:,}")
        outcome = fit_and_plan(cumulative, settings=self.settings, schedule=self.schedule, config=self.config,
                               seed=self.seed, round_index=round_index, history=self.history,
                               treatments=self.arm_names, dropped_before=self.plan.dropped_treatments,
                               round_size=self.plan.n_visitors or data.observed.n_visitors, progress=self.progress)
        posterior, analysis, plan, fit_data = outcome.posterior, outcome.analysis, outcome.plan, outcome.fit_data
        fit_seconds = outcome.fit_seconds
        self._rounds.append(data)  # only once the round has a fit: a failed round can be run again
        score = self._score(round_index, data, plan, posterior, fit_data) if self.simulated else None
        experiment = Experiment(
            round_index=round_index, round_key=data.round_key, observed=data.observed, cumulative=fit_data,
            posterior=posterior, analysis=analysis, plan=plan, deployed_cells=deployed if self.simulated else None,
            cell_observations=cell_observations(data.observed), score=score,
            seconds={"fit": fit_seconds, "round": time.perf_counter() - started})
        self.history.append(experiment)
        self.plan = plan
        return experiment

    def _deployed_probe(self, cells: tuple[Cell, ...]) -> list[str]:
        """Dropped treatments that the cells would give traffic to (on the latest round's visitors)."""
        if not self.history:
            return []
        visitors = self.history[-1].observed.visitors()
        probs = np.zeros(len(self.arm_names))
        for cell in cells:
            probs += cell.weight * cell.policy.probabilities(visitors, self.arm_names).mean(axis=0)
        return [a for a, p in zip(self.arm_names, probs, strict=True) if a in self.plan.dropped_treatments and p > 0]

    def _score(self, round_index: int, data, plan: NextRoundPlan, posterior, fit_data) -> RoundScore:
        # The stacked data runs arm by arm across rounds: stack the rounds' truth the same way.
        values, arm = stack_rounds_truth([(truth_values(r.truth), r.observed.arm_index()) for r in self._rounds],
                                         len(self.arm_names))
        true_effects = fitted_true_effects(values, arm, self.arm_names, fit_data.arm_names)
        previous = self.history[-1] if self.history else None
        return score_round(round_index=round_index, plan=plan,
                           previous_tree=previous.plan.tree if previous else None, posterior=posterior,
                           true_effects=true_effects, round_observed=data.observed, round_truth=data.truth,
                           population=self.source.population, previous=previous.score if previous else None)

    def __iter__(self) -> Iterator[Experiment]:
        while not self.done:
            yield self.advance()

    def run_to_completion(self) -> list[Experiment]:
        """Advance until the schedule is exhausted (or the store has no further round)."""
        for _ in self:
            pass
        return list(self.history)

    def summary(self) -> pd.DataFrame:
        """One row per completed round: size, decision, segments, plan cells and (simulation) the scores."""
        rows = []
        for e in self.history:
            row = {"round": e.round_index, "round_key": e.round_key, "n_round": e.observed.n_visitors,
                   "n_cumulative": e.cumulative.n_visitors, "decision": e.plan.decision.decision.value,
                   "best_challenger": e.plan.decision.treatment, "segments": len(e.plan.tree.segments),
                   "pooled_arm": e.plan.routing.pooled_arm,
                   "routes": "; ".join(f"{sid}->{arm}" for sid, arm in sorted(e.plan.routing.route_map.items())),
                   "cells": "; ".join(f"{c.name} {c.weight:.2f}" for c in e.plan.cells),
                   "dropped": ", ".join(e.plan.dropped_treatments), "fit_seconds": e.seconds.get("fit")}
            if e.score is not None:
                row.update({k: v for k, v in e.score.as_dict().items() if k not in ("round_index",)})
            rows.append(row)
        return pd.DataFrame(rows)


def sequential_experiment(scenario_or_source: Scenario | str | os.PathLike | None = None, *,
                          experiment_id: str | None = None, k: int = 3, profile: str = "realistic",
                          metric: str = "revenue_per_visitor", schedule: Schedule | None = None,
                          config: BCFConfig | None = None, seed: int = 0, min_control_weight: float = 0.05,
                          min_explore_weight: float = 0.05, control_share: ControlShareSchedule | None = None,
                          epsilon: float = 0.1, max_segment_depth: int | str = 2, min_segment_share: float = 0.1,
                          n_bootstrap: int = 50, assignable_attributes: Sequence[str] | None = None,
                          guardrail: Guardrail | None = DEFAULT_GUARDRAIL, routing_rule: RoutingRule | None = None,
                          graduation_rule: GraduationRule | None = None,
                          target_segment: SegmentRule | RegisteredSegment | None = None,
                          on_empty_arm: str = "error", pooling: str = "joint", evaluation_size: int = 20_000,
                          progress: bool = False) -> SequentialExperiment:
    """A sequential experiment, ready to ``advance()`` round by round (or ``run_to_completion()``).

    Simulation mode: ``scenario_or_source`` is a ``Scenario`` or a template
    name (built with ``k``, ``profile`` and ``metric``); our simulator draws
    each round and the plan's cells assign it. Production mode: it is the
    path of a pytyche DuckDB store holding ``experiment_id``'s rounds; each
    ``advance()`` fits on the next stored round too.

    - ``schedule``: round sizes (default 3 rounds of 10,000 visitors);
    - ``config``: the BCF settings of every fit (cumulative over rounds);
    - ``min_control_weight`` / ``min_explore_weight``: floors of the Control
      and Explore cells; ``control_share``: a schedule for the Control cell
      above its floor (e.g. ``DecayingControlShare((0.5, 0.3, 0.1))``);
    - ``epsilon``: the Thompson floor inside the Optimized cell;
    - ``assignable_attributes``: features the storefront can evaluate at
      assignment time; the policy tree splits only on those (all still enter the fit);
    - ``guardrail``: the metric a plan must not harm (None: no guardrail);
    - ``routing_rule``: when a segment may leave the pooled decision;
    - ``target_segment``: a ``SegmentRule`` or a ``RegisteredSegment`` (from
      the segment registry) whose rule filters who enters the experiment (simulation);
    - ``on_empty_arm``: "error" (default) or "drop" for an arm with no data.
    """
    settings = LoopSettings(
        min_control_weight=min_control_weight, min_explore_weight=min_explore_weight, control_share=control_share,
        epsilon=epsilon, max_segment_depth=max_segment_depth, min_segment_share=min_segment_share,
        n_bootstrap=n_bootstrap, assignable_attributes=assignable_attributes, guardrail=guardrail,
        routing_rule=routing_rule, graduation_rule=graduation_rule, on_empty_arm=on_empty_arm, pooling=pooling)
    config = BCFConfig() if config is None else config
    if not isinstance(config, BCFConfig):
        raise TypeError(f"config: expected a BCFConfig, got {type(config).__name__}.")
    if isinstance(scenario_or_source, str) and not os.path.splitext(scenario_or_source)[1]:
        scenario_or_source = scenario(scenario_or_source, k=k, profile=profile, metric=metric)
    if isinstance(target_segment, RegisteredSegment):
        target_segment = target_segment.rule
    if isinstance(scenario_or_source, Scenario):
        source = SimulationSource(scenario_or_source, experiment_id=experiment_id, seed=seed,
                                  target_rule=target_segment, evaluation_size=evaluation_size)
        schedule = FixedSchedule(10_000, rounds=3) if schedule is None else schedule
    elif isinstance(scenario_or_source, (str, os.PathLike)):
        if experiment_id is None:
            raise ValueError("production mode: pass experiment_id= naming the experiment in the store.")
        if target_segment is not None:
            raise ValueError("target_segment filters simulated visitors; in production the storefront applies "
                             "the rule. Fix: omit target_segment.")
        source = StoreSource(scenario_or_source, experiment_id)
        # In production the storefront sizes rounds; the plan's size is advice (default: the first round's).
        schedule = FixedSchedule(source.round(0).observed.n_visitors) if schedule is None else schedule
    else:
        raise TypeError("sequential_experiment: pass a Scenario, a scenario template name, or the path of a "
                        f"pytyche DuckDB store; got {type(scenario_or_source).__name__}.")
    check_schedule(schedule)
    return SequentialExperiment(source, schedule=schedule, config=config, seed=seed, settings=settings,
                                progress=progress)


__all__ = ["SequentialExperiment", "sequential_experiment"]
