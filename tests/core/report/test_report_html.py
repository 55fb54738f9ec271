"""The page renderer: every piece of text is escaped, images are embedded, nothing is fetched."""

from __future__ import annotations

import base64
import re

import pytest

from pytyche_core import plots
from pytyche_core.report.document import Bullets, Code, Document, Figure, Paragraph, Section, Table
from pytyche_core.report.html import render_html

HOSTILE = "<script>alert('x')</script> & \"quoted\""


def _png() -> bytes:
    import numpy as np

    levels = np.array([0.2, 0.5, 0.8])
    return plots.png_bytes(plots.calibration_figure({"honest": (levels, levels)}))


def _document(text: str, png: bytes) -> Document:
    blocks = (Paragraph(text), Bullets((text,)), Table(("column " + text,), ((text,),), caption=text),
              Code(text, text), Figure(text, png, text))
    return Document(title=text, subtitle=text, sections=(Section("only", text, (text,), blocks),))


def test_every_text_is_escaped_and_no_markup_leaks():
    page = render_html(_document(HOSTILE, _png()))
    assert "<script" not in page and "alert('x')" not in page
    assert page.count("&lt;script&gt;") >= 10  # title, subtitle, toc, heading, question and every block
    assert "&quot;quoted&quot;" in page


def test_the_page_is_self_contained_and_embeds_the_image_it_was_given():
    png = _png()
    page = render_html(_document("plain", png))
    assert not re.search(r"(?:src|href)=\"(?!data:|#)", page), "only data URIs and in-page anchors"
    assert "<link" not in page and "<script" not in page and "url(" not in page and "@import" not in page
    sources = re.findall(r"<img src=\"data:image/png;base64,([A-Za-z0-9+/=]+)\"", page)
    assert [base64.b64decode(s) for s in sources] == [png]


def test_blocks_refuse_what_they_cannot_render():
    with pytest.raises(ValueError, match="PNG"):
        Figure("caption", b"GIF89a", "alt")
    with pytest.raises(ValueError, match="one cell per column"):
        Table(("a", "b"), (("only one",),))
    with pytest.raises(ValueError, match="anchor"):
        Section("Not An Anchor", "t", (), ())
    with pytest.raises(ValueError, match="repeat"):
        Document("t", "s", (Section("a", "t", (), ()), Section("a", "t", (), ())))
