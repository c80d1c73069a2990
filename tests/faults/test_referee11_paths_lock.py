"""Referee round 11: the study lock's heartbeat against a takeover from another host.

* The heartbeat read the lock (its own token), then renamed a new file over the lock's name:
  a driver of another host that took the lock over between the two (this driver's heartbeat
  was 30 s old: stopped with Ctrl-Z, its node cut off from the shared storage) had its lock
  replaced by this driver's, and both ran the study. The heartbeat now goes through the one
  open file its token was checked on (the lock moved aside by the takeover): the new
  holder's lock stays.
* A driver that found its lock taken over logged an error and ran on beside the new holder;
  it now stops as on SIGTERM.
* A takeover that moved aside a lock whose heartbeat was written since it was judged stale
  (the driver woke) removed it; it is now put back.

The other host is played by files written as its driver writes them (host ``other-node``);
the driver under test runs in a subprocess (it stops itself with SIGTERM).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from jetstudy.study.lock import LOCK_FILE, STALE_AFTER_S, LockInfo, StudyLock, read_lock
from tests.faults.conftest import REPO

#: A driver holding the lock (heartbeat every 0.05 s) until SIGTERM, which it reports. With
#: RIVAL set, the other host's driver takes the lock over right after this driver's heartbeat
#: checked its token and before it writes (the interleaving that lost the rival's lock).
_DRIVER = """
import json, os, signal, sys, threading, time, uuid
from pathlib import Path
from jetstudy.study.lock import LockInfo, StudyLock

folder = Path(sys.argv[1])
stopped = threading.Event()
signal.signal(signal.SIGTERM, lambda *a: stopped.set())
if os.environ.get("RIVAL"):
    real, done = LockInfo.to_json, []

    def to_json(self):
        text = real(self)
        if threading.current_thread().name == "jetstudy-lock" and not done:
            done.append(1)  # the takeover: move the lock aside, link the rival's in
            lock = folder / "driver.lock"
            os.rename(lock, folder / f".driver.lock.stale-{uuid.uuid4().hex}")
            rival = {"host": "other-node", "pid": 7, "started": time.time(),
                     "heartbeat": time.time(), "token": "rival"}
            (folder / "rival.tmp").write_text(json.dumps(rival))
            os.link(folder / "rival.tmp", lock)
            os.unlink(folder / "rival.tmp")
        return text

    LockInfo.to_json = to_json
with StudyLock(folder, heartbeat_s=0.05):
    print("holding", flush=True)
    print("stopped" if stopped.wait(float(sys.argv[2])) else "ran on", flush=True)
"""


def _driver(folder: Path, wait_s: float, rival: bool) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO), **({"RIVAL": "1"} if rival else {})}
    proc = subprocess.Popen([sys.executable, "-c", _DRIVER, str(folder), str(wait_s)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "holding", proc.stderr.read()
    return proc


def _rival_lock(folder: Path) -> None:
    """The other host's driver takes the lock over (this one looked gone): the stale lock is
    moved aside and the rival's linked in, as :meth:`StudyLock._take_over` does."""
    lock = folder / LOCK_FILE
    os.rename(lock, folder / ".driver.lock.stale-0123")
    (folder / "rival.tmp").write_text(json.dumps(
        {"host": "other-node", "pid": 7, "started": time.time(), "heartbeat": time.time(),
         "token": "rival"}))
    os.link(folder / "rival.tmp", lock)
    (folder / "rival.tmp").unlink()
    (folder / ".driver.lock.stale-0123").unlink()


def test_a_heartbeat_never_lands_on_a_lock_another_host_took_over(tmp_path: Path) -> None:
    proc = _driver(tmp_path, 10, rival=True)
    out, err = proc.communicate(timeout=60)
    holder = read_lock(tmp_path)
    assert holder is not None and holder.token == "rival", (holder, err[-2000:])
    assert out.strip() == "stopped", (out, err[-2000:])  # and it did not run on beside it
    assert "lost the study lock" in err and "other-node" in err, err[-2000:]


def test_a_driver_whose_lock_was_taken_over_stops(tmp_path: Path) -> None:
    proc = _driver(tmp_path, 10, rival=False)
    _rival_lock(tmp_path)
    out, err = proc.communicate(timeout=60)
    assert out.strip() == "stopped", (out, err[-2000:])
    assert read_lock(tmp_path).token == "rival"  # its release never removes the rival's lock
    assert "this driver stops now" in err, err[-2000:]


def test_a_driver_that_holds_its_lock_is_not_stopped(tmp_path: Path) -> None:
    proc = _driver(tmp_path, 1.0, rival=False)
    out, err = proc.communicate(timeout=60)
    assert out.strip() == "ran on", (out, err[-2000:])
    assert not (tmp_path / LOCK_FILE).exists()  # released on the way out
    assert sorted(os.listdir(tmp_path)) == [], os.listdir(tmp_path)


def test_a_takeover_puts_back_a_lock_whose_driver_woke_meanwhile(tmp_path: Path) -> None:
    woke = {"host": "other-node", "pid": 7, "started": time.time() - 600,
            "heartbeat": time.time() - STALE_AFTER_S - 60, "token": "far"}
    (tmp_path / LOCK_FILE).write_text(json.dumps(woke))
    judged = read_lock(tmp_path)
    assert judged is not None and judged.stale_reason() is not None
    woke["heartbeat"] = time.time()  # its driver wrote a heartbeat since
    (tmp_path / LOCK_FILE).write_text(json.dumps(woke))
    StudyLock(tmp_path)._take_over(judged)
    assert read_lock(tmp_path) == LockInfo(**{k: woke[k] for k in (
        "host", "pid", "started", "heartbeat", "token")})
    assert os.listdir(tmp_path) == [LOCK_FILE]
