"""Referee round 6: signals to the whole process group of a running ``jetstudy run``.

A terminal that closes hangs up its foreground process group (SIGHUP); GNU ``timeout`` sends
its SIGTERM to its process group. The local Ray a driver starts was in that group: its GCS,
raylet and agents died of it under the driver, whose graceful stop then waited 60 s for the
GCS and ended in exit 1, Ray processes left behind. Now Ray's processes are kept from them,
and the driver stops as on SIGTERM: exit 130, the cut trial ``interrupted`` in the tables,
resumable, the ``--resume`` command printed, no process of its Ray left. Under ``nohup`` the
hang-up is ignored: the trial trains on (then ``timeout``'s SIGTERM stops it).

Both drivers run side by side (one shared fixture): one Ray start's wait, not two.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from tests.faults.conftest import REPO, checksums, plant, study_yaml
from tests.faults.flows import (_kill_leftovers, epoch_lines, printed_resume_command,
                                read_record, recorded_alive)

pytestmark = pytest.mark.slow


@dataclass
class HungUp:
    folder: Path
    code: int
    output: str
    alive: list[int]
    planted: dict[str, str]
    after: dict[str, str]


def _driver(work: Path, nohup: bool) -> subprocess.Popen:
    """``jetstudy run`` as a terminal's job: a process group of its own (Ray's processes join
    it), SIGHUP ignored under ``nohup``."""
    def job() -> None:
        if nohup:
            signal.signal(signal.SIGHUP, signal.SIG_IGN)

    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "jetstudy.study.cli", "run", "study.yaml",
                             "--no-report"], cwd=work, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True,
                            preexec_fn=job)


def _ready(folder: Path) -> bool:
    return epoch_lines(folder) >= 1 and (folder / "ray_session.json").exists()


@pytest.fixture(scope="module")
def hung_up(tmp_path_factory: pytest.TempPathFactory) -> dict[str, HungUp]:
    """``terminal``: SIGHUP to the driver's group once a trial trains. ``nohup``: the same,
    then, once the trial has trained another epoch, SIGTERM to the group (``timeout``)."""
    import time

    runs: dict[str, tuple[Path, Path, dict[str, str], subprocess.Popen]] = {}
    for kind in ("terminal", "nohup"):
        work = tmp_path_factory.mktemp(kind)
        planted = plant(work, ["notes.txt", "results/keep.txt"])
        study_yaml(work / "study.yaml", "results", "hup", search={"num_trials": 1},
                   scheduler={"type": "fifo", "max_epochs": 60},
                   training={"batch_size": 128})
        runs[kind] = (work, work / "results" / "hup", planted,
                      _driver(work, nohup=kind == "nohup"))
    records: dict[str, dict] = {}
    hup_at: dict[str, int] = {}  # epochs trained when SIGHUP was sent
    out: dict[str, HungUp] = {}
    try:
        deadline = time.monotonic() + 300
        while len(hup_at) < len(runs) or "nohup" not in records:
            assert time.monotonic() < deadline, ("no progress within 300 s", hup_at, records)
            for kind, (_, folder, _, proc) in runs.items():
                if kind in records:
                    continue
                assert proc.poll() is None, (kind, proc.communicate()[0][-3000:])
                if kind not in hup_at and _ready(folder):  # training, Ray up: hang up
                    hup_at[kind] = epoch_lines(folder)
                    os.killpg(proc.pid, signal.SIGHUP)
                    if kind == "terminal":
                        records[kind] = read_record(folder)
                elif kind == "nohup" and kind in hup_at and epoch_lines(folder) > hup_at[kind]:
                    records[kind] = read_record(folder)  # trained on after the hang-up
                    os.killpg(proc.pid, signal.SIGTERM)
            time.sleep(0.1)
        for kind, (work, folder, planted, proc) in runs.items():
            output, _ = proc.communicate(timeout=180)
            out[kind] = HungUp(folder, proc.returncode, output, recorded_alive(records[kind]),
                               planted, checksums(work))
    finally:
        for kind, (_, folder, _, proc) in runs.items():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            if kind in records:
                _kill_leftovers(records[kind])
    return out


def _stopped_cleanly(run: HungUp, signal_name: str) -> None:
    from ray import tune

    assert run.code == 130, run.output[-3000:]
    assert "Traceback" not in run.output and "GCS" not in run.output, run.output[-3000:]
    assert f"{signal_name}: stopping the study" in run.output, run.output[-3000:]
    assert printed_resume_command(run.output)[-1] == "--resume"
    trials = pd.read_parquet(run.folder / "trials.parquet")
    assert list(trials["status"]) == ["interrupted"], trials
    assert tune.Tuner.can_restore(str(run.folder / "ray"))  # --resume continues it
    assert run.alive == []  # no process of its Ray left
    assert {k: run.after.get(k) for k in run.planted} == run.planted


def test_a_closed_terminal_stops_the_study_as_sigterm(hung_up: dict[str, HungUp]) -> None:
    _stopped_cleanly(hung_up["terminal"], "SIGHUP")


def test_under_nohup_a_closed_terminal_is_ignored(hung_up: dict[str, HungUp]) -> None:
    """The trial trained on after the hang-up (the fixture waited for its next epoch), and
    ``timeout``'s SIGTERM to the group then stopped it cleanly."""
    run = hung_up["nohup"]
    assert "SIGHUP" not in run.output, run.output[-3000:]
    _stopped_cleanly(run, "SIGTERM")
