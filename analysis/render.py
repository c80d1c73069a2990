"""Lay report sections out as one self-contained HTML page and as Markdown.

Every string that reaches the page passes through :func:`html.escape` here, in one place: study
names, trial ids, error messages and config values come from users (or from a colleague's file)
and must never be able to inject markup. Figures are embedded as base64 PNG data URLs so the
page can be mailed as a single file.

The page is laid out for a laptop (1366 px wide): a table of contents linking to every section
(ids from :func:`section_ids`, stable across reports), a "contents" link beside every heading,
16 px text in lines of at most 80 characters, tables that scroll sideways inside the column
instead of overflowing it, and figures scaled down to the column (:data:`COLUMN_PX`; the figures
are drawn no wider, so their fonts are seen at the size they were drawn). No script, no font or
style from the net.
"""

from __future__ import annotations

import base64
import html
import math
import numbers
import re
from collections.abc import Collection
from dataclasses import dataclass, field

import pandas as pd

__all__ = ["Section", "render_html", "render_markdown", "format_cell", "section_ids",
           "COLUMN_PX", "TOC_ID", "counted", "not_drawn"]

#: Width of the page's column in CSS pixels; figures (``plots.MAX_WIDTH_IN`` at ``plots.DPI``)
#: are drawn no wider.
COLUMN_PX = 1200
#: Id of the table of contents, the target of every "contents" link.
TOC_ID = "contents"


@dataclass
class Section:
    """One report section: plain-text ``lines``, ``tables`` (caption, frame), an optional figure
    (file name) with its one-line ``caption``, an optional preformatted ``code`` block (e.g. the
    config as YAML; ``code_language`` labels the Markdown fence). ``as_list`` shows the lines as
    bullets. A ``collapsed`` section's tables are folded away in HTML and left out of the
    Markdown (too long to read)."""

    title: str
    lines: list[str] = field(default_factory=list)
    tables: list[tuple[str, pd.DataFrame]] = field(default_factory=list)
    figure: str | None = None
    caption: str = ""
    collapsed: bool = False
    as_list: bool = False
    code: str | None = None
    code_language: str = ""


def counted(n: object, noun: str, plural: str | None = None) -> str:
    """``1 trial``, ``3 trials``: a count with its noun in the right number (``plural``
    defaults to noun + s); a count that is not a number is shown as given."""
    one = isinstance(n, numbers.Number) and not isinstance(n, bool) and n == 1
    return f"{n} {noun if one else plural or noun + 's'}"


def format_cell(value: object) -> str:
    """Numbers to 4 significant digits, infinities as ``inf``, missing values as ``-``; a
    whole number (a count: parameters, FLOPs, epochs, jets) as its digits, ``20000``, never
    ``2e+04``, ``20000.0`` or ``20,000``: the one format of counts in every table and
    sentence of the report."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
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


_CSS = f"""
html{{font-size:16px;scroll-behavior:smooth}}
body{{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;
font-size:16px;margin:0;color:#1f1f1f;line-height:1.55;background:#fff}}
main{{max-width:{COLUMN_PX}px;margin:0 auto;padding:1.2em 1.25em 4em}}
p,li,figcaption,nav.toc{{max-width:80ch}}
h1,h2,p,li,figcaption,caption{{overflow-wrap:anywhere}}
h1{{font-size:1.75em;border-bottom:2px solid #ddd;padding-bottom:.2em;margin:.4em 0 .6em}}
h2{{font-size:1.35em;margin-top:2em;padding-top:.3em;border-top:1px solid #eee;
display:flex;align-items:baseline;gap:1em}}
h2 a.up{{font-size:.62em;font-weight:normal;color:#666;text-decoration:none;margin-left:auto}}
h2 a.up:hover{{text-decoration:underline}}
section{{scroll-margin-top:.5em}}
nav.toc{{background:#f7f7f7;border:1px solid #e3e3e3;border-radius:4px;padding:.6em 1.2em}}
nav.toc h2{{border:0;margin:.2em 0;padding:0;font-size:1.1em}}
nav.toc ol{{margin:.2em 0;padding-left:1.4em;columns:2 22em;column-gap:2em}}
nav.toc a{{color:#0b57a4;text-decoration:none}}nav.toc a:hover{{text-decoration:underline}}
.scroll{{overflow-x:auto;max-width:100%;margin:.6em 0}}
table{{border-collapse:collapse;margin:0;font-size:15px}}
th,td{{border:1px solid #ccc;padding:.3em .65em;text-align:left;vertical-align:top}}
th{{background:#f2f2f2}}td.num{{text-align:right;font-variant-numeric:tabular-nums;
white-space:nowrap}}
caption{{text-align:left;font-weight:600;padding:.2em 0;caption-side:top}}
pre{{background:#f6f8fa;border:1px solid #e3e3e3;border-radius:4px;padding:.8em 1em;
overflow-x:auto;font-size:15px;line-height:1.45;max-width:100%;box-sizing:border-box}}
pre.long{{columns:3 22em;column-gap:2.5em;column-rule:1px solid #e3e3e3}}
figure{{margin:1em 0}}figure img{{max-width:100%;height:auto;border:1px solid #eee;
box-sizing:border-box}}
figcaption{{color:#444;font-size:15px}}ul.list li{{color:#8a4b00}}
p.undrawn{{color:#666;font-style:italic}}
a.totop{{position:fixed;right:1em;bottom:1em;background:#fff;border:1px solid #ccc;
border-radius:4px;padding:.2em .6em;color:#0b57a4;text-decoration:none;font-size:15px}}
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
    return (f'<div class="scroll"><table>{cap}<thead><tr>{head}</tr></thead>'
            f"<tbody>{rows}</tbody></table></div>")


def section_ids(sections: list[Section]) -> list[str]:
    """The HTML id of each section: its title in lower case, runs of other characters as one
    ``-`` (``"Regime map: depth x width"`` -> ``regime-map-depth-x-width``), so a link to a part
    stays valid from one report to the next; a repeated title gets ``-2``, ``-3``."""
    ids: list[str] = []
    for s in sections:
        base = re.sub(r"[^a-z0-9]+", "-", s.title.lower()).strip("-") or "section"
        base = base if base != TOC_ID else f"{base}-part"
        anchor, n = base, 1
        while anchor in ids:
            n += 1
            anchor = f"{base}-{n}"
        ids.append(anchor)
    return ids


def _html_toc(sections: list[Section], ids: list[str]) -> str:
    items = "".join(f'<li><a href="#{i}">{html.escape(s.title)}</a></li>'
                    for s, i in zip(sections, ids))
    return f'<nav class="toc" id="{TOC_ID}"><h2>Contents</h2><ol>{items}</ol></nav>'


def _html_section(s: Section, figures: dict[str, bytes], anchor: str) -> str:
    parts = [f'<section id="{anchor}"><h2>{html.escape(s.title)}'
             f'<a class="up" href="#{TOC_ID}">&uarr; contents</a></h2>']
    if s.as_list:
        items = "".join(f"<li>{html.escape(line)}</li>" for line in s.lines)
        parts.append(f'<ul class="list">{items}</ul>')
    else:
        parts += [f"<p>{html.escape(line)}</p>" for line in s.lines]
    tables = "".join(_html_table(c, t) for c, t in s.tables)
    if tables and s.collapsed:
        tables = f"<details><summary>show table</summary>{tables}</details>"
    parts.append(tables)
    if s.code is not None:
        long = ' class="long"' if s.code.count("\n") > 30 else ""  # in columns: less scrolling
        parts.append(f"<pre{long}><code>{html.escape(s.code)}</code></pre>")
    if s.figure is not None and s.figure in figures:
        data = base64.b64encode(figures[s.figure]).decode("ascii")
        caption = html.escape(s.caption)
        parts.append(f'<figure><img src="data:image/png;base64,{data}" alt="{caption}">'
                     f"<figcaption>{caption}</figcaption></figure>")
    elif s.figure is not None:  # a report written without figures: the caption, and why
        parts.append(f'<figure><p class="undrawn">{html.escape(not_drawn(s.figure))}</p>'
                     f"<figcaption>{html.escape(s.caption)}</figcaption></figure>")
    parts.append("</section>")
    return "".join(parts)


def not_drawn(figure: str) -> str:
    """What stands in a report written without figures where the figure ``figure`` would be."""
    return f"Figure {figure} not drawn (see Overview)."


def render_html(title: str, sections: list[Section], figures: dict[str, bytes]) -> str:
    """The whole page; ``figures`` maps a section's figure name to its PNG bytes (a figure not
    among them is marked as not drawn, its caption kept)."""
    head = (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>\n")
    ids = section_ids(sections)
    body = [f'<main id="top"><h1>{html.escape(title)}</h1>', _html_toc(sections, ids)]
    body += [_html_section(s, figures, i) for s, i in zip(sections, ids)]
    body.append(f'</main><a class="totop" href="#{TOC_ID}">&uarr; contents</a>')
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


def render_markdown(title: str, sections: list[Section],
                    drawn: Collection[str] | None = None) -> str:
    """The same report as Markdown; figures are referenced by file name (beside summary.md).
    ``drawn``: the figures written (None: all); another is marked as not drawn, its caption
    kept, instead of a link to a file that is not there."""
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
        if s.code is not None:
            fence = "`" * max(3, 1 + max((len(r) for r in re.findall(r"`+", s.code)), default=0))
            info = re.sub(r"[^A-Za-z0-9_+-]", "", s.code_language)
            out += [f"{fence}{info}", s.code.rstrip("\n"), fence, ""]
        if s.figure is not None:
            caption = _md_text(s.caption)
            shown = (f"![{caption}]({s.figure})" if drawn is None or s.figure in drawn
                     else _md_text(not_drawn(s.figure)))
            out += [shown, "", f"*{caption}*", ""]
    return "\n".join(out)
