"""Posterior results of a BCF fit and the primitives computed from their draws."""

from .fit import fit
from .results import BCFResult, BinaryBCFResult, ContinuousBCFResult, FitInfo, HurdleBCFResult

__all__ = ["BCFResult", "BinaryBCFResult", "ContinuousBCFResult", "FitInfo", "HurdleBCFResult", "fit"]
