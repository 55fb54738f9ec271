"""The policy tree: a shallow scikit-learn tree on posterior-mean effects, read as segments.

At K = 2 the tree is a regression on each visitor's posterior-mean effect;
at K >= 3 a classifier on the best arm of each visitor's posterior-mean
contrast vector (the shared rule). Its leaves become ``DiscoveredSegment``s:
the rule from the path, the GATE from the per-draw mean of the members'
draws, the best-arm probabilities from the same per-draw means, bootstrap
stability, and a Thompson allocation. ``max_depth="cv"`` picks the depth by
cross-validated doubly-robust policy value (docs/concepts/policy-evaluation.md).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from ..contracts import DepthScore, DiscoveredSegment, PolicyTreeResult, SegmentRule, apply_rule
from .allocation import check_epsilon, thompson_weights
from .best_arm import best_arm, best_arm_frequencies
from .draws import group_means, member_means
from .tree_rules import FeatureEncoding, leaf_rules

if TYPE_CHECKING:
    from .results import BCFResult

#: Depths tried by ``max_depth="cv"`` (0 = one arm for everyone).
CV_DEPTHS = (0, 1, 2, 3, 4)
CV_FOLDS = 5
_JACCARD_MATCH = 0.5


def _check_arguments(max_depth, min_segment_share, n_bootstrap, seed) -> None:
    if max_depth != "cv" and (isinstance(max_depth, bool) or not isinstance(max_depth, (int, np.integer))
                              or not 0 <= max_depth <= 8):
        raise ValueError(f"max_depth must be an integer in [0, 8] or 'cv', got {max_depth!r}. "
                         "Fix: policy trees are shallow; 2 gives at most 4 readable segments.")
    if isinstance(min_segment_share, bool) or not isinstance(min_segment_share, (int, float)) \
            or not 0.0 < min_segment_share <= 0.5:
        raise ValueError(f"min_segment_share must be in (0, 0.5], got {min_segment_share!r}. "
                         "Fix: pass the smallest share of visitors a segment may hold, e.g. 0.1.")
    if isinstance(n_bootstrap, bool) or not isinstance(n_bootstrap, (int, np.integer)) or n_bootstrap < 0:
        raise ValueError(f"n_bootstrap must be an integer >= 0, got {n_bootstrap!r} (0 skips stability).")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}.")


def _tree(depth: int, k: int, min_leaf: int, seed: int):
    kind = DecisionTreeRegressor if k == 2 else DecisionTreeClassifier
    return kind(max_depth=depth, min_samples_leaf=min_leaf, random_state=seed)


def _targets(mean_effects: np.ndarray) -> np.ndarray:
    """Regression target (K = 2) or best-arm labels (K >= 3) of posterior-mean contrasts ``(n, K-1)``."""
    return mean_effects[:, 0] if mean_effects.shape[1] == 1 else best_arm(mean_effects)


def _leaves(depth: int, x: np.ndarray, target: np.ndarray, k: int, min_leaf: int, seed: int,
            x_eval: np.ndarray) -> tuple[object | None, np.ndarray]:
    """Fit a tree of ``depth`` on (x, target); leaf node id of every row of ``x_eval`` (0 for depth 0)."""
    if depth == 0 or np.unique(target).size < 2:
        return None, np.zeros(len(x_eval), dtype=np.int64)
    tree = _tree(depth, k, min_leaf, seed).fit(x, target)
    if len(x_eval) == 0:
        return tree, np.zeros(0, dtype=np.int64)
    return tree, tree.apply(x_eval).astype(np.int64)


def _stability(x, target, k, depth, min_leaf, n_bootstrap, seed, labels, n_segments) -> np.ndarray:
    """Share of bootstrap refits with a leaf of Jaccard >= 0.5 to each segment (docs/concepts/segments.md)."""
    if n_bootstrap == 0:
        return np.full(n_segments, math.nan)
    rng = np.random.default_rng(seed)
    n = len(x)
    sizes = np.bincount(labels, minlength=n_segments)
    hits = np.zeros(n_segments)
    for b in range(n_bootstrap):
        rows = rng.integers(0, n, n)
        _, refit = _leaves(depth, x[rows], target[rows], k, min_leaf, seed + b + 1, x)
        _, leaf_index = np.unique(refit, return_inverse=True)
        m = leaf_index.max() + 1
        overlap = np.bincount(labels * m + leaf_index, minlength=n_segments * m).reshape(n_segments, m)
        union = sizes[:, None] + np.bincount(leaf_index, minlength=m)[None, :] - overlap
        hits += ((overlap / union) >= _JACCARD_MATCH).any(axis=1)
    return hits / n_bootstrap


def _gate(means: np.ndarray) -> tuple[float, tuple[float, float]]:
    """GATE of one segment from its per-draw mean contrasts ``(S, K-1)``.

    K = 2: the one contrast. K >= 3: the contrast of the treatment with the
    highest posterior mean here (the segment's best challenger).
    """
    j = int(means.mean(axis=0).argmax())
    draws = means[:, j]
    low, high = np.quantile(draws, [0.1, 0.9])
    return float(draws.mean()), (float(low), float(high))


def _policy_arms(train_leaves: np.ndarray, train_effects: np.ndarray, eval_leaves: np.ndarray) -> np.ndarray:
    """Arm per evaluated row: the best arm of its leaf's mean training contrast (unseen leaf: global)."""
    fallback = int(best_arm(train_effects.mean(axis=0)))
    arms = np.full(eval_leaves.shape, fallback, dtype=np.int64)
    for leaf in np.unique(eval_leaves):
        members = train_leaves == leaf
        if members.any():
            arms[eval_leaves == leaf] = int(best_arm(train_effects[members].mean(axis=0)))
    return arms


def cross_validated_depths(result: BCFResult, x: np.ndarray, mean_effects: np.ndarray, min_leaf: int,
                           seed: int, depths=CV_DEPTHS, folds: int = CV_FOLDS) -> tuple[int, tuple[DepthScore, ...]]:
    """Held-out doubly-robust value of each depth; the smallest depth within one paired SE of the best.

    Each fold's tree is fit on the other folds' posterior means and scored
    on the fold with the recorded assignment probabilities. The posterior
    means come from one fit on every visitor, so the held-out fold is not
    fully independent of them: the scores rank depths, they are not a value
    to report (use ``evaluation.policy_value`` on fresh data for that).
    """
    from .evaluation import doubly_robust_scores

    scores = doubly_robust_scores(result.observed, result.outcome_means())  # (n, K)
    k = result.observed.n_arms
    target = _targets(mean_effects)
    fold = np.random.default_rng(seed).permutation(len(x)) % folds
    per_visitor = np.empty((len(depths), len(x)))
    for d_index, depth in enumerate(depths):
        for f in range(folds):
            train, held = fold != f, fold == f
            _, leaves = _leaves(depth, x[train], target[train], k, min_leaf, seed, np.concatenate(
                [x[train], x[held]]))
            n_train = int(train.sum())
            arms = _policy_arms(leaves[:n_train], mean_effects[train], leaves[n_train:])
            per_visitor[d_index, held] = scores[np.flatnonzero(held), arms]
    n = len(x)
    values = per_visitor.mean(axis=1)
    best = int(values.argmax())
    chosen = best
    for d_index in range(len(depths)):  # the smallest depth within one paired SE of the best
        diff = per_visitor[d_index] - per_visitor[best]
        if diff.mean() >= -diff.std(ddof=1) / math.sqrt(n):
            chosen = d_index
            break
    table = tuple(DepthScore(depth, float(values[i]), float(per_visitor[i].std(ddof=1) / math.sqrt(n)))
                  for i, depth in enumerate(depths))
    return int(depths[chosen]), table


def split_features(observed, features: Sequence[str] | None) -> tuple[str, ...]:
    """The features a policy tree may split on: all of the data's, or the ``features`` subset.

    A subset is how an experiment keeps its plan on the attributes the
    storefront can evaluate at assignment time (the rest still enter the fit).
    """
    available = observed.feature_names
    if features is None:
        chosen = tuple(available)
    else:
        if isinstance(features, str) or not all(isinstance(f, str) for f in features):
            raise TypeError(f"features: expected a list of feature names, got {features!r}.")
        chosen = tuple(dict.fromkeys(features))
        unknown = [f for f in chosen if f not in available]
        if unknown:
            raise ValueError(f"policy tree: features {unknown} are not features of the data "
                             f"{list(available)}. Fix: name only recorded visitor features.")
    if not chosen:
        raise ValueError("policy tree: no feature columns to segment on. Fix: record pre-treatment features "
                         "on the visitors (and list at least one as assignable).")
    return chosen


def fit_policy_tree(result: BCFResult, max_depth: int | str = 2, min_segment_share: float = 0.1,
                    n_bootstrap: int = 50, seed: int = 0, *, epsilon: float = 0.1,
                    features: Sequence[str] | None = None) -> PolicyTreeResult:
    """Segments from a shallow tree on the posterior-mean effects (see the module docstring).

    ``min_segment_share`` is the smallest share of visitors a leaf may hold;
    ``n_bootstrap`` refits score each segment's stability (0: NaN);
    ``epsilon`` is the Thompson floor of ``allocation_map`` (each arm gets at
    least epsilon / K); ``features`` restricts the splits to those visitor
    features (None: every feature). Deterministic for a given ``seed``.
    """
    _check_arguments(max_depth, min_segment_share, n_bootstrap, seed)
    epsilon = check_epsilon(epsilon)
    observed = result.observed
    visitors = observed.visitors()
    features = split_features(observed, features)
    samples = result.cate_samples
    n, k = samples.shape[0], observed.n_arms
    encoding = FeatureEncoding.of(visitors, features)
    x = encoding.matrix(visitors)
    mean_effects = samples.mean(axis=1, dtype=np.float64)  # (n, K-1)
    min_leaf = max(1, math.ceil(min_segment_share * n))
    depth_scores: tuple[DepthScore, ...] = ()
    if max_depth == "cv":
        max_depth, depth_scores = cross_validated_depths(result, x, mean_effects, min_leaf, seed)
    target = _targets(mean_effects)
    tree, _ = _leaves(int(max_depth), x, target, k, min_leaf, seed, x[:0])
    rules = leaf_rules(tree, encoding) if tree is not None else {0: SegmentRule("all visitors")}
    ids = list(rules)
    labels = np.full(n, -1, dtype=np.int64)
    for index, leaf in enumerate(ids):
        mask = apply_rule(rules[leaf], visitors)
        if (labels[mask] >= 0).any():
            raise RuntimeError("policy tree: leaf rules overlap; please report this as a bug.")
        labels[mask] = index
    if (labels < 0).any():
        raise RuntimeError("policy tree: some visitors match no leaf rule; please report this as a bug.")
    means = group_means(samples, labels, len(ids))  # (L, S, K-1)
    stability = _stability(x, target, k, int(max_depth) if tree is not None else 0, min_leaf, n_bootstrap,
                           seed, labels, len(ids))
    segments, allocation = [], {}
    for index, leaf in enumerate(ids):
        p_best = best_arm_frequencies(means[index], k)
        gate, gate_ci = _gate(means[index])
        segments.append(DiscoveredSegment(
            id=leaf, rule=rules[leaf], gate_estimate=gate, gate_ci=gate_ci,
            population_share=float((labels == index).mean()), stability_score=float(stability[index]),
            arm_best_probabilities=dict(zip(observed.arm_names, p_best.tolist(), strict=True))))
        allocation[leaf] = dict(zip(observed.arm_names, thompson_weights(p_best, epsilon).tolist(), strict=True))
    return PolicyTreeResult(segments=segments, allocation_map=allocation, max_depth=int(max_depth),
                            epsilon=epsilon, depth_scores=depth_scores)


def thompson_allocation(result: BCFResult, segments, epsilon: float = 0.1) -> dict[int, dict[str, float]]:
    """``{segment id: {arm: weight}}`` from the segment-mean best-arm frequencies, floor epsilon / K.

    ``segments`` are ``DiscoveredSegment``s (e.g. ``fit_policy_tree(...).segments``);
    each segment's members are the fitted visitors its rule selects.
    """
    epsilon = check_epsilon(epsilon)
    if isinstance(segments, PolicyTreeResult):
        segments = segments.segments
    if not isinstance(segments, (list, tuple)) or not segments:
        raise ValueError("thompson_allocation: pass a non-empty list of DiscoveredSegment "
                         "(e.g. result.fit_policy_tree().segments).")
    observed = result.observed
    visitors = observed.visitors()
    out: dict[int, dict[str, float]] = {}
    for segment in segments:
        if not isinstance(segment, DiscoveredSegment):
            raise TypeError(f"thompson_allocation: expected DiscoveredSegment, got {type(segment).__name__}")
        mask = apply_rule(segment.rule, visitors)
        if not mask.any():
            raise ValueError(f"thompson_allocation: segment {segment.id} ({segment.rule.description!r}) selects "
                             "none of the fitted visitors. Fix: allocate segments found on this data.")
        means = member_means(result.cate_samples, mask)
        p_best = best_arm_frequencies(means, observed.n_arms)
        out[segment.id] = dict(zip(observed.arm_names, thompson_weights(p_best, epsilon).tolist(), strict=True))
    return out
