"""The one best-arm rule every primitive uses (docs/concepts/segments.md).

``best_arm(delta) = 0`` (control) when every contrast is <= 0, else
``argmax_j delta_j + 1``. Control is a first-class winner: it takes a draw
exactly when no treatment beats it. Ties between treatments go to the lowest
index (numpy's argmax), so the rule is deterministic.
"""

from __future__ import annotations

import numpy as np


def best_arm(contrasts: np.ndarray) -> np.ndarray:
    """Arm index (0 = control, j = treatment j) of contrast vectors along the last axis.

    ``contrasts`` has shape ``(..., K-1)`` (treatment minus control); the
    result has shape ``(...)`` and integer dtype. A NaN contrast is an error.
    """
    delta = np.asarray(contrasts, dtype=float)
    if delta.ndim == 0 or delta.shape[-1] == 0:
        raise ValueError(f"best_arm: expected contrasts of shape (..., K-1) with K >= 2, got {delta.shape}. "
                         "Fix: pass one contrast per treatment along the last axis.")
    if np.isnan(delta).any():
        raise ValueError("best_arm: contrasts contain NaN. Fix: pass finite posterior draws.")
    leader = delta.argmax(axis=-1)
    return np.where(delta.max(axis=-1) <= 0.0, 0, leader + 1)


def best_arm_frequencies(contrasts: np.ndarray, n_arms: int) -> np.ndarray:
    """Share of draws in which each arm is best: ``contrasts`` ``(S, K-1)`` -> ``(K,)`` summing to 1."""
    winners = best_arm(contrasts)
    if winners.ndim != 1:
        raise ValueError(f"best_arm_frequencies: expected draws of shape (S, K-1), got {np.shape(contrasts)}")
    return np.bincount(winners, minlength=n_arms)[:n_arms] / winners.size
