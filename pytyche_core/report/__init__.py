"""The decision report: one self-contained HTML file answering the operator's questions about a stored round.

``build_report(store_path, experiment_id)`` reads a round the pipeline
stored (``python3 tasks.py run``), its fit and its plan, and returns the
page; ``write_report`` writes it atomically (``pytyche report EXPERIMENT``
calls it). What it answers, and where each number comes from, is in
docs/concepts/report.md.

- ``gather.py``: what the report reads from the store (no statistics);
- ``answers.py``: the numbers, from the library's primitives;
- ``sections.py``: the questions, answered in words, tables, SQL and figures;
- ``document.py`` / ``html.py``: the page as data, and as escaped HTML.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

from ..atomic import atomic_path
from .answers import Answers, answer
from .gather import StoredRound, gather
from .html import render_html
from .sections import compose


def build_report(store_path: str | os.PathLike, experiment_id: str, *, round_key: str | None = None,
                 assignable_attributes: Sequence[str] | None = None) -> str:
    """The HTML report (one self-contained page) of ``experiment_id``'s round ``round_key`` (default: the latest).

    ``assignable_attributes``: the features the storefront can evaluate at
    assignment time, to check each segment against (None: not checked).
    Raises ``FileNotFoundError`` (no store at ``store_path``, or a fit file it
    records is gone), ``ExperimentNotFoundError`` (unknown id; the message
    lists the known ones) or ``RoundNotFoundError`` (no such planned round),
    each naming the fix.
    """
    stored = gather(store_path, experiment_id, round_key)
    return render_html(compose(answer(stored, assignable_attributes=assignable_attributes)))


def default_report_path(store_path: str | os.PathLike, experiment_id: str, round_key: str | None) -> Path:
    """``<store's folder>/reports/<experiment id>[-<round>].html`` (the id made file-name safe)."""
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", experiment_id) + (f"-{round_key}" if round_key else "")
    return Path(os.fspath(store_path)).expanduser().resolve().parent / "reports" / f"{name}.html"


def write_report(store_path: str | os.PathLike, experiment_id: str, out_path: str | os.PathLike | None = None, *,
                 round_key: str | None = None, assignable_attributes: Sequence[str] | None = None) -> Path:
    """Build the report and write it to ``out_path`` atomically; returns the path written.

    ``out_path`` None: ``default_report_path`` (a ``reports/`` folder beside
    the store); an existing folder: that folder, same file name. The report
    is built completely before anything is written, so an error (see
    ``build_report``) leaves no file behind.
    """
    text = build_report(store_path, experiment_id, round_key=round_key, assignable_attributes=assignable_attributes)
    default = default_report_path(store_path, experiment_id, round_key)
    path = default if out_path is None else Path(os.fspath(out_path)).expanduser()
    if path.is_dir():
        path = path / default.name
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as temporary:
        temporary.write_text(text, encoding="utf-8")
    return path


__all__ = ["Answers", "StoredRound", "answer", "build_report", "default_report_path", "gather", "write_report"]
