"""What a ``load_experiment`` source is, and the SQL relation that reads its rows.

A source is an open DuckDB connection, a DuckDB database file, a Parquet
file or a CSV file, told apart by extension (or, failing that, by the
file's magic bytes). Paths travel to DuckDB's readers as parameters.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import os
from collections.abc import Iterator
from pathlib import Path

import duckdb

from .connection import open_connection
from .identifiers import quote_identifier

_DUCKDB_SUFFIXES = (".duckdb", ".ddb", ".db")
_PARQUET_SUFFIXES = (".parquet", ".pq")
_CSV_SUFFIXES = (".csv", ".tsv", ".csv.gz", ".tsv.gz")
#: Columns that hold text whatever a CSV sniffer guesses (e.g. ids like "007").
_TEXT_COLUMNS = ("visitor_id", "experiment_id", "variant", "cell", "round_key")


class SourceKind(enum.Enum):
    CONNECTION = "connection"
    DUCKDB = "duckdb"
    PARQUET = "parquet"
    CSV = "csv"


@dataclasses.dataclass(frozen=True)
class Source:
    """A classified source: its kind, and the path or connection behind it."""

    kind: SourceKind
    path: Path | None = None
    connection: duckdb.DuckDBPyConnection | None = None

    @property
    def label(self) -> str:
        return "the given DuckDB connection" if self.path is None else repr(str(self.path))

    @property
    def is_database(self) -> bool:
        return self.kind in (SourceKind.CONNECTION, SourceKind.DUCKDB)


def _sniff(path: Path) -> SourceKind | None:
    with path.open("rb") as handle:
        head = handle.read(16)
    if head[8:12] == b"DUCK":
        return SourceKind.DUCKDB
    if head[:4] == b"PAR1":
        return SourceKind.PARQUET
    return None


def classify_source(source: object) -> Source:
    """Classify ``source``; ``FileNotFoundError`` naming a path that does not exist."""
    if isinstance(source, duckdb.DuckDBPyConnection):
        return Source(SourceKind.CONNECTION, connection=source)
    if not isinstance(source, (str, os.PathLike)):
        raise TypeError(f"source must be a path or a DuckDB connection, got {type(source).__name__}. "
                        "Fix: pass a .duckdb, .parquet or .csv path, or duckdb.connect(...).")
    path = Path(os.fspath(source))
    if not path.exists():
        raise FileNotFoundError(f"source {str(path)!r} does not exist. Fix: check the path.")
    if path.is_dir():
        raise IsADirectoryError(f"source {str(path)!r} is a folder. Fix: pass one .duckdb, .parquet "
                                "or .csv file.")
    name = path.name.lower()
    for suffixes, kind in ((_DUCKDB_SUFFIXES, SourceKind.DUCKDB), (_PARQUET_SUFFIXES, SourceKind.PARQUET),
                           (_CSV_SUFFIXES, SourceKind.CSV)):
        if name.endswith(suffixes):
            return Source(kind, path=path)
    kind = _sniff(path)
    if kind is None:
        raise ValueError(f"source {str(path)!r}: unknown file type. Fix: use a DuckDB database "
                         f"({', '.join(_DUCKDB_SUFFIXES)}), Parquet ({', '.join(_PARQUET_SUFFIXES)}) or "
                         f"CSV ({', '.join(_CSV_SUFFIXES)}) file.")
    return Source(kind, path=path)


@contextlib.contextmanager
def database(source: Source) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection to a database source (the caller's own, when given one)."""
    with open_connection(source.connection or source.path, read_only=True) as con:
        yield con


@dataclasses.dataclass(frozen=True)
class Relation:
    """``FROM`` clause text plus the parameters it needs, over an open connection."""

    con: duckdb.DuckDBPyConnection
    sql: str
    params: list

    def columns(self) -> list[str]:
        return [row[0] for row in self.con.execute(f"DESCRIBE SELECT * FROM {self.sql}",
                                                   self.params).fetchall()]


@contextlib.contextmanager
def raw_relation(source: Source, table: str | None) -> Iterator[Relation]:
    """The rows of a file, or of ``table`` in a database source."""
    if source.is_database:
        if table is None:
            raise ValueError("raw_relation: a database source needs a table name")
        with database(source) as con:
            yield Relation(con, quote_identifier(table), [])
        return
    con = duckdb.connect()
    try:
        if source.kind is SourceKind.PARQUET:
            yield Relation(con, "read_parquet(?)", [str(source.path)])
            return
        sniffed = Relation(con, "read_csv(?)", [str(source.path)]).columns()
        types = {c: "VARCHAR" for c in sniffed if c in _TEXT_COLUMNS}
        if types:
            yield Relation(con, "read_csv(?, types = ?)", [str(source.path), types])
        else:
            yield Relation(con, "read_csv(?)", [str(source.path)])
    finally:
        con.close()
