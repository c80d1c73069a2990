"""Referee round 11, second wave: a driver that lost its study, the study mark's exact name,
and the Tune snapshot period's message.

* A driver whose lock another host took over (its heartbeat 30 s old: Ctrl-Z, its node cut
  off from the storage) stopped through the Ctrl-C path: it wrote its tables over the new
  holder's, set ``ended`` in provenance.json, and printed the ``--resume`` command (refused,
  the other driver holding the study). It now writes nothing more into the study and says
  who took it over, when, and what to do (:func:`jetstudy.study.lock.lost_to`).
* On a case-insensitive file system ``folder / '.jetstudy-study'`` opens a user's
  ``.JetStudy-Study``: a folder of their dotfiles looked like a study that never started
  (reused, written into). The mark now counts only under its exact listed name
  (:func:`jetstudy.study.paths.marked`; the listing is handed in, as no file system here
  ignores case).
* A driver's clean-up removed the ``ray_session.json`` of another driver (the one that took
  the study over); only its own record goes now.
* ``TUNE_GLOBAL_CHECKPOINT_S=inf`` was refused saying ``--resume`` would lose the trials,
  untrue since a resume finds them from their folders.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from ray.tune import Callback

from jetstudy.study.lock import LOCK_FILE, StudyLock, lost_to, read_lock
from tests.faults.conftest import REPO, checksums, study_yaml

RIVAL = {"host": "other-node", "pid": 7, "started": 1795000000.0, "heartbeat": time.time(),
         "token": "rival"}


def _rival_takes_over(folder: Path) -> None:
    """The other host's driver takes the lock over as :meth:`StudyLock._take_over` does (the
    lock moved aside, its own linked in) and writes its own tables."""
    lock = folder / LOCK_FILE
    os.rename(lock, folder / ".driver.lock.stale-0123")
    (folder / "rival.tmp").write_text(json.dumps({**RIVAL, "heartbeat": time.time()}))
    os.link(folder / "rival.tmp", lock)
    (folder / "rival.tmp").unlink()
    (folder / ".driver.lock.stale-0123").unlink()
    for table in ("trials.parquet", "epochs.parquet"):
        (folder / f"{table}.rival").write_bytes(b"the other driver's " + table.encode())
        os.replace(folder / f"{table}.rival", folder / table)


class TakeOver(Callback):
    """At the first result, the other host takes the study over; the driver's main thread
    then waits (at most 30 s) until its heartbeat thread has found that out and ended."""

    def __init__(self, folder: str) -> None:
        self.folder = folder
        self.done = False

    def on_trial_result(self, iteration: int, trials: list, trial: Any, result: dict,
                        **info: Any) -> None:
        if self.done:
            return
        self.done = True
        folder = Path(self.folder)
        _rival_takes_over(folder)
        (folder.parent / "at_takeover.json").write_text(json.dumps(checksums(folder)))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(
                t.name == "jetstudy-lock" for t in threading.enumerate()):
            time.sleep(0.05)


#: ``jetstudy run`` whose driver gets :class:`TakeOver` among its callbacks.
_RUN = """
import sys
from jetstudy.study import launch
from tests.faults.test_referee11_followups_paths import TakeOver

real = launch.run_study
launch.run_study = lambda cfg, **kw: real(cfg, callbacks=[TakeOver(sys.argv[1])], **kw)
from jetstudy.study.cli import main
sys.exit(main(sys.argv[2:]))
"""


@pytest.fixture(scope="module")
def lost_study(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    import subprocess

    root = tmp_path_factory.mktemp("lost")
    config = study_yaml(root / "study.yaml", "results", "taken")
    folder = root / "results" / "taken"
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.run([sys.executable, "-c", _RUN, str(folder), "run", str(config),
                           "--no-report"], cwd=root, env=env, capture_output=True, text=True,
                          timeout=240)
    return {"proc": proc, "folder": folder, "root": root}


@pytest.mark.slow
def test_a_driver_that_lost_its_study_writes_nothing_more_into_it(lost_study) -> None:
    proc, folder = lost_study["proc"], lost_study["folder"]
    at_takeover = json.loads((lost_study["root"] / "results" / "at_takeover.json").read_text())
    after = checksums(folder)
    for name in ("trials.parquet", "epochs.parquet", "provenance.json", LOCK_FILE):
        assert after.get(name) == at_takeover.get(name), (name, proc.stderr[-3000:])
    assert not (folder / "best").exists()  # no evaluation of the best trial either
    assert read_lock(folder).token == "rival"


@pytest.mark.slow
def test_a_driver_that_lost_its_study_says_who_took_it_and_what_to_do(lost_study) -> None:
    proc, folder = lost_study["proc"], lost_study["folder"]
    err = proc.stderr
    assert proc.returncode == 130, (proc.returncode, err[-3000:])
    assert "Traceback" not in err, err[-3000:]
    assert (f"another jetstudy driver took the study in {folder} over at 2026-11-18 "
            f"11:06:40 UTC (host other-node, pid 7)") in err, err[-3000:]
    assert "wrote no tables or records after it found the lock taken" in err, err[-3000:]
    assert "stop it first (kill 7 on other-node), then run this study again with --resume" in err
    assert "continue the study with:" not in err and "the tables in" not in err, err[-3000:]


def test_lost_to_names_the_driver_that_took_the_lock(tmp_path: Path) -> None:
    """Asked before any write: the lock is read, so a driver woken from Ctrl-Z learns it
    lost the study before its next heartbeat (none runs here: 10 minutes apart)."""
    lock = StudyLock(tmp_path, heartbeat_s=600)
    with lock:
        assert lost_to(tmp_path) is None
        _rival_takes_over(tmp_path)
        taker = lost_to(tmp_path)
        assert taker is not None and (taker.host, taker.pid) == ("other-node", 7)
    assert read_lock(tmp_path).token == "rival"  # never released by the driver that lost it
    assert lost_to(tmp_path / "another") is None


def test_the_clean_up_leaves_another_drivers_ray_record(tmp_path: Path) -> None:
    """end_session removed ray_session.json whatever it named: after a takeover, that of the
    driver now holding the study."""
    from jetstudy.study.raysession import RECORD, end_session

    theirs = {"host": "other-node", "driver_pid": 7, "boot_id": "x", "processes": []}
    (tmp_path / RECORD).write_text(json.dumps(theirs))
    end_session(tmp_path)
    assert json.loads((tmp_path / RECORD).read_text()) == theirs


@pytest.mark.parametrize("user_name", [".JetStudy-Study", ".JETSTUDY-STUDY"])
def test_a_mark_in_another_case_is_not_jetstudys(user_name: str, tmp_path: Path) -> None:
    """What a case-insensitive file system shows: the user's .JetStudy-Study listed, and
    opened under jetstudy's name. Their dotfiles' folder is no study that never started."""
    from jetstudy.study.paths import STUDY_MARK, _never_started, marked

    (tmp_path / STUDY_MARK).write_text("the user's own file\n")  # opened under our name
    listed = sorted([user_name, ".bashrc", ".profile"])
    assert not marked(tmp_path, listed)
    assert not _never_started(tmp_path, listed)
    assert marked(tmp_path, sorted([STUDY_MARK, ".bashrc"]))  # jetstudy's own, as listed
    assert _never_started(tmp_path, sorted([STUDY_MARK, ".bashrc"]))


def test_an_infinite_tune_period_is_refused_for_what_it_does(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from jetstudy.study.snapshots import TUNE_PERIOD_ENV, check_tune_period_env
    from jetstudy.trainables.errors import ConfigError

    monkeypatch.setenv(TUNE_PERIOD_ENV, "inf")
    with pytest.raises(ConfigError) as refused:
        check_tune_period_env()
    text = str(refused.value)
    assert "lose" not in text and "--resume" not in text, text
    assert ("infinite: Tune would save its experiment state in ray/ as the study starts and "
            "then only as it ends, so ray/ would lag the whole study") in text, text

