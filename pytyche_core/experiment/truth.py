"""Scoring a round of a simulated sequential experiment against the truth (simulation only).

Nothing here is visible to the fit: it reads the simulator's potential
outcomes after the round is planned. Two policies are scored per round r:

- the **round policy**: what the fit on rounds <= r says to ship (every
  segment wholly on its routed arm, ``NextRoundPlan.targeting_policy``),
  scored on a fixed evaluation sample of the population drawn once per
  experiment, so rounds are compared on the same visitors;
- the **deployed design**: the cells round r's visitors were actually
  assigned by (plan r-1), scored on those visitors.

All lifts are per visitor, in metric units, against everyone on control,
and computed from true potential outcomes (the true expected value of
arm k for visitor i is p_ik m_ik for revenue, p_ik for conversion). The
definitions, with the oracle-gap share, are in docs/concepts/adaptive-loop.md.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..contracts import (
    CalibrationTruth,
    ObservedExperimentData,
    PolicyTreeResult,
    propensity_matrix,
)
from ..posterior.best_arm import best_arm
from ..posterior.calibration import DEFAULT_LEVELS, coverage_curve
from ..simulate.outcomes import PotentialOutcomes


@dataclasses.dataclass(frozen=True, eq=False)
class EvaluationPopulation:
    """A fixed sample of the population with every visitor's true value under every arm.

    ``features``: observable features ``(n, ...)``; ``values``: true expected
    outcome ``(n, K)``; ``conversion``: true P(convert) ``(n, K)``.
    """

    features: pd.DataFrame
    values: np.ndarray
    conversion: np.ndarray

    @classmethod
    def of(cls, features: pd.DataFrame, outcomes: PotentialOutcomes) -> EvaluationPopulation:
        return cls(features.reset_index(drop=True), true_values(outcomes), np.asarray(outcomes.conversion))


def true_values(outcomes: PotentialOutcomes) -> np.ndarray:
    """True expected outcome of every visitor under every arm ``(n, K)``: p m (revenue) or p (conversion)."""
    if outcomes.is_hurdle:
        return np.asarray(outcomes.conversion) * np.asarray(outcomes.order_value)
    return np.asarray(outcomes.conversion)


def truth_values(truth: CalibrationTruth) -> np.ndarray:
    """The same ``(n, K)`` values from a bundle's truth (aligned with the observed rows)."""
    p, m = truth.conversion_probabilities(), truth.order_values()
    if p is None:
        raise ValueError("truth: no per-arm conversion probabilities recorded; simulate with pt.simulate.")
    return p * m if m is not None else p


def stack_rounds_truth(rounds: Sequence[tuple[np.ndarray, np.ndarray]], n_arms: int) -> tuple[np.ndarray, np.ndarray]:
    """Rounds' (true values ``(n_r, K)``, arm ``(n_r,)``) stacked as their data is: arm by arm, rounds in order.

    Stacking rounds of data (``concat_rounds``, or the store's cumulative load)
    puts every round's control rows first, then every round's arm-1 rows, ...;
    the truth must follow the same order.
    """
    values = np.concatenate([v[a == k] for k in range(n_arms) for v, a in rounds])
    arm = np.concatenate([a[a == k] for k in range(n_arms) for _, a in rounds])
    return values, arm


def fitted_true_effects(values: np.ndarray, arm: np.ndarray, arm_names, fit_arm_names) -> np.ndarray:
    """True contrasts ``(n_fit, K_fit - 1)`` of the rows a fit used.

    ``values`` ``(n, K)`` and ``arm`` ``(n,)`` are every stored row's true
    values and arm, in the data's row order; the fit keeps the rows of the
    arms in ``fit_arm_names`` (a dropped arm's rows leave it) in that order.
    """
    columns = [list(arm_names).index(name) for name in fit_arm_names]
    kept = values[np.isin(arm, columns)]
    return kept[:, columns[1:]] - kept[:, columns[:1]]


@dataclasses.dataclass(frozen=True)
class RoundScore:
    """One round against the truth (per visitor, metric units, vs everyone on control).

    Round policy (evaluation sample): ``expected_lift``, ``oracle_lift`` (each
    visitor on its truly best arm), ``uniform_lift`` (every arm equally
    likely), ``best_arm_lift`` (the best single arm for everyone),
    ``oracle_gap_captured`` = (expected - uniform) / (oracle - uniform),
    ``targeting_regret`` = oracle - expected, ``cumulative_regret`` its sum
    over rounds so far, ``policy_accuracy`` (share of visitors routed to
    their truly best arm), ``policy_guardrail_change`` (true conversion-rate
    change of the policy).

    Deployed design (this round's visitors): ``deployed_lift`` (expected),
    ``realized_lift`` (observed mean outcome minus the true control mean of
    the same visitors: includes sampling noise), ``deployed_regret`` and
    ``cumulative_deployed_regret`` (summed over visitors of all rounds so
    far: the total cost of the experiment as run), ``deployed_guardrail_change``.

    Estimation (cumulative fitted visitors): ``cate_rmse``; ``gate_rmse``
    over the quartiles of each treatment's estimated effect. Segments:
    ``segment_count``, ``segment_stability`` (mean over segments of the best
    Jaccard overlap with the previous round's segments on the evaluation
    sample; NaN in round 1).
    """

    round_index: int
    n_round: int
    n_cumulative: int
    expected_lift: float
    oracle_lift: float
    uniform_lift: float
    best_arm_lift: float
    oracle_gap_captured: float
    targeting_regret: float
    cumulative_regret: float
    policy_accuracy: float
    policy_guardrail_change: float
    deployed_lift: float
    realized_lift: float
    deployed_regret: float
    cumulative_deployed_regret: float
    deployed_guardrail_change: float
    cate_rmse: float
    gate_rmse: float
    segment_count: int
    segment_stability: float

    def as_dict(self) -> dict[str, float | int]:
        return dataclasses.asdict(self)


def policy_lift(values: np.ndarray, probabilities: np.ndarray) -> float:
    """Mean over visitors of ``sum_k P(k) (v_k - v_0)``: a (stochastic) policy's lift vs control."""
    return float(((probabilities * (values - values[:, :1])).sum(axis=1)).mean())


def oracle_lift(values: np.ndarray) -> float:
    return float((values.max(axis=1) - values[:, 0]).mean())


def gap_captured(lift: float, oracle: float, uniform: float) -> float:
    """(lift - uniform) / (oracle - uniform); NaN when targeting cannot beat uniform (no gap)."""
    gap = oracle - uniform
    return (lift - uniform) / gap if gap > 1e-12 else math.nan


def gate_rmse(estimated: np.ndarray, true: np.ndarray, groups: int = 4) -> float:
    """RMSE of group-average effects over quantile groups of each estimated contrast ``(n, K-1)``."""
    errors = []
    for j in range(estimated.shape[1]):
        edges = np.quantile(estimated[:, j], np.linspace(0, 1, groups + 1)[1:-1])
        group = np.searchsorted(edges, estimated[:, j], side="right")
        for g in np.unique(group):
            members = group == g
            errors.append(estimated[members, j].mean() - true[members, j].mean())
    return float(np.sqrt(np.mean(np.square(errors))))


def segment_stability(tree: PolicyTreeResult, previous: PolicyTreeResult | None, features: pd.DataFrame) -> float:
    """Mean over this tree's segments of the best Jaccard overlap with any previous segment."""
    if previous is None:
        return math.nan
    now, before = tree.assign(features), previous.assign(features)
    scores = []
    for sid in np.unique(now):
        a = now == sid
        best = max(((a & (before == other)).sum() / max((a | (before == other)).sum(), 1))
                   for other in np.unique(before))
        scores.append(best)
    return float(np.mean(scores))


def effect_coverage_curves(posterior, true_effects: np.ndarray, levels: Sequence[float] = DEFAULT_LEVELS
                           ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per treatment, ``(levels, coverage)``: the share of fitted visitors whose central posterior
    interval at each nominal level covers their true effect (``true_effects`` ``(n, K-1)``,
    row-aligned with the fit). What ``plots.calibration_figure`` draws."""
    levels = np.asarray(levels, dtype=np.float64)
    draws = posterior.cate_samples
    return {f"{name}: per-visitor effects": (levels, coverage_curve(draws[:, :, j], true_effects[:, j], levels))
            for j, name in enumerate(posterior.treatment_names)}


def score_round(*, round_index: int, plan, previous_tree: PolicyTreeResult | None, posterior,
                true_effects: np.ndarray, round_observed: ObservedExperimentData,
                round_truth: CalibrationTruth, population: EvaluationPopulation,
                previous: RoundScore | None) -> RoundScore:
    """The round's ``RoundScore`` (see its docstring).

    ``plan`` is the plan this round's fit produced; ``true_effects`` the true
    contrasts ``(n, K-1)`` of the visitors ``posterior`` was fit on, row-aligned.
    """
    arms = round_observed.arm_names
    values = population.values
    policy = plan.targeting_policy()
    chosen = policy.probabilities(population.features, arms)
    expected = policy_lift(values, chosen)
    oracle = oracle_lift(values)
    uniform = policy_lift(values, np.full_like(values, 1.0 / values.shape[1]))
    best_single = float((values - values[:, :1]).mean(axis=0).max())
    truly_best = best_arm(values[:, 1:] - values[:, :1])
    accuracy = float((chosen.argmax(axis=1) == truly_best).mean())
    policy_guard = policy_lift(population.conversion, chosen)

    round_values = truth_values(round_truth)
    deployed = propensity_matrix(round_observed)
    deployed_lift = policy_lift(round_values, deployed) if deployed is not None else math.nan
    outcome = "revenue" if round_values is not None and round_truth.order_values() is not None else "converted"
    realized = float(round_observed.visitors()[outcome].astype(float).mean() - round_values[:, 0].mean())
    round_oracle = oracle_lift(round_values)
    conversion = round_truth.conversion_probabilities()
    deployed_guard = policy_lift(conversion, deployed) if deployed is not None else math.nan

    estimated = posterior.cate_samples.mean(axis=1, dtype=np.float64)
    cate_rmse = float(np.sqrt(np.mean(np.square(estimated - true_effects))))
    n_round = round_observed.n_visitors
    regret = oracle - expected
    deployed_regret = round_oracle - deployed_lift
    return RoundScore(
        round_index=round_index, n_round=n_round, n_cumulative=posterior.observed.n_visitors,
        expected_lift=expected, oracle_lift=oracle, uniform_lift=uniform, best_arm_lift=best_single,
        oracle_gap_captured=gap_captured(expected, oracle, uniform), targeting_regret=regret,
        cumulative_regret=regret + (previous.cumulative_regret if previous else 0.0),
        policy_accuracy=accuracy, policy_guardrail_change=policy_guard,
        deployed_lift=deployed_lift, realized_lift=realized, deployed_regret=deployed_regret,
        cumulative_deployed_regret=deployed_regret * n_round + (previous.cumulative_deployed_regret
                                                                  if previous else 0.0),
        deployed_guardrail_change=deployed_guard, cate_rmse=cate_rmse,
        gate_rmse=gate_rmse(estimated, true_effects), segment_count=len(plan.tree.segments),
        segment_stability=segment_stability(plan.tree, previous_tree, population.features))


__all__ = ["EvaluationPopulation", "RoundScore", "effect_coverage_curves", "gap_captured", "gate_rmse", "oracle_lift", "policy_lift",
           "fitted_true_effects", "score_round", "stack_rounds_truth", "segment_stability", "true_values", "truth_values"]
