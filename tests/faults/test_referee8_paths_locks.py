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
from typing import Iterator

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
