"""pytyche: adaptive, batched e-commerce experiments with a hurdle Bayesian Causal Forest.

``import pytyche_core as pt``:

- ``pt.simulate(config)``: a simulated experiment with its aligned ground truth;
- ``pt.load_experiment(source, experiment_id)``: observed data from the store or a file;
- ``pt.fit(observed)``: the BCF posterior (hurdle, binary or continuous);
- ``result.save(path)`` / ``pt.load_result(path)``: a fitted result in one file;
- ``result.analyze()``, ``result.compare()``, ``result.recommendation_summary()``,
  ``result.fit_policy_tree()``, ``result.thompson_allocation()``: answers from the draws;
- ``pt.policy_value`` / ``pt.rate``: doubly-robust policy evaluation with recorded propensities;
- ``pt.rule_to_sql`` / ``pt.rule_to_json``: segment rules exported for targeting;
- ``pt.run_calibration`` / ``result.apply_calibration`` / ``pt.calibrate``: intervals and
  decisions checked against simulated truth;
- ``pt.sequential_experiment(...)``: the adaptive loop (cells, schedules, the recommendation
  engine, scoring against truth in simulation);
- ``pt.visitors_needed`` / ``pt.detectable_lift`` / ``pt.segment_check``: power analysis for revenue
  per visitor (docs/concepts/power.md);
- ``pt.enable_compilation_cache()``: reuse compiled samplers across processes;
- the contract types (``pt.ObservedExperimentData``, ``pt.SegmentRule``, ...).
"""

from .bcf import BCFConfig
from .bcf.compile_cache import enable_compilation_cache
from .contracts import *  # noqa: F403
from .contracts import __all__ as _contract_names
from .experiment import (
    BaselinePolicy,
    Cell,
    DecayingControlShare,
    ExplicitSchedule,
    FixedSchedule,
    GeometricSchedule,
    Guardrail,
    HypothesisPolicy,
    PowerAnalysis,
    RoutingRule,
    SegmentCheck,
    StabilityControlShare,
    TreePolicy,
    UniformPolicy,
    baseline_from_revenue,
    detectable_lift,
    recommend,
    run_calibration,
    segment_check,
    sequential_experiment,
    visitors_needed,
)
from .posterior import (
    BinaryBCFResult,
    ContinuousBCFResult,
    HurdleBCFResult,
    IntervalCalibration,
    OracleConfig,
    PolicyValue,
    RateResult,
    ResultFileError,
    best_arm,
    calibrate,
    fit,
    load_result,
    policy_value,
    policy_value_difference,
    rate,
)
from .segments import rule_from_json, rule_to_json, rule_to_sql, rule_to_sql_parameters
from .simulate import simulate
from .store import load_experiment
from .validation import validate_alignment, validate_feature_names, validate_observed_data

__version__ = "0.1.0"

__all__ = [*_contract_names, "BCFConfig", "BaselinePolicy", "Cell", "DecayingControlShare", "ExplicitSchedule",
           "FixedSchedule", "GeometricSchedule", "Guardrail", "HypothesisPolicy", "RoutingRule",
           "StabilityControlShare", "TreePolicy", "UniformPolicy", "recommend", "sequential_experiment", "BinaryBCFResult", "ContinuousBCFResult", "HurdleBCFResult",
           "IntervalCalibration", "OracleConfig", "PolicyValue", "RateResult", "ResultFileError", "best_arm",
           "calibrate", "enable_compilation_cache", "fit", "load_experiment", "load_result",
           "policy_value", "policy_value_difference", "rate", "rule_from_json", "rule_to_json", "rule_to_sql",
           "rule_to_sql_parameters", "run_calibration", "simulate", "validate_alignment", "validate_feature_names",
           "validate_observed_data", "PowerAnalysis", "SegmentCheck", "baseline_from_revenue", "detectable_lift",
           "segment_check", "visitors_needed"]
