"""Row-level checks of visitor frames against ``VISITOR_SCHEMA``.

Every failure is a ``SchemaViolation`` whose message names the variant, the
column, the first bad row (position and visitor id) and the fix.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .errors import SchemaViolation
from .schema import (
    RESERVED_CELL_COLUMN,
    VISITOR_SCHEMA,
    is_reserved_propensity_column,
)


def _row_label(frame: pd.DataFrame, position: int) -> str:
    visitor = None
    if "visitor_id" in frame.columns:
        visitor = frame["visitor_id"].iloc[position]
    return f"row {position}" + (f" (visitor_id={visitor!r})" if visitor is not None else "")


def violation(variant: str, column: str, problem: str, fix: str,
              frame: pd.DataFrame | None = None, bad: np.ndarray | None = None) -> SchemaViolation:
    where = ""
    if frame is not None and bad is not None and bad.any():
        first = int(np.flatnonzero(bad)[0])
        where = f", first bad {_row_label(frame, first)} of {int(bad.sum())} bad rows"
    return SchemaViolation(f"variant {variant!r}, column {column!r}: {problem}{where}. Fix: {fix}.")


def is_string_column(column: pd.Series) -> bool:
    """Object or pandas string dtype whose non-missing values are all str."""
    if pd.api.types.is_string_dtype(column.dtype) and not isinstance(column.dtype, pd.CategoricalDtype):
        if column.dtype == object:
            # infer_dtype scans in C; "string" means every non-missing value is a str.
            return pd.api.types.infer_dtype(column, skipna=True) in ("string", "empty")
        return True
    return False


def _check_string(frame: pd.DataFrame, variant: str, name: str) -> None:
    column = frame[name]
    if not is_string_column(column):
        raise violation(variant, name, f"expected a string column, got dtype {column.dtype}",
                        "cast it with .astype(str)")
    bad = column.isna().to_numpy() | (column.astype("object") == "").to_numpy(dtype=bool)
    if bad.any():
        raise violation(variant, name, "missing or empty value", "fill every row", frame, bad)


def _check_bool(frame: pd.DataFrame, variant: str, name: str) -> None:
    column = frame[name]
    if not pd.api.types.is_bool_dtype(column.dtype):
        raise violation(variant, name, f"expected a bool column, got dtype {column.dtype}",
                        "cast it with .astype(bool) after checking for missing values")
    bad = column.isna().to_numpy()
    if bad.any():
        raise violation(variant, name, "missing value", "fill every row with True/False", frame, bad)


def _check_count(frame: pd.DataFrame, variant: str, name: str) -> None:
    column = frame[name]
    if not pd.api.types.is_integer_dtype(column.dtype) or pd.api.types.is_bool_dtype(column.dtype):
        raise violation(variant, name, f"expected an integer column, got dtype {column.dtype}",
                        "cast it with .astype('int64')")
    values = column.to_numpy(dtype="float64", na_value=np.nan)
    bad = ~np.isfinite(values) | (values < 0)
    if bad.any():
        raise violation(variant, name, "missing or negative count", "counts are >= 0 integers", frame, bad)


def _check_revenue(frame: pd.DataFrame, variant: str) -> np.ndarray:
    column = frame["revenue"]
    if not pd.api.types.is_numeric_dtype(column.dtype) or pd.api.types.is_bool_dtype(column.dtype):
        raise violation(variant, "revenue", f"expected a float column, got dtype {column.dtype}",
                        "cast it with .astype('float64')")
    values = column.to_numpy(dtype="float64", na_value=np.nan)
    bad = ~np.isfinite(values)
    if bad.any():
        raise violation(variant, "revenue", "NaN or infinite revenue",
                        "set revenue to 0.0 for visitors who bought nothing", frame, bad)
    bad = values < 0
    if bad.any():
        raise violation(variant, "revenue", "negative revenue",
                        "net refunds out upstream; revenue per visitor is >= 0", frame, bad)
    return values


def _check_reserved(frame: pd.DataFrame, variant: str) -> None:
    for name in frame.columns:
        if not isinstance(name, str):
            raise violation(variant, repr(name), "column names must be strings", "rename the column")
        if is_reserved_propensity_column(name):
            column = frame[name]
            if not pd.api.types.is_numeric_dtype(column.dtype) or pd.api.types.is_bool_dtype(column.dtype):
                raise violation(variant, name, f"reserved propensity column has dtype {column.dtype}",
                                "store assignment probabilities as floats, or rename a feature that "
                                "is not a propensity")
            values = column.to_numpy(dtype="float64", na_value=np.nan)
            bad = ~np.isfinite(values) | (values < 0) | (values > 1)
            if bad.any():
                raise violation(variant, name, "propensity outside [0, 1] or missing",
                                "record the realized assignment probability of every visitor", frame, bad)
        elif name == RESERVED_CELL_COLUMN:
            _check_string(frame, variant, name)


def check_visitor_frame(frame: pd.DataFrame, variant: str, *, strict: bool = False) -> None:
    """Check one variant's visitors against the schema and its row invariants.

    ``strict`` adds the generator's expectation that a conversion carries
    revenue (production data may have free conversions); callers apply it to
    revenue metrics only.
    """
    if not isinstance(frame, pd.DataFrame):
        raise SchemaViolation(
            f"variant {variant!r}: visitors must be a pandas DataFrame, got {type(frame).__name__}. "
            "Fix: pass a DataFrame with the VISITOR_SCHEMA columns."
        )
    missing = [c for c in VISITOR_SCHEMA if c not in frame.columns]
    if missing:
        raise violation(variant, missing[0], f"required column missing (all missing: {missing})",
                        f"add the columns of VISITOR_SCHEMA: {list(VISITOR_SCHEMA)}")
    if frame.columns.duplicated().any():
        dup = str(frame.columns[frame.columns.duplicated()][0])
        raise violation(variant, dup, "column appears twice", "drop or rename the duplicate")
    for name in ("visitor_id", "experiment_id", "variant"):
        _check_string(frame, variant, name)
    _check_bool(frame, variant, "converted")
    _check_count(frame, variant, "orders_count")
    _check_count(frame, variant, "sessions_count")
    revenue = _check_revenue(frame, variant)
    _check_reserved(frame, variant)

    bad = frame["variant"].to_numpy() != variant
    if bad.any():
        raise violation(variant, "variant", "row names another variant",
                        "put each visitor in the VariantData of the arm it received", frame, bad)
    bad = frame["visitor_id"].duplicated().to_numpy()
    if bad.any():
        raise violation(variant, "visitor_id", "duplicate visitor id", "keep one row per visitor", frame, bad)
    converted = frame["converted"].to_numpy(dtype=bool)
    bad = (revenue > 0) & ~converted
    if bad.any():
        raise violation(variant, "converted", "revenue > 0 on a visitor marked not converted",
                        "set converted=True wherever revenue > 0", frame, bad)
    if strict:
        bad = converted & (revenue <= 0)
        if bad.any():
            raise violation(variant, "revenue", "converted visitor with zero revenue (strict mode)",
                            "pass strict=False for production data with free conversions", frame, bad)
