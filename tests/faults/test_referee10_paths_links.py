"""Referee round 10: a symbolic link loop where a command writes.

``storage.results_dir``, ``report -o``, ``synth DIR``, ``init DIR`` and ``fetch hls4ml DIR``
on a link loop (``out -> loop -> out``) were refused as "a link to 'loop', which does not
exist (a dangling link) ... or create the folder it points to": its target exists (a link),
and creating a folder there cannot help. The refusal now says the links lead round in a
loop, and still writes nothing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.faults.conftest import refused_untouched, study_yaml


def _loop(work: Path) -> None:
    (work / "out").symlink_to("loop")
    (work / "loop").symlink_to("out")


@pytest.mark.parametrize("args", [("synth", "--jets", "1000", "out"), ("init", "out"),
                                  ("fetch", "hls4ml", "out")], ids=["synth", "init", "fetch"])
def test_an_output_folder_that_is_a_link_loop(workdir: Path, args: tuple[str, ...]) -> None:
    _loop(workdir)
    refused_untouched(workdir, *args, must=["out is a link to 'loop'", "in a loop",
                                            "remove the link"],
                      must_not=["does not exist", "File exists"])


@pytest.mark.parametrize("results", ["out", "out/results"])
def test_a_results_dir_through_a_link_loop(workdir: Path, results: str) -> None:
    _loop(workdir)
    config = study_yaml(workdir / "study.yaml", results, "s")
    refused_untouched(workdir, "run", config.name,
                      must=[f"storage.results_dir '{results}'", "in a loop", "remove the link"],
                      must_not=["does not exist", "create the folder"])


def test_a_report_into_a_link_loop(workdir: Path) -> None:
    from jetstudy.analysis.errors import AnalysisError
    from jetstudy.analysis.report_folder import plan_report_folder, report_names

    _loop(workdir)
    with pytest.raises(AnalysisError) as err:
        plan_report_folder(workdir / "out", set(report_names()), force=False)
    assert "in a loop" in str(err.value) and "does not exist" not in str(err.value)
