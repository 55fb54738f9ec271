"""Raw visitor rows (files, user tables) brought to ``VISITOR_SCHEMA``'s dtypes.

Benign differences are fixed: ids read as integers become strings, CSV
booleans written as 0/1 or "yes"/"no" become bools, integral floats become
counts. Anything else that does not fit is a ``SchemaViolation`` naming the
variant, the column, the first bad row and the fix. Row-level invariants
(NaN or negative revenue, duplicate ids, ...) are left to the contracts.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..contracts.frames import violation
from ..contracts.schema import RESERVED_CELL_COLUMN, is_reserved_propensity_column

_TRUE = {"true", "t", "yes", "y", "1"}
_FALSE = {"false", "f", "no", "n", "0"}
_STRING_COLUMNS = ("visitor_id", "experiment_id", "variant")
_COUNT_COLUMNS = ("orders_count", "sessions_count")


def _is_text(column: pd.Series) -> bool:
    return pd.api.types.is_string_dtype(column.dtype) and not isinstance(column.dtype, pd.CategoricalDtype)


def as_string(column: pd.Series, variant: str, name: str, frame: pd.DataFrame) -> pd.Series:
    """Text ids; integers (and integral floats) become their decimal text."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        column = column.astype(object)
    if pd.api.types.is_bool_dtype(column.dtype):
        raise violation(variant, name, "expected text, got booleans", "store the column as text")
    if pd.api.types.is_integer_dtype(column.dtype):
        return column.astype("str")
    if pd.api.types.is_float_dtype(column.dtype):
        values = column.to_numpy(dtype="float64", na_value=np.nan)
        bad = np.isfinite(values) & (values != np.round(values))
        if bad.any():
            raise violation(variant, name, "expected text, got non-integral numbers",
                            "store the column as text", frame, bad)
        return column.astype("Int64").astype("str")
    if column.dtype == object:
        bad = column.map(lambda v: not (v is None or isinstance(v, (str, int, np.integer))
                                        or (isinstance(v, float) and np.isnan(v)))).to_numpy(dtype=bool)
        if bad.any():
            raise violation(variant, name, "expected text", "store the column as text", frame, bad)
    if _is_text(column) or column.dtype == object:
        return column.astype("str")
    raise violation(variant, name, f"expected text, got dtype {column.dtype}", "store the column as text")


def as_bool(column: pd.Series, variant: str, name: str, frame: pd.DataFrame) -> pd.Series:
    """Bools; 0/1 numbers and true/false, yes/no, t/f, y/n text become bools."""
    missing = column.isna().to_numpy()
    if missing.any():
        raise violation(variant, name, "missing value", "fill every row with True/False", frame, missing)
    if pd.api.types.is_bool_dtype(column.dtype):
        return column.astype(bool)
    if pd.api.types.is_numeric_dtype(column.dtype):
        values = column.to_numpy(dtype="float64")
        bad = ~np.isin(values, (0.0, 1.0))
        if bad.any():
            raise violation(variant, name, "numbers other than 0/1", "store True/False (or 0/1)",
                            frame, bad)
        return pd.Series(values == 1.0, index=column.index, name=column.name)
    text = column.astype(object).map(lambda v: str(v).strip().lower())
    bad = ~text.isin(_TRUE | _FALSE).to_numpy()
    if bad.any():
        raise violation(variant, name, f"text {column.iloc[int(np.flatnonzero(bad)[0])]!r} is not a boolean",
                        "store True/False (or 0/1)", frame, bad)
    return text.isin(_TRUE).astype(bool)


def _numbers(column: pd.Series, variant: str, name: str, frame: pd.DataFrame, fix: str) -> pd.Series:
    """float64 values; text must parse as numbers (missing stays NaN for the contracts)."""
    if pd.api.types.is_bool_dtype(column.dtype):
        raise violation(variant, name, "expected numbers, got booleans", fix)
    if pd.api.types.is_numeric_dtype(column.dtype):
        return column.astype("float64")
    if not (_is_text(column) or column.dtype == object):
        raise violation(variant, name, f"expected numbers, got dtype {column.dtype}", fix)
    parsed = pd.to_numeric(column.astype(object), errors="coerce").astype("float64")
    bad = parsed.isna().to_numpy() & column.notna().to_numpy()
    if bad.any():
        raise violation(variant, name, f"text {column.iloc[int(np.flatnonzero(bad)[0])]!r} is not a number",
                        fix, frame, bad)
    return parsed


def as_float(column: pd.Series, variant: str, name: str, frame: pd.DataFrame) -> pd.Series:
    return _numbers(column, variant, name, frame, f"store {name} as numbers")


def as_count(column: pd.Series, variant: str, name: str, frame: pd.DataFrame) -> pd.Series:
    """int64 counts; integral floats are accepted, missing or fractional values are not."""
    if pd.api.types.is_integer_dtype(column.dtype) and not column.isna().any():
        return column.astype("int64")
    values = _numbers(column, variant, name, frame, f"store {name} as whole numbers").to_numpy()
    bad = ~np.isfinite(values) | (values != np.round(values))
    if bad.any():
        raise violation(variant, name, "missing or fractional count", "counts are whole numbers >= 0",
                        frame, bad)
    return pd.Series(values.astype(np.int64), index=column.index, name=column.name)


def coerce_visitor_frame(frame: pd.DataFrame, variant: str) -> pd.DataFrame:
    """One variant's raw rows with required and reserved columns in their schema dtypes.

    Feature columns are returned as read.
    """
    out = frame.copy()
    for name in _STRING_COLUMNS:
        out[name] = as_string(out[name], variant, name, frame)
    out["converted"] = as_bool(out["converted"], variant, "converted", frame)
    out["revenue"] = as_float(out["revenue"], variant, "revenue", frame)
    for name in _COUNT_COLUMNS:
        out[name] = as_count(out[name], variant, name, frame)
    for name in out.columns:
        if is_reserved_propensity_column(name):
            out[name] = as_float(out[name], variant, name, frame)
        elif name == RESERVED_CELL_COLUMN:
            out[name] = as_string(out[name], variant, name, frame)
    return out
