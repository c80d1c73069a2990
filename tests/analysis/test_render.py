"""HTML and Markdown rendering: escaping and number formatting."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from jetstudy.analysis.render import Section, format_cell, render_html, render_markdown

EVIL = "<script>alert('x')</script> | a & b"


def test_format_cell():
    assert format_cell(0.123456) == "0.1235"
    assert format_cell(4389.0) == "4389"
    assert format_cell(np.int64(7)) == "7"
    assert format_cell(float("inf")) == "inf"
    assert format_cell(np.nan) == "-" and format_cell(None) == "-"
    assert format_cell(True) == "True"


def _sections() -> list[Section]:
    table = pd.DataFrame({EVIL: [EVIL, 1.5]})
    return [Section(EVIL, lines=[EVIL], tables=[(EVIL, table)], figure="f.png", caption=EVIL),
            Section("Skipped parts", lines=[EVIL], as_list=True)]


def test_html_escapes_every_user_string():
    page = render_html(EVIL, _sections(), {"f.png": b"\x89PNG"})
    assert "<script>" not in page
    assert page.count("&lt;script&gt;") >= 7  # title, h1, h2, line, caption, header, cell, alt...
    assert 'src="data:image/png;base64,iVBORw==' in page


def test_markdown_escapes_and_keeps_tables_intact():
    md = render_markdown(EVIL, _sections())
    assert "<script>" not in md
    table_lines = [line for line in md.splitlines() if line.startswith("| ")]
    assert len(table_lines) == 3  # header and two rows of the one-column table
    assert all(len(re.findall(r"(?<!\\)\|", line)) == 2 for line in table_lines)  # pipes in cells escaped
    assert "![" in md and "](f.png)" in md


def test_collapsed_tables_fold_in_html_and_leave_markdown():
    s = Section("Rules", tables=[("all trials", pd.DataFrame({"a": [1]}))], collapsed=True)
    assert "<details>" in render_html("t", [s], {})
    assert "all trials" not in render_markdown("t", [s])
