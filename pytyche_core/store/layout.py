"""Column layouts: which data columns a stored frame has, in what order, of what dtype.

One layout per (table, experiment, round) lives in ``experiment_columns``.
Reads select exactly those columns and restore their dtypes, so a table
shared by experiments with different feature sets returns each experiment's
own columns only.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from ..contracts.errors import SchemaViolation
from ..contracts.schema import VISITOR_SCHEMA, is_reserved_column
from .dtypes import ColumnSpec, describe_column
from .identifiers import quote_identifier
from .lineage import Lineage
from .schema import COLUMNS_TABLE, STORE_COLUMNS

_COLUMNS = quote_identifier(COLUMNS_TABLE)


def check_column_names(names: list, *, where: str, allowed_store_columns: tuple[str, ...] = ()) -> None:
    """Names the store can hold: non-empty strings, distinct in any case, no store column.

    DuckDB matches identifiers case-insensitively, so ``Age`` and ``age``
    would land in one column.
    """
    seen: dict[str, str] = {}
    store = {c.lower() for c in STORE_COLUMNS} - {c.lower() for c in allowed_store_columns}
    for name in names:
        if not isinstance(name, str) or not name or "\x00" in name:
            raise SchemaViolation(f"{where}: column name {name!r} cannot be stored. Fix: use a "
                                  "non-empty string without NUL characters.")
        key = name.lower()
        if key in store:
            raise SchemaViolation(f"{where}: column {name!r} collides with the store's own column of "
                                  f"that name (store columns: {list(STORE_COLUMNS)}). Fix: rename it.")
        if key in seen:
            raise SchemaViolation(f"{where}: columns {seen[key]!r} and {name!r} differ only in case, "
                                  "which DuckDB treats as one column. Fix: rename one of them.")
        seen[key] = name


def visitor_role(name: str) -> str:
    """The role of a visitor-frame column: schema, reserved or feature."""
    if name in VISITOR_SCHEMA:
        return "schema"
    return "reserved" if is_reserved_column(name) else "feature"


def describe_frame(frame: pd.DataFrame, *, role_of, where: str) -> list[ColumnSpec]:
    """One ``ColumnSpec`` per column of ``frame``, in frame order."""
    return [describe_column(name, frame[name], role_of(name), i, where=where)
            for i, name in enumerate(frame.columns)]


def merge_layouts(layouts: dict[str, list[ColumnSpec]], *, what: str, where: str) -> list[ColumnSpec]:
    """One layout from several (per arm, or per round); the first one's order wins.

    All must hold the same column names. Categoricals merge their
    categories in order of first appearance; string columns stored as
    ``object`` in one and ``str`` in another take the first one's dtype. Any
    other dtype difference is a ``SchemaViolation`` naming both.
    ``what`` names the keys ("arm", "round").
    """
    items = list(layouts.items())
    first_key, first = items[0]
    merged = {spec.name: spec for spec in first}
    for key, layout in items[1:]:
        names = {spec.name for spec in layout}
        if names != set(merged):
            diff = sorted(names ^ set(merged))
            raise SchemaViolation(f"{where}: {what} {key!r} has different columns than {what} "
                                  f"{first_key!r} (differing: {diff}). Fix: write the same columns "
                                  f"for every {what} of an experiment, or use a new experiment id.")
        for spec in layout:
            merged[spec.name] = _merge_spec(merged[spec.name], spec, what=what, key=key,
                                            first_key=first_key, where=where)
    return [merged[spec.name] for spec in first]


def _is_text(spec: ColumnSpec) -> bool:
    return spec.sql_type == "VARCHAR" and spec.categories is None


def _merge_spec(base: ColumnSpec, other: ColumnSpec, *, what: str, key: str, first_key: str,
                where: str) -> ColumnSpec:
    if base.same_type(other) and base.categories == other.categories \
            and base.categories_dtype == other.categories_dtype and base.ordered == other.ordered:
        return base
    if _is_text(base) and _is_text(other) and base.role == other.role:
        return base
    if base.categories is not None and other.categories is not None and base.sql_type == other.sql_type:
        if base.ordered or other.ordered:
            problem = "is an ordered categorical whose categories differ"
        else:
            extra = tuple(c for c in other.categories if c not in set(base.categories))
            return ColumnSpec(name=base.name, role=base.role, ordinal=base.ordinal,
                              pandas_dtype=base.pandas_dtype, sql_type=base.sql_type,
                              categories=base.categories + extra,
                              categories_dtype=base.categories_dtype, ordered=False)
    else:
        problem = f"has dtype {other.pandas_dtype} but {base.pandas_dtype} in {what} {first_key!r}"
    raise SchemaViolation(f"{where}, {what} {key!r}, column {base.name!r}: {problem}. Fix: use one "
                          f"dtype for a column across every {what}.")


def layout_frame(specs: list[ColumnSpec], table: str) -> pd.DataFrame:
    """The rows of ``experiment_columns`` for one layout (lineage added on insert)."""
    return pd.DataFrame({
        "table_name": pd.Series([table] * len(specs), dtype="str"),
        "column_name": pd.Series([s.name for s in specs], dtype="str"),
        "ordinal": pd.Series(range(len(specs)), dtype="int32"),
        "role": pd.Series([s.role for s in specs], dtype="str"),
        "pandas_dtype": pd.Series([s.pandas_dtype for s in specs], dtype="str"),
        "sql_type": pd.Series([s.sql_type for s in specs], dtype="str"),
        "categories": pd.Series([s.categories_json() for s in specs], dtype="object"),
        "ordered": pd.Series([s.ordered for s in specs], dtype="bool"),
    })


def delete_layout(con: duckdb.DuckDBPyConnection, table: str, lineage: Lineage) -> None:
    """Drop the layout of ``table`` for the lineage's experiment and round."""
    con.execute(f"DELETE FROM {_COLUMNS} WHERE table_name = ? AND experiment_id = ? "
                "AND round_key = ?", [table, lineage.experiment_id, lineage.round_key])


def read_layouts(con: duckdb.DuckDBPyConnection, table: str, experiment_id: str,
                 round_keys: list[str]) -> dict[str, list[ColumnSpec]]:
    """``round_key -> layout`` for the given rounds (rounds with no layout are absent)."""
    rows = con.execute(
        f"SELECT round_key, column_name, ordinal, role, pandas_dtype, sql_type, categories, ordered "
        f"FROM {_COLUMNS} WHERE table_name = ? AND experiment_id = ? "
        "AND list_contains(?::VARCHAR[], round_key) ORDER BY round_key, ordinal",
        [table, experiment_id, list(round_keys)]).fetchall()
    out: dict[str, list[ColumnSpec]] = {}
    for round_key, name, ordinal, role, pandas_dtype, sql_type, categories, ordered in rows:
        cats, cats_dtype = ColumnSpec.parse_categories(categories)
        out.setdefault(round_key, []).append(ColumnSpec(
            name=name, role=role, ordinal=int(ordinal), pandas_dtype=pandas_dtype, sql_type=sql_type,
            categories=cats, categories_dtype=cats_dtype, ordered=bool(ordered)))
    return {key: out[key] for key in round_keys if key in out}
