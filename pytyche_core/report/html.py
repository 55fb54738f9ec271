"""A ``Document`` as one self-contained HTML page.

Self-contained: the style sheet is inline, images are base64 PNG data URIs,
and the page links to nothing outside itself (no scripts, fonts or style
sheets to fetch), so it opens offline and can be mailed as one file. Every
piece of text goes through ``html.escape`` here, and only here.
"""

from __future__ import annotations

import base64
from html import escape

from .document import Block, Bullets, Code, Document, Figure, Paragraph, Section, Table

_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0 auto; max-width: 68rem;
       padding: 1.5rem 2rem 4rem; color: #1d232a; line-height: 1.45; }
h1 { margin-bottom: 0.2rem; }
.subtitle { color: #56606b; margin-top: 0; }
nav ol { columns: 2; font-size: 0.95rem; }
section { border-top: 1px solid #d7dde3; margin-top: 2rem; padding-top: 0.5rem; }
.questions { color: #56606b; font-style: italic; margin: 0 0 0.8rem; padding-left: 1.2rem; }
table { border-collapse: collapse; margin: 0.6rem 0 1rem; font-size: 0.88rem; }
caption { caption-side: top; text-align: left; font-weight: 600; padding-bottom: 0.3rem; }
th, td { border: 1px solid #d7dde3; padding: 0.25rem 0.55rem; text-align: left; vertical-align: top; }
th { background: #f1f4f7; }
figure { margin: 0.8rem 0 1.2rem; }
figure img { max-width: 100%; height: auto; border: 1px solid #e3e7eb; }
figcaption { color: #56606b; font-size: 0.88rem; }
pre { background: #f6f8fa; border: 1px solid #e3e7eb; padding: 0.5rem 0.7rem; white-space: pre-wrap;
      word-break: break-word; font-size: 0.85rem; }
.code-label { font-weight: 600; margin-bottom: 0.1rem; }
"""


def _paragraph(block: Paragraph) -> str:
    return f"<p>{escape(block.text)}</p>"


def _bullets(block: Bullets) -> str:
    return "<ul>" + "".join(f"<li>{escape(item)}</li>" for item in block.items) + "</ul>"


def _table(block: Table) -> str:
    caption = f"<caption>{escape(block.caption)}</caption>" if block.caption else ""
    head = "".join(f"<th scope=\"col\">{escape(c)}</th>" for c in block.columns)
    rows = "".join("<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in row) + "</tr>" for row in block.rows)
    return f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def _code(block: Code) -> str:
    return f"<div class=\"code-label\">{escape(block.label)}</div><pre><code>{escape(block.text)}</code></pre>"


def _figure(block: Figure) -> str:
    data = base64.b64encode(block.png).decode("ascii")
    return (f"<figure><img src=\"data:image/png;base64,{data}\" alt=\"{escape(block.alt, quote=True)}\">"
            f"<figcaption>{escape(block.caption)}</figcaption></figure>")


_RENDERERS = {Paragraph: _paragraph, Bullets: _bullets, Table: _table, Code: _code, Figure: _figure}


def _block(block: Block) -> str:
    renderer = _RENDERERS.get(type(block))
    if renderer is None:
        raise TypeError(f"render_html: no renderer for a {type(block).__name__}. Fix: build sections from the "
                        "blocks of pytyche_core.report.document.")
    return renderer(block)


def _section(section: Section) -> str:
    questions = "".join(f"<li>{escape(q)}</li>" for q in section.questions)
    body = "\n".join(_block(b) for b in section.blocks)
    return (f"<section id=\"{escape(section.id, quote=True)}\"><h2>{escape(section.title)}</h2>"
            f"<ul class=\"questions\">{questions}</ul>\n{body}</section>")


def render_html(document: Document) -> str:
    """The whole page (UTF-8 text) for ``document``."""
    toc = "".join(f"<li><a href=\"#{escape(s.id, quote=True)}\">{escape(s.title)}</a></li>"
                  for s in document.sections)
    sections = "\n".join(_section(s) for s in document.sections)
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{escape(document.title)}</title><style>{_STYLE}</style></head>\n<body>"
            f"<header><h1>{escape(document.title)}</h1><p class=\"subtitle\">{escape(document.subtitle)}</p>"
            f"<nav><ol>{toc}</ol></nav></header>\n<main>{sections}</main></body></html>\n")


__all__ = ["render_html"]
