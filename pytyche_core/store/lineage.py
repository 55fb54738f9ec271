"""Lineage: who wrote a row, for which experiment and round, with which code."""

from __future__ import annotations

import dataclasses
import datetime as dt

from ..contracts._checks import non_empty_str


@dataclasses.dataclass(frozen=True)
class Lineage:
    """The lineage columns stamped on every row of one write.

    ``round_key`` is the partition key (e.g. a Dagster time-window key);
    ``written_at`` is one UTC instant shared by every row of the write.
    """

    experiment_id: str
    round_key: str
    run_id: str
    code_version: str
    written_at: dt.datetime

    def __post_init__(self) -> None:
        for name in ("experiment_id", "round_key", "run_id", "code_version"):
            non_empty_str("Lineage", name, getattr(self, name))
            if "\x00" in getattr(self, name):
                raise ValueError(f"Lineage.{name}: contains a NUL character. Fix: remove it.")

    @classmethod
    def now(cls, experiment_id: str, round_key: str, run_id: str, code_version: str) -> Lineage:
        return cls(experiment_id, round_key, run_id, code_version, dt.datetime.now(dt.UTC))

    def value(self, column: str) -> object:
        """The value of one lineage column."""
        return getattr(self, column)
