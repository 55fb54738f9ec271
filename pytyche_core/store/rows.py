"""Deleting and inserting one partition's rows: the two statements every write is made of.

Rows go in as a registered Arrow table (no Python loop over rows); lineage
values travel as statement parameters. The frame is converted to Arrow
first because DuckDB's direct pandas scan fails on strided views (e.g. a
frame reversed with ``iloc[::-1]``); Arrow buffers are always contiguous.
"""

from __future__ import annotations

import uuid

import duckdb
import pandas as pd
import pyarrow as pa

from .identifiers import quote_identifier
from .lineage import Lineage
from .schema import LINEAGE_COLUMNS


def delete_partition(con: duckdb.DuckDBPyConnection, table: str, lineage: Lineage) -> None:
    """Delete the rows of the lineage's (experiment_id, round_key) from ``table``."""
    con.execute(f"DELETE FROM {quote_identifier(table)} WHERE experiment_id = ? AND round_key = ?",
                [lineage.experiment_id, lineage.round_key])


def insert_frame(con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame,
                 lineage: Lineage) -> int:
    """Append ``frame``'s rows to ``table`` matching columns by name; returns the row count.

    Lineage columns the frame lacks are filled from ``lineage``; a lineage
    column the frame has (``experiment_id`` of visitor rows) must already
    hold the lineage's value.
    """
    view = f"pytyche_incoming_{uuid.uuid4().hex}"
    missing = [c for c in LINEAGE_COLUMNS if c not in frame.columns]
    extra = "".join(f", ? AS {quote_identifier(c)}" for c in missing)
    con.register(view, pa.Table.from_pandas(frame, preserve_index=False))
    try:
        con.execute(f"INSERT INTO {quote_identifier(table)} BY NAME "
                    f"SELECT *{extra} FROM {quote_identifier(view)}",
                    [lineage.value(c) for c in missing])
    finally:
        con.unregister(view)
    return len(frame)
