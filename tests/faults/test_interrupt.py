"""Ctrl-C and kill -9 of the driver, the way a user meets them.

* Ctrl-C (SIGINT to the driver): Tune's own stop, the tables written with the cut-short trials
  ``interrupted`` (never ``completed`` with fewer than ``max_epochs`` epochs), the ``--resume``
  command printed with the study's name and the run's options, exit 130, and no Ray process
  of the run left.
* kill -9 of a resumed driver: the next ``--resume`` stops what is left of the killed driver's
  Ray (checked by the pids it recorded) and finishes the study, continuing trials from their
  checkpoints.

The study and its steps are shared fixtures (``tests/faults/flows.py``).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from jetstudy.trainables.processes import boot_id, process_start
from jetstudy.study.paths import STUDY_MARK
from jetstudy.study.raysession import RECORD, reap_dead_session, reap_dead_sessions
from tests.faults.flows import FIRST_RUN_OPTION, MAX_EPOCHS, NAME, recorded_alive



@pytest.mark.slow
def test_ctrl_c_exits_130_and_prints_the_resume_command(interrupted_study) -> None:
    s = interrupted_study
    assert s.code == 130, s.output[-3000:]
    assert "Traceback" not in s.output, s.output[-3000:]
    assert "continue the study with:" in s.output
    command = s.output.split("continue the study with:")[1].strip().splitlines()[0]
    assert command.startswith(f"jetstudy run {s.config.name} ")
    assert f"--set {FIRST_RUN_OPTION}" in command  # the run's own options come along
    assert command.endswith(f"--set storage.name={NAME} --resume"), command


@pytest.mark.slow
def test_interrupted_trials_are_not_called_completed(interrupted_study) -> None:
    trials = interrupted_study.trials
    assert set(trials["status"]) <= {"interrupted", "completed"}, trials
    assert (trials["status"] == "interrupted").any(), trials[["trial_id", "status", "epochs"]]
    short = trials[trials["epochs"] < MAX_EPOCHS]
    assert (short["status"] != "completed").all()
    csv = pd.read_csv(interrupted_study.folder / "trials.csv")  # the twin says the same
    assert sorted(csv["status"]) == sorted(trials["status"])
    assert "interrupted" in interrupted_study.output


@pytest.mark.slow
def test_no_ray_process_outlives_ctrl_c(interrupted_study) -> None:
    s = interrupted_study
    assert s.record["processes"], "the run recorded no Ray process"
    assert recorded_alive(s.record) == []
    assert not (s.folder / "ray_session.json").exists()


@pytest.mark.slow
def test_kill_9_leftovers_are_stopped_by_the_next_resume(resumed_study) -> None:
    r = resumed_study
    assert r.code == 0, r.output[-3000:]
    assert r.killed_record["processes"]
    assert r.leftovers_after_resume == [], r.leftovers_after_resume


@pytest.mark.slow
def test_resume_finishes_and_continues_the_cut_trials(interrupted_study, resumed_study) -> None:
    folder = interrupted_study.folder
    trials = pd.read_parquet(folder / "trials.parquet")
    assert len(trials) == 3 and (trials["status"] == "completed").all(), trials
    for log in (folder / "trials").glob("*/epochs.jsonl"):
        epochs = [json.loads(line)["epoch"] for line in log.read_text().splitlines()]
        # continued from their checkpoints: no epoch trained twice, none skipped
        assert epochs == list(range(1, MAX_EPOCHS + 1)), (log.parent.name, epochs[:5])


# --- the reaper on real processes (no Ray): only the recorded session's, never others ---

def _sleeper(env: dict[str, str] | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"],
                            env={**os.environ, **(env or {})})


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _record(folder: Path, driver_pid: int, driver_start: str, processes: list[dict],
            node_id: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / RECORD).write_text(json.dumps({
        "host": socket.gethostname(), "boot_id": boot_id(), "driver_pid": driver_pid,
        "driver_start": driver_start, "node_id": node_id, "processes": processes}))


def _alive(proc: subprocess.Popen) -> bool:
    time.sleep(0.1)
    return proc.poll() is None


def test_reaper_stops_only_the_dead_drivers_processes(tmp_path: Path) -> None:
    node_id = "ab" * 28
    recorded = _sleeper()                              # a recorded Ray process
    agent = _sleeper({"RAY_NODE_ID": node_id})         # a later one, found by its node id
    reused = _sleeper()                                # a pid recorded with another start
    stranger = _sleeper({"RAY_NODE_ID": "cd" * 28})    # another Ray's process
    bystander = _sleeper()
    try:
        _record(tmp_path / "study", _dead_pid(), "1", [
            {"pid": recorded.pid, "start": process_start(recorded.pid)},
            {"pid": reused.pid, "start": "1"}], node_id)
        (tmp_path / "study" / STUDY_MARK).write_text("")  # a study folder of jetstudy's
        assert reap_dead_session(tmp_path / "study") == 2
        recorded.wait(timeout=10)
        agent.wait(timeout=10)
        assert _alive(reused) and _alive(stranger) and _alive(bystander)
        assert not (tmp_path / "study" / RECORD).exists()
    finally:
        for proc in (recorded, agent, reused, stranger, bystander):
            proc.kill()
            proc.wait()


def test_reaper_leaves_a_live_driver_alone(tmp_path: Path) -> None:
    node_id = "ef" * 28
    agent = _sleeper({"RAY_NODE_ID": node_id})
    try:  # this test process plays the live driver
        _record(tmp_path / "study", os.getpid(), process_start(os.getpid()), [], node_id)
        assert reap_dead_session(tmp_path / "study") == 0
        assert _alive(agent) and (tmp_path / "study" / RECORD).exists()
    finally:
        agent.kill()
        agent.wait()


def test_reaper_reads_records_only_in_jetstudys_study_folders(tmp_path: Path) -> None:
    """A session record in a folder that is no study of jetstudy's (a user's folder beside the
    studies in results_dir) is the user's file: not read, not deleted, its pids not stopped."""
    node_ids = {"theirs": "12" * 28, "study": "34" * 28}
    sleepers = {name: _sleeper() for name in node_ids}
    try:
        for name, proc in sleepers.items():
            _record(tmp_path / name, _dead_pid(), "1",
                    [{"pid": proc.pid, "start": process_start(proc.pid)}], node_ids[name])
        (tmp_path / "study" / STUDY_MARK).write_text("")
        assert reap_dead_sessions(tmp_path) == 1
        sleepers["study"].wait(timeout=10)
        assert _alive(sleepers["theirs"]) and (tmp_path / "theirs" / RECORD).exists()
    finally:
        for proc in sleepers.values():
            proc.kill()
            proc.wait()
