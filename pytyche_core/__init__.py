"""pytyche: adaptive, batched e-commerce experiments with a hurdle Bayesian Causal Forest.

``import pytyche_core as pt``:

- ``pt.simulate(config)``: a simulated experiment with its aligned ground truth;
- ``pt.load_experiment(source, experiment_id)``: observed data from the store or a file;
- ``pt.fit(observed)``: the BCF posterior (hurdle, binary or continuous);
- ``result.save(path)`` / ``pt.load_result(path)``: a fitted result in one file;
- the contract types (``pt.ObservedExperimentData``, ``pt.SegmentRule``, ...).
"""

from .bcf import BCFConfig
from .contracts import *  # noqa: F403
from .contracts import __all__ as _contract_names
from .posterior import (
    BinaryBCFResult,
    ContinuousBCFResult,
    HurdleBCFResult,
    ResultFileError,
    fit,
    load_result,
)
from .simulate import simulate
from .store import load_experiment
from .validation import validate_alignment, validate_feature_names, validate_observed_data

__version__ = "0.1.0"

__all__ = [*_contract_names, "BCFConfig", "BinaryBCFResult", "ContinuousBCFResult", "HurdleBCFResult",
           "ResultFileError", "fit", "load_experiment", "load_result", "simulate", "validate_alignment",
           "validate_feature_names", "validate_observed_data"]
