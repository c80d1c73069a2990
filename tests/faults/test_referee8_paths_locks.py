"""Referee round 8: one driver per study, when the driver on this machine is alive but its
heartbeat is old, or dead but not yet reaped.

* A driver stopped with Ctrl-Z (SIGTSTP), or whose heartbeat could not be written for 30 s (a
  full disk: 'cannot refresh the study lock'), still runs; a second ``jetstudy run`` on the
  same machine took its lock over on the heartbeat's age alone, though this machine can see
  the process is alive: two drivers on one study once the first went on. On the driver's own
  machine (same boot) its process decides; the heartbeat's age only for other machines.
* A driver killed but not yet reaped by its parent (a zombie: a shell script or a CI runner
  that has not waited on it yet) counted as alive: its lock held the study for 30 s.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from jetstudy.study.lock import (LOCK_FILE, STALE_AFTER_S, LockInfo, StudyBusy, StudyLock,
                                 raise_if_busy, read_lock)
from jetstudy.trainables.processes import pid_alive, process_start


@pytest.fixture
def other_process() -> Iterator[subprocess.Popen]:
    """A process of this machine other than the test's (a stand-in driver), ended after."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def _plant(folder: Path, proc: subprocess.Popen, start: str, age_s: float) -> bytes:
    info = {**LockInfo.mine().__dict__, "pid": proc.pid, "process_start": start,
            "heartbeat": time.time() - age_s, "token": "first-driver"}
    (folder / LOCK_FILE).write_text(json.dumps(info))
    return (folder / LOCK_FILE).read_bytes()


@pytest.mark.parametrize("how", ["stopped", "running"])
def test_a_live_driver_of_this_machine_keeps_its_study_however_old_its_heartbeat(
        tmp_path: Path, other_process: subprocess.Popen, how: str) -> None:
    if how == "stopped":  # Ctrl-Z: its heartbeat thread stops with it
        other_process.send_signal(signal.SIGSTOP)
    planted = _plant(tmp_path, other_process, process_start(other_process.pid),
                     age_s=10 * STALE_AFTER_S)
    with pytest.raises(StudyBusy) as busy:
        raise_if_busy(tmp_path)
    assert f"pid {other_process.pid}" in str(busy.value)
    with pytest.raises(StudyBusy):
        StudyLock(tmp_path).acquire()
    assert (tmp_path / LOCK_FILE).read_bytes() == planted
    assert sorted(p.name for p in tmp_path.iterdir()) == [LOCK_FILE]  # nothing moved aside


def test_a_reused_pid_or_an_old_lock_without_a_start_time_still_goes_by_its_heartbeat(
        tmp_path: Path, other_process: subprocess.Popen) -> None:
    """The pid alive under another start time is some other process: the lock is stale; a
    lock from before start times were recorded keeps the heartbeat rule (fresh: busy)."""
    _plant(tmp_path, other_process, "12345", age_s=0)
    with StudyLock(tmp_path) as lock:
        assert read_lock(tmp_path).token == lock.info.token
    _plant(tmp_path, other_process, "", age_s=0)
    with pytest.raises(StudyBusy):
        raise_if_busy(tmp_path)
    _plant(tmp_path, other_process, "", age_s=10 * STALE_AFTER_S)
    raise_if_busy(tmp_path)  # old heartbeat, nothing to tell the process by: stale


def test_a_killed_driver_not_yet_reaped_frees_its_study(tmp_path: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        start = process_start(proc.pid)
        proc.send_signal(signal.SIGKILL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and "Z" not in _state(proc.pid):
            time.sleep(0.05)
        assert _state(proc.pid) == "Z", "the child is a zombie until waited on"
        assert not pid_alive(proc.pid)
        _plant(tmp_path, proc, start, age_s=0)  # a fresh heartbeat: died a moment ago
        with StudyLock(tmp_path) as lock:
            assert read_lock(tmp_path).token == lock.info.token
    finally:
        proc.wait()


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return ""


# ---- a report after the driver's kill -9 ------------------------------------------------------

def _study_with_a_running_trial(folder: Path) -> tuple[Any, dict]:
    """A study folder whose last snapshot (written while its driver ran) holds a trial still
    running, as a ``kill -9`` of the driver leaves it."""
    import yaml

    from tests.analysis.conftest import _make_study, _write_study

    trials, epochs = _make_study(n_trials=4, max_epochs=3, running=1)
    _write_study(folder, trials, epochs, name="k9")
    return trials, yaml.safe_load((folder / "config.yaml").read_text())


def test_a_report_after_the_drivers_kill_9_says_it_died_and_how_to_resume(
        tmp_path: Path) -> None:
    """The report called such a study 'still running: this report is partial' and its test
    metrics 'evaluated at the end', an end that never comes: nothing said the driver died or
    that --resume continues it. The lock of a driver of this machine whose process is gone
    proves it died."""
    from jetstudy.analysis.study_state import live_driver, missing_test_reason, study_state

    folder = tmp_path / "k9"
    trials, config = _study_with_a_running_trial(folder)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    start = process_start(dead.pid)
    dead.wait()
    info = {**LockInfo.mine().__dict__, "pid": dead.pid, "process_start": start or "1",
            "token": "killed"}
    (folder / LOCK_FILE).write_text(json.dumps(info))
    state = study_state(trials, config, live_driver(folder))
    text = " ".join(state.lines)
    assert state.word == "crashed", text
    assert "driver stopped" in text and f"pid {dead.pid}" in text and "is gone" in text
    assert "--set storage.name=k9 --resume" in text and "still running" not in text
    why = missing_test_reason(trials, config, live_driver(folder))
    assert "--resume" in why and "at the end" not in why


@pytest.mark.parametrize("holder", ["live", "other host, silent"])
def test_a_report_of_a_study_whose_driver_may_run_stays_a_snapshot(
        tmp_path: Path, other_process: subprocess.Popen, holder: str) -> None:
    """A live driver, or one of another machine whose heartbeat stopped (a folder copied from
    the cluster mid-run: it may still run there), is never called dead."""
    from jetstudy.analysis.study_state import live_driver, study_state

    folder = tmp_path / "k9"
    trials, config = _study_with_a_running_trial(folder)
    if holder == "live":
        _plant(folder, other_process, process_start(other_process.pid), age_s=0)
    else:
        info = {**LockInfo.mine().__dict__, "host": "node-7", "pid": 4242,
                "heartbeat": time.time() - 10 * STALE_AFTER_S, "token": "far"}
        (folder / LOCK_FILE).write_text(json.dumps(info))
    state = study_state(trials, config, live_driver(folder))
    assert state.word == "running" and "driver stopped" not in " ".join(state.lines)


# ---- no room for the lock --------------------------------------------------------------------

def test_a_lock_that_cannot_be_written_leaves_no_lock_and_names_it(tmp_path: Path) -> None:
    """A full disk (here a file-size limit: the same no-room failure, without root) when a
    driver took the lock left an empty ``driver.lock``: every later command read it as a dead
    driver's ('taking over the unreadable study lock'), and the error named no file."""
    code = ("import os, resource, sys\n"
            "from pathlib import Path\n"
            "from jetstudy.study.lock import StudyLock\n"
            "resource.setrlimit(resource.RLIMIT_FSIZE, (16, 16))\n"
            "try:\n"
            "    StudyLock(Path(sys.argv[1])).acquire()\n"
            "except OSError as exc:\n"
            "    print('refused:', exc)\n")
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "refused: [Errno 27] File too large" in proc.stdout, proc.stdout
    assert str(tmp_path / LOCK_FILE) in proc.stdout
    assert list(tmp_path.iterdir()) == []  # no lock, no temporary


def test_a_heartbeat_that_cannot_be_written_is_warned_once(tmp_path: Path) -> None:
    """A full disk during a study printed 'cannot refresh the study lock' every 5 s for as
    long as it lasted; now once, and once more when the heartbeat is written again."""
    code = ("import logging, resource, sys, time\n"
            "from pathlib import Path\n"
            "from jetstudy.study.lock import StudyLock\n"
            "logging.basicConfig(level=logging.WARNING, format='%(message)s')\n"
            "soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)\n"
            "with StudyLock(Path(sys.argv[1]), heartbeat_s=0.05):\n"
            "    resource.setrlimit(resource.RLIMIT_FSIZE, (16, hard))\n"
            "    time.sleep(1.0)\n"
            "    resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))\n"
            "    time.sleep(0.5)\n")
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stderr.splitlines()
    assert sum("cannot refresh the study lock" in line for line in lines) == 1, lines
    assert "File too large" in proc.stderr and "refreshed again" in lines[-1], lines
    assert list(tmp_path.iterdir()) == []  # released, no temporary left


def test_a_snapshot_no_driver_holds_is_a_driver_that_stopped(tmp_path: Path) -> None:
    """A driver that ended on an error (a full disk at its provenance write) after a snapshot
    left trials 'running' with no driver.lock: the report called the study still running. A
    driver holds the lock from before its first snapshot until after its final tables."""
    from jetstudy.analysis.study_state import live_driver, study_state

    folder = tmp_path / "k9"
    trials, config = _study_with_a_running_trial(folder)
    (folder / ".jetstudy-study").write_text("made by jetstudy\n")
    state = study_state(trials, config, live_driver(folder))
    text = " ".join(state.lines)
    assert state.word == "crashed" and "without writing the final tables" in text, text
    assert "--set storage.name=k9 --resume" in text
    lone = tmp_path / "lone"  # a lone table (no study folder): no lock to tell by
    lone.mkdir()
    trials.to_parquet(lone / "trials.parquet")
    assert study_state(trials, config, live_driver(lone)).word == "running"
