"""pytyche: adaptive, batched e-commerce experiments with a hurdle Bayesian Causal Forest.

``import pytyche_core as pt``. The public surface grows with the engine;
today it holds the contracts, the ground-truth simulator and the store.
"""

from .contracts import *  # noqa: F403
from .contracts import __all__ as _contract_names
from .simulate import simulate
from .store import load_experiment
from .validation import validate_alignment, validate_feature_names, validate_observed_data

__version__ = "0.1.0"

__all__ = [*_contract_names, "load_experiment", "simulate", "validate_alignment", "validate_feature_names",
           "validate_observed_data"]
