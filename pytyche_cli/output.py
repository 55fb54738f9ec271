"""Printing answers: strict JSON for machines, aligned plain-text tables for people.

JSON goes to stdout alone (progress bars and notes go to stderr), so
``pytyche ... --json | jq`` always parses. NaN and infinities, which strict
JSON cannot hold, become ``null``; numpy scalars and arrays become numbers
and lists.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import math
import os
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

import click


def plain(value: Any) -> Any:
    """``value`` as JSON-ready Python: dicts, lists, str, int, float (finite) and None."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, enum.Enum):
        return plain(value.value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (Path, os.PathLike)):
        return os.fspath(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if hasattr(value, "tolist"):  # numpy scalars and arrays
        return plain(value.tolist())
    if isinstance(value, (Sequence, set, frozenset)):
        return [plain(v) for v in value]
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def print_json(payload: Any) -> None:
    """One JSON document on stdout (strict: no NaN)."""
    click.echo(json.dumps(plain(payload), indent=2, allow_nan=False))


def note(text: str) -> None:
    """A message for the person at the terminal: stderr, so stdout stays data."""
    click.echo(text, err=True)


def number(value: Any, digits: int = 4) -> str:
    """A fixed-point number, or ``-`` for a missing or non-finite one."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    return f"{value:.{digits}f}"


def signed(value: Any, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    return f"{value:+.{digits}f}"


def percent(share: Any) -> str:
    if share is None or (isinstance(share, float) and not math.isfinite(share)):
        return "-"
    return f"{100.0 * share:.0f}%"


def interval(bounds: Sequence[float] | None, digits: int = 4) -> str:
    if bounds is None:
        return "-"
    return f"[{signed(bounds[0], digits)}, {signed(bounds[1], digits)}]"


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain-text table: left-aligned text, right-aligned numbers, two spaces between columns."""
    cells = [[str(c) for c in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    numeric = [all(_looks_numeric(row[i]) for row in cells[1:]) and len(cells) > 1 for i in range(len(headers))]

    def line(row: Sequence[str]) -> str:
        return "  ".join(c.rjust(w) if num else c.ljust(w) for c, w, num in zip(row, widths, numeric, strict=True))

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(cells[0]).rstrip(), rule, *(line(r).rstrip() for r in cells[1:])])


def _looks_numeric(text: str) -> bool:
    stripped = text.strip().rstrip("%").replace(",", "")
    if stripped in ("-", ""):
        return True
    try:
        float(stripped)
    except ValueError:
        return False
    return True


def heading(text: str) -> str:
    return f"{text}\n{'=' * len(text)}"


__all__ = ["heading", "interval", "note", "number", "percent", "plain", "print_json", "signed", "table"]
