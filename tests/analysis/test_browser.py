"""The report page in a real headless browser: every figure decodes and renders, no markup leaks.

Chromium loads a copy of ``index.html`` with one small script appended that, on ``load``, marks
each ``<img>`` with whether it decoded (``complete`` and ``naturalWidth > 0``) and counts the
page's scripts; ``--dump-dom`` prints the DOM after that. A control page with a corrupt image
proves the check can fail. Skipped, with the reason, where no Chromium is installed
(``apt-get install chromium``; ``make test`` installs it as root).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from jetstudy.analysis.report import FIGURE_FILES, write_report

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
PROBE = ("<script>window.addEventListener('load', function () {"
         "var imgs = Array.prototype.slice.call(document.images);"
         "imgs.forEach(function (i) { i.setAttribute('data-rendered',"
         " i.complete && i.naturalWidth > 0 ? 'yes' : 'no'); });"
         "document.body.setAttribute('data-scripts', String(document.scripts.length));"
         "});</script>")


@pytest.fixture
def chromium() -> str:
    """Path of a Chromium-like browser; skips the test, saying how to install one, if none."""
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    pytest.skip("no headless Chromium found (tried " + ", ".join(BROWSERS) + "); install it with "
                "`apt-get install chromium` to run the report's browser test")


def _render(browser: str, page: Path, tmp_path: Path) -> str:
    """The DOM of ``page`` after load, with the probe script run."""
    probed = tmp_path / f"probed-{page.name}"
    probed.write_text(page.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"), encoding="utf-8")
    cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={tmp_path / 'chromium-profile'}", "--virtual-time-budget=10000",
           "--dump-dom", probed.as_uri()]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def _marks(dom: str) -> list[str]:
    return re.findall(r'data-rendered="(yes|no)"', dom)


@pytest.mark.browser
def test_every_figure_renders_and_no_user_markup_runs(chromium, tmp_path, make_study, write_study):
    trials, epochs = make_study(n_trials=24)
    trials.loc[0, ["status", "error"]] = ["failed", "<img src=x onerror=alert(1)>"]
    folder = write_study(tmp_path / "study", trials, epochs, name="<script>document.title='pwned'</script>")
    outcome = write_report(folder, tmp_path / "out")
    assert len(outcome.figures) == len(FIGURE_FILES)
    dom = _render(chromium, outcome.index_html, tmp_path)
    assert _marks(dom) == ["yes"] * len(FIGURE_FILES)  # and no <img> from the error string
    assert 'data-scripts="1"' in dom  # only the probe: the study name stayed text
    assert "<title>jetstudy report: &lt;script&gt;document.title" in dom  # the script did not set it


@pytest.mark.browser
def test_the_check_sees_a_broken_figure(chromium, tmp_path):
    page = tmp_path / "control.html"
    page.write_text('<!DOCTYPE html><html><body><img src="data:image/png;base64,iVBORw0KGgoAAAAbroken">'
                    "</body></html>", encoding="utf-8")
    assert _marks(_render(chromium, page, tmp_path)) == ["no"]
