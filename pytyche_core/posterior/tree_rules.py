"""Visitor features as a tree's design matrix, and a fitted tree's leaves as ``SegmentRule``s.

Numeric and boolean features are one column each; a categorical feature
becomes one indicator column per category seen at fit time, so a split on it
reads "category is v" (right) or "category is one of the others" (left) and
turns into a membership clause. Along a path the clauses on one feature are
merged: the tightest numeric bounds, the intersection of category sets.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from ..contracts import ComparisonRule, InRule, SegmentRule


@dataclasses.dataclass(frozen=True)
class TreeColumn:
    """One design-matrix column: a numeric feature, or the indicator of one category."""

    feature: str
    category: str | None = None


@dataclasses.dataclass(frozen=True)
class FeatureEncoding:
    """How visitor features map to tree columns; ``categories`` per categorical feature."""

    columns: tuple[TreeColumn, ...]
    categories: dict[str, tuple[str, ...]]
    booleans: frozenset[str]

    @classmethod
    def of(cls, visitors: pd.DataFrame, features: tuple[str, ...]) -> FeatureEncoding:
        columns: list[TreeColumn] = []
        categories: dict[str, tuple[str, ...]] = {}
        booleans = set()
        for name in features:
            column = visitors[name]
            if pd.api.types.is_bool_dtype(column):
                booleans.add(name)
                columns.append(TreeColumn(name))
            elif pd.api.types.is_numeric_dtype(column) and not isinstance(column.dtype, pd.CategoricalDtype):
                columns.append(TreeColumn(name))
            else:
                levels = tuple(sorted({str(v) for v in column.dropna().unique()}))
                categories[name] = levels
                columns.extend(TreeColumn(name, level) for level in levels)
        return cls(tuple(columns), categories, frozenset(booleans))

    def matrix(self, visitors: pd.DataFrame) -> np.ndarray:
        """float32 ``(n, columns)``; a missing numeric value is an error (trees here take none)."""
        out = np.empty((len(visitors), len(self.columns)), dtype=np.float32)
        for i, col in enumerate(self.columns):
            series = visitors[col.feature]
            if col.category is None:
                values = series.astype("float64").to_numpy(na_value=np.nan)
                if np.isnan(values).any():
                    raise ValueError(f"policy tree: feature {col.feature!r} has missing values. Fix: impute "
                                     "or drop them before fitting (the BCF fit refuses them too).")
                out[:, i] = values
            else:
                out[:, i] = (series.astype("object") == col.category).to_numpy(dtype=bool)
        return out


def _path_clauses(encoding: FeatureEncoding, path: list[tuple[int, float, bool]]):
    """Clauses of one root-to-leaf path: (column, threshold, went_right) steps, merged per feature."""
    lower: dict[str, float] = {}
    upper: dict[str, float] = {}
    allowed: dict[str, set[str]] = {}
    for column_index, threshold, right in path:
        col = encoding.columns[column_index]
        if col.category is not None:  # indicator <= 0.5 (left) means "not this category"
            levels = allowed.setdefault(col.feature, set(encoding.categories[col.feature]))
            if right:
                levels.intersection_update({col.category})
            else:
                levels.discard(col.category)
        elif right:
            lower[col.feature] = max(lower.get(col.feature, -np.inf), threshold)
        else:
            upper[col.feature] = min(upper.get(col.feature, np.inf), threshold)
    clauses = []
    for feature, levels in allowed.items():
        clauses.append(InRule(feature, tuple(sorted(levels))))
    for feature, bound in lower.items():
        clauses.append(ComparisonRule(feature, "gt", float(bound)))
    for feature, bound in upper.items():
        clauses.append(ComparisonRule(feature, "lte", float(bound)))
    return clauses


def _describe(encoding: FeatureEncoding, clauses) -> str:
    if not clauses:
        return "all visitors"
    parts = []
    for clause in SegmentRule("", tuple(clauses)).clauses:
        if isinstance(clause, InRule):
            shown = ", ".join(clause.values)
            parts.append(f"{clause.feature} is {shown}" if len(clause.values) == 1
                         else f"{clause.feature} in {{{shown}}}")
        elif clause.feature in encoding.booleans:
            parts.append(f"{clause.feature}" if clause.operator == "gt" else f"not {clause.feature}")
        else:
            symbol = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}[clause.operator]
            parts.append(f"{clause.feature} {symbol} {clause.threshold:.6g}")
    return " and ".join(parts)


def leaf_rules(tree, encoding: FeatureEncoding) -> dict[int, SegmentRule]:
    """Every leaf of a fitted scikit-learn tree as a rule, keyed by the leaf's node id.

    A root-only tree gives one catch-all rule (no clauses), keyed 0.
    """
    t = tree.tree_
    rules: dict[int, SegmentRule] = {}
    stack: list[tuple[int, list[tuple[int, float, bool]]]] = [(0, [])]
    while stack:
        node, path = stack.pop()
        left, right = t.children_left[node], t.children_right[node]
        if left == right:  # a leaf
            clauses = _path_clauses(encoding, path)
            rules[int(node)] = SegmentRule(_describe(encoding, clauses), tuple(clauses))
            continue
        feature, threshold = int(t.feature[node]), float(t.threshold[node])
        stack.append((int(right), [*path, (feature, threshold, True)]))
        stack.append((int(left), [*path, (feature, threshold, False)]))
    return dict(sorted(rules.items()))
