"""The DuckDB store: experiment rounds, their truth, and pipeline intermediates.

- ``write_round`` stores one round (observed visitors, optional truth) in one transaction.
- ``load_experiment`` reads observed data from the store, a user table, Parquet or CSV.
- ``read_round_truth`` reads the truth aligned with ``load_experiment``'s rows.
- ``replace_partition`` / ``read_partition`` keep generic per-round frames.

Every row carries lineage (experiment_id, round_key, run_id, code_version,
written_at); the table layouts are described in ``pytyche_core.store.schema``.
"""

from .connection import open_connection, transaction
from .designs import DESIGNS_TABLE, read_design, record_design
from .dtypes import ColumnSpec
from .errors import ExperimentNotFoundError, RoundNotFoundError, StoreFileError, StoreLockedError
from .identifiers import quote_identifier
from .partition import read_partition, replace_partition, replace_partitions
from .read import DEFAULT_METRIC, load_experiment, read_round_truth, stored_round_keys
from .schema import (
    COLUMNS_TABLE,
    LINEAGE_COLUMNS,
    ROUNDS_TABLE,
    STORE_COLUMNS,
    TRUTH_ROUNDS_TABLE,
    TRUTH_VISITORS_TABLE,
    VISITORS_TABLE,
    ensure_schema,
)
from .summary import round_summary
from .write import write_round

__all__ = [
    "COLUMNS_TABLE",
    "DESIGNS_TABLE",
    "DEFAULT_METRIC",
    "LINEAGE_COLUMNS",
    "ROUNDS_TABLE",
    "STORE_COLUMNS",
    "TRUTH_ROUNDS_TABLE",
    "TRUTH_VISITORS_TABLE",
    "VISITORS_TABLE",
    "ColumnSpec",
    "ExperimentNotFoundError",
    "RoundNotFoundError",
    "StoreFileError",
    "StoreLockedError",
    "ensure_schema",
    "load_experiment",
    "open_connection",
    "quote_identifier",
    "read_design",
    "read_partition",
    "read_round_truth",
    "record_design",
    "replace_partition",
    "replace_partitions",
    "round_summary",
    "stored_round_keys",
    "transaction",
    "write_round",
]
