"""Referee round 6: a dangling symbolic link (its target missing) where a command writes.

``synth DIR``, ``init DIR``, ``fetch hls4ml DIR`` and ``report -o DIR`` on such a link said
"DIR: File exists; check that the path exists" (or "[Errno 17] File exists"); a
``storage.results_dir`` that is one made the missing target, wherever it pointed, and ran
the study there. Now each is one ``error:`` line naming the link, its target and the fix, and
nothing is written (the target is not made).
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from jetstudy.study.os_errors import os_problem
from tests.faults.conftest import refused_untouched, study_yaml


@pytest.mark.parametrize("args", [("synth", "--jets", "1000", "out"), ("init", "out"),
                                  ("fetch", "hls4ml", "out")], ids=["synth", "init", "fetch"])
def test_an_output_folder_that_is_a_dangling_link(workdir: Path, args: tuple[str, ...]) -> None:
    (workdir / "out").symlink_to("gone")
    refused_untouched(workdir, *args, must=["out is a link to 'gone'", "does not exist",
                                            "remove the link"], must_not=["File exists"])
    assert not (workdir / "gone").exists()


def test_a_folder_above_the_output_that_is_a_dangling_link(workdir: Path) -> None:
    (workdir / "out").symlink_to("gone")
    refused_untouched(workdir, "synth", "--jets", "1000", "out/jets",
                      must=["out is a link to 'gone'"], must_not=["File exists"])


def test_a_results_dir_that_is_a_dangling_link(workdir: Path) -> None:
    (workdir / "results").symlink_to("scratch/gone")
    config = study_yaml(workdir / "study.yaml", "results", "tiny")
    refused_untouched(workdir, "run", config.name,
                      must=["storage.results_dir 'results'", "'scratch/gone'",
                            "does not exist"])
    assert not (workdir / "scratch").exists()  # it made the target and ran the study there


def test_report_into_a_dangling_link(tmp_path: Path) -> None:
    from jetstudy.analysis.errors import AnalysisError
    from jetstudy.analysis.report_folder import plan_report_folder

    out = tmp_path / "rep"
    out.symlink_to("gone")
    with pytest.raises(AnalysisError) as refused:
        plan_report_folder(out, {"index.html"}, force=True)
    text = str(refused.value)
    assert f"{out} is a link to 'gone'" in text and "-o" in text, text
    assert not (tmp_path / "gone").exists()


def test_file_exists_in_words(tmp_path: Path) -> None:
    """EEXIST on a path that is no link: not "check that the path exists"."""
    (tmp_path / "f").write_text("mine")
    text = os_problem(OSError(errno.EEXIST, os.strerror(errno.EEXIST), str(tmp_path / "f")))
    assert "already stands" in text and "check that the path exists" not in text, text
