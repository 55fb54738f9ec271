"""Scoring an analysis of a simulated experiment against its truth.

(The simulation run that fits an ``IntervalCalibration`` lives in
``pytyche_core.experiment.calibration_run``: it needs the simulator, a layer
above this one.)

``calibrate(analysis, truth, scenario_id=..., seed=...)`` turns one
``AnalysisResult`` and the ``CalibrationTruth`` of the same simulated
experiment into a ``CalibrationRecord``. The oracle knows the true average
effect of the recommended treatment and ships exactly when it exceeds
``OracleConfig.min_effect``. Regret is the per-visitor value (metric units)
lost by the decision actually taken, against the same ``min_effect``: shipping
an effect below it loses ``min_effect - effect``, stopping an effect above it
loses ``effect - min_effect``; a CONTINUE has no regret yet (None).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from ..contracts import AnalysisResult, CalibrationRecord, CalibrationTruth, ClaimLevel, Decision
from ..contracts._checks import (
    finite_float,
    instance,
    non_negative,
    probability,
    set_field,
)

# -- scoring an analysis ------------------------------------------------------------------------

#: The record's ``estimator_id`` for each result model.
ESTIMATOR_IDS = {"hurdle": "hurdle_lognormal", "binary": "probit", "continuous": "gaussian"}


@dataclasses.dataclass(frozen=True)
class OracleConfig:
    """What the perfectly informed decision maker does, in the metric's own units.

    - ``min_effect``: the true average effect a treatment must exceed to be
      worth shipping (0: any improvement). The oracle ships iff effect > min_effect.
    - ``ambiguity_band`` (>= 0): a CONTINUE is not scored (``decision_correct``
      None) when the true effect is within this distance of ``min_effect``,
      where a test would need unbounded data to decide; outside it a CONTINUE
      is wrong (the oracle would have decided).
    """

    min_effect: float = 0.0
    ambiguity_band: float = 0.0

    def __post_init__(self) -> None:
        set_field(self, "min_effect", finite_float("OracleConfig", "min_effect", self.min_effect))
        set_field(self, "ambiguity_band", non_negative("OracleConfig", "ambiguity_band", self.ambiguity_band))


def oracle_decision(effect: float, oracle: OracleConfig | None = None) -> Decision:
    """SHIP when the true effect exceeds ``oracle.min_effect``, else STOP (never CONTINUE)."""
    oracle = OracleConfig() if oracle is None else oracle
    return Decision.SHIP if effect > oracle.min_effect else Decision.STOP


def decision_correct(decision: Decision, effect: float, oracle: OracleConfig | None = None) -> bool | None:
    """Whether ``decision`` matches the oracle; a CONTINUE is None inside the ambiguity band, else False."""
    oracle = OracleConfig() if oracle is None else oracle
    decision = Decision(decision)
    if decision is Decision.CONTINUE:
        return None if abs(effect - oracle.min_effect) <= oracle.ambiguity_band else False
    return decision is oracle_decision(effect, oracle)


def decision_regret(decision: Decision, effect: float, oracle: OracleConfig | None = None) -> float | None:
    """The value lost by ``decision`` in metric units per visitor (>= 0); None for CONTINUE.

    SHIP loses ``max(min_effect - effect, 0)``; STOP loses
    ``max(effect - min_effect, 0)``; the oracle's own decision loses 0.
    """
    oracle = OracleConfig() if oracle is None else oracle
    decision = Decision(decision)
    if decision is Decision.CONTINUE:
        return None
    gain = effect - oracle.min_effect
    return float(max(-gain, 0.0) if decision is Decision.SHIP else max(gain, 0.0))


def _treatment_index(analysis: AnalysisResult) -> tuple[int, Any]:
    """Index of the recommended treatment among the treatments, and its ``Comparison``."""
    treatment = analysis.recommendation.treatment
    names = tuple(getattr(analysis.posterior, "treatment_names", None)
                  or (c.treatment for c in analysis.comparisons))
    matches = [c for c in analysis.comparisons if c.treatment == treatment]
    if treatment not in names or not matches:
        raise ValueError(f"calibrate: the recommendation is for {treatment!r}, but the analysis compares "
                         f"{[c.treatment for c in analysis.comparisons]} (treatments {list(names)}). Fix: "
                         "score an analysis whose recommendation names one of its treatments.")
    return names.index(treatment), matches[0]


def _true_effect(truth: CalibrationTruth, j: int) -> tuple[float, dict[str, float]]:
    """The true average contrast of treatment j+1 and its components (``conv_effect`` / ``aov_effect``)."""
    effect = float(truth.contrasts()[:, j].mean())
    if truth.n_arms == 2:
        if abs(effect - truth.effect) > 1e-9 * max(1.0, abs(truth.effect)):
            raise ValueError(f"calibrate: truth.effect {truth.effect} differs from the mean per-visitor effect "
                             f"{effect}. Fix: build the truth from one set of potential outcomes.")
        return effect, dict(truth.effect_components)
    parts = truth.decomposition()
    if parts is None:
        return effect, {"conv_effect": effect}
    return effect, {"conv_effect": float(parts[0][:, j].mean()), "aov_effect": float(parts[1][:, j].mean())}


def _estimator_id(analysis: AnalysisResult) -> str:
    model = getattr(analysis.posterior, "model", None)
    if model not in ESTIMATOR_IDS:
        raise ValueError(f"calibrate: the analysis's posterior has model {model!r}. Fix: score an analysis of "
                         f"a fitted BCF result (models {list(ESTIMATOR_IDS)}).")
    base = ESTIMATOR_IDS[model]
    if not analysis.is_calibrated:
        return base
    method = getattr(analysis.posterior, "calibration_method", None)
    return f"{base}+calibrated" + (f"-{method}" if method else "")


def calibrate(analysis: AnalysisResult, truth: CalibrationTruth, *, oracle: OracleConfig | None = None,
              scenario_id: str, seed: int, ci_level: float = 0.8,
              analysis_mode: ClaimLevel = ClaimLevel.HONEST_ESTIMATE) -> CalibrationRecord:
    """Score one analysis of a simulated experiment against its truth.

    The scored treatment is ``analysis.recommendation.treatment``; its true
    effect is the mean over visitors of its true contrast (at K = 2 checked
    against ``truth.effect``), with ``effect_components`` from the truth
    (``conv_effect`` / ``aov_effect``; at K >= 3 the treatment's own parts).
    The estimate and interval come from that treatment's ``Comparison``
    (posterior-mean lift, central interval at ``ci_level``, 0.8 in
    ``analyze()``); probabilities, losses and the decision from the
    recommendation.

    ``estimator_id``: ``hurdle_lognormal`` / ``probit`` / ``gaussian`` after the
    posterior's model, with ``+calibrated-<method>`` when its intervals were
    calibrated, so records of raw and calibrated posteriors stay apart.
    ``analysis_mode`` defaults to HONEST_ESTIMATE: the scored quantity is a
    whole-population effect of a randomized experiment, estimated from all
    its visitors with no data-driven choice of the population, and
    calibration changes interval widths, not that claim. Pass CONFIRMED only
    for an analysis replicated on a hold-out experiment, EXPLORATORY for one
    whose treatment or population was picked from the same data.
    """
    instance("calibrate", "analysis", analysis, AnalysisResult)
    instance("calibrate", "truth", truth, CalibrationTruth)
    oracle = OracleConfig() if oracle is None else instance("calibrate", "oracle", oracle, OracleConfig)
    if truth.metric_id != analysis.metric:
        raise ValueError(f"calibrate: truth is for {truth.metric_id!r}, the analysis for {analysis.metric!r}. "
                         "Fix: pair an analysis with the truth of the same simulated experiment.")
    if truth.n_arms - 1 != len(analysis.comparisons):
        raise ValueError(f"calibrate: truth has {truth.n_arms - 1} contrast(s), the analysis "
                         f"{len(analysis.comparisons)}. Fix: pair an analysis with its own experiment's truth.")
    cate = np.asarray(analysis.cate_per_visitor)
    if cate.shape[0] != truth.n_visitors:
        raise ValueError(f"calibrate: the analysis covers {cate.shape[0]} visitors, the truth "
                         f"{truth.n_visitors}. Fix: pair an analysis with its own experiment's truth.")
    j, comparison = _treatment_index(analysis)
    effect, components = _true_effect(truth, j)
    rec = analysis.recommendation
    oracle_choice = oracle_decision(effect, oracle)
    low, high = comparison.lift_ci
    return CalibrationRecord(
        scenario_id=scenario_id, seed=seed, analysis_mode=analysis_mode, effect=effect,
        metric_id=truth.metric_id, metric_family=truth.metric_family, effect_components=components,
        estimator_id=_estimator_id(analysis), estimated_lift=comparison.lift_estimate, ci_low=low, ci_high=high,
        ci_level=probability("calibrate", "ci_level", ci_level, open_interval=True),
        probability_positive=rec.probability_positive, probability_better=rec.probability_better,
        probability_harmful=rec.probability_harmful, expected_loss_baseline=rec.expected_loss_baseline,
        expected_loss_comparison=rec.expected_loss_comparison, decision=rec.decision,
        oracle_decision=oracle_choice, decision_correct=decision_correct(rec.decision, effect, oracle),
        regret=decision_regret(rec.decision, effect, oracle))


__all__ = ["ESTIMATOR_IDS", "OracleConfig", "calibrate", "decision_correct", "decision_regret",
           "oracle_decision"]
