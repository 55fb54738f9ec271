"""Rounds with different arms (a treatment added or dropped): propensities over all arms.

A round records P(Z = k | x) for its own K_r arms: ``propensity`` at K_r = 2,
``propensity_1 .. propensity_{K_r - 1}`` above (``propensity_0`` optional).
Read together with rounds that offered other arms, every visitor's
probabilities are re-expressed over the experiment's merged arms, with
probability 0 for an arm its round did not offer.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..contracts.data import frame_propensities
from ..contracts.schema import is_reserved_propensity_column, propensity_columns


def with_merged_propensities(frame: pd.DataFrame, round_arms: tuple[str, ...],
                             merged_arms: tuple[str, ...]) -> pd.DataFrame:
    """``frame`` with its propensity columns rewritten for ``merged_arms`` (same rows).

    The new columns take the place of the round's first propensity column.
    """
    own = [c for c in frame.columns if is_reserved_propensity_column(c)]
    probabilities = frame_propensities(frame, len(round_arms))
    if probabilities is None:
        return frame
    merged = np.zeros((len(frame), len(merged_arms)))
    for j, arm in enumerate(round_arms):
        merged[:, merged_arms.index(arm)] = probabilities[:, j]
    names = propensity_columns(len(merged_arms))
    values = {name: merged[:, k] for k, name in enumerate(names, start=1)}
    at = list(frame.columns).index(own[0])
    rest = frame.drop(columns=own)
    left, right = rest.iloc[:, :at], rest.iloc[:, at:]
    return pd.concat([left, pd.DataFrame(values, index=frame.index), right], axis=1)
