"""Thompson allocation per segment from the best-arm frequencies of segment-mean draws (docs/concepts/segments.md).

The basis is the segment mean, not the share of members who benefit: a
segment whose average effect is clearly positive is treated decisively, and
heterogeneity inside it is the policy tree's job (split further), not the
allocation's.
"""

from __future__ import annotations

import math

import numpy as np


def check_epsilon(epsilon: float) -> float:
    if isinstance(epsilon, bool) or not isinstance(epsilon, (int, float)) or not math.isfinite(epsilon) \
            or not 0.0 <= epsilon <= 1.0:
        raise ValueError(f"epsilon must be in [0, 1], got {epsilon!r}. Fix: pass the exploration floor, "
                         "e.g. 0.1 (each arm keeps at least epsilon / K).")
    return float(epsilon)


def thompson_weights(best_probabilities: np.ndarray, epsilon: float) -> np.ndarray:
    """w_k = epsilon / K + (1 - epsilon) p_k: each arm at least epsilon / K, summing to 1."""
    p = np.asarray(best_probabilities, dtype=float)
    epsilon = check_epsilon(epsilon)
    weights = epsilon / p.size + (1.0 - epsilon) * p
    return weights / weights.sum()  # absorbs rounding so the map sums to 1 exactly

