"""Segment rules: AND-combined clauses over visitor features.

A rule is the readable, portable definition of a group of visitors. It is
what a policy-tree leaf becomes, what an operator registers, and what is
exported as SQL or JSON for targeting. Clauses are kept in a canonical order
so that equal rules compare, hash and serialise equally whatever order they
were written in. A rule with no clauses is the catch-all.
"""

from __future__ import annotations

import dataclasses
from typing import Literal, get_args

import numpy as np
import pandas as pd

from ._checks import fail, finite_float, non_empty_str, set_field
from .schema import VISITOR_SCHEMA, is_reserved_column

ComparisonOperator = Literal["gt", "gte", "lt", "lte"]
_OPERATORS = frozenset(get_args(ComparisonOperator))


def _feature(owner: str, value: object) -> str:
    name = non_empty_str(owner, "feature", value)
    if is_reserved_column(name):
        raise fail(owner, "feature", f"{name!r} is a reserved design column, not a visitor feature",
                   "segment on a pre-treatment feature column")
    if name in VISITOR_SCHEMA:
        raise fail(owner, "feature", f"{name!r} is an outcome/bookkeeping column of VISITOR_SCHEMA",
                   "segment on a pre-treatment feature column")
    return name


@dataclasses.dataclass(frozen=True)
class EqRule:
    """Categorical equality: ``feature == value``."""

    feature: str
    value: str

    def __post_init__(self) -> None:
        _feature("EqRule", self.feature)
        if not isinstance(self.value, str):
            raise fail("EqRule", "value", f"expected a str, got {self.value!r}",
                       "compare numeric features with ComparisonRule")


@dataclasses.dataclass(frozen=True)
class InRule:
    """Categorical membership: ``feature in values`` (values kept sorted, unique)."""

    feature: str
    values: tuple[str, ...]

    def __post_init__(self) -> None:
        _feature("InRule", self.feature)
        if isinstance(self.values, str) or not isinstance(self.values, (tuple, list, frozenset, set)):
            raise fail("InRule", "values", f"expected a tuple of str, got {self.values!r}",
                       "pass a tuple such as ('mobile', 'tablet')")
        if not self.values or not all(isinstance(v, str) for v in self.values):
            raise fail("InRule", "values", f"expected a non-empty tuple of str, got {self.values!r}",
                       "pass at least one category name")
        set_field(self, "values", tuple(sorted(set(self.values))))


@dataclasses.dataclass(frozen=True)
class ComparisonRule:
    """Numeric threshold: ``feature <operator> threshold`` (gt, gte, lt, lte)."""

    feature: str
    operator: ComparisonOperator
    threshold: float

    def __post_init__(self) -> None:
        _feature("ComparisonRule", self.feature)
        if self.operator not in _OPERATORS:
            raise fail("ComparisonRule", "operator", f"got {self.operator!r}",
                       f"use one of {sorted(_OPERATORS)}")
        set_field(self, "threshold", finite_float("ComparisonRule", "threshold", self.threshold))


@dataclasses.dataclass(frozen=True)
class BetweenRule:
    """Numeric range, inclusive on both ends: ``low <= feature <= high``."""

    feature: str
    low: float
    high: float

    def __post_init__(self) -> None:
        _feature("BetweenRule", self.feature)
        low = finite_float("BetweenRule", "low", self.low)
        high = finite_float("BetweenRule", "high", self.high)
        if low > high:
            raise fail("BetweenRule", "low", f"low {low} exceeds high {high}", "swap the bounds")
        set_field(self, "low", low)
        set_field(self, "high", high)


RuleClause = EqRule | InRule | ComparisonRule | BetweenRule
_CLAUSE_TYPES = (EqRule, InRule, ComparisonRule, BetweenRule)


def _clause_key(clause: RuleClause) -> tuple:
    # Feature first (the documented canonical order), then a total order on the rest.
    return (clause.feature, type(clause).__name__, repr(clause))


@dataclasses.dataclass(frozen=True)
class SegmentRule:
    """A group of visitors: the AND of its clauses; no clauses matches everyone."""

    description: str
    clauses: tuple[RuleClause, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.description, str):
            raise fail("SegmentRule", "description", f"expected a str, got {self.description!r}",
                       "pass a short human-readable description")
        if isinstance(self.clauses, _CLAUSE_TYPES) or not isinstance(self.clauses, (tuple, list)):
            raise fail("SegmentRule", "clauses", f"expected a tuple of clauses, got {self.clauses!r}",
                       "wrap clauses in a tuple, e.g. (EqRule(...),)")
        for i, clause in enumerate(self.clauses):
            if not isinstance(clause, _CLAUSE_TYPES):
                raise fail("SegmentRule", f"clauses[{i}]", f"{clause!r} is not a rule clause",
                           "use EqRule, InRule, ComparisonRule or BetweenRule")
        set_field(self, "clauses", tuple(sorted(self.clauses, key=_clause_key)))

    @property
    def is_catch_all(self) -> bool:
        return not self.clauses

    @property
    def features(self) -> tuple[str, ...]:
        """The features the rule reads, sorted and unique."""
        return tuple(sorted({c.feature for c in self.clauses}))


_NUMERIC_OPS = {
    "gt": np.greater,
    "gte": np.greater_equal,
    "lt": np.less,
    "lte": np.less_equal,
}


def _column(visitors: pd.DataFrame, feature: str) -> pd.Series:
    if feature not in visitors.columns:
        raise KeyError(
            f"apply_rule: the rule reads feature {feature!r}, which the visitors do not have "
            f"(columns: {list(visitors.columns)}). Fix: pass visitors carrying that feature."
        )
    return visitors[feature]


def _numeric(column: pd.Series, feature: str) -> np.ndarray:
    if not (pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column)):
        raise TypeError(
            f"apply_rule: numeric clause on non-numeric feature {feature!r} (dtype {column.dtype}). "
            "Fix: use EqRule / InRule for categorical features."
        )
    # Missing values never satisfy a comparison.
    return column.astype("float64").to_numpy(na_value=np.nan)


def _categorical(column: pd.Series, feature: str) -> pd.Series:
    if pd.api.types.is_numeric_dtype(column) and not isinstance(column.dtype, pd.CategoricalDtype):
        raise TypeError(
            f"apply_rule: categorical clause on numeric feature {feature!r} (dtype {column.dtype}). "
            "Fix: use ComparisonRule / BetweenRule for numeric features."
        )
    return column.astype("object")


def clause_mask(clause: RuleClause, visitors: pd.DataFrame) -> np.ndarray:
    """Boolean mask of the visitors that satisfy one clause."""
    column = _column(visitors, clause.feature)
    if isinstance(clause, EqRule):
        return _categorical(column, clause.feature).eq(clause.value).to_numpy(dtype=bool)
    if isinstance(clause, InRule):
        return _categorical(column, clause.feature).isin(clause.values).to_numpy(dtype=bool)
    values = _numeric(column, clause.feature)
    with np.errstate(invalid="ignore"):
        if isinstance(clause, ComparisonRule):
            return _NUMERIC_OPS[clause.operator](values, clause.threshold)
        return (values >= clause.low) & (values <= clause.high)


def apply_rule(rule: SegmentRule, visitors: pd.DataFrame) -> np.ndarray:
    """Boolean mask, shape ``(len(visitors),)``, of the visitors the rule selects.

    The AND over zero clauses is all-True: the catch-all selects everyone.
    A missing value never satisfies a clause.
    """
    if not isinstance(rule, SegmentRule):
        raise TypeError(f"apply_rule: expected a SegmentRule, got {type(rule).__name__}")
    if not isinstance(visitors, pd.DataFrame):
        raise TypeError(f"apply_rule: expected a pandas DataFrame, got {type(visitors).__name__}")
    mask = np.ones(len(visitors), dtype=bool)
    for clause in rule.clauses:
        mask &= clause_mask(clause, visitors)
    return mask
