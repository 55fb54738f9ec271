"""The store's own errors: lookups that find nothing, a file held by another process, a file that is no store."""

from __future__ import annotations


class ExperimentNotFoundError(LookupError):
    """No rows for the requested experiment id; the message lists some known ids."""


class RoundNotFoundError(LookupError):
    """A requested round key (or its truth) is not stored for the experiment."""


class StoreLockedError(RuntimeError):
    """Another process holds the DuckDB file (a notebook, ``duckdb -readonly``, the Dagster UI) past the wait."""


class StoreFileError(ValueError):
    """The path exists but is not a readable DuckDB database."""
