"""Posterior results of a BCF fit and the primitives computed from their draws."""

from .diagnostics import acceptance_table, inference_data, summarize
from .fit import fit
from .persistence import FORMAT_VERSION, ResultFileError, load_result, save_result
from .results import BCFResult, BinaryBCFResult, ContinuousBCFResult, FitInfo, HurdleBCFResult

__all__ = ["FORMAT_VERSION", "BCFResult", "BinaryBCFResult", "ContinuousBCFResult", "FitInfo",
           "HurdleBCFResult", "ResultFileError", "acceptance_table", "fit", "inference_data", "load_result",
           "save_result", "summarize"]
