"""From observed experiment data to what a channel samples on.

Covariates are the experiment's feature columns plus, for the prognostic
forest only, the recorded assignment probabilities (reserved columns); the
treatment forest never sees propensities or cells (docs/concepts/sampler-math.md §3).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from ..contracts import ObservedExperimentData, propensity_columns
from .binning import BinnedCovariates, fit_bins


@dataclasses.dataclass(frozen=True)
class ModelDesign:
    """Binned covariates of the concatenated visitors, which the treatment forest may use, and arms."""

    binned: BinnedCovariates
    tau_allowed: np.ndarray       # bool [p]
    arm: np.ndarray               # int32 [n]
    arm_names: tuple[str, ...]
    propensity_fill: dict[str, float]  # training mean of each propensity column, for new visitors

    @property
    def n_arms(self) -> int:
        return len(self.arm_names)

    @property
    def n_visitors(self) -> int:
        return int(self.arm.shape[0])


def covariate_frame(visitors: pd.DataFrame, features: tuple[str, ...], propensities: tuple[str, ...],
                    fill: dict[str, float] | None = None) -> pd.DataFrame:
    """Features then propensity columns; missing propensities (new visitors) take ``fill``."""
    frame = visitors.loc[:, list(features)].copy()
    for name in propensities:
        if name in visitors.columns:
            frame[name] = visitors[name].to_numpy(dtype=np.float64)
        elif fill is not None:
            frame[name] = fill[name]
        else:
            raise KeyError(f"visitors lack the propensity column {name!r}")
    return frame


def build_design(observed: ObservedExperimentData, max_bins: int, min_leaf_size: int) -> ModelDesign:
    """Bin the observed visitors' covariates once; check there is something to fit."""
    features = observed.feature_names
    if not features:
        raise ValueError(f"experiment {observed.experiment_id!r} has no feature columns: BCF needs "
                         "covariates to learn who benefits. Fix: add visitor features to the data.")
    if observed.n_visitors < 2 * max(min_leaf_size, 1):
        raise ValueError(f"{observed.n_visitors} visitors is too few for a minimum leaf size of "
                         f"{min_leaf_size}. Fix: collect more data or lower BCFConfig.min_leaf_size.")
    visitors = observed.visitors()
    columns = observed.variants[0].visitors.columns
    props = tuple(c for c in propensity_columns(observed.n_arms) if c in columns)
    frame = covariate_frame(visitors, features, props)
    binned = fit_bins(frame, max_bins=max_bins)
    tau_allowed = np.array([name in features for name in binned.names])
    fill = {name: float(frame[name].mean()) for name in props}
    return ModelDesign(binned=binned, tau_allowed=tau_allowed, arm=observed.arm_index().astype(np.int32),
                       arm_names=observed.arm_names, propensity_fill=fill)
