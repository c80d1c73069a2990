"""One driver per study: the study lock (``jetstudy.study.lock``), alone and as two ``jetstudy run``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from jetstudy.study.lock import LOCK_FILE, STALE_AFTER_S, LockInfo, StudyBusy, StudyLock, read_lock
from jetstudy.study.paths import claim_study_folder
from tests.faults.conftest import REPO, jetstudy, jetstudy_here, one_line_error, study_yaml


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _plant_lock(folder: Path, **fields) -> None:
    info = {**LockInfo.mine().__dict__, **fields}
    (folder / LOCK_FILE).write_text(json.dumps(info))


def test_lock_is_held_then_released(tmp_path: Path) -> None:
    with StudyLock(tmp_path) as lock:
        held = read_lock(tmp_path)
        assert held is not None and held.pid == os.getpid() and held.token == lock.info.token
        with pytest.raises(StudyBusy, match=rf"pid {os.getpid()}"):
            StudyLock(tmp_path).acquire()
    assert not (tmp_path / LOCK_FILE).exists()


def test_heartbeat_refreshes_the_lock(tmp_path: Path) -> None:
    with StudyLock(tmp_path, heartbeat_s=0.1):
        first = read_lock(tmp_path).heartbeat
        time.sleep(0.5)
        assert read_lock(tmp_path).heartbeat > first


def test_lock_of_a_dead_process_is_taken_over(tmp_path: Path) -> None:
    _plant_lock(tmp_path, pid=_dead_pid(), token="dead")
    with StudyLock(tmp_path) as lock:
        assert read_lock(tmp_path).token == lock.info.token != "dead"
    assert not list(tmp_path.iterdir())  # nothing left behind, not even the stale lock


def test_lock_with_an_old_heartbeat_on_another_host_is_taken_over(tmp_path: Path) -> None:
    _plant_lock(tmp_path, host="gone-node", pid=1,
                heartbeat=time.time() - STALE_AFTER_S - 5, token="old")
    with StudyLock(tmp_path) as lock:
        assert read_lock(tmp_path).token == lock.info.token


def test_live_lock_on_another_host_is_respected(tmp_path: Path) -> None:
    _plant_lock(tmp_path, host="node-7", pid=4242, token="live")
    with pytest.raises(StudyBusy) as info:
        StudyLock(tmp_path).acquire()
    msg = str(info.value)
    assert "node-7" in msg and "4242" in msg and "running since" in msg
    assert read_lock(tmp_path).token == "live"


@pytest.mark.slow
def test_second_run_on_the_same_study_exits_2_naming_the_first(tmp_path: Path) -> None:
    """A kill -9'd driver's lock (dead pid) is taken over by the next run; while that run
    goes, a second ``run`` and a ``--resume`` exit 2 naming it; it ends with num_trials rows."""
    work = tmp_path / "work"
    folder = work / "results" / "shared-study"
    claim_study_folder(folder)
    _plant_lock(folder, pid=_dead_pid(), token="killed")
    config = study_yaml(work / "s.yaml", "results", "shared-study",
                        scheduler={"type": "fifo", "max_epochs": 3})
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    first = subprocess.Popen([sys.executable, "-m", "jetstudy.study.cli", "run", str(config),
                              "--no-report"], cwd=work, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    lock = folder / LOCK_FILE
    try:
        deadline = time.monotonic() + 120
        while ((held := read_lock(folder)) is None or held.pid != first.pid) and (
                first.poll() is None and time.monotonic() < deadline):
            time.sleep(0.2)
        assert read_lock(folder).pid == first.pid, "the first driver never took the lock"
        second = jetstudy("run", config, "--no-report", cwd=work, timeout=120)
        err = one_line_error(second)
        assert "another jetstudy driver" in err and f"pid {first.pid}" in err
        assert "shared-study" in err and "running since" in err
        resumed = jetstudy_here("run", config, "--resume", "--no-report", cwd=work)
        assert f"pid {first.pid}" in one_line_error(resumed)
        out, errors = first.communicate(timeout=300)
    finally:
        if first.poll() is None:
            first.kill()
    assert first.returncode == 0, errors[-3000:]
    trials = pd.read_parquet(folder / "trials.parquet")
    assert len(trials) == 2 and trials["trial_id"].is_unique
    assert not lock.exists()


@pytest.mark.parametrize("text", ["", "not json {", '{"host": "x"}'])
def test_an_unreadable_lock_is_taken_over(tmp_path: Path, text: str) -> None:
    (tmp_path / LOCK_FILE).write_text(text)
    with StudyLock(tmp_path) as lock:
        assert read_lock(tmp_path).token == lock.info.token
