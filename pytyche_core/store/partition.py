"""Generic partition tables for pipeline intermediates (features, potential outcomes, ...).

``replace_partition`` writes one (experiment_id, round_key) partition of any
frame into a table it creates or extends from the frame's dtypes;
``read_partition`` returns that frame, same columns, order and dtypes.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..contracts.errors import SchemaViolation
from .connection import Target, open_connection, transaction
from .dtypes import restore_column
from .errors import ExperimentNotFoundError, RoundNotFoundError
from .identifiers import quote_identifier, quote_list
from .layout import check_column_names, delete_layout, describe_frame, layout_frame, read_layouts
from .lineage import Lineage
from .rows import delete_partition, insert_frame
from .schema import (
    COLUMNS_TABLE,
    ROUND_TABLES,
    ROW_INDEX,
    ensure_columns,
    ensure_partition_table,
    ensure_schema,
    table_exists,
)


def _check_table_name(table: str) -> None:
    quote_identifier(table)
    if table.lower() in {t.lower() for t in ROUND_TABLES}:
        raise ValueError(f"table {table!r} belongs to the round store. Fix: write rounds with "
                         "write_round, and give pipeline intermediates a table of their own.")


def replace_partition(target: Target, table: str, frame: pd.DataFrame, *, experiment_id: str,
                      round_key: str, run_id: str, code_version: str) -> int:
    """Replace one partition of ``table`` with ``frame``'s rows, in one transaction.

    ``target`` is a DuckDB file path or an open connection. The table is
    created (lineage + ``row_index``) or extended with nullable columns for
    the frame's columns (float -> DOUBLE, int -> BIGINT, bool -> BOOLEAN,
    str -> VARCHAR, categorical -> its categories' type); a type clash with
    an existing column is a ``SchemaViolation``. The frame's index is not
    stored; its row order is. An ``experiment_id`` column is allowed if it
    holds ``experiment_id`` on every row. Returns the number of rows written.
    """
    return replace_partitions(target, {table: frame}, experiment_id=experiment_id, round_key=round_key,
                              run_id=run_id, code_version=code_version)[table]


def _prepared(table: str, frame: pd.DataFrame, experiment_id: str, round_key: str):
    """(column specs, rows with row_index, where) of one frame, after its checks."""
    _check_table_name(table)
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"replace_partition: frame for {table!r} must be a DataFrame, got {type(frame).__name__}.")
    where = f"table {table!r}, experiment {experiment_id!r}, round {round_key!r}"
    check_column_names(list(frame.columns), where=where, allowed_store_columns=("experiment_id",))
    if "experiment_id" in frame.columns:
        bad = frame["experiment_id"].to_numpy() != experiment_id
        if bad.any():
            raise SchemaViolation(f"{where}: column 'experiment_id' holds "
                                  f"{frame['experiment_id'].iloc[int(np.flatnonzero(bad)[0])]!r}. "
                                  "Fix: write one experiment's rows per partition.")
        frame = frame.drop(columns="experiment_id")
    specs = describe_frame(frame, role_of=lambda _: "column", where=where)
    rows = frame.reset_index(drop=True).assign(**{ROW_INDEX: np.arange(len(frame), dtype=np.int64)})
    return specs, rows, where


def replace_partitions(target: Target, frames: Mapping[str, pd.DataFrame], *, experiment_id: str, round_key: str,
                       run_id: str, code_version: str) -> dict[str, int]:
    """``replace_partition`` for several tables at once, all in one transaction.

    Every frame is checked before the database is touched; a failure while
    writing leaves every table as it was. Returns rows written per table.
    """
    if not isinstance(frames, Mapping) or not frames:
        raise ValueError("replace_partitions: pass {table name: DataFrame} with at least one table.")
    lineage = Lineage.now(experiment_id, round_key, run_id, code_version)
    prepared = prepare_partitions(frames, experiment_id, round_key)
    with open_connection(target, read_only=False) as con, transaction(con):
        ensure_schema(con)
        return write_prepared(con, prepared, lineage)


def prepare_partitions(frames: Mapping[str, pd.DataFrame], experiment_id: str, round_key: str) -> dict:
    """Every frame checked and laid out for ``write_prepared`` (nothing touches the database)."""
    if not isinstance(frames, Mapping):
        raise TypeError("frames: pass {table name: DataFrame}.")
    return {table: _prepared(table, frame, experiment_id, round_key) for table, frame in frames.items()}


def write_prepared(con, prepared: dict, lineage: Lineage) -> dict[str, int]:
    """Replace the partitions inside the caller's open transaction; rows written per table."""
    written = {}
    for table, (specs, rows, where) in prepared.items():
        ensure_partition_table(con, table)
        ensure_columns(con, table, specs, owner=where)
        delete_partition(con, table, lineage)
        delete_layout(con, table, lineage)
        written[table] = insert_frame(con, table, rows, lineage)
        insert_frame(con, COLUMNS_TABLE, layout_frame(specs, table), lineage)
    return written


def read_partition(source: Target, table: str, experiment_id: str, round_key: str) -> pd.DataFrame:
    """The frame written by ``replace_partition`` for (experiment_id, round_key).

    Same columns, order and dtypes; a fresh ``RangeIndex``. Raises
    ``RoundNotFoundError`` when that partition was never written.
    """
    quote_identifier(table)
    with open_connection(source, read_only=True) as con:
        if not table_exists(con, table) or not table_exists(con, COLUMNS_TABLE):
            raise ExperimentNotFoundError(f"no table {table!r} in this store. Fix: write it with "
                                          "replace_partition first.")
        layouts = read_layouts(con, table, experiment_id, [round_key])
        if round_key not in layouts:
            raise RoundNotFoundError(f"table {table!r} has no partition for experiment "
                                     f"{experiment_id!r}, round {round_key!r}. Fix: write it with "
                                     "replace_partition, or check the keys.")
        specs = layouts[round_key]
        names = [s.name for s in specs]
        select = quote_list(names) if names else "NULL AS _empty"
        frame = con.execute(f"SELECT {select} FROM {quote_identifier(table)} WHERE experiment_id = ? "
                            f"AND round_key = ? ORDER BY {quote_identifier(ROW_INDEX)}",
                            [experiment_id, round_key]).df()
    if not names:
        return pd.DataFrame(index=pd.RangeIndex(len(frame)))
    frame.columns = names
    return pd.DataFrame({s.name: restore_column(frame[s.name], s) for s in specs})
