"""Referee round 12: output folders given through a missing folder, and folders that cannot be made.

* ``synth new/../out`` (``init``, ``report -o``, ``export -o`` alike) made ``new`` on the way,
  as ``mkdir -p`` does, and it stayed behind, empty, after a command that succeeded. An output
  folder's ``..`` after a folder that does not exist is now taken back with it
  (:func:`jetstudy.study.arg_paths.past_missing`): only ``out`` is made. A ``..`` after a folder
  that is there (a link, whose ``..`` is its target's parent) is read as the kernel reads it.
* A folder the file system will not make (``/proc``, ``/sys``) said "No such file or directory;
  check that the path exists" where it came from a record's folder (:class:`FileRecord`), a
  staging folder (``export -o /proc/sys/...``: naming the hidden staging folder too) or the
  report's output folder ("No such file or directory; choose another folder"): each now says
  the folder above is there and its file system makes no new folders, naming the folder given.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from jetstudy.study.os_errors import os_problem
from tests.faults.conftest import checksums, jetstudy_here, plant

#: An empty folder of the kernel's that takes no new files or folders (answers ENOENT).
_NO_NEW = Path("/proc/sys/fs/binfmt_misc")


def _no_new_folder() -> Path:
    try:
        if _NO_NEW.is_dir() and not os.listdir(_NO_NEW):
            os.mkdir(_NO_NEW / "probe")
    except FileNotFoundError:
        return _NO_NEW
    except OSError:
        pass
    pytest.skip(f"{_NO_NEW} is not a folder that refuses new folders with ENOENT here")


@pytest.mark.parametrize("given", ["new/../out", "new/deeper/../../out", "new/../new2/./out"])
def test_synth_through_a_missing_folder_makes_only_the_folder_named(tmp_path: Path,
                                                                     given: str) -> None:
    plant(tmp_path, ["mine.txt"])
    before = checksums(tmp_path)
    proc = jetstudy_here("synth", given, "--jets", "200", "--jets-per-file", "200",
                         cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    made = Path(os.path.normpath(tmp_path / given))
    assert any(made.glob("*.h5")), sorted(os.listdir(tmp_path))
    expected = {"mine.txt", os.path.relpath(made, tmp_path).split(os.sep)[0]}
    assert set(os.listdir(tmp_path)) == expected  # no empty "new" left beside it
    assert {k: v for k, v in checksums(tmp_path).items() if k in before} == before


def test_init_through_a_missing_folder_makes_only_the_folder_named(tmp_path: Path) -> None:
    proc = jetstudy_here("init", "new/../cfg", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert sorted(os.listdir(tmp_path)) == ["cfg"]
    assert (tmp_path / "cfg" / "jetstudy.yaml").is_file()


def test_a_dotdot_after_a_folder_that_is_there_is_read_as_the_kernel_reads_it(
        tmp_path: Path) -> None:
    from jetstudy.study.arg_paths import past_missing

    (tmp_path / "elsewhere" / "sub").mkdir(parents=True)
    (tmp_path / "link").symlink_to(tmp_path / "elsewhere" / "sub")
    given = str(tmp_path / "link" / ".." / "out")  # link/.. is elsewhere/, not tmp_path
    assert past_missing(given) == given
    assert past_missing(str(tmp_path / "new" / ".." / "out")) == str(tmp_path / "out")
    assert past_missing("new/../../up") == "../up"
    assert past_missing("plain/out") == "plain/out"


def test_a_records_folder_that_cannot_be_made_names_the_real_cause() -> None:
    from jetstudy.study.paths import FileRecord

    parent = _no_new_folder()
    with pytest.raises(OSError) as failed:
        FileRecord(parent / "new", ".record.json").record(["a.h5"])
    text = os_problem(failed.value)
    assert "check that the path exists" not in text, text
    assert f"{parent} is there, but its file system (proc) makes no new folders" in text, text


def test_a_staging_folder_that_cannot_be_made_names_the_folder_given() -> None:
    from jetstudy.trainables.staging import make_staging

    parent = _no_new_folder()
    with pytest.raises(OSError) as failed:
        make_staging(parent, ".export-tmp-", "jetstudy export")
    text = os_problem(failed.value)
    assert "check that the path exists" not in text and "tmp" not in text, text
    assert f"the folder {parent} is there but takes no new files" in text, text


@pytest.mark.parametrize("sub", ["", "new", "new/deeper"])
def test_a_report_folder_that_cannot_be_made_names_the_real_cause(sub: str) -> None:
    from jetstudy.analysis.errors import AnalysisError
    from jetstudy.analysis.report_folder import report_folder_made

    parent = _no_new_folder()
    out = parent / sub if sub else parent
    with pytest.raises(AnalysisError) as refused, report_folder_made(out):
        pass
    text = str(refused.value)
    assert text.startswith(f"cannot write the report to {out}: "), text
    assert ("makes no new folders" if sub else "takes no new files") in text, text
    assert "tmp" not in text, text


def test_init_names_a_fifo_under_the_starters_name_for_what_it_is(tmp_path: Path) -> None:
    """A named pipe where init writes jetstudy.yaml was called 'a folder'."""
    os.mkfifo(tmp_path / "jetstudy.yaml")
    proc = jetstudy_here("init", str(tmp_path), "--force", cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert "jetstudy.yaml is a named pipe (FIFO), not a file; jetstudy never replaces it" \
        in proc.stderr, proc.stderr
    assert os.listdir(tmp_path) == ["jetstudy.yaml"]


def _within(seconds: float, call: Any) -> Any:
    """``call()``'s result, failing (not hanging) when it takes longer than ``seconds``."""
    import threading

    out: list[Any] = []
    worker = threading.Thread(target=lambda: out.append(call()), daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), f"still blocked after {seconds} s (a named pipe read?)"
    return out[0]


def test_a_named_pipe_under_the_lock_name_is_no_lock_and_never_read(tmp_path: Path) -> None:
    """read_lock opened driver.lock and read it: a FIFO there blocked for ever (the report of
    such a study, a run or --resume of it hung, printing nothing)."""
    from jetstudy.study.lock import LOCK_FILE, StudyBusy, StudyLock, read_lock

    os.mkfifo(tmp_path / LOCK_FILE)
    assert _within(10, lambda: read_lock(tmp_path)) is None

    def acquire() -> str:
        try:
            StudyLock(tmp_path).acquire()
        except StudyBusy as exc:
            return str(exc)
        return "acquired"

    text = _within(10, acquire)
    assert "driver.lock is not a plain file (a named pipe" in text, text
    assert (tmp_path / LOCK_FILE).is_fifo()  # never moved aside or removed


def test_the_report_of_a_study_with_a_named_pipe_as_its_lock_ends(tmp_path: Path) -> None:
    import subprocess
    import sys

    from tests.analysis.conftest import _make_study, _write_study
    from tests.faults.conftest import REPO

    study = _write_study(tmp_path / "study", *_make_study(n_trials=3, max_epochs=2))
    os.mkfifo(study / "driver.lock")
    proc = subprocess.run([sys.executable, "-m", "jetstudy.study.cli", "report", str(study),
                           "--no-figures"], env={**os.environ, "PYTHONPATH": str(REPO)},
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (study / "report" / "summary.md").is_file()
