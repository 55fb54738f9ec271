"""What ``pt.fit`` checks and selects before it samples: arms with visitors, the features to use.

Each check fails with a message naming the fix, before anything is fitted:

- every arm needs visitors (an empty arm has no likelihood, so its effect
  would be the prior's, and a decision could follow the prior);
- ``features=[...]`` selects the covariates explicitly (the others are
  dropped from the data the result keeps, so ``predict`` needs only those);
- without an explicit list, a numeric column that is a near-copy of the
  outcome (a revenue or conversion copy left in an export) is refused: it
  would explain the outcome by itself and decide every effect.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from ..contracts import ObservedExperimentData, VariantData
from ..contracts.schema import is_feature_column

#: |rank correlation| with revenue or conversion above which a feature counts as an outcome copy.
#: Real covariates of a purchase stay far below (a strong one is about 0.3).
OUTCOME_COPY_CORRELATION = 0.9


def check_arms_have_visitors(observed: ObservedExperimentData) -> None:
    empty = [v.name for v in observed.variants if v.n_visitors == 0]
    if empty:
        raise ValueError(f"fit: arm(s) {empty} have no visitors, so the data say nothing about their effect. "
                         "Fix: collect visitors for them, or leave them out of the data "
                         "(pytyche_core.experiment.without_arms(observed, [...])).")


def select_features(observed: ObservedExperimentData, features: Sequence[str]) -> ObservedExperimentData:
    """``observed`` with only the feature columns ``features`` (outcome and reserved columns kept)."""
    if isinstance(features, str) or not isinstance(features, Sequence):
        raise TypeError(f"fit: features must be a list of column names, got {features!r}")
    wanted = list(dict.fromkeys(features))
    available = observed.feature_names
    unknown = [f for f in wanted if f not in available]
    if unknown:
        raise KeyError(f"fit: features {unknown} are not feature columns of the data. Fix: choose from "
                       f"{list(available)}.")
    if not wanted:
        raise ValueError(f"fit: features=[] leaves the model nothing to split on. Fix: name at least one of "
                         f"{list(available)}.")
    variants = []
    for variant in observed.variants:
        keep = [c for c in variant.visitors.columns if not is_feature_column(c) or c in wanted]
        variants.append(VariantData.from_visitors(variant.name, variant.visitors[keep]))
    return ObservedExperimentData(observed.experiment_id, observed.metric, tuple(variants))


def _ranks(values: np.ndarray) -> np.ndarray | None:
    """Ranks of ``values``, or None for a constant column (no correlation to speak of)."""
    return None if np.ptp(values) == 0 else stats.rankdata(values)


def check_no_outcome_copies(observed: ObservedExperimentData) -> None:
    """Refuse numeric or boolean features whose ranks track revenue or conversion almost exactly."""
    visitors = observed.visitors()
    outcome_ranks = {name: _ranks(visitors[name].to_numpy(dtype=float)) for name in ("revenue", "converted")}
    for name in observed.feature_names:
        column = visitors[name]
        if not (pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column)):
            continue
        ranks = _ranks(column.to_numpy(dtype=float))
        for outcome, target in outcome_ranks.items():
            if ranks is None or target is None:
                continue
            rho = float(np.corrcoef(ranks, target)[0, 1])
            if abs(rho) >= OUTCOME_COPY_CORRELATION:
                raise ValueError(
                    f"fit: feature {name!r} is a near-copy of the outcome (rank correlation {rho:.2f} with "
                    f"{outcome!r}); as a covariate it would explain the outcome by itself and decide every "
                    f"effect. Fix: drop the column, or pass features=[...] naming the covariates to use.")


__all__ = ["OUTCOME_COPY_CORRELATION", "check_arms_have_visitors", "check_no_outcome_copies", "select_features"]
