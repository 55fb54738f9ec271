"""The visitor table: required columns, reserved columns and metric taxonomy.

A visitor frame holds one row per visitor. Besides the required columns it
may carry feature columns (used to learn who benefits) and the reserved
columns written at assignment time: ``propensity`` / ``propensity_<k>``
(the visitor's realized assignment probabilities) and ``cell`` (which cell of
a sequential experiment routed the visitor). Reserved columns are never
features: they describe the design, not the visitor.
"""

from __future__ import annotations

import re
from enum import StrEnum
from types import MappingProxyType

#: Required columns and the dtype family each must have. ``"object"`` means
#: "a string column" (``object`` or pandas' string dtype, every value a str).
VISITOR_SCHEMA: MappingProxyType[str, str] = MappingProxyType(
    {
        "visitor_id": "object",
        "experiment_id": "object",
        "variant": "object",
        "converted": "bool",
        "revenue": "float64",
        "orders_count": "int64",
        "sessions_count": "int64",
    }
)

#: K = 2: P(Z = 1 | x), the probability of the treatment arm.
RESERVED_PROPENSITY_COLUMN = "propensity"
#: K >= 3: ``propensity_<k>`` = P(Z = k | x) for k = 1 .. K-1.
RESERVED_PROPENSITY_PREFIX = "propensity_"
#: The id of the cell that allocated the visitor.
RESERVED_CELL_COLUMN = "cell"

_PROPENSITY_ARM = re.compile(r"^propensity_(\d+)$")


def is_reserved_propensity_column(name: str) -> bool:
    """True for ``"propensity"`` and ``"propensity_<digits>"``.

    ``propensity_0`` is matched on purpose: it is not a column we write, but
    treating it as reserved keeps a propensity-like column out of the
    feature matrix.
    """
    return name == RESERVED_PROPENSITY_COLUMN or _PROPENSITY_ARM.match(name) is not None


def propensity_arm(name: str) -> int | None:
    """The arm index of a ``propensity_<k>`` column, else ``None``."""
    match = _PROPENSITY_ARM.match(name)
    return int(match.group(1)) if match else None


def is_reserved_column(name: str) -> bool:
    """True for every reserved column: propensities and the cell id."""
    return name == RESERVED_CELL_COLUMN or is_reserved_propensity_column(name)


def is_feature_column(name: str) -> bool:
    """True for a column that may describe a visitor to the model."""
    return name not in VISITOR_SCHEMA and not is_reserved_column(name)


def propensity_columns(n_arms: int) -> tuple[str, ...]:
    """The reserved propensity columns written for an experiment with ``n_arms`` arms."""
    if n_arms < 2:
        raise ValueError(f"propensity_columns: an experiment needs >= 2 arms, got {n_arms}")
    if n_arms == 2:
        return (RESERVED_PROPENSITY_COLUMN,)
    return tuple(f"{RESERVED_PROPENSITY_PREFIX}{k}" for k in range(1, n_arms))


class MetricFamily(StrEnum):
    """What kind of outcome a metric is; it decides the model's structure."""

    BINARY = "binary"
    """Conversion only (probit model); no decomposition."""
    HURDLE_REAL = "hurdle_real"
    """Zero-inflated positive outcome: conversion x order value (hurdle model)."""
    CONTINUOUS = "continuous"
    """A real-valued outcome modelled as Gaussian."""


class Decision(StrEnum):
    """The recommendation for one treatment."""

    SHIP = "ship"
    """Deploy the treatment."""
    CONTINUE = "continue"
    """Keep collecting data."""
    STOP = "stop"
    """Abandon the treatment: harmful, or futile."""


class ClaimLevel(StrEnum):
    """How strong a claim the analysis supports (evidence, not mechanism)."""

    EXPLORATORY = "exploratory"
    HONEST_ESTIMATE = "honest_estimate"
    CONFIRMED = "confirmed"


#: The metrics pytyche knows, and their families.
METRIC_FAMILIES: MappingProxyType[str, MetricFamily] = MappingProxyType(
    {
        "conversion_rate": MetricFamily.BINARY,
        "revenue_per_visitor": MetricFamily.HURDLE_REAL,
    }
)


def metric_family(metric_id: str) -> MetricFamily:
    """The family of a known metric; a clear error for an unknown one."""
    try:
        return METRIC_FAMILIES[metric_id]
    except KeyError:
        raise ValueError(
            f"unknown metric {metric_id!r}. Fix: use one of {sorted(METRIC_FAMILIES)}."
        ) from None
