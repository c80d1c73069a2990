"""Referee round 10: a user's file whose name is a report's in another case.

``jetstudy report -o DIR --force`` writes beside the user's own files, refusing only a name it
would overwrite; jetstudy's names were compared exactly, so a user's ``ROC.png``,
``Index.HTML`` or ``Summary.MD`` beside the report was not a clash. On a case-insensitive file
system (macOS's and Windows' default) ``roc.png`` *is* ``ROC.png``: the report replaced the
user's file. The names are now compared case-folded. This machine's file system tells the two
apart, so the decision (:func:`plan_report_folder`) is tested with such names planted beside,
and the folder checked byte for byte after a forced report is refused.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from jetstudy.analysis.errors import AnalysisError
from jetstudy.analysis.report_folder import MANIFEST, plan_report_folder, report_names
from tests.faults.conftest import checksums, plant

CASED = ["ROC.png", "Index.HTML", "Summary.MD", "PARETO.csv", ".JetStudy-Report"]


@pytest.mark.parametrize("name", CASED)
def test_a_forced_report_refuses_a_users_file_named_like_its_own_in_another_case(
        tmp_path: Path, name: str) -> None:
    plant(tmp_path, [name, "notes.txt"])
    before = checksums(tmp_path)
    with pytest.raises(AnalysisError) as err:
        plan_report_folder(tmp_path, set(report_names()), force=True)
    text = str(err.value)
    assert f"would overwrite {name}" in text and "ignores case" in text, text
    assert name.casefold() in text, text  # the report's own name, as it would write it
    assert checksums(tmp_path) == before


def test_a_forced_report_still_writes_beside_other_names(tmp_path: Path) -> None:
    """Names no report writes in any case (``roc_old.png``, ``index.htm``) stay allowed."""
    plant(tmp_path, ["roc_old.png", "index.htm", "my summary.md"])
    plan = plan_report_folder(tmp_path, set(report_names()), force=True)
    assert plan.ours == frozenset()


def test_the_whole_forced_report_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    from jetstudy.analysis.report import write_report
    from tests.analysis.conftest import _make_study, _write_study

    study = _write_study(tmp_path / "study", *_make_study(n_trials=3, max_epochs=2))
    out = tmp_path / "mine"
    plant(out, ["Summary.MD", "photo.jpg"])
    before = checksums(out)
    with pytest.raises(AnalysisError, match="Summary.MD"):
        write_report(study, out, force=True, figures=False)
    assert checksums(out) == before and not (out / MANIFEST).exists()
