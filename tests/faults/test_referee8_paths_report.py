"""Referee round 8: two reports racing into one folder.

Each report decided which files of the folder were an earlier report's (its manifest) *before*
taking the folder's lock; a report that moved its files in meanwhile was unknown to it. With
different figure sets (a study's report with learning curves and ROC, then one of its
``trials.parquet`` alone), the second rewrote the manifest without the first's extra figures:
``learning_curves.png`` and ``roc.png`` stayed in the folder unlisted, and every later report
into it was refused as if they were the user's ('holds files jetstudy did not write'). The
plan is now made again under the lock.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from jetstudy.analysis.report_folder import MANIFEST
from tests.faults.conftest import plant, unchanged


@pytest.fixture(scope="module")
def two_sources(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    """A study with epochs and test predictions (all figures), and the report built from its
    trials table alone (no learning curves, no ROC), not yet written."""
    from jetstudy.analysis.report import build_report
    from jetstudy.analysis.tables import load_tables
    from tests.analysis.conftest import _make_study, _write_study

    root = tmp_path_factory.mktemp("sources")
    trials, epochs = _make_study(n_trials=6, max_epochs=3)
    full = _write_study(root / "full", trials, epochs)
    (root / "bare").mkdir()
    trials.to_parquet(root / "bare" / "trials.parquet")
    return full, build_report(load_tables(root / "bare" / "trials.parquet"))


def test_a_report_that_moved_in_meanwhile_is_known_to_the_next(two_sources: tuple[Path, Any],
                                                               tmp_path: Path) -> None:
    """Report B plans (the folder is empty), report A writes all its figures, then B moves its
    fewer figures in: A's extra figures were left unlisted (the user's, to every later report)."""
    from jetstudy.analysis import report
    from jetstudy.analysis.report_folder import plan_report_folder

    full, state_b = two_sources
    out = tmp_path / "shared"
    out.mkdir()
    planted = plant(tmp_path, ["notes.txt"])  # beside the folder: never touched
    names_b = {*state_b.figures, *state_b.files, *report.PAGE_FILES}
    plan_b = plan_report_folder(out, names_b, force=False)  # before A: nothing is A's yet
    report.write_report(full, out)  # A moves its files in between B's plan and B's move
    a_only = sorted(set(json.loads((out / MANIFEST).read_text())["files"]) - names_b)
    assert a_only, "A's figure set must hold figures B's lacks"
    report._write(plan_b, "B", state_b, None)
    on_disk = {p.name for p in out.iterdir() if p.is_file() and p.name != MANIFEST}
    listed = set(json.loads((out / MANIFEST).read_text())["files"])
    assert on_disk <= listed, f"unlisted (the user's, to the next report): {on_disk - listed}"
    assert not set(a_only) & on_disk, "A's figures that B lacks are an earlier report's: removed"
    assert plan_report_folder(out, names_b, force=False).ours == on_disk  # the next report's
    assert not unchanged(tmp_path, planted)


def test_a_users_file_dropped_in_meanwhile_is_never_overwritten(two_sources: tuple[Path, Any],
                                                                 tmp_path: Path) -> None:
    """The other side of the same window: a file of the user's that appears under a report's
    name after the plan and before the move stays, every byte; the report is refused."""
    from jetstudy.analysis import report
    from jetstudy.analysis.errors import AnalysisError
    from jetstudy.analysis.report_folder import plan_report_folder

    _, state = two_sources
    out = tmp_path / "mine"
    out.mkdir()
    plan = plan_report_folder(out, {*state.figures, *state.files, *report.PAGE_FILES},
                              force=True)
    planted = plant(out, ["index.html"])
    with pytest.raises(AnalysisError, match="would overwrite index.html"):
        report._write(plan, "late", state, None)
    assert not unchanged(out, planted)
    assert sorted(p.name for p in out.iterdir()) == ["index.html"]
