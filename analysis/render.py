"""Lay report sections out as one self-contained HTML page and as Markdown.

Every string that reaches the page passes through :func:`html.escape` here, in one place: study
names, trial ids, error messages and config values come from users (or from a colleague's file)
and must never be able to inject markup. Figures are embedded as base64 PNG data URLs so the
page can be mailed as a single file.
"""

from __future__ import annotations

import base64
import html
import math
import numbers
import re
from dataclasses import dataclass, field

import pandas as pd

__all__ = ["Section", "render_html", "render_markdown", "format_cell"]


@dataclass
class Section:
    """One report section: plain-text ``lines``, ``tables`` (caption, frame), an optional figure
    (file name) with its one-line ``caption``. ``as_list`` shows the lines as bullets. A
    ``collapsed`` section's tables are folded away in HTML and left out of the Markdown (too
    long to read)."""

    title: str
    lines: list[str] = field(default_factory=list)
    tables: list[tuple[str, pd.DataFrame]] = field(default_factory=list)
    figure: str | None = None
    caption: str = ""
    collapsed: bool = False
    as_list: bool = False


def format_cell(value: object) -> str:
    """Numbers to 4 significant digits, infinities as ``inf``, missing values as ``-``."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, (int, float)):
        if isinstance(value, float) and math.isnan(value):
            return "-"
        if isinstance(value, float) and math.isinf(value):
            return "inf" if value > 0 else "-inf"
        if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return f"{value:.4g}"
    if hasattr(value, "item"):  # numpy scalar
        return format_cell(value.item())
    return str(value)


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1200px;
margin:2em auto;padding:0 1em;color:#222;line-height:1.45}
h1{font-size:1.6em;border-bottom:2px solid #ddd;padding-bottom:.2em}
h2{font-size:1.25em;margin-top:1.8em}
table{border-collapse:collapse;margin:.6em 0;font-size:.88em}
th,td{border:1px solid #ccc;padding:.25em .6em;text-align:left;vertical-align:top}
th{background:#f2f2f2}td.num{text-align:right;font-variant-numeric:tabular-nums}
caption{text-align:left;font-weight:600;padding:.2em 0}
figure{margin:1em 0}figure img{max-width:100%;border:1px solid #eee}
figcaption{color:#555;font-size:.92em}ul.list li{color:#8a4b00}
"""


def _html_cell(value: object) -> str:
    number = isinstance(value, numbers.Number) and not isinstance(value, bool)
    attrs = ' class="num"' if number else ""
    return f"<td{attrs}>{html.escape(format_cell(value))}</td>"


def _html_table(caption: str, df: pd.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    rows = "".join("<tr>" + "".join(map(_html_cell, record)) + "</tr>"
                   for record in df.itertuples(index=False))
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    return f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def _html_section(s: Section, figures: dict[str, bytes]) -> str:
    anchor = re.sub(r"[^a-z0-9]+", "-", s.title.lower()).strip("-")
    parts = [f'<section id="{anchor}"><h2>{html.escape(s.title)}</h2>']
    if s.as_list:
        items = "".join(f"<li>{html.escape(line)}</li>" for line in s.lines)
        parts.append(f'<ul class="list">{items}</ul>')
    else:
        parts += [f"<p>{html.escape(line)}</p>" for line in s.lines]
    tables = "".join(_html_table(c, t) for c, t in s.tables)
    if tables and s.collapsed:
        tables = f"<details><summary>show table</summary>{tables}</details>"
    parts.append(tables)
    if s.figure is not None:
        data = base64.b64encode(figures[s.figure]).decode("ascii")
        caption = html.escape(s.caption)
        parts.append(f'<figure><img src="data:image/png;base64,{data}" alt="{caption}">'
                     f"<figcaption>{caption}</figcaption></figure>")
    parts.append("</section>")
    return "".join(parts)


def render_html(title: str, sections: list[Section], figures: dict[str, bytes]) -> str:
    """The whole page; ``figures`` maps a section's figure name to its PNG bytes."""
    head = (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>\n")
    body = [f"<h1>{html.escape(title)}</h1>"] + [_html_section(s, figures) for s in sections]
    return head + "\n".join(body) + "\n</body></html>\n"


#: Markdown punctuation that can start a link, image, emphasis, code, strike-through or
#: autolink anywhere in a line; each gets a backslash (CommonMark escapes any ASCII punctuation).
_MD_INLINE = re.compile(r"([\\`*\[\]!~|@]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9]))")
#: What starts a block (heading, quote, list, rule, numbered list) at the start of a line.
_MD_BLOCK_START = re.compile(r"^(\s*)(\d{1,9}(?=[.)](?:\s|$))|)([#]|[-+=](?=\s|[-=]|$)|[.)](?=\s|$))")


def _md_text(text: str) -> str:
    """User text as Markdown that renders as the same text and nothing else: no live link,
    image, autolink, HTML, emphasis or table break, in any CommonMark/GFM renderer.

    ``&``, ``<``, ``>`` become entities (no HTML, no ``<https://...>`` autolink); link, image
    and emphasis punctuation and the table pipe get backslashes; ``://`` and ``www.`` are
    broken up so GFM does not turn a bare URL into a link. Quotes are left alone: outside a
    tag they cannot start markup. Intra-word underscores (``val_loss``) stay as they are."""
    text = str(text).replace("\r", " ").replace("\n", " ")
    text = _MD_INLINE.sub(r"\\\1", text)
    text = html.escape(text, quote=False)
    text = re.sub(r"(?i)(?<=[a-z0-9+.-]):(?=//)", r"\\:", text)  # https://x -> https\://x
    text = re.sub(r"(?i)\b(www)\.", r"\1\\.", text)
    return _MD_BLOCK_START.sub(r"\1\2\\\3", text, count=1)


def _md_table(caption: str, df: pd.DataFrame) -> str:
    lines = [f"*{_md_text(caption)}*", ""] if caption else []
    lines.append("| " + " | ".join(_md_text(str(c)) for c in df.columns) + " |")
    lines.append("|" + "---|" * len(df.columns))
    for record in df.itertuples(index=False):
        lines.append("| " + " | ".join(_md_text(format_cell(v)) for v in record) + " |")
    return "\n".join(lines)


def render_markdown(title: str, sections: list[Section]) -> str:
    """The same report as Markdown; figures are referenced by file name (beside summary.md)."""
    out = [f"# {_md_text(title)}", ""]
    for s in sections:
        out += [f"## {_md_text(s.title)}", ""]
        if s.as_list:
            out += [f"- {_md_text(line)}" for line in s.lines] + [""]
        else:
            for line in s.lines:
                out += [_md_text(line), ""]
        if not s.collapsed:
            for caption, table in s.tables:
                out += [_md_table(caption, table), ""]
        if s.figure is not None:
            caption = _md_text(s.caption)
            out += [f"![{caption}]({s.figure})", "", f"*{caption}*", ""]
    return "\n".join(out)
