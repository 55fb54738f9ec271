"""The store's DuckDB tables, their creation, and columns added on demand.

Every row of every table carries lineage: ``experiment_id``, ``round_key``
(the partition key), ``run_id``, ``code_version`` and ``written_at``, so any
number traces back to the run and the code that wrote it.

``rounds``              one row per experiment round: metric, arms (control first), counts
``visitors``            observed visitor rows: VISITOR_SCHEMA + arm_index + row_index
                        + each experiment's feature and reserved columns (added on demand)
``experiment_columns``  per table, experiment and round: every data column's role,
                        position and dtype (categories in order), so reads restore them
``truth_rounds``        simulation only: the round's true effect and its components
``truth_visitors``      simulation only: one row per visitor per arm (p, m, contrast, parts)

Analysis code reads ``visitors`` only; truth lives in its own tables.
"""

from __future__ import annotations

import duckdb

from ..contracts.errors import SchemaViolation
from ..contracts.schema import VISITOR_SCHEMA
from .dtypes import ColumnSpec
from .identifiers import quote_identifier

ROUNDS_TABLE = "rounds"
VISITORS_TABLE = "visitors"
COLUMNS_TABLE = "experiment_columns"
TRUTH_ROUNDS_TABLE = "truth_rounds"
TRUTH_VISITORS_TABLE = "truth_visitors"

#: The tables ``write_round`` replaces a round of, in one transaction.
ROUND_TABLES = (ROUNDS_TABLE, VISITORS_TABLE, COLUMNS_TABLE, TRUTH_ROUNDS_TABLE, TRUTH_VISITORS_TABLE)

LINEAGE_COLUMNS = ("experiment_id", "round_key", "run_id", "code_version", "written_at")
#: The arm a visitor received, 0 = control, as listed in ``rounds.arm_names``.
ARM_INDEX = "arm_index"
#: A row's position in the frame it was written from (for visitors: in the
#: round's concatenated visitors, control first), so reads keep row order.
ROW_INDEX = "row_index"
#: Columns the store adds to data; never features, never returned as data.
STORE_COLUMNS = (*LINEAGE_COLUMNS, ARM_INDEX, ROW_INDEX)

_VISITOR_SQL_TYPES = {"object": "VARCHAR", "bool": "BOOLEAN", "float64": "DOUBLE", "int64": "BIGINT"}
#: DuckDB type of each VISITOR_SCHEMA column.
VISITOR_COLUMN_TYPES = {name: _VISITOR_SQL_TYPES[family] for name, family in VISITOR_SCHEMA.items()}

_LINEAGE_DDL = {
    "experiment_id": "VARCHAR NOT NULL",
    "round_key": "VARCHAR NOT NULL",
    "run_id": "VARCHAR NOT NULL",
    "code_version": "VARCHAR NOT NULL",
    "written_at": "TIMESTAMPTZ NOT NULL",
}


def _table_ddl() -> dict[str, dict[str, str]]:
    visitors = {name: f"{sql} NOT NULL" for name, sql in VISITOR_COLUMN_TYPES.items()}
    visitors.update({ARM_INDEX: "INTEGER NOT NULL", ROW_INDEX: "BIGINT NOT NULL"})
    return {
        ROUNDS_TABLE: {"metric": "VARCHAR NOT NULL", "arm_names": "VARCHAR[] NOT NULL",
                       "n_visitors": "BIGINT NOT NULL", "n_visitors_per_arm": "BIGINT[] NOT NULL"},
        VISITORS_TABLE: visitors,
        COLUMNS_TABLE: {"table_name": "VARCHAR NOT NULL", "column_name": "VARCHAR NOT NULL",
                        "ordinal": "INTEGER NOT NULL", "role": "VARCHAR NOT NULL",
                        "pandas_dtype": "VARCHAR NOT NULL", "sql_type": "VARCHAR NOT NULL",
                        "categories": "VARCHAR", "ordered": "BOOLEAN NOT NULL"},
        TRUTH_ROUNDS_TABLE: {"metric": "VARCHAR NOT NULL", "metric_family": "VARCHAR NOT NULL",
                             "n_arms": "INTEGER NOT NULL", "n_visitors": "BIGINT NOT NULL",
                             "effect": "DOUBLE NOT NULL", "effect_components": "VARCHAR NOT NULL"},
        TRUTH_VISITORS_TABLE: {ROW_INDEX: "BIGINT NOT NULL", "visitor_id": "VARCHAR NOT NULL",
                               ARM_INDEX: "INTEGER NOT NULL", "p": "DOUBLE", "m": "DOUBLE",
                               "contrast": "DOUBLE", "conversion_part": "DOUBLE",
                               "order_value_part": "DOUBLE", "latent_cluster": "BIGINT"},
    }


def _create_table(con: duckdb.DuckDBPyConnection, table: str, columns: dict[str, str]) -> None:
    # Data columns first, lineage last (experiment_id stays where VISITOR_SCHEMA puts it).
    ddl = dict(columns)
    ddl.update({name: sql for name, sql in _LINEAGE_DDL.items() if name not in ddl})
    body = ", ".join(f"{quote_identifier(name)} {sql}" for name, sql in ddl.items())
    con.execute(f"CREATE TABLE IF NOT EXISTS {quote_identifier(table)} ({body})")


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create the store's tables where missing; a no-op on a store that has them."""
    for table, columns in _table_ddl().items():
        _create_table(con, table, columns)


def ensure_partition_table(con: duckdb.DuckDBPyConnection, table: str) -> None:
    """Create a generic partition table (lineage + row_index) where missing."""
    _create_table(con, table, {ROW_INDEX: "BIGINT NOT NULL"})


def table_exists(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    rows = con.execute("SELECT 1 FROM duckdb_tables() WHERE lower(table_name) = lower(?) "
                       "AND schema_name = current_schema()", [table]).fetchall()
    return bool(rows)


def table_columns(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, tuple[str, str]]:
    """``lower(name) -> (name, DuckDB type)`` of an existing table, in table order.

    Keyed by lower case because DuckDB matches identifiers case-insensitively,
    quoted or not: ``"Age"`` and ``"age"`` are one column.
    """
    # DESCRIBE is much cheaper than duckdb_columns() on a fresh connection. It fails on
    # a missing table, and a failed statement aborts the transaction: callers make sure
    # the table exists first.
    rows = con.execute(f"DESCRIBE {quote_identifier(table)}").fetchall()
    return {row[0].lower(): (row[0], row[1]) for row in rows}


def ensure_columns(con: duckdb.DuckDBPyConnection, table: str, specs: list[ColumnSpec], *,
                   owner: str) -> None:
    """Add each spec's column to ``table`` where missing (nullable); clash on a type conflict.

    ``owner`` (e.g. "experiment 'e1'") names who asked, for the error.
    """
    existing = table_columns(con, table)
    for spec in specs:
        found = existing.get(spec.name.lower())
        if found is None:
            con.execute(f"ALTER TABLE {quote_identifier(table)} ADD COLUMN "
                        f"{quote_identifier(spec.name)} {spec.sql_type}")
            existing[spec.name.lower()] = (spec.name, spec.sql_type)
        elif found[1].upper() != spec.sql_type:
            raise SchemaViolation(
                f"{owner}, column {spec.name!r}: dtype {spec.pandas_dtype} needs DuckDB type "
                f"{spec.sql_type}, but table {table!r} already holds column {found[0]!r} as {found[1]} "
                "(written by another experiment). Fix: rename the column in this experiment, or cast "
                f"it to the stored type.")


__all__ = [
    "ARM_INDEX",
    "COLUMNS_TABLE",
    "LINEAGE_COLUMNS",
    "ROUNDS_TABLE",
    "ROUND_TABLES",
    "ROW_INDEX",
    "STORE_COLUMNS",
    "TRUTH_ROUNDS_TABLE",
    "TRUTH_VISITORS_TABLE",
    "VISITORS_TABLE",
    "VISITOR_COLUMN_TYPES",
    "ensure_columns",
    "ensure_partition_table",
    "ensure_schema",
    "table_columns",
    "table_exists",
]
