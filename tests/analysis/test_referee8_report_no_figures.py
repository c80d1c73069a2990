"""A report without figures (``write_report(figures=False)``, ``jetstudy report --no-figures``,
``jetstudy run --no-figures``): the same words, tables and CSV files as the full report, no
PNG, and the page and summary.md say where each figure was left out and which command draws
it. Compared with the one shared full report of the analysis tests (``full_report``)."""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import pytest

from jetstudy.analysis.render import not_drawn
from jetstudy.analysis.report import FIGURE_FILES, ReportOutcome, write_report
from tests.analysis.conftest import FullReport
from tests.faults.conftest import jetstudy_here

_IMAGE = re.compile(r"^!\[.*\]\((\S+\.png)\)$")


@pytest.fixture(scope="module")
def words_only(tmp_path_factory: pytest.TempPathFactory, study_dir: Path) -> ReportOutcome:
    """The report of a copy of ``study_dir`` written by ``jetstudy report --no-figures``."""
    root = tmp_path_factory.mktemp("words-only")
    shutil.copytree(study_dir, root / "study", ignore=shutil.ignore_patterns("report"))
    proc = jetstudy_here("report", "study", "--no-figures", cwd=root)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"report: {Path('study') / 'report' / 'index.html'}" in proc.stdout
    out = root / "study" / "report"
    return ReportOutcome(out, out / "index.html", out / "summary.md", [], [])


def _figure_lines(summary: str) -> list[str]:
    return [m.group(1) for line in summary.splitlines() if (m := _IMAGE.match(line))]


def test_no_png_and_the_same_tables(words_only: ReportOutcome, full_report: FullReport) -> None:
    full = full_report.outcome
    assert len(full.figures) >= 8  # the comparison means something: the full one has figures
    assert not list(words_only.out_dir.glob("*.png"))
    for name in ("regimes.csv", "pareto.csv"):
        assert (words_only.out_dir / name).read_bytes() == (full.out_dir / name).read_bytes()


def test_summary_the_same_but_each_figure_marked(words_only: ReportOutcome,
                                                 full_report: FullReport) -> None:
    """Line for line the full summary.md, except the Overview's line on the figures and, in
    place of each image link, the words saying it was not drawn (no link to a missing file)."""
    full = full_report.outcome.summary_md.read_text(encoding="utf-8").splitlines()
    mine = words_only.summary_md.read_text(encoding="utf-8").splitlines()
    drawn = _figure_lines("\n".join(full))
    assert sorted(drawn) == sorted(p.name for p in full_report.outcome.figures)
    assert _figure_lines("\n".join(mine)) == []
    note = [i for i, line in enumerate(mine) if line.startswith("Figures: not drawn")]
    assert len(note) == 1 and note[0] < [i for i, line in enumerate(mine)
                                         if line.startswith("## ")][1]  # in the Overview
    del mine[note[0]:note[0] + 2]  # the line and its blank line
    expected = [not_drawn(m.group(1)) if (m := _IMAGE.match(line))
                else "Source: study" if line.startswith("Source: ")  # this one's, relative
                else line for line in full]
    assert mine == expected


def test_page_names_the_command_that_draws_them(words_only: ReportOutcome,
                                                full_report: FullReport) -> None:
    page = words_only.index_html.read_text(encoding="utf-8")
    assert "<img" not in page and "data:image/png" not in page
    for figure in full_report.outcome.figures:
        assert f'<p class="undrawn">{not_drawn(figure.name)}</p>' in page
    full_page = full_report.outcome.index_html.read_text(encoding="utf-8")
    assert page.count("<figcaption>") == full_page.count("<figcaption>")
    command = re.search(r"Figures: not drawn \(the report was written with --no-figures\); to "
                        r"draw them: (jetstudy report [^<]+)</p>", page)
    assert command is not None
    assert shlex.split(command.group(1)) == ["jetstudy", "report", "study"]


def test_the_command_it_names_draws_them_over_it(words_only: ReportOutcome,
                                                 tmp_path: Path) -> None:
    """The named command, run where the first was, replaces the report with the full one; the
    other way round, a report without figures removes the earlier report's PNGs (they would
    not match it)."""
    root = tmp_path / "copy"
    shutil.copytree(words_only.out_dir.parents[1], root)
    proc = jetstudy_here("report", "study", cwd=root)
    assert proc.returncode == 0, proc.stderr[-3000:]
    drawn = {p.name for p in (root / "study" / "report").glob("*.png")}
    assert drawn and drawn <= set(FIGURE_FILES)
    assert "not drawn (see Overview)" not in (root / "study" / "report" / "summary.md").read_text()
    again = write_report(root / "study", figures=False)
    assert again.figures == [] and not list(again.out_dir.glob("*.png"))
    assert (again.out_dir / "regimes.csv").is_file()


def test_out_and_force_are_in_the_command(study_dir: Path, tmp_path: Path) -> None:
    """With -o and --force the command that draws the figures names both, so it rewrites
    this report and not another (a lone trials table as the source)."""
    shutil.copy(study_dir / "trials.csv" if (study_dir / "trials.csv").exists()
                else study_dir / "trials.parquet", tmp_path)
    table = next(tmp_path.glob("trials.*"))
    out = tmp_path / "my report"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    outcome = write_report(table, out, force=True, figures=False)
    page = outcome.index_html.read_text(encoding="utf-8")
    command = re.search(r"to draw them: (jetstudy report [^<]+)</p>", page)
    assert command is not None
    import html

    assert shlex.split(html.unescape(command.group(1))) == [
        "jetstudy", "report", str(table), "-o", str(out), "--force"]
    assert (out / "notes.txt").read_text() == "mine"
