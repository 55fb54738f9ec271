"""The segment registry: segments an operator chose to keep, stored in DuckDB.

A policy tree discovers segments (``DiscoveredSegment``); the ones worth
keeping are registered under a snake_case key as a ``RegisteredSegment`` with
its claim level and where it was found, and later deployed so an experiment
can target it (its rule filters who enters). See
``docs/concepts/segment-registry.md``.

Storage is one table, ``segment_registry``. Every statement takes its values
as ``?`` parameters and quotes its identifiers; every write is one
transaction. Given a path, each call opens a short-lived connection (DuckDB
allows one writing process per file) and reads open it ``read_only=True``; a
missing file reads as an empty registry and is not created by a read.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import duckdb
import numpy as np
import pandas as pd

from pytyche_core.contracts import (
    ClaimLevel,
    ContractViolation,
    DiscoveredSegment,
    DiscoveryProvenance,
    RegisteredSegment,
    SegmentRule,
    apply_rule,
)
from pytyche_core.contracts._checks import fail, instance, non_empty_str, set_field

from .json_condition import rule_from_json, rule_to_json
from .sql import quote_identifier

#: A DuckDB database file, or an open connection (then never opened or closed here).
Target = str | os.PathLike | duckdb.DuckDBPyConnection

Lifecycle = Literal["registered", "deployed"]
_LIFECYCLES = ("registered", "deployed")

REGISTRY_TABLE = "segment_registry"
_COLUMNS = (
    ("key", "VARCHAR PRIMARY KEY"),
    ("rule_json", "VARCHAR NOT NULL"),
    ("description", "VARCHAR NOT NULL"),
    ("claim_level", "VARCHAR NOT NULL"),
    ("lifecycle", "VARCHAR NOT NULL"),
    # The four provenance columns are NULL together for a hand-written segment;
    # a NaN stability means "not computed" and is stored as NaN, not NULL.
    ("gate_estimate", "DOUBLE"),
    ("stability_score", "DOUBLE"),
    ("population_share", "DOUBLE"),
    ("discovered_at", "TIMESTAMPTZ"),
    ("experiment_id", "VARCHAR"),
    ("round_key", "VARCHAR"),
    ("registered_at", "TIMESTAMPTZ NOT NULL"),
    ("deployed_at", "TIMESTAMPTZ"),
)
_NAMES = tuple(name for name, _ in _COLUMNS)
_Q = {name: quote_identifier(name) for name in (REGISTRY_TABLE, *_NAMES)}
_T = _Q[REGISTRY_TABLE]
_CREATE = (f"CREATE TABLE IF NOT EXISTS {_T} ("
           + ", ".join(f"{_Q[name]} {kind}" for name, kind in _COLUMNS) + ")")
_SELECT = f"SELECT {', '.join(_Q[n] for n in _NAMES)} FROM {_T}"
_INSERT = (f"INSERT INTO {_T} ({', '.join(_Q[n] for n in _NAMES)}) "
           f"VALUES ({', '.join('?' for _ in _NAMES)})")


def _aware(owner: str, field: str, value: Any) -> dt.datetime:
    # TIMESTAMPTZ reads a naive datetime in the session's time zone: refuse it
    # so what is stored is the instant the caller meant.
    instance(owner, field, value, dt.datetime)
    if value.tzinfo is None or value.utcoffset() is None:
        raise fail(owner, field, f"{value!r} has no time zone",
                   "pass an aware datetime, e.g. datetime.now(UTC)")
    return value


def _utf8(owner: str, field: str, value: str) -> str:
    # DuckDB stores UTF-8: a lone surrogate cannot be written.
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as err:
        raise fail(owner, field, f"{value!r} is not valid Unicode ({err.reason})",
                   "use text that encodes as UTF-8") from None
    return value


def _optional_text(owner: str, field: str, value: Any) -> str | None:
    return None if value is None else _utf8(owner, field, non_empty_str(owner, field, value))


def _claim_level(owner: str, value: Any) -> ClaimLevel:
    """``value`` as a ``ClaimLevel``; its string value (e.g. "confirmed") is accepted too."""
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            return ClaimLevel(value)
    raise fail(owner, "claim_level", f"got {value!r}",
               f"use a ClaimLevel or one of {[level.value for level in ClaimLevel]}")


@dataclasses.dataclass(frozen=True)
class RegistryEntry:
    """One row of the registry: a registered segment and its bookkeeping.

    ``claim_level`` is how strong a claim its effect supports (see the doc).
    ``experiment_id`` and ``round_key`` say where it was discovered (None for a
    hand-written segment; a round key needs its experiment). ``deployed_at`` is
    set exactly when ``segment.lifecycle`` is "deployed". Times are aware.
    """

    segment: RegisteredSegment
    claim_level: ClaimLevel
    experiment_id: str | None
    round_key: str | None
    registered_at: dt.datetime
    deployed_at: dt.datetime | None

    def __post_init__(self) -> None:
        owner = "RegistryEntry"
        instance(owner, "segment", self.segment, RegisteredSegment)
        _utf8(owner, "segment.rule.description", self.segment.rule.description)
        if self.segment.provenance is not None:
            _aware(owner, "segment.provenance.discovered_at", self.segment.provenance.discovered_at)
        set_field(self, "claim_level", _claim_level(owner, self.claim_level))
        set_field(self, "experiment_id", _optional_text(owner, "experiment_id", self.experiment_id))
        set_field(self, "round_key", _optional_text(owner, "round_key", self.round_key))
        if self.round_key is not None and self.experiment_id is None:
            raise fail(owner, "round_key", f"{self.round_key!r} is given without an experiment_id",
                       "pass the experiment_id the round belongs to, or neither")
        _aware(owner, "registered_at", self.registered_at)
        deployed = self.segment.lifecycle == "deployed"
        if deployed != (self.deployed_at is not None):
            raise fail(owner, "deployed_at",
                       f"{self.deployed_at!r} with lifecycle {self.segment.lifecycle!r}",
                       "set deployed_at exactly when the segment is deployed")
        if self.deployed_at is not None:
            _aware(owner, "deployed_at", self.deployed_at)
            if self.deployed_at < self.registered_at:
                raise fail(owner, "deployed_at",
                           f"{self.deployed_at.isoformat()} is before registered_at "
                           f"{self.registered_at.isoformat()}", "deploy after registering")

    @property
    def key(self) -> str:
        """The segment's registry key."""
        return self.segment.key


def _row(entry: RegistryEntry) -> list[Any]:
    """The table row of ``entry``, in ``_NAMES`` order."""
    seg, prov = entry.segment, entry.segment.provenance
    # sort_keys fixes the text for equal rules; the default ensure_ascii keeps
    # any string (even a lone surrogate) exactly round-trippable.
    rule_json = json.dumps(rule_to_json(seg.rule), sort_keys=True)
    provenance = ([None] * 4 if prov is None else
                  [prov.gate_estimate, prov.stability_score, prov.population_share, prov.discovered_at])
    return [seg.key, rule_json, seg.rule.description, entry.claim_level.value, seg.lifecycle,
            *provenance, entry.experiment_id, entry.round_key, entry.registered_at, entry.deployed_at]


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    # DuckDB returns TIMESTAMPTZ in the session's time zone; the instant is the same.
    return None if value is None else value.astimezone(dt.UTC)


def _entry(row: tuple) -> RegistryEntry:
    """Rebuild an entry from a table row; a hand-edited bad row fails its contracts."""
    v = dict(zip(_NAMES, row, strict=True))
    provenance = None
    if v["discovered_at"] is not None:
        provenance = DiscoveryProvenance(v["gate_estimate"], v["stability_score"],
                                         v["population_share"], _utc(v["discovered_at"]))
    rule = rule_from_json(json.loads(v["rule_json"]))
    segment = RegisteredSegment(v["key"], rule, provenance, v["lifecycle"])
    return RegistryEntry(segment, v["claim_level"], v["experiment_id"], v["round_key"],
                         _utc(v["registered_at"]), _utc(v["deployed_at"]))


def _unknown(key: object, known: list[str]) -> KeyError:
    shown = known if len(known) <= 20 else [*known[:20], f"... ({len(known) - 20} more)"]
    fix = f"use one of {shown}" if known else "register the segment first"
    return KeyError(f"segment registry: no segment {key!r}. Fix: {fix}.")


class SegmentRegistry:
    """Registered segments in the DuckDB table ``segment_registry``.

    ``target`` is a database file path or an open ``duckdb`` connection. With
    a connection, each write runs in its own transaction on it (so it must not
    be inside one already) and the connection is left open.
    """

    def __init__(self, target: Target) -> None:
        if not isinstance(target, (str, os.PathLike, duckdb.DuckDBPyConnection)):
            raise TypeError(f"SegmentRegistry: expected a path or a duckdb connection, got "
                            f"{type(target).__name__}. Fix: pass the DuckDB file path.")
        self._target = target

    def _path(self) -> Path | None:
        return None if isinstance(self._target, duckdb.DuckDBPyConnection) else Path(os.fspath(self._target))

    @contextlib.contextmanager
    def _reading(self) -> Iterator[duckdb.DuckDBPyConnection | None]:
        """A connection holding the table, or None when there is no file or no table yet."""
        path = self._path()
        if path is None:
            con = self._target
        elif not path.is_file():
            yield None  # reading must not create the file
            return
        else:
            con = duckdb.connect(str(path), read_only=True)
        try:
            found = con.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_catalog = current_database() "
                "AND table_schema = current_schema() AND table_name = ?", [REGISTRY_TABLE]).fetchone()[0]
            yield con if found else None
        finally:
            if path is not None:
                con.close()

    @contextlib.contextmanager
    def _writing(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection inside one transaction, the table created if missing; commit or roll back."""
        path = self._path()
        if path is not None and not path.parent.is_dir():
            raise FileNotFoundError(f"segment registry: folder {str(path.parent)!r} of {str(path)!r} "
                                    "does not exist. Fix: create the folder first.")
        con = self._target if path is None else duckdb.connect(str(path))
        try:
            con.execute("BEGIN TRANSACTION")
            try:
                con.execute(_CREATE)
                yield con
            except BaseException:
                con.execute("ROLLBACK")
                raise
            try:
                con.execute("COMMIT")
            except BaseException:
                # A failed commit can leave the transaction open.
                with contextlib.suppress(duckdb.Error):
                    con.execute("ROLLBACK")
                raise
        finally:
            if path is not None:
                con.close()

    @staticmethod
    def _keys(con: duckdb.DuckDBPyConnection | None) -> list[str]:
        if con is None:
            return []
        return [k for (k,) in con.execute(f"SELECT {_Q['key']} FROM {_T} ORDER BY 1").fetchall()]

    @staticmethod
    def _fetch(con: duckdb.DuckDBPyConnection, key: str) -> RegistryEntry | None:
        row = con.execute(f"{_SELECT} WHERE {_Q['key']} = ?", [key]).fetchone()
        return None if row is None else _entry(row)

    def register(
        self,
        key: str,
        segment_or_rule: DiscoveredSegment | SegmentRule,
        *,
        claim_level: ClaimLevel | str = ClaimLevel.EXPLORATORY,
        experiment_id: str | None = None,
        round_key: str | None = None,
        discovered_at: dt.datetime | None = None,
    ) -> RegistryEntry:
        """Register a discovered segment (with its provenance) or a hand-written rule under ``key``.

        ``discovered_at`` (aware; default now in UTC) applies only to a
        ``DiscoveredSegment``. Everything is validated before anything is
        written; a key already registered is refused (``ValueError``) and the
        registry is left unchanged. Returns the stored entry, lifecycle "registered".
        """
        owner = "SegmentRegistry.register"
        instance(owner, "segment_or_rule", segment_or_rule, (DiscoveredSegment, SegmentRule))
        if isinstance(segment_or_rule, DiscoveredSegment):
            when = dt.datetime.now(dt.UTC) if discovered_at is None else _aware(
                owner, "discovered_at", discovered_at)
            rule, provenance = segment_or_rule.rule, DiscoveryProvenance.of(segment_or_rule, when)
        else:
            if discovered_at is not None:
                raise fail(owner, "discovered_at", f"{discovered_at!r} given for a hand-written rule",
                           "pass a DiscoveredSegment to record its discovery, or omit discovered_at")
            rule, provenance = segment_or_rule, None
        entry = RegistryEntry(RegisteredSegment(key, rule, provenance, "registered"),
                              claim_level, experiment_id, round_key, dt.datetime.now(dt.UTC), None)
        refused = ValueError(f"segment registry: key {key!r} is already registered. Fix: choose "
                             "another key, or use the existing entry (registry.get(key)).")
        with self._writing() as con:
            if self._fetch(con, key) is not None:
                raise refused
            try:
                con.execute(_INSERT, _row(entry))
            except duckdb.ConstraintException:  # registered by another connection meanwhile
                raise refused from None
        return entry

    def deploy(self, key: str) -> RegistryEntry:
        """Move ``key`` from "registered" to "deployed" and stamp ``deployed_at`` (now, UTC).

        Raises ``KeyError`` for an unknown key and ``ValueError`` for one
        already deployed; either way nothing is written.
        """
        path = self._path()
        if path is not None and not path.is_file():
            raise _unknown(key, [])  # deploying must not create the file
        with self._writing() as con:
            entry = self._fetch(con, key)
            if entry is None:
                raise _unknown(key, self._keys(con))
            if entry.deployed_at is not None:
                raise ValueError(f"segment registry: {key!r} is already deployed (at "
                                 f"{entry.deployed_at.isoformat()}). Fix: deploy it once; "
                                 "register a new key for a changed rule.")
            # A clock stepping back must not put deployment before registration.
            now = max(dt.datetime.now(dt.UTC), entry.registered_at)
            deployed = dataclasses.replace(
                entry, segment=dataclasses.replace(entry.segment, lifecycle="deployed"), deployed_at=now)
            con.execute(f"UPDATE {_T} SET {_Q['lifecycle']} = ?, {_Q['deployed_at']} = ? "
                        f"WHERE {_Q['key']} = ?", ["deployed", now, key])
        return deployed

    def get(self, key: str) -> RegistryEntry:
        """The entry for ``key``; ``KeyError`` naming the known keys when absent."""
        with self._reading() as con:
            entry = None if con is None or not isinstance(key, str) else self._fetch(con, key)
            if entry is None:
                raise _unknown(key, self._keys(con))
            return entry

    def entries(self, lifecycle: Lifecycle | None = None) -> list[RegistryEntry]:
        """All entries ordered by key, or only those at ``lifecycle``."""
        if lifecycle is not None and lifecycle not in _LIFECYCLES:
            raise ContractViolation(f"SegmentRegistry.entries.lifecycle: got {lifecycle!r}. "
                                    "Fix: use None, 'registered' or 'deployed'.")
        with self._reading() as con:
            if con is None:
                return []
            if lifecycle is None:
                rows = con.execute(f"{_SELECT} ORDER BY {_Q['key']}").fetchall()
            else:
                rows = con.execute(f"{_SELECT} WHERE {_Q['lifecycle']} = ? ORDER BY {_Q['key']}",
                                   [lifecycle]).fetchall()
            return [_entry(row) for row in rows]

    def members(self, key: str, visitors: pd.DataFrame) -> np.ndarray:
        """Boolean mask of the ``visitors`` rows that ``key``'s rule selects (``apply_rule``)."""
        return np.asarray(apply_rule(self.get(key).segment.rule, visitors), dtype=bool)

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        with self._reading() as con:
            return con is not None and con.execute(
                f"SELECT count(*) FROM {_T} WHERE {_Q['key']} = ?", [key]).fetchone()[0] > 0

    def __len__(self) -> int:
        with self._reading() as con:
            return 0 if con is None else int(con.execute(f"SELECT count(*) FROM {_T}").fetchone()[0])
