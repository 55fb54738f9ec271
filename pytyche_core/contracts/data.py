"""Observed experiment data: variants of visitors, and arrays aligned with them.

``ObservedExperimentData`` has no truth field: analysis code cannot see the
ground truth of a simulation, by construction. The concatenated visitor rows
(control first, then each treatment in order) are the one row order every
per-visitor array in pytyche is aligned with.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from ._checks import fail, integer, non_empty_str, set_field
from .errors import AlignmentViolation, SchemaViolation
from .frames import check_visitor_frame, violation
from .schema import (
    RESERVED_CELL_COLUMN,
    RESERVED_PROPENSITY_COLUMN,
    MetricFamily,
    is_feature_column,
    is_reserved_column,
    metric_family,
    propensity_arm,
    propensity_columns,
)


@dataclasses.dataclass(frozen=True)
class VariantData:
    """The visitors of one arm, with redundant totals checked on construction.

    ``visitors`` conforms to ``VISITOR_SCHEMA`` and may carry feature and
    reserved columns. ``n_visitors``, ``n_conversions`` and ``total_revenue``
    must agree with it (within 1e-6 relative for revenue).
    """

    name: str
    visitors: pd.DataFrame
    n_visitors: int
    n_conversions: int
    total_revenue: float

    def __post_init__(self) -> None:
        non_empty_str("VariantData", "name", self.name)
        check_visitor_frame(self.visitors, self.name)
        n = integer("VariantData", "n_visitors", self.n_visitors, minimum=0)
        if n != len(self.visitors):
            raise fail("VariantData", "n_visitors", f"{n} but the frame has {len(self.visitors)} rows",
                       "use VariantData.from_visitors(name, visitors)")
        conversions = int(self.visitors["converted"].sum())
        if integer("VariantData", "n_conversions", self.n_conversions, minimum=0) != conversions:
            raise fail("VariantData", "n_conversions", f"{self.n_conversions} but the frame has "
                       f"{conversions} converted rows", "use VariantData.from_visitors(name, visitors)")
        revenue = float(self.visitors["revenue"].sum())
        if not np.isclose(float(self.total_revenue), revenue, rtol=1e-6, atol=1e-6):
            raise fail("VariantData", "total_revenue", f"{self.total_revenue} but the frame sums to "
                       f"{revenue}", "use VariantData.from_visitors(name, visitors)")
        set_field(self, "n_visitors", n)
        set_field(self, "n_conversions", conversions)
        set_field(self, "total_revenue", float(self.total_revenue))

    @classmethod
    def from_visitors(cls, name: str, visitors: pd.DataFrame) -> VariantData:
        """Build a variant, computing the redundant totals from the frame."""
        if not isinstance(visitors, pd.DataFrame):
            raise SchemaViolation(f"variant {name!r}: visitors must be a DataFrame, got "
                                  f"{type(visitors).__name__}. Fix: pass a pandas DataFrame.")
        check_visitor_frame(visitors, name)
        return cls(name=name, visitors=visitors, n_visitors=len(visitors),
                   n_conversions=int(visitors["converted"].sum()),
                   total_revenue=float(visitors["revenue"].sum()))


def _check_design_columns(variants: tuple[VariantData, ...]) -> None:
    """Reserved columns: present in all variants or none, in the form K dictates."""
    k = len(variants)
    reserved = [tuple(sorted(c for c in v.visitors.columns if is_reserved_column(c))) for v in variants]
    for v, cols in zip(variants[1:], reserved[1:], strict=True):
        if cols != reserved[0]:
            raise violation(v.name, ", ".join(sorted(set(cols) ^ set(reserved[0]))) or "?",
                            f"reserved columns {list(cols)} differ from {variants[0].name!r}'s "
                            f"{list(reserved[0])}", "record the same design columns for every arm")
    props = [c for c in reserved[0] if c != RESERVED_CELL_COLUMN]
    if not props:
        return
    expected = set(propensity_columns(k))
    allowed = expected | ({"propensity_0"} if k >= 3 else set())
    if not expected <= set(props) or not set(props) <= allowed:
        raise violation(variants[0].name, ", ".join(props),
                        f"propensity columns {props} do not fit an experiment with {k} arms",
                        f"write {sorted(expected)} (K=2 uses {RESERVED_PROPENSITY_COLUMN!r})")
    for arm, v in enumerate(variants):
        frame = v.visitors
        if k == 2:
            p_treat = frame[RESERVED_PROPENSITY_COLUMN].to_numpy(dtype="float64")
            own = p_treat if arm == 1 else 1.0 - p_treat
        else:
            treat = np.column_stack([frame[f"propensity_{j}"].to_numpy(dtype="float64")
                                     for j in range(1, k)])
            total = treat.sum(axis=1)
            bad = total > 1.0 + 1e-6
            if bad.any():
                raise violation(v.name, "propensity_1..", "treatment propensities sum above 1",
                                "record P(Z=k | x) per arm so that they sum to <= 1", frame, bad)
            own = 1.0 - total if arm == 0 else treat[:, arm - 1]
        bad = own <= 0
        if bad.any():
            col = RESERVED_PROPENSITY_COLUMN if k == 2 else f"propensity_{max(arm, 1)}"
            raise violation(v.name, col, "the arm a visitor received had recorded probability 0",
                            "record the realized assignment probabilities", frame, bad)
    if "propensity_0" in props:
        for v in variants:
            total = sum(v.visitors[c].to_numpy(dtype="float64") for c in props)
            bad = np.abs(total - 1.0) > 1e-6
            if bad.any():
                raise violation(v.name, "propensity_0", "propensity_0..K-1 do not sum to 1",
                                "drop propensity_0 or make the row sum to 1", v.visitors, bad)


def _check_features(variants: tuple[VariantData, ...]) -> None:
    first = variants[0]
    features = [c for c in first.visitors.columns if is_feature_column(c)]
    for v in variants[1:]:
        other = [c for c in v.visitors.columns if is_feature_column(c)]
        if set(other) != set(features):
            diff = sorted(set(other) ^ set(features))
            raise violation(v.name, diff[0], f"feature columns differ from {first.name!r} ({diff})",
                            "give every arm the same feature columns")
        for name in features:
            a, b = first.visitors[name], v.visitors[name]
            if pd.api.types.is_numeric_dtype(a.dtype) != pd.api.types.is_numeric_dtype(b.dtype):
                raise violation(v.name, name, f"dtype {b.dtype} but {a.dtype} in {first.name!r}",
                                "use one dtype for a feature across arms")


def check_observed(experiment_id: str, metric: str, variants: tuple[VariantData, ...], *,
                   strict: bool = False) -> None:
    """Every cross-variant invariant of an experiment (frames re-checked too).

    ``strict`` (conversions carry revenue) only means something for a
    revenue metric; a conversion-rate experiment has no revenue to check.
    """
    strict = strict and metric_family(metric) is MetricFamily.HURDLE_REAL
    for v in variants:
        check_visitor_frame(v.visitors, v.name, strict=strict)
        bad = v.visitors["experiment_id"].to_numpy() != experiment_id
        if bad.any():
            raise violation(v.name, "experiment_id", f"row belongs to another experiment than "
                            f"{experiment_id!r}", "load one experiment at a time", v.visitors, bad)
    ids = pd.concat([v.visitors["visitor_id"] for v in variants], ignore_index=True)
    dup = ids.duplicated().to_numpy()
    if dup.any():
        first = int(np.flatnonzero(dup)[0])
        owner = next(v.name for v in variants if ids.iloc[first] in set(v.visitors["visitor_id"]))
        raise SchemaViolation(f"variant {owner!r}, column 'visitor_id': visitor "
                              f"{ids.iloc[first]!r} appears in more than one arm. "
                              "Fix: a visitor receives exactly one arm; drop the duplicates.")
    _check_features(variants)
    _check_design_columns(variants)


@dataclasses.dataclass(frozen=True)
class ObservedExperimentData:
    """One experiment's observed data: at least two variants, control first.

    No truth field, by design. ``variants`` is stored as a tuple.
    """

    experiment_id: str
    metric: str
    variants: tuple[VariantData, ...]

    def __post_init__(self) -> None:
        non_empty_str("ObservedExperimentData", "experiment_id", self.experiment_id)
        try:
            metric_family(self.metric)
        except ValueError as err:
            raise fail("ObservedExperimentData", "metric", str(err), "pass a known metric") from None
        if isinstance(self.variants, VariantData) or not isinstance(self.variants, (list, tuple)):
            raise fail("ObservedExperimentData", "variants", f"expected a list of VariantData, got "
                       f"{type(self.variants).__name__}", "pass [control, treatment, ...]")
        variants = tuple(self.variants)
        if len(variants) < 2:
            raise fail("ObservedExperimentData", "variants", f"{len(variants)} arm(s) given",
                       "an experiment needs a control and at least one treatment")
        for i, v in enumerate(variants):
            if not isinstance(v, VariantData):
                raise fail("ObservedExperimentData", f"variants[{i}]", f"got {type(v).__name__}",
                           "wrap each arm's visitors in VariantData")
        names = [v.name for v in variants]
        if len(set(names)) != len(names):
            raise fail("ObservedExperimentData", "variants", f"duplicate variant names {names}",
                       "give every arm a distinct name")
        check_observed(self.experiment_id, self.metric, variants)
        set_field(self, "variants", variants)

    @property
    def control_name(self) -> str:
        """The reference arm (the first variant)."""
        return self.variants[0].name

    @property
    def treatment_names(self) -> tuple[str, ...]:
        """The non-control arms, in variant order."""
        return tuple(v.name for v in self.variants[1:])

    @property
    def arm_names(self) -> tuple[str, ...]:
        return tuple(v.name for v in self.variants)

    @property
    def n_arms(self) -> int:
        return len(self.variants)

    @property
    def n_visitors(self) -> int:
        return sum(v.n_visitors for v in self.variants)

    @property
    def metric_family(self):
        return metric_family(self.metric)

    @property
    def feature_names(self) -> tuple[str, ...]:
        """Feature columns in the control frame's order (reserved columns excluded)."""
        return tuple(c for c in self.variants[0].visitors.columns if is_feature_column(c))

    def visitors(self) -> pd.DataFrame:
        """All visitors, control first then each treatment: the alignment order."""
        return pd.concat([v.visitors for v in self.variants], ignore_index=True)

    def arm_index(self) -> np.ndarray:
        """Per-visitor arm index (0 = control), aligned with ``visitors()``."""
        return np.repeat(np.arange(self.n_arms), [v.n_visitors for v in self.variants])


@dataclasses.dataclass(frozen=True)
class AlignedVisitorArray:
    """An array whose row i belongs to row i of the concatenated visitors.

    ``values`` has shape ``(n,)`` or ``(n, d)``; it is copied and made
    read-only. Numeric values must be finite.
    """

    values: np.ndarray
    n_visitors: int

    def __post_init__(self) -> None:
        n = integer("AlignedVisitorArray", "n_visitors", self.n_visitors, minimum=0)
        if not isinstance(self.values, np.ndarray):
            raise AlignmentViolation(f"AlignedVisitorArray.values: expected a numpy array, got "
                                     f"{type(self.values).__name__}. Fix: pass np.asarray(values).")
        if self.values.ndim not in (1, 2):
            raise AlignmentViolation(f"AlignedVisitorArray.values: shape {self.values.shape} must be "
                                     "(n,) or (n, d). Fix: reshape the array.")
        if len(self.values) != n:
            raise AlignmentViolation(f"AlignedVisitorArray: {len(self.values)} values for {n} visitors. "
                                     "Fix: build one value per concatenated visitor row.")
        values = np.array(self.values, copy=True)
        if values.dtype.kind in "biuf" and values.dtype.kind != "b":
            bad = ~np.isfinite(values.reshape(n, -1)).all(axis=1)
            if bad.any():
                raise AlignmentViolation(f"AlignedVisitorArray: non-finite value at row "
                                         f"{int(np.flatnonzero(bad)[0])}. Fix: never store NaN effects.")
        values.flags.writeable = False
        set_field(self, "values", values)
        set_field(self, "n_visitors", n)

    def __len__(self) -> int:
        return self.n_visitors


def frame_propensities(frame: pd.DataFrame, n_arms: int) -> np.ndarray | None:
    """Recorded P(Z = k | x) of a visitor frame's rows over ``n_arms`` arms, ``(rows, K)``; None if not recorded.

    ``propensity`` at K = 2, ``propensity_1 .. propensity_{K-1}`` above; control
    takes the rest.
    """
    columns = propensity_columns(n_arms)
    if not set(columns) <= set(frame.columns):
        return None
    treat = np.column_stack([frame[c].to_numpy(dtype="float64") for c in columns])
    return np.column_stack([1.0 - treat.sum(axis=1), treat])


def propensity_matrix(observed: ObservedExperimentData) -> np.ndarray | None:
    """Recorded P(Z = k | x) for every visitor and arm, shape ``(n, K)``; None if not recorded."""
    if not set(propensity_columns(observed.n_arms)) <= set(observed.variants[0].visitors.columns):
        return None
    return frame_propensities(observed.visitors(), observed.n_arms)


__all__ = [
    "AlignedVisitorArray",
    "ObservedExperimentData",
    "VariantData",
    "check_observed",
    "frame_propensities",
    "propensity_arm",
    "propensity_matrix",
]
