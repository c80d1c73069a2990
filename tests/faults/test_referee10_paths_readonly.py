"""Referee round 10: a study folder or results folder on a read-only file system.

Each case bind-mounts a folder read-only in a private mount namespace (``unshare -m``; skipped
where that is not allowed) and runs the command there, as a user would meet a read-only
snapshot, a colleague's study or a read-only share (as root here, permissions alone would not
stop a write).

* ``jetstudy report STUDY -o ELSEWHERE`` on a read-only study whose driver died (its Ray
  record, ``ray_session.json``, still there) failed: "mnt/ray_session.json: Read-only file
  system; ... write elsewhere (..., the output folder)", though the report was going
  elsewhere; no report could be written at all. Removing the dead driver's record is now
  best effort: the report is written, the study left as it was.
* ``--resume`` of a read-only study named ``.driver.lock.<32 hex>.tmp`` (unlinking a missing
  temporary fails with EROFS too, hiding the error naming the lock): it names driver.lock.
* ``report`` into a read-only study's ``report/`` named the random temporary file that found
  it out (``[Errno 30] Read-only file system: 'mnt/report/tmpk1rhcpfr'``): the folder now.
* A new study into a read-only ``results_dir`` said "not writable (permission denied) ... or
  change its permissions"; it now says the file system is read-only.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.faults.conftest import REPO, checksums, study_yaml

_MOUNT = 'mount --bind "$1" "$2" && mount -o remount,bind,ro "$2" && shift 2 && exec "$@"'


def _read_only_mounts() -> bool:
    if shutil.which("unshare") is None:
        return False
    try:
        proc = subprocess.run(["unshare", "-m", "sh", "-c", _MOUNT, "sh", "/", "/", "true"],
                              capture_output=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return proc.returncode == 0


pytestmark = pytest.mark.skipif(not _read_only_mounts(),
                                reason="cannot bind-mount read-only (unshare -m) here")


def _in_read_only(src: Path, mnt: Path, *cmd: str, cwd: Path) -> subprocess.CompletedProcess:
    """``cmd`` run with ``src`` mounted read-only at ``mnt`` (only for that command)."""
    mnt.mkdir(exist_ok=True)
    env_cmd = ["env", f"PYTHONPATH={REPO}", sys.executable, *cmd]
    return subprocess.run(["unshare", "-m", "sh", "-c", _MOUNT, "sh", str(src), str(mnt),
                           *env_cmd], cwd=cwd, capture_output=True, text=True, timeout=240)


def _error_line(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
    lines = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1, proc.stderr[-3000:]
    return lines[0]


@pytest.fixture(scope="module")
def dead_drivers_study(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A study (tables only) marked as jetstudy's, holding the Ray record of a driver that is
    gone (``kill -9``): what the next command on the folder reaps."""
    from jetstudy.study.paths import STUDY_MARK
    from jetstudy.trainables.processes import boot_id
    from tests.analysis.conftest import _make_study, _write_study

    study = _write_study(tmp_path_factory.mktemp("ro") / "s", *_make_study(n_trials=3,
                                                                         max_epochs=2))
    (study / STUDY_MARK).write_text("made by jetstudy\n")
    (study / "ray_session.json").write_text(json.dumps({
        "host": socket.gethostname(), "boot_id": boot_id(), "driver_pid": 2 ** 22 + 7,
        "driver_start": "1", "node_id": "ab" * 28, "session_dir": "/tmp/ray/gone",
        "processes": [], "written": 0.0}))
    return study


def test_a_report_elsewhere_of_a_read_only_study_whose_driver_died(
        dead_drivers_study: Path, tmp_path: Path) -> None:
    before = checksums(dead_drivers_study)
    proc = _in_read_only(dead_drivers_study, tmp_path / "mnt", "-m", "jetstudy.study.cli",
                         "report", "mnt", "-o", "out", "--no-figures", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (tmp_path / "out" / "summary.md").is_file()
    assert checksums(dead_drivers_study) == before


def test_a_report_into_a_read_only_study_says_so_and_names_the_fix(
        dead_drivers_study: Path, tmp_path: Path) -> None:
    before = checksums(dead_drivers_study)
    err = _error_line(_in_read_only(dead_drivers_study, tmp_path / "mnt", "-m",
                                    "jetstudy.study.cli", "report", "mnt", "--no-figures",
                                    cwd=tmp_path))
    assert "mnt/report: Read-only file system; choose another folder with -o" in err, err
    assert "tmp" not in err, err  # not the random name of the probe that found it out
    assert checksums(dead_drivers_study) == before


def test_the_study_lock_on_a_read_only_study_names_the_lock(
        dead_drivers_study: Path, tmp_path: Path) -> None:
    code = ("from pathlib import Path\nfrom jetstudy.study.lock import StudyLock\n"
            "try:\n    StudyLock(Path('mnt')).acquire()\n"
            "except OSError as exc:\n    print('refused:', exc.filename, exc.strerror)\n")
    proc = _in_read_only(dead_drivers_study, tmp_path / "mnt", "-c", code, cwd=tmp_path)
    assert proc.stdout.strip() == "refused: mnt/driver.lock Read-only file system", (
        proc.stdout, proc.stderr[-2000:])


def test_a_new_study_in_a_read_only_results_dir_is_told_so(tmp_path: Path) -> None:
    results = tmp_path / "results"
    results.mkdir()
    config = study_yaml(tmp_path / "study.yaml", str(tmp_path / "mnt"), "new")
    err = _error_line(_in_read_only(results, tmp_path / "mnt", "-m", "jetstudy.study.cli",
                                    "run", config.name, cwd=tmp_path))
    assert "read-only file system" in err and "permission" not in err, err
    assert list(results.iterdir()) == []
