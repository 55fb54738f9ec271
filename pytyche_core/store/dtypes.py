"""How a pandas column is held in DuckDB, and how it comes back.

A column is described by a ``ColumnSpec``: its pandas dtype (as text), the
DuckDB type that holds it, and for a categorical its categories in order.
The store keeps one spec per column per round (``experiment_columns``) so
that a read returns exactly the columns that were written, with their
dtypes, categoricals included.

pandas -> DuckDB: float -> DOUBLE, int -> BIGINT, bool -> BOOLEAN,
string -> VARCHAR; a categorical is held as its categories' type.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd

from ..contracts.errors import SchemaViolation

#: Roles a stored column can play. ``schema``: a ``VISITOR_SCHEMA`` column;
#: ``feature`` / ``reserved``: as in the contracts; ``column``: a column of a
#: generic pipeline table written with ``replace_partition``.
COLUMN_ROLES = ("schema", "feature", "reserved", "column")

_INT64_MAX = np.iinfo(np.int64).max


@dataclasses.dataclass(frozen=True)
class ColumnSpec:
    """One stored column: name, role, position and types.

    ``categories`` is None unless ``pandas_dtype == "category"``; then it
    holds the categories in order and ``categories_dtype`` their dtype.
    """

    name: str
    role: str
    ordinal: int
    pandas_dtype: str
    sql_type: str
    categories: tuple | None = None
    categories_dtype: str | None = None
    ordered: bool = False

    def categories_json(self) -> str | None:
        """The categories as JSON text (None for a non-categorical column)."""
        if self.categories is None:
            return None
        return json.dumps({"values": list(self.categories), "dtype": self.categories_dtype})

    @staticmethod
    def parse_categories(text: str | None) -> tuple[tuple | None, str | None]:
        """The inverse of ``categories_json``: (categories, their dtype), or (None, None)."""
        if text is None or (isinstance(text, float) and np.isnan(text)):
            return None, None
        payload = json.loads(text)
        return tuple(payload["values"]), payload["dtype"]

    def same_type(self, other: ColumnSpec) -> bool:
        """Equal dtype, DuckDB type and role (categories may differ)."""
        return (self.pandas_dtype, self.sql_type, self.role) == (other.pandas_dtype, other.sql_type, other.role)


def _is_string_values(column: pd.Series) -> bool:
    if isinstance(column.dtype, pd.CategoricalDtype):
        return False
    if column.dtype == object:
        values = column.dropna()
        return bool(values.map(lambda v: isinstance(v, str)).all())
    return pd.api.types.is_string_dtype(column.dtype)


def _scalar_sql_type(values: pd.Series | pd.Index, where: str) -> str:
    """The DuckDB type for a non-categorical column (or a categorical's categories)."""
    dtype = values.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "BOOLEAN"
    if pd.api.types.is_integer_dtype(dtype):
        if pd.api.types.is_unsigned_integer_dtype(dtype) and len(values) and values.max() > _INT64_MAX:
            raise SchemaViolation(f"{where}: unsigned values above {_INT64_MAX} do not fit BIGINT. "
                                  "Fix: store them as strings or floats.")
        return "BIGINT"
    if pd.api.types.is_float_dtype(dtype):
        return "DOUBLE"
    series = values if isinstance(values, pd.Series) else pd.Series(values)
    if _is_string_values(series):
        return "VARCHAR"
    raise SchemaViolation(f"{where}: dtype {dtype} cannot be stored. Fix: convert the column to "
                          "float, int, bool, str or category before writing it.")


def describe_column(name: str, column: pd.Series, role: str, ordinal: int, *, where: str) -> ColumnSpec:
    """The ``ColumnSpec`` of one pandas column; ``where`` prefixes error messages."""
    if role not in COLUMN_ROLES:
        raise ValueError(f"unknown column role {role!r}; expected one of {COLUMN_ROLES}")
    label = f"{where}, column {name!r}"
    dtype = column.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        cats = dtype.categories
        return ColumnSpec(name=name, role=role, ordinal=ordinal, pandas_dtype="category",
                          sql_type=_scalar_sql_type(cats, f"{label} (categories)"),
                          categories=tuple(cats.tolist()), categories_dtype=str(cats.dtype),
                          ordered=bool(dtype.ordered))
    return ColumnSpec(name=name, role=role, ordinal=ordinal, pandas_dtype=str(dtype),
                      sql_type=_scalar_sql_type(column, label))


def restore_column(column: pd.Series, spec: ColumnSpec) -> pd.Series:
    """Cast a column read from DuckDB back to the dtype recorded in ``spec``."""
    if spec.categories is None:
        return column.astype(pd.api.types.pandas_dtype(spec.pandas_dtype))
    categories = pd.Index(list(spec.categories), dtype=spec.categories_dtype)
    dtype = pd.CategoricalDtype(categories=categories, ordered=spec.ordered)
    restored = column.astype(object).astype(dtype)
    lost = restored.isna().to_numpy() & column.notna().to_numpy()
    if lost.any():
        value = column[lost].iloc[0]
        raise SchemaViolation(f"column {spec.name!r}: stored value {value!r} is not one of its recorded "
                              f"categories {list(spec.categories)}. Fix: rewrite the round; the store "
                              "was edited outside pytyche.")
    return restored


__all__ = ["COLUMN_ROLES", "ColumnSpec", "describe_column", "restore_column"]
