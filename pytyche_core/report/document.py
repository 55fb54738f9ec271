"""The report as plain data: sections of paragraphs, lists, tables, code and figures.

``sections.py`` builds these from the answers; ``html.py`` renders them.
Text is stored raw (never pre-escaped): escaping is the renderer's job, once.
"""

from __future__ import annotations

import dataclasses
import re

_ANCHOR = re.compile(r"^[a-z][a-z0-9-]*$")


@dataclasses.dataclass(frozen=True)
class Paragraph:
    text: str


@dataclasses.dataclass(frozen=True)
class Bullets:
    items: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class Table:
    """A table of text cells; every row has one cell per column."""

    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    caption: str = ""

    def __post_init__(self) -> None:
        for i, row in enumerate(self.rows):
            if len(row) != len(self.columns):
                raise ValueError(f"Table row {i} has {len(row)} cells for {len(self.columns)} columns. "
                                 "Fix: give every row one cell per column.")


@dataclasses.dataclass(frozen=True)
class Code:
    """Text shown verbatim (a SQL clause), with a label."""

    label: str
    text: str


@dataclasses.dataclass(frozen=True)
class Figure:
    """A PNG image (``plots.png_bytes``) with its caption; ``alt`` says what it shows."""

    caption: str
    png: bytes
    alt: str

    def __post_init__(self) -> None:
        if not self.png.startswith(b"\x89PNG\r\n\x1a\n"):
            raise ValueError(f"Figure {self.caption!r}: not PNG bytes. Fix: pass plots.png_bytes(fig).")


Block = Paragraph | Bullets | Table | Code | Figure


@dataclasses.dataclass(frozen=True)
class Section:
    """One heading: its anchor (``id``), the operator's questions it answers, its blocks."""

    id: str
    title: str
    questions: tuple[str, ...]
    blocks: tuple[Block, ...]

    def __post_init__(self) -> None:
        if not _ANCHOR.match(self.id):
            raise ValueError(f"Section id {self.id!r} is not a lowercase anchor. Fix: use e.g. 'did-it-work'.")


@dataclasses.dataclass(frozen=True)
class Document:
    title: str
    subtitle: str
    sections: tuple[Section, ...]

    def __post_init__(self) -> None:
        ids = [s.id for s in self.sections]
        if len(set(ids)) != len(ids):
            raise ValueError(f"Document: section ids {ids} repeat. Fix: give each section its own id.")


__all__ = ["Block", "Bullets", "Code", "Document", "Figure", "Paragraph", "Section", "Table"]
