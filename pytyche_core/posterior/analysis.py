"""``result.analyze()``: the lean summary of one fitted posterior.

One ``Comparison`` per treatment, the segments of a policy tree (only when
the tree found heterogeneity worth splitting on: a root-only tree gives an
empty list), the recommendation for the best challenger, and every
visitor's posterior-mean effect.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import numpy as np

from ..contracts import AnalysisResult, DecisionThresholds
from .comparisons import comparison_summary, recommendation_summary
from .draws import member_means
from .policy_tree import fit_policy_tree

if TYPE_CHECKING:
    from .results import BCFResult


def best_challenger(result: BCFResult) -> str:
    """The treatment with the highest posterior-mean average effect over control."""
    averages = member_means(result.cate_samples, np.ones(result.observed.n_visitors, dtype=bool)).mean(axis=0)
    return result.treatment_names[int(averages.argmax())]


def analyze(result: BCFResult, *, thresholds: DecisionThresholds | None = None, max_depth: int | str = 2,
            min_segment_share: float = 0.1, n_bootstrap: int = 50, seed: int = 0,
            round_size: int | None = None) -> AnalysisResult:
    """Comparisons, segments, the recommendation and ``cate_per_visitor`` of one fit.

    ``cate_per_visitor`` is ``(n,)`` at K = 2 and ``(n, K-1)`` at K >= 3.
    The policy-tree and recommendation arguments are passed through to
    ``fit_policy_tree`` and ``recommendation_summary``.
    """
    comparisons = [comparison_summary(result, name) for name in result.treatment_names]
    tree = fit_policy_tree(result, max_depth=max_depth, min_segment_share=min_segment_share,
                           n_bootstrap=n_bootstrap, seed=seed)
    segments = tree.segments if len(tree.segments) > 1 else []
    recommendation = recommendation_summary(result, best_challenger(result), thresholds=thresholds,
                                            round_size=round_size)
    cate = result.cate_samples.mean(axis=1, dtype=np.float64)
    return AnalysisResult(
        experiment_id=result.observed.experiment_id, metric=result.observed.metric, comparisons=comparisons,
        segments=segments, recommendation=recommendation,
        cate_per_visitor=cate[:, 0] if cate.shape[1] == 1 else cate,
        analyzed_at=datetime.now(UTC), posterior=result)
