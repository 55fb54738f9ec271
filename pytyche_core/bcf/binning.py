"""Covariates -> uint8 bins, once per fit (feature-major), and back to thresholds.

Trees split on bins: a split ``(feature j, cut c)`` sends a visitor left when
its bin of feature j is <= c. Numeric features are cut at up to ``max_bins - 1``
quantiles of their observed values; a categorical or boolean feature uses its
category codes as bins (an ordinal split over the category order, as most BART
implementations do). New visitors are binned with the same edges, so stored
forests apply to them unchanged.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

MAX_BINS = 256


@dataclasses.dataclass(frozen=True)
class FeatureBins:
    """How one feature maps to bins.

    Numeric: ``edges`` (ascending, length n_bins - 1); value x gets bin
    ``searchsorted(edges, x, side="left")`` so bin b holds edges[b-1] < x <= edges[b].
    Categorical: ``categories`` in code order; bin = code.
    """

    name: str
    kind: str  # "numeric" | "categorical"
    edges: tuple[float, ...] = ()
    categories: tuple[str, ...] = ()

    @property
    def n_bins(self) -> int:
        return len(self.edges) + 1 if self.kind == "numeric" else max(len(self.categories), 1)

    def threshold(self, cut: int) -> float:
        """The numeric threshold t of cut ``cut``: bin <= cut  <=>  x <= t."""
        if self.kind != "numeric":
            raise TypeError(f"feature {self.name!r} is categorical; use categories_left(cut)")
        return self.edges[cut]

    def categories_left(self, cut: int) -> tuple[str, ...]:
        """The categories sent left by cut ``cut``."""
        return self.categories[: cut + 1]


@dataclasses.dataclass(frozen=True)
class BinnedCovariates:
    """Binned covariates: ``bins`` uint8 of shape ``(p, n)`` plus how to bin new data."""

    bins: np.ndarray
    features: tuple[FeatureBins, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.features)

    @property
    def n_bins(self) -> np.ndarray:
        """Number of bins per feature, shape ``(p,)``."""
        return np.array([f.n_bins for f in self.features], dtype=np.int32)


def _is_categorical(column: pd.Series) -> bool:
    return (isinstance(column.dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(column.dtype)
            or column.dtype == object)


def _check_finite(column: pd.Series, name: str) -> None:
    if column.isna().any():
        row = int(np.flatnonzero(column.isna().to_numpy())[0])
        raise ValueError(f"feature {name!r} has a missing value at row {row}. Fix: impute or drop "
                         "missing feature values before fitting (the trees need a value to split on).")


def _fit_feature(column: pd.Series, name: str, max_bins: int) -> FeatureBins:
    _check_finite(column, name)
    if pd.api.types.is_bool_dtype(column.dtype):
        return FeatureBins(name, "numeric", edges=(0.5,))
    if _is_categorical(column):
        if isinstance(column.dtype, pd.CategoricalDtype):
            cats = tuple(str(c) for c in column.cat.categories)
        else:
            cats = tuple(sorted({str(v) for v in column}))
        if len(cats) > max_bins:
            raise ValueError(f"feature {name!r} has {len(cats)} categories, more than {max_bins} bins. "
                             "Fix: group rare categories or encode the feature numerically.")
        return FeatureBins(name, "categorical", categories=cats)
    if not pd.api.types.is_numeric_dtype(column.dtype):
        raise TypeError(f"feature {name!r} has dtype {column.dtype}. Fix: use numeric, bool or categorical features.")
    values = column.to_numpy(dtype=np.float64)
    if not np.all(np.isfinite(values)):
        row = int(np.flatnonzero(~np.isfinite(values))[0])
        raise ValueError(f"feature {name!r} has a non-finite value at row {row}. Fix: clip or drop it.")
    distinct = np.unique(values)
    if distinct.size <= max_bins:
        # Few distinct values: cut half-way between neighbours, every value its own bin.
        edges = (distinct[:-1] + distinct[1:]) / 2.0
    else:
        qs = np.quantile(values, np.linspace(0.0, 1.0, max_bins + 1)[1:-1], method="lower")
        edges = np.unique(qs)
        edges = edges[edges < distinct[-1]]
    return FeatureBins(name, "numeric", edges=tuple(float(e) for e in edges))


def _apply_feature(column: pd.Series, spec: FeatureBins) -> np.ndarray:
    _check_finite(column, spec.name)
    if spec.kind == "categorical":
        labels = column.astype(str).to_numpy()
        lookup = {c: i for i, c in enumerate(spec.categories)}
        codes = np.array([lookup.get(v, -1) for v in labels], dtype=np.int64)
        if (codes < 0).any():
            unknown = labels[int(np.flatnonzero(codes < 0)[0])]
            raise ValueError(f"feature {spec.name!r} has category {unknown!r} unseen at fit time. "
                             f"Fix: map it to one of {list(spec.categories)}.")
        return codes.astype(np.uint8)
    values = column.to_numpy(dtype=np.float64)
    return np.searchsorted(np.asarray(spec.edges), values, side="left").astype(np.uint8)


def fit_bins(covariates: pd.DataFrame, max_bins: int = MAX_BINS) -> BinnedCovariates:
    """Learn bin edges from ``covariates`` (n rows, p columns) and bin them."""
    if not 2 <= max_bins <= MAX_BINS:
        raise ValueError(f"max_bins must be in [2, {MAX_BINS}], got {max_bins}")
    if covariates.shape[1] == 0:
        raise ValueError("no covariates to split on. Fix: pass at least one feature column.")
    specs = tuple(_fit_feature(covariates[c], str(c), max_bins) for c in covariates.columns)
    return BinnedCovariates(bins=apply_bins(covariates, specs), features=specs)


def apply_bins(covariates: pd.DataFrame, features: tuple[FeatureBins, ...]) -> np.ndarray:
    """Bin new rows with fitted edges: uint8 array of shape ``(p, n)``."""
    missing = [f.name for f in features if f.name not in covariates.columns]
    if missing:
        raise KeyError(f"covariates lack fitted features {missing}. Fix: pass the same feature columns.")
    out = np.empty((len(features), len(covariates)), dtype=np.uint8)
    for j, spec in enumerate(features):
        out[j] = _apply_feature(covariates[spec.name], spec)
    return out
