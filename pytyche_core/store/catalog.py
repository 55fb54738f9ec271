"""The ``rounds`` table read back: which rounds an experiment has, their metric and arms."""

from __future__ import annotations

import dataclasses

import duckdb
import pandas as pd

from ..contracts.errors import SchemaViolation
from .errors import ExperimentNotFoundError, RoundNotFoundError
from .identifiers import quote_identifier
from .schema import ROUNDS_TABLE, table_exists

_ROUNDS = quote_identifier(ROUNDS_TABLE)
_SHOWN_IDS = 5


@dataclasses.dataclass(frozen=True)
class RoundRecord:
    """One stored round: its key, metric and arms (control first)."""

    round_key: str
    metric: str
    arm_names: tuple[str, ...]
    n_visitors: int


def check_round_keys(round_keys: object) -> list[str] | None:
    """``None`` or a non-empty list of distinct strings (a lone string is one key)."""
    if round_keys is None:
        return None
    keys = [round_keys] if isinstance(round_keys, str) else list(round_keys)
    if not keys or not all(isinstance(k, str) and k for k in keys):
        raise ValueError(f"rounds must be None or a non-empty list of round keys, got {round_keys!r}. "
                         "Fix: pass e.g. rounds=['2026-01-05'].")
    return list(dict.fromkeys(keys))


def known_experiment_ids(con: duckdb.DuckDBPyConnection, from_sql: str, params: list) -> list[str]:
    """A few experiment ids present in a relation, sorted, for error messages."""
    rows = con.execute(f"SELECT DISTINCT CAST(experiment_id AS VARCHAR) AS e FROM {from_sql} "
                       f"ORDER BY e LIMIT {_SHOWN_IDS + 1}", params).fetchall()
    return [r[0] for r in rows]


def unknown_experiment(experiment_id: str, known: list[str], where: str) -> ExperimentNotFoundError:
    shown = ", ".join(repr(k) for k in known[:_SHOWN_IDS]) + (", ..." if len(known) > _SHOWN_IDS else "")
    return ExperimentNotFoundError(f"experiment {experiment_id!r} not found in {where} (known: "
                                   f"{shown or 'none'}). Fix: pass one of the known experiment ids.")


def read_round_records(con: duckdb.DuckDBPyConnection, experiment_id: str, round_keys: list[str] | None,
                       *, where: str) -> list[RoundRecord]:
    """The experiment's rounds, ascending by round key; all of them when ``round_keys`` is None."""
    if not table_exists(con, ROUNDS_TABLE):
        raise ExperimentNotFoundError(f"{where} holds no pytyche store (no {ROUNDS_TABLE!r} table). "
                                      "Fix: write rounds with write_round, or pass table='<name>' to "
                                      "read a table of visitor rows.")
    frame = con.execute(f"SELECT round_key, metric, arm_names, n_visitors FROM {_ROUNDS} "
                        "WHERE experiment_id = ? ORDER BY round_key", [experiment_id]).fetchall()
    if not frame:
        raise unknown_experiment(experiment_id, known_experiment_ids(con, _ROUNDS, []), where)
    records = [RoundRecord(k, metric, tuple(arms), int(n)) for k, metric, arms, n in frame]
    if round_keys is None:
        return records
    present = {r.round_key for r in records}
    missing = [k for k in round_keys if k not in present]
    if missing:
        raise RoundNotFoundError(f"experiment {experiment_id!r} has no round(s) {missing} in {where} "
                                 f"(stored: {sorted(present)}). Fix: pass stored round keys.")
    wanted = set(round_keys)
    return [r for r in records if r.round_key in wanted]


def experiment_metric(records: list[RoundRecord], experiment_id: str) -> str:
    """The one metric all the rounds share."""
    metrics = pd.unique(pd.Series([r.metric for r in records], dtype=object))
    if len(metrics) > 1:
        raise SchemaViolation(f"experiment {experiment_id!r}: rounds record different metrics "
                              f"{list(metrics)}. Fix: load the rounds of one metric (rounds=[...]).")
    return records[0].metric


def merged_arm_names(records: list[RoundRecord], experiment_id: str) -> tuple[str, ...]:
    """Control first, then every treatment in order of first appearance across the rounds.

    Every round must share the control; a treatment missing from some
    rounds (added or dropped) simply has no visitors there.
    """
    control = records[0].arm_names[0]
    arms = [control]
    for record in records:
        if record.arm_names[0] != control:
            raise SchemaViolation(f"experiment {experiment_id!r}: round {record.round_key!r} has control "
                                  f"{record.arm_names[0]!r}, round {records[0].round_key!r} has "
                                  f"{control!r}. Fix: keep one control arm across rounds.")
        arms.extend(a for a in record.arm_names[1:] if a not in arms)
    return tuple(arms)
