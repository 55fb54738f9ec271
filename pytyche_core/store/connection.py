"""Short-lived DuckDB connections and all-or-nothing transactions.

DuckDB allows one writing process per file: writers open, write one
transaction and close; readers open ``read_only=True``. A caller may pass
its own open connection instead of a path; we then neither open nor close it.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb

from .errors import StoreFileError, StoreLockedError

#: A DuckDB database file, or an open connection.
Target = str | os.PathLike | duckdb.DuckDBPyConnection

#: Seconds a connection waits for another process to release the file (``PYTYCHE_DUCKDB_LOCK_WAIT``).
DEFAULT_LOCK_WAIT = 30.0


def _lock_wait() -> float:
    try:
        return max(float(os.environ.get("PYTYCHE_DUCKDB_LOCK_WAIT", DEFAULT_LOCK_WAIT)), 0.0)
    except ValueError:
        return DEFAULT_LOCK_WAIT


def _connect(path: Path, read_only: bool) -> duckdb.DuckDBPyConnection:
    """``duckdb.connect`` that waits (with backoff, bounded) for a lock, and names the file on any failure.

    DuckDB lets one process write a file, or several read it; a reader in
    another process (a notebook, ``duckdb -readonly``, the UI) therefore
    blocks a writer. Short waits ride out the pipeline's own short
    connections; a holder that stays past the wait gets one readable error.
    """
    deadline = time.monotonic() + _lock_wait()
    delay = 0.05
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as err:
            message = str(err)
            if "lock" not in message.lower():
                if "not a valid DuckDB database" in message or "database file" in message.lower():
                    raise StoreFileError(f"{str(path)!r} is not a DuckDB database pytyche can open ({message}). "
                                         "Fix: point at the store file (e.g. data/pytyche.duckdb), or move this "
                                         "file away and let pytyche create a new store.") from None
                raise
            if time.monotonic() >= deadline:
                holder = re.search(r"held in (.+?\(PID \d+\))", message)
                raise StoreLockedError(
                    f"the DuckDB store {str(path)!r} is held by another process"
                    f"{' (' + holder.group(1) + ')' if holder else ''} and was not released within "
                    f"{_lock_wait():.0f} s. Fix: close that connection (a notebook, `duckdb -readonly`, the "
                    "Dagster UI) or wait for it; DuckDB allows one writing process, and no reader in another "
                    "process while it writes (raise PYTYCHE_DUCKDB_LOCK_WAIT to wait longer).") from None
            time.sleep(delay)
            delay = min(delay * 2, 1.0)


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
    con = _connect(path, read_only)
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
