"""Referee round 9: a user's file in a marked study's ``report/`` that no report wrote.

A study's own ``report/`` without a manifest counted every report-named file there as an earlier
report's (for studies from before manifests existed), so the study's report overwrote the
user's own ``summary.md`` or ``index.html`` put there before any report was written (a run
stopped before its report, notes kept beside the study). A study folder carrying jetstudy's mark
(:data:`jetstudy.study.paths.STUDY_MARK`) was made by a jetstudy that writes the manifest with
every report: its ``report/`` without one holds no report of jetstudy's, so nothing there is
replaced; an unmarked (older) study keeps the old rule.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from jetstudy.analysis.errors import AnalysisError
from jetstudy.study.paths import STUDY_MARK
from tests.faults.conftest import plant, unchanged


@pytest.fixture(scope="module")
def tables() -> tuple:
    from tests.analysis.conftest import _make_study

    return _make_study(n_trials=4, max_epochs=2)


def test_a_marked_studys_report_folder_without_manifest_keeps_the_users_files(
        tables: tuple, tmp_path: Path) -> None:
    from jetstudy.analysis.report import write_report
    from tests.analysis.conftest import _write_study

    study = _write_study(tmp_path / "study", *tables)
    (study / STUDY_MARK).write_text("")
    planted = plant(study / "report", ["summary.md", "index.html", "notes.txt"])
    with pytest.raises(AnalysisError) as err:
        write_report(study, figures=False)
    assert not unchanged(study / "report", planted), "the user's files were overwritten"
    assert "summary.md" in str(err.value) and "jetstudy did not write" in str(err.value)


def test_an_unmarked_older_studys_report_is_still_replaced(tables: tuple, tmp_path: Path) -> None:
    """A study from before manifests (no mark): its report files are an earlier report's."""
    from jetstudy.analysis.report import write_report
    from tests.analysis.conftest import _write_study

    study = _write_study(tmp_path / "old", *tables)
    (study / "scaler.json").write_text("{}")  # with data_summary.json: a study before the mark
    plant(study / "report", ["summary.md"])
    write_report(study, figures=False)
    assert (study / "report" / "summary.md").read_text().startswith("# jetstudy report")


def test_an_older_study_marked_on_resume_keeps_its_old_report_replaceable(
        tables: tuple, tmp_path: Path) -> None:
    """A resume marks a study from before the mark (claim_study_folder): the mark says so, and
    its report from before manifests is still an earlier report's, replaced."""
    from jetstudy.analysis.report import write_report
    from jetstudy.study.paths import claim_study_folder
    from tests.analysis.conftest import _write_study

    study = _write_study(tmp_path / "old", *tables)
    (study / "scaler.json").write_text("{}")
    plant(study / "report", ["summary.md"])  # the old report's (no manifest then)
    claim_study_folder(study)
    assert (study / STUDY_MARK).is_file()
    write_report(study, figures=False)
    assert (study / "report" / "summary.md").read_text().startswith("# jetstudy report")
