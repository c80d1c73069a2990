"""Referee round 10 on the report page in a real headless browser: a study's long storage name
and the figures' borders keep the page inside the window (no sideways scrolling, nothing cut
at its right edge). Skipped where no Chromium is installed (test_browser.chromium)."""

from __future__ import annotations

import re

import pytest

from tests.analysis.test_browser import _render, chromium  # noqa: F401 (a fixture)

#: On load: the page's scroll width against the window's, and what runs past its box.
WIDTH_PROBE = ("<script>window.addEventListener('load', function () {"
               "var d = document.documentElement, wide = [];"
               "document.querySelectorAll('main *').forEach(function (e) {"
               " if (e.scrollWidth > e.clientWidth + 0.5 && e.clientWidth > 0"
               "     && getComputedStyle(e).overflowX === 'visible') wide.push(e.tagName); });"
               "document.body.setAttribute('data-width', d.scrollWidth + '/' + d.clientWidth"
               " + '/' + wide.join(','));"
               "});</script>")


def _wide_png() -> bytes:
    """A PNG as wide as the report's column (COLUMN_PX): the widest figure the report draws."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    from jetstudy.analysis.plots import DPI, png_bytes
    from jetstudy.analysis.render import COLUMN_PX

    return png_bytes(Figure(figsize=(COLUMN_PX / DPI, 1.0)))


@pytest.mark.browser
def test_a_long_storage_name_and_the_figures_stay_inside_the_window(
        chromium, tmp_path):  # noqa: F811
    """A study named with 125 characters and no space (a_very_long_storage_name_ x 5) made
    the page's title 'jetstudy report: <name>' an unbreakable 2175 px line in its 1200 px
    column: the page scrolled sideways and the title was cut at the window's edge; and every
    figure's 1 px border came on top of its 100% width (1202 px in 1200). Headings and text
    now break a word that does not fit, and a figure's border is inside its width."""
    from jetstudy.analysis.render import Section, render_html

    name = "a_very_long_storage_name_" * 5
    sections = [Section("Overview", lines=[f"Source: /results/{name}"]),
                Section("Figure", figure="wide.png", caption="A figure as wide as the column.")]
    page = tmp_path / "index.html"
    page.write_text(render_html(f"jetstudy report: {name}", sections, {"wide.png": _wide_png()})
                    .replace("</body>", WIDTH_PROBE + "</body>"), encoding="utf-8")
    dom = _render(chromium, page, tmp_path)
    scroll, client, wide = re.search(r'data-width="(\d+)/(\d+)/([^"]*)"', dom).groups()
    assert int(scroll) <= int(client), (scroll, client, wide)
    assert wide == "", wide  # no heading, paragraph or figure runs past its own box
