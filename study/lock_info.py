"""What a study's ``driver.lock`` says (:class:`LockInfo`: host, pid, start, heartbeat, token),
reading it, and when it keeps another driver out (:func:`raise_if_busy`); holding it is
:mod:`jetstudy.study.lock`'s, which re-exports these."""

from __future__ import annotations

import json
import os
import socket
import stat
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from jetstudy.trainables import processes
from jetstudy.trainables.errors import JetstudyError

__all__ = ["LOCK_FILE", "HEARTBEAT_S", "STALE_AFTER_S", "LockInfo", "StudyBusy", "read_lock",
           "raise_if_busy", "busy", "utc"]

LOCK_FILE = "driver.lock"
#: Seconds between heartbeats.
HEARTBEAT_S = 5.0
#: A heartbeat older than this (6 periods: room for a slow shared file system and clock skew
#: between nodes) means the driver is gone.
STALE_AFTER_S = 30.0


class StudyBusy(JetstudyError):
    """Another driver holds the study (the message names it)."""


@dataclass(frozen=True)
class LockInfo:
    """What a lock file says about its driver."""

    host: str
    pid: int
    started: float
    heartbeat: float
    token: str
    boot_id: str = ""
    process_start: str = ""

    @classmethod
    def mine(cls) -> LockInfo:
        now = time.time()
        return cls(host=socket.gethostname(), pid=os.getpid(), started=now, heartbeat=now,
                   token=uuid.uuid4().hex, boot_id=processes.boot_id(),
                   process_start=processes.process_start(os.getpid()))

    def to_json(self) -> str:
        return json.dumps({**self.__dict__, "started_utc": utc(self.started)}, indent=1) + "\n"

    def gone_reason(self) -> str | None:
        """Why this holder's process is known to be gone, or None: only a holder of this
        machine can be known gone (its process gone, a zombie, its pid reused, or the machine
        restarted since); one of another machine never is."""
        if self.host != socket.gethostname():
            return None
        if self.boot_id and self.boot_id != processes.boot_id():
            return "its machine restarted since"
        if not processes.pid_alive(self.pid):
            return f"process {self.pid} is gone"
        if self.process_start and self.process_start != processes.process_start(self.pid):
            return f"process {self.pid} is gone (its pid was reused)"
        return None

    def stale_reason(self, now: float | None = None) -> str | None:
        """Why this holder is gone, or None while it looks alive. On this machine (same boot)
        its process decides: gone (or a zombie) is stale at once (:meth:`gone_reason`), alive
        under its recorded start time holds the study however old its heartbeat (a driver
        stopped with Ctrl-Z, or one whose heartbeat a full disk kept from being written, goes
        on later: taken over, two drivers would write the study). Elsewhere (or a lock without
        the process's start time), the heartbeat's age."""
        gone = self.gone_reason()
        if gone is not None:
            return gone
        if self.host == socket.gethostname() and self.process_start:
            return None  # this very process, alive: only it releases the study
        age = (time.time() if now is None else now) - self.heartbeat
        if age > STALE_AFTER_S:
            return f"its heartbeat is {age:.0f} s old"
        return None

    def describe(self) -> str:
        age = max(0.0, time.time() - self.heartbeat)
        return (f"host {self.host}, pid {self.pid}, running since {utc(self.started)}, "
                f"last heartbeat {age:.0f} s ago")


def utc(t: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(t))


def read_lock(folder: Path) -> LockInfo | None:
    """The lock of the study in ``folder``, or None when there is none (or it is unreadable:
    a half-written file from a dead driver counts as none once it is old; a link, a named pipe
    or a device under its name is no lock, and never read: a pipe's read hung the report)."""
    path = Path(folder) / LOCK_FILE
    try:  # a named pipe or device there (never jetstudy's) must not hang the read: not a lock
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW)
    except OSError:  # none, a link (never written so), or unreadable
        return None
    try:
        with os.fdopen(fd, "rb") as lock:
            if not stat.S_ISREG(os.fstat(lock.fileno()).st_mode):
                return None
            raw = json.loads(lock.read().decode("utf-8"))
        fields = {k: raw[k] for k in LockInfo.__dataclass_fields__ if k in raw}
        return LockInfo(**fields)
    except (OSError, ValueError, TypeError, KeyError):
        return None


def busy(folder: Path, holder: LockInfo) -> StudyBusy:
    return StudyBusy(
        f"storage.name {folder.name!r}: another jetstudy driver is running this study "
        f"({holder.describe()}); wait for it to finish or stop it (kill {holder.pid} on "
        f"{holder.host}), or set another storage.name. A driver killed with kill -9 frees the "
        f"study at once on the same host, after {STALE_AFTER_S:.0f} s elsewhere")


def raise_if_busy(folder: Path) -> None:
    """Raise :class:`StudyBusy` when a live driver holds the study in ``folder`` (checked
    before anything else, so the second driver is told why, whatever else it would meet)."""
    holder = read_lock(folder)
    if holder is not None and holder.stale_reason() is None:
        raise busy(Path(folder), holder)
