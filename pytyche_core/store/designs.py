"""An experiment's design, recorded once: a later run with another design under the same id is refused.

The design is whatever fixes what the rounds mean (scenario, arms, metric,
profile, seed, traffic, ...), as a flat JSON object. The first run stores
it in ``experiment_designs``; every later run compares. Re-running with a
different design would otherwise silently replace some rounds of an
existing experiment with rounds of another one.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import pandas as pd

from ..contracts._checks import non_empty_str
from ..contracts.errors import ContractViolation
from .connection import Target, open_connection, transaction
from .identifiers import quote_identifier

DESIGNS_TABLE = "experiment_designs"
_TABLE = quote_identifier(DESIGNS_TABLE)


def _canonical(design: Mapping) -> str:
    if not isinstance(design, Mapping) or not design:
        raise TypeError("design: pass a non-empty mapping of the settings that fix the experiment.")
    try:
        return json.dumps(dict(design), sort_keys=True, default=str)
    except (TypeError, ValueError) as err:
        raise TypeError(f"design: not JSON-serialisable ({err}). Fix: pass plain values.") from None


def record_design(target: Target, experiment_id: str, design: Mapping) -> None:
    """Store ``design`` for ``experiment_id`` the first time; afterwards refuse any other design.

    Raises ``ContractViolation`` naming the settings that differ and the fix
    (a new experiment id). One transaction; nothing is written on refusal.
    """
    non_empty_str("record_design", "experiment_id", experiment_id)
    text = _canonical(design)
    with open_connection(target, read_only=False) as con, transaction(con):
        con.execute(f"CREATE TABLE IF NOT EXISTS {_TABLE} (experiment_id VARCHAR PRIMARY KEY, "
                    "design_json VARCHAR NOT NULL, recorded_at TIMESTAMPTZ NOT NULL)")
        row = con.execute(f"SELECT design_json FROM {_TABLE} WHERE experiment_id = ?", [experiment_id]).fetchone()
        if row is None:
            con.execute(f"INSERT INTO {_TABLE} VALUES (?, ?, ?)",
                        [experiment_id, text, pd.Timestamp.now(tz="UTC").to_pydatetime()])
            return
        stored = json.loads(row[0])
        if stored == json.loads(text):
            return
        wanted = json.loads(text)
        changed = sorted(k for k in set(stored) | set(wanted) if stored.get(k) != wanted.get(k))
        detail = ", ".join(f"{k}: stored {stored.get(k)!r}, now {wanted.get(k)!r}" for k in changed)
        raise ContractViolation(f"experiment {experiment_id!r} was run with another design ({detail}). Fix: give "
                                "this design its own experiment id; an id's rounds keep the design they began with.")


def read_design(source: Target, experiment_id: str) -> dict | None:
    """The recorded design of ``experiment_id``, or None."""
    with open_connection(source, read_only=True) as con:
        exists = con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ?",
                             [DESIGNS_TABLE]).fetchone()[0]
        if not exists:
            return None
        row = con.execute(f"SELECT design_json FROM {_TABLE} WHERE experiment_id = ?", [experiment_id]).fetchone()
    return None if row is None else json.loads(row[0])


__all__ = ["DESIGNS_TABLE", "read_design", "record_design"]
