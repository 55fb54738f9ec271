"""The sequential loop: cells, schedules, the recommendation engine, the loop itself and its scoring.

- ``pt.sequential_experiment(...)`` runs rounds (simulated or from the store):
  assign by cells -> observe -> fit on all rounds -> analyse -> plan the next round;
- ``Cell`` with ``BaselinePolicy`` / ``UniformPolicy`` / ``TreePolicy`` / ``HypothesisPolicy``;
- ``FixedSchedule`` / ``GeometricSchedule`` / ``ExplicitSchedule`` and the control-share schedules;
- ``recommend`` / ``cold_start_plan`` -> ``NextRoundPlan``; graduation rules; dropped treatments;
- ``truth``: every round scored against the simulator's potential outcomes;
- ``run_calibration``: the simulation run that fits an interval calibration;
- ``visitors_needed`` / ``detectable_lift`` / ``segment_check``: power analysis for revenue per visitor.
"""

from ..posterior.routing import DEFAULT_GUARDRAIL, Guardrail, Routing, RoutingRule, SegmentRoute
from .calibration_run import CalibrationReplicate, calibration_replicates, run_calibration
from .cells import (
    BaselinePolicy,
    Cell,
    HypothesisPolicy,
    Policy,
    TreePolicy,
    UniformPolicy,
    assign_to_cells,
    check_cells,
    mixture_probabilities,
)
from .data import without_arms
from .graduation import ExpectedLossRule, GraduationCandidate, GraduationRule
from .history import Experiment
from .power import (
    PowerAnalysis,
    PowerInputs,
    SegmentCheck,
    baseline_from_revenue,
    detectable_lift,
    segment_check,
    visitors_needed,
)
from .recommendation import (
    NextRoundPlan,
    cold_start_plan,
    detect_dropped_treatments,
    next_fit_num_trees_tau,
    recommend,
)
from .round_step import LoopSettings, RoundOutcome, fit_and_plan
from .schedules import (
    ConstantControlShare,
    ControlShareSchedule,
    DecayingControlShare,
    ExplicitSchedule,
    FixedSchedule,
    GeometricSchedule,
    Schedule,
    StabilityControlShare,
)
from .sequential import SequentialExperiment, sequential_experiment
from .truth import RoundScore

__all__ = ["DEFAULT_GUARDRAIL", "BaselinePolicy", "CalibrationReplicate", "Cell", "ConstantControlShare",
           "ControlShareSchedule", "DecayingControlShare", "ExpectedLossRule", "Experiment", "ExplicitSchedule",
           "FixedSchedule", "GeometricSchedule", "GraduationCandidate", "GraduationRule", "Guardrail",
           "HypothesisPolicy", "LoopSettings", "NextRoundPlan", "Policy", "RoundOutcome", "RoundScore", "Routing", "RoutingRule", "Schedule",
           "SegmentRoute", "SequentialExperiment", "StabilityControlShare", "TreePolicy", "UniformPolicy",
           "assign_to_cells", "calibration_replicates", "check_cells", "cold_start_plan",
           "detect_dropped_treatments", "fit_and_plan", "mixture_probabilities", "next_fit_num_trees_tau", "recommend",
           "run_calibration", "sequential_experiment", "without_arms", "PowerAnalysis", "PowerInputs",
           "SegmentCheck", "baseline_from_revenue", "detectable_lift", "segment_check", "visitors_needed"]
