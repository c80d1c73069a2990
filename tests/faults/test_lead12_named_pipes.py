"""Never a hang: a named pipe (or any non-file) under the name of a file jetstudy wrote.

Opening a FIFO for reading waits for a writer for ever, so one planted as ``provenance.json``
made ``jetstudy report`` of the study hang printing nothing (round 12 found ``driver.lock`` and
``provenance.json``; the class is every file of a study that any command reads). Here EVERY
file of a real finished study (its trial folders' too, Tune's ``ray/`` folder aside) is
replaced at once by a FIFO in a copy of the study: ``report``, ``export`` and ``rerun``'s plan
must end, with their work or one clear error, and leave the pipes in place.
"""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path
from typing import Any, Callable

import pytest

from jetstudy.trainables.errors import JetstudyError

TABLES = {"trials.parquet", "trials.csv", "epochs.parquet", "epochs.csv"}


def _within(seconds: float, call: Callable[[], Any]) -> Any:
    """``call()``'s result or its JetstudyError, failing (not hanging) after ``seconds``."""
    out: list[Any] = []

    def run() -> None:
        try:
            out.append(call())
        except JetstudyError as exc:  # one clear error is an answer
            out.append(exc)
        except BaseException as exc:  # anything else fails the test below, by name
            out.append(("raised", exc))

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), f"still blocked after {seconds} s (a named pipe read?)"
    assert not (isinstance(out[0], tuple) and out[0][:1] == ("raised",)), repr(out[0][1])
    return out[0]


def _piped_copy(study: Path, to: Path, keep: set[str]) -> list[Path]:
    """A copy of ``study`` whose files (except those named in ``keep``, and ``ray/``) are
    named pipes; the pipes made."""
    shutil.copytree(study, to, symlinks=True, ignore=shutil.ignore_patterns("report"))
    pipes = []
    for path in sorted(to.rglob("*")):
        rel = path.relative_to(to)
        if rel.parts[0] == "ray" or path.name in keep or path.is_symlink() or not path.is_file():
            continue
        path.unlink()
        os.mkfifo(path)
        pipes.append(path)
    return pipes


@pytest.fixture(scope="module")
def piped(finished_study: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
          ) -> tuple[Path, list[Path]]:
    """The study with every file but its tables turned into a pipe."""
    to = tmp_path_factory.mktemp("piped") / "tiny"
    pipes = _piped_copy(finished_study["folder"], to, keep=TABLES | {".jetstudy-study"})
    names = {p.name for p in pipes}
    assert {"provenance.json", "config.yaml", "epochs.jsonl"} <= names, names  # the class
    return to, pipes


def test_the_report_of_a_study_whose_files_are_pipes_ends(piped: tuple[Path, list[Path]],
                                                          tmp_path: Path) -> None:
    from jetstudy.analysis import write_report

    study, pipes = piped
    outcome = _within(90, lambda: write_report(study, tmp_path / "report", figures=False))
    if not isinstance(outcome, JetstudyError):  # the tables alone make a report
        assert (tmp_path / "report" / "summary.md").is_file()
    assert all(p.is_fifo() for p in pipes)


def test_export_and_rerun_plan_of_such_a_study_end(piped: tuple[Path, list[Path]],
                                                   tmp_path: Path) -> None:
    from jetstudy.study.export import export_model
    from jetstudy.study.rerun import plan_rerun

    study, pipes = piped
    _within(90, lambda: export_model(study, out=tmp_path / "export"))
    _within(90, lambda: plan_rerun(study))
    assert all(p.is_fifo() for p in pipes)


def test_a_study_whose_tables_are_pipes_too_is_refused_not_waited_on(
        finished_study: dict[str, Any], tmp_path: Path) -> None:
    from jetstudy.analysis import load_tables

    study = tmp_path / "tiny"
    pipes = _piped_copy(finished_study["folder"], study, keep={".jetstudy-study"})
    outcome = _within(90, lambda: load_tables(study))
    assert isinstance(outcome, JetstudyError), outcome
    assert all(p.is_fifo() for p in pipes)
