"""The report as a reader meets it: contents that link, config as YAML, the search views, and
figures and text sized for a 1366 px laptop screen."""

from __future__ import annotations

import copy
import html
import re
import shutil
import struct
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from jetstudy.analysis import plots, report
from jetstudy.analysis.render import COLUMN_PX, TOC_ID, Section, render_html
from jetstudy.analysis.report import ReportOutcome, write_report

from tests.analysis.conftest import CONFIG, FullReport, draw_every_part
from tests.analysis.test_browser import BROWSERS


@pytest.fixture
def browser() -> str:
    """A headless Chromium (as in test_browser.py); skips, saying how to get one, if none."""
    for name in BROWSERS:
        if shutil.which(name):
            return str(shutil.which(name))
    pytest.skip("no headless Chromium found; `apt-get install chromium` to run this test")


class _Page(HTMLParser):
    """Every element id, every in-page link and the contents' links, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.links: list[str] = []
        self.toc: list[str] = []
        self._in_toc = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            self.ids.append(a["id"])
        if tag == "nav" and a.get("id") == TOC_ID:
            self._in_toc = True
        if tag == "a" and (a.get("href") or "").startswith("#"):
            self.links.append(a["href"][1:])
            if self._in_toc:
                self.toc.append(a["href"][1:])

    def handle_endtag(self, tag: str) -> None:
        if tag == "nav":
            self._in_toc = False


def _parse(page: str) -> _Page:
    parser = _Page()
    parser.feed(page)
    return parser


def _section(page: str, anchor: str) -> str:
    return page.split(f'<section id="{anchor}">', 1)[1].split("</section>", 1)[0]


@pytest.fixture(scope="module")
def full(full_report: FullReport) -> ReportOutcome:
    """The full report of study_dir (shared with test_report.py, read-only)."""
    return full_report.outcome


def test_contents_link_every_section_and_every_link_resolves(full):
    page = full.index_html.read_text()
    parsed = _parse(page)
    sections_ = re.findall(r'<section id="([^"]+)">', page)
    assert parsed.toc == sections_  # every section, in page order
    assert len(set(parsed.ids)) == len(parsed.ids)  # ids are unique
    assert set(parsed.links) <= set(parsed.ids)
    assert parsed.links.count(TOC_ID) == len(sections_) + 1  # one per heading, one floating
    for stable in ("study-config", "optimisation-history", "parallel-coordinates",
                   "regime-map-depth-x-width", "pareto-front", "regime-rules-and-every-trial"):
        assert stable in sections_, stable


def test_repeated_titles_get_distinct_ids():
    page = render_html("t", [Section("Contents"), Section("A b"), Section("a-b"), Section("")], {})
    parsed = _parse(page)
    assert parsed.toc == ["contents-part", "a-b", "a-b-2", "section"]
    assert set(parsed.links) <= set(parsed.ids) and len(set(parsed.ids)) == len(parsed.ids)


def test_config_is_yaml_not_python_reprs(full, study_dir):
    page = full.index_html.read_text()
    part = _section(page, "study-config")
    code = re.search(r"<pre[^>]*><code>(.*?)</code></pre>", part, flags=re.S)
    assert code is not None
    text = html.unescape(code.group(1))
    assert yaml.safe_load(text) == yaml.safe_load((study_dir / "config.yaml").read_text())
    for repr_sign in ("None", "True", "False", "['", "{'", "StudyConfig(", "=["):
        assert repr_sign not in html.unescape(part), repr_sign
    assert "path: null" in text and "activations: [relu]" in text and "batch_norm: [false]" in text
    md = full.summary_md.read_text()
    assert "```yaml\ndata:\n" in md and "\n```\n" in md


def test_search_views_are_in_the_report(full):
    page = full.index_html.read_text()
    for anchor, png in (("optimisation-history", "history.png"),
                        ("parallel-coordinates", "parallel_coordinates.png")):
        part = _section(page, anchor)
        assert part.count('<img src="data:image/png;base64,') == 1, anchor
        assert (full.out_dir / png).read_bytes().startswith(b"\x89PNG")
    history = _section(page, "optimisation-history")
    assert "the lowest so far" in history and "trial number" in history
    assert "coloured by regime" in _section(page, "parallel-coordinates")


def _png_width(data: bytes) -> int:
    return struct.unpack(">I", data[16:20])[0]  # IHDR width


def test_every_figure_fits_the_column_with_readable_labels(study_dir):
    assert plots.MAX_WIDTH_IN * plots.DPI == COLUMN_PX  # the page never scales a figure down
    state = draw_every_part(study_dir)
    assert set(state.drawn) == set(report.FIGURE_FILES)
    for name, fig in state.drawn.items():
        assert _png_width(state.figures[name]) <= COLUMN_PX, name
        fig.canvas.draw()
        for ax in fig.axes:
            if not ax.axison:
                continue
            for label in (ax.xaxis.label, ax.yaxis.label):
                if label.get_text():
                    assert label.get_fontsize() >= 10, (name, label.get_text())
            ticks = [t for t in ax.get_xticklabels() + ax.get_yticklabels() if t.get_text()]
            assert all(t.get_fontsize() >= 9 for t in ticks), name
            legend = ax.get_legend()
            if legend is not None:
                assert all(t.get_fontsize() >= 8 for t in legend.get_texts()), name


def test_one_trial_and_all_failed_say_why_a_view_is_missing(tmp_path, make_study, write_study):
    trials, epochs = make_study(n_trials=1)
    trials["status"] = "completed"
    one = write_report(write_study(tmp_path / "one", trials, epochs), tmp_path / "out1")
    skipped = dict(one.skipped)
    assert "history.png" in {p.name for p in one.figures}
    assert "only 1 trial is in the table, so there is nothing to compare" in skipped["parallel coordinates"]
    trials, epochs = make_study(n_trials=5)
    trials["status"] = "failed"
    trials[["val_loss", "best_val_loss", "best_val_acc", "best_val_auc"]] = np.nan
    failed = write_report(write_study(tmp_path / "failed", trials, epochs.iloc[:0]),
                          tmp_path / "out2")
    skipped = dict(failed.skipped)
    assert "none of the 5 trials has a `val_loss` value" in skipped["optimisation history"]
    assert "validation loss to colour by" in skipped["parallel coordinates"]
    assert not [w for _, w in failed.skipped if "bug in jetstudy" in w]


def test_two_objective_search_and_switched_off_l1(tmp_path, make_study, write_study):
    trials, epochs = make_study(n_trials=16, seed=2)
    trials.loc[trials.index[::2], "l1"] = np.nan  # tables that leave a switched-off L1 out
    config = copy.deepcopy(CONFIG)
    config["search"]["objectives"] = ["val_loss", "multiplications"]
    folder = write_study(tmp_path / "mo", trials, epochs, config=config)
    state = draw_every_part(folder)
    assert not [w for _, w in state.skipped if "bug in jetstudy" in w]
    history = state.drawn["history.png"]
    assert [ax.get_ylabel() for ax in history.axes] == ["val loss (nats)", "multiplications per jet"]
    assert history.axes[1].get_yscale() == "log"
    part = next(s for s in state.sections if s.title == "Optimisation history")
    assert any("two objectives (val_loss and multiplications)" in line for line in part.lines)
    texts = {t.get_text() for t in state.drawn["parallel_coordinates.png"].axes[0].texts}
    assert "off" in texts


def _wide_table_page(tmp_path: Path) -> Path:
    wide = pd.DataFrame({f"column number {i}": [12345.678] for i in range(40)})
    page = render_html("wide", [Section("Wide", lines=["word " * 400], tables=[("", wide)])], {})
    path = tmp_path / "wide.html"
    path.write_text(page, encoding="utf-8")
    return path


#: Measures, after load, what a reader at 1366 px sees, into attributes of <body>.
_PROBE = ("<script>window.addEventListener('load', function () {"
          "var b = document.body, w = 0, minScale = 1;"
          "document.querySelectorAll('p').forEach(function (p) {"
          " w = Math.max(w, p.getBoundingClientRect().width); });"
          "document.querySelectorAll('img').forEach(function (i) {"
          " minScale = Math.min(minScale, i.getBoundingClientRect().width / i.naturalWidth); });"
          "var s = document.querySelector('.scroll'), ch = document.createElement('div');"
          "ch.style.width = '80ch'; (document.querySelector('main') || b).appendChild(ch);"
          "b.setAttribute('data-ch80', String(Math.round(ch.getBoundingClientRect().width)));"
          "b.setAttribute('data-font', getComputedStyle(b).fontSize);"
          "b.setAttribute('data-overflow', String(document.documentElement.scrollWidth"
          " - document.documentElement.clientWidth));"
          "b.setAttribute('data-pwidth', String(Math.round(w)));"
          "b.setAttribute('data-imgscale', minScale.toFixed(3));"
          "b.setAttribute('data-tablescrolls', s ? String(s.scrollWidth > s.clientWidth) : 'none');"
          "});</script>")


def _measure(browser: str, page: Path, tmp_path: Path) -> dict[str, str]:
    import subprocess

    probed = tmp_path / f"probed-{page.name}"
    probed.write_text(page.read_text(encoding="utf-8").replace("</body>", _PROBE + "</body>"),
                      encoding="utf-8")
    cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1366,900",
           "--hide-scrollbars", "--virtual-time-budget=10000", "--dump-dom", probed.as_uri()]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return dict(re.findall(r'data-(font|overflow|pwidth|ch80|imgscale|tablescrolls)="([^"]*)"',
                           done.stdout))


@pytest.mark.browser
def test_readable_at_laptop_width(browser, full, tmp_path):
    m = _measure(browser, full.index_html, tmp_path)
    assert float(m["font"].removesuffix("px")) >= 15
    assert int(m["overflow"]) <= 0  # nothing sticks out sideways
    assert int(m["ch80"]) < COLUMN_PX - 200  # 80 characters are well short of the column
    assert 400 < int(m["pwidth"]) <= int(m["ch80"]) + 1  # and no paragraph is wider
    assert float(m["imgscale"]) == 1.0  # every figure at its own size: fonts as drawn
    wide = _measure(browser, _wide_table_page(tmp_path), tmp_path)
    assert wide["tablescrolls"] == "true" and int(wide["overflow"]) <= 0


def test_markdown_keeps_links_in_text_as_text_and_config_in_an_unbreakable_fence():
    from jetstudy.analysis.render import render_markdown

    evil = "![t](https://example.com/t.png) ``` ````"
    md = render_markdown("t", [Section("S", lines=[evil], code=f"path: '{evil}'\n````\n",
                                       code_language="yaml")])
    assert "\\!\\[t\\](https\\://example.com" in md  # the line: text, no image, no autolink
    fence = re.search(r"^(`{3,})yaml\n(.*?)^\1$", md, flags=re.M | re.S)
    assert fence is not None and len(fence.group(1)) == 5  # longer than any run inside
    assert fence.group(2) == f"path: '{evil}'\n````\n"
