"""One study, interrupted and resumed the ways a user would, shared by the interrupt and
resume fault tests (``tests/faults/conftest.py`` imports the fixtures; each step runs once).

1. ``jetstudy run`` (2 trials, 2 at a time, 60 short epochs), sent SIGINT once trials have
   trained an epoch: :func:`interrupted_study`.
2. ``--resume`` with a changed ``space.depth`` is refused; ``--resume --set
   search.num_trials=3`` (the printed command plus that option) is ``kill -9``-ed mid-run; the
   same command then finishes the study: :func:`resumed_study`.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[2]
NAME = "intr"
MAX_EPOCHS = 60
#: a slower, printed option that must survive into the resume command
FIRST_RUN_OPTION = "training.batch_size=128"


class Driver:
    """``jetstudy run ...`` in its own session (so the test can clean up after itself)."""

    def __init__(self, args: list[str], cwd: Path) -> None:
        env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen([sys.executable, "-m", "jetstudy.study.cli", *args], cwd=cwd,
                                     env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, start_new_session=True)

    def finish(self, timeout: float = 300) -> str:
        out, _ = self.proc.communicate(timeout=timeout)
        return out


def epoch_lines(folder: Path) -> int:
    return sum(len(p.read_text().splitlines()) for p in (folder / "trials").glob("*/epochs.jsonl"))


def wait_for(predicate, driver: Driver, what: str, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if driver.proc.poll() is not None:
            pytest.fail(f"the driver ended before {what}:\n{driver.finish()[-3000:]}")
        time.sleep(0.2)
    driver.proc.kill()
    pytest.fail(f"no {what} within {timeout} s:\n{driver.finish()[-3000:]}")


def read_record(folder: Path) -> dict[str, Any]:
    return json.loads((folder / "ray_session.json").read_text())


def recorded_alive(record: dict[str, Any]) -> list[int]:
    """Recorded Ray processes still running (same pid and start time), plus any process
    carrying the record's Ray node id."""
    from jetstudy.study.raysession import session_pids

    return session_pids(record)


@dataclass
class Interrupted:
    work: Path
    config: Path
    folder: Path
    code: int
    output: str
    trials: pd.DataFrame
    record: dict[str, Any]
    epochs_before: int


@dataclass
class Resumed:
    refused_code: int
    refused_output: str
    refused_changed: list[str]
    killed_record: dict[str, Any]
    killed_epochs: int
    code: int
    output: str
    leftovers_after_resume: list[int] = field(default_factory=list)


def _kill_leftovers(record: dict[str, Any]) -> None:
    for pid in recorded_alive(record):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


@pytest.fixture(scope="session")
def interrupted_study(tmp_path_factory: pytest.TempPathFactory) -> Interrupted:
    from tests.faults.conftest import study_yaml  # (conftest imports this module)

    work = tmp_path_factory.mktemp("interrupt")
    config = study_yaml(work / "study.yaml", "results", NAME,
                        search={"num_trials": 2, "max_concurrent": 2},
                        scheduler={"type": "fifo", "max_epochs": MAX_EPOCHS},
                        resources={"num_cpus": 2})
    folder = work / "results" / NAME
    driver = Driver(["run", config.name, "--no-report", "--set", FIRST_RUN_OPTION], work)
    wait_for(lambda: epoch_lines(folder) >= 2 and (folder / "ray_session.json").exists(),
             driver, "trained epochs")
    record = read_record(folder)
    before = epoch_lines(folder)
    os.kill(driver.proc.pid, signal.SIGINT)  # Ctrl-C, to the driver
    try:
        output = driver.finish(timeout=120)
    finally:
        _kill_leftovers(record)
    trials = pd.read_parquet(folder / "trials.parquet")
    return Interrupted(work, config, folder, driver.proc.returncode, output, trials, record,
                       before)


def printed_resume_command(output: str) -> list[str]:
    """The arguments after ``jetstudy`` of the command the interrupted run printed."""
    import shlex

    lines = output.splitlines()
    at = next(i for i, line in enumerate(lines) if "continue the study with" in line)
    cmd = shlex.split(lines[at + 1])
    assert cmd[:2] == ["jetstudy", "run"], cmd
    return cmd[1:]


@pytest.fixture(scope="session")
def resumed_study(interrupted_study: Interrupted) -> Resumed:
    from tests.faults.conftest import checksums, jetstudy_here

    s = interrupted_study
    resume = printed_resume_command(s.output)
    # a changed study is refused, and touches nothing (refused before Ray starts: the same
    # command line in this process, without a fresh interpreter's ~5 CPU-s of imports)
    before = checksums(s.folder)
    refused = jetstudy_here(*resume, "--set", "space.depth=[1, 2]", cwd=s.work)
    changed = [k for k, v in checksums(s.folder).items() if before.get(k) != v]
    changed += [k for k in before if k not in checksums(s.folder)]
    # resumed with more trials, then killed -9 mid-run
    args = [*resume, "--no-report", "--set", "search.num_trials=3"]
    first = Driver(args, s.work)
    start = epoch_lines(s.folder)

    def resumed_and_training() -> bool:
        try:
            mine = read_record(s.folder)["driver_pid"] == first.proc.pid
        except (OSError, ValueError, KeyError):
            return False
        return mine and epoch_lines(s.folder) >= start + 2

    wait_for(resumed_and_training, first, "training after --resume")
    killed = read_record(s.folder)
    os.kill(first.proc.pid, signal.SIGKILL)  # the driver only, as a crash would
    first.proc.wait(timeout=30)
    killed_epochs = epoch_lines(s.folder)
    try:
        last = Driver(args, s.work)
        output = last.finish(timeout=300)
        leftovers = recorded_alive(killed)
    finally:
        _kill_leftovers(killed)
    return Resumed(refused.returncode, refused.stderr + refused.stdout, changed, killed,
                   killed_epochs, last.proc.returncode, output, leftovers)
