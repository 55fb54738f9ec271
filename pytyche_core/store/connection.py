"""Short-lived DuckDB connections and all-or-nothing transactions.

DuckDB allows one writing process per file: writers open, write one
transaction and close; readers open ``read_only=True``. A caller may pass
its own open connection instead of a path; we then neither open nor close it.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import duckdb

#: A DuckDB database file, or an open connection.
Target = str | os.PathLike | duckdb.DuckDBPyConnection


@contextlib.contextmanager
def open_connection(target: Target, *, read_only: bool) -> Iterator[duckdb.DuckDBPyConnection]:
    """Yield a connection to ``target``; close it afterwards if we opened it.

    A reader needs an existing file (``FileNotFoundError`` naming it); a
    writer creates the file but needs its folder.
    """
    if isinstance(target, duckdb.DuckDBPyConnection):
        yield target
        return
    path = Path(os.fspath(target))
    if read_only and not path.is_file():
        raise FileNotFoundError(f"DuckDB store {str(path)!r} does not exist. Fix: pass the path of a "
                                "store written by write_round, or write a round first.")
    if not read_only and not path.parent.is_dir():
        raise FileNotFoundError(f"folder {str(path.parent)!r} of DuckDB store {str(path)!r} does not "
                                "exist. Fix: create the folder first.")
    con = duckdb.connect(str(path), read_only=read_only)
    try:
        yield con
    finally:
        con.close()


@contextlib.contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Run the body in one transaction: commit on success, roll back on any failure.

    DuckDB's DDL (CREATE / ALTER) is transactional too, so a failed write
    leaves neither rows nor new columns behind.
    """
    con.execute("BEGIN TRANSACTION")
    try:
        yield
    except BaseException:
        con.execute("ROLLBACK")
        raise
    try:
        con.execute("COMMIT")
    except BaseException:
        # A commit that fails leaves the transaction open on some errors.
        with contextlib.suppress(duckdb.Error):
            con.execute("ROLLBACK")
        raise
