"""Posterior results of a BCF fit and the primitives computed from their draws."""

from .best_arm import best_arm
from .calibration import IntervalCalibration
from .diagnostics import acceptance_table, inference_data, summarize
from .evaluation import (
           PolicyValue,
           RateResult,
           doubly_robust_scores,
           policy_value,
           policy_value_difference,
           rate,
)
from .fit import fit
from .fit_info import FitInfo
from .oracle import OracleConfig, calibrate
from .persistence import FORMAT_VERSION, ResultFileError, save_result
from .results import BCFResult, BinaryBCFResult, ContinuousBCFResult, HurdleBCFResult, load_result

__all__ = ["FORMAT_VERSION", "BCFResult", "BinaryBCFResult", "ContinuousBCFResult", "FitInfo",
           "HurdleBCFResult", "IntervalCalibration", "OracleConfig", "PolicyValue", "RateResult", "ResultFileError", "acceptance_table", "best_arm", "calibrate",
           "doubly_robust_scores", "fit", "inference_data", "load_result", "policy_value",
           "policy_value_difference", "rate", "save_result", "summarize"]
