"""One driver per study: a lock file in the study folder, with a heartbeat.

Two drivers on one study would both write its tables and trial folders (and run twice the
trials asked for), so ``jetstudy run`` holds ``<study>/driver.lock`` for the whole run. The
lock is a small JSON file (host, pid, start time, a heartbeat) that

* is created atomically (a hard link of a finished file, which fails if the lock exists; this
  holds on NFS too, where ``O_EXCL`` historically did not), so two drivers never both win;
* gets a new heartbeat every :data:`HEARTBEAT_S` seconds from a daemon thread, so a driver
  on another node can tell a live holder from a dead one on shared storage; the heartbeat is
  written into the holder's own file through the handle its token was checked on, so it never
  lands on a lock another driver took over meanwhile;
* counts as stale, and is taken over, on the same host when its process is gone (``kill
  -9``: recovered at once; a zombie counts as gone) or the machine rebooted since, never while
  that process lives (a driver stopped with Ctrl-Z keeps its study); from another host, when
  its heartbeat is older than :data:`STALE_AFTER_S`. The limit of that rule: a driver of
  another host that is alive but wrote no heartbeat for that long (stopped with Ctrl-Z, its
  node cut off from the storage) loses the study; on its next heartbeat it finds the other
  driver's lock and stops itself as on SIGTERM, so the two never run on together.

>>> with StudyLock(folder):    # doctest: +SKIP
...     run the study
"""

from __future__ import annotations

import json
import logging
import os
import re
import shlex
import socket
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from jetstudy.study.lock_info import (HEARTBEAT_S, LOCK_FILE, STALE_AFTER_S, LockInfo, StudyBusy,
                                     busy, raise_if_busy, read_lock, utc)
from jetstudy.trainables import processes
from jetstudy.trainables.atomic import NO_ROOM, held_signals
from jetstudy.trainables.plain_read import read_plain

__all__ = ["LOCK_FILE", "HEARTBEAT_S", "STALE_AFTER_S", "LockInfo", "StudyBusy", "StudyLock",
           "read_lock", "raise_if_busy", "lost_to", "lost_words"]

logger = logging.getLogger(__name__)


#: The locks this process holds, by study folder, while they are held (:func:`lost_to`).
_HELD: dict[str, StudyLock] = {}
#: The studies whose lock this process lost, by study folder: who took each over.
_LOST: dict[str, LockInfo] = {}


def lost_to(folder: Path) -> LockInfo | None:
    """The driver that took the study in ``folder`` over from this process (its heartbeat
    went unwritten for :data:`STALE_AFTER_S` seconds), or None while this process holds it
    (or never did). Asked before the driver writes anything more into the study (a table
    snapshot, the final tables, the run's end in provenance.json): once the lock is another
    driver's, so are the study's files. Beside what the heartbeat found, it reads the lock
    itself: a driver woken from Ctrl-Z may reach a write before its next heartbeat."""
    key = str(Path(folder))
    taker = _LOST.get(key)
    if taker is not None:
        return taker
    lock = _HELD.get(key)
    if lock is None or lock.info is None:
        return None
    holder = read_lock(lock.path.parent)
    return holder if holder is not None and holder.token != lock.info.token else None


def lost_words(folder: Path, taker: LockInfo) -> str:
    """What happened to a driver whose study ``taker`` took over, and what to do."""
    return (f"another jetstudy driver took the study in {folder} over at "
            f"{utc(taker.started)} (host {taker.host}, pid {taker.pid}): this driver's "
            f"heartbeat in {LOCK_FILE} went unwritten for over {STALE_AFTER_S:.0f} s (the process "
            f"was stopped, e.g. with Ctrl-Z, or its node lost the shared storage), so it "
            f"counted as gone. This driver stopped its trials and wrote no tables or records "
            f"after it found the lock taken: the study is that driver's now. Let it finish "
            f"(jetstudy report {shlex.quote(str(folder))} shows where it stands); to continue "
            f"the study from here instead, "
            f"stop it first (kill {taker.pid} on {taker.host}), then run this study again with "
            f"--resume")



def _write_new(path: Path, text: str) -> bool:
    """Create ``path`` holding ``text`` only if it does not exist; True when created. A write
    that fails (a full disk, a quota, ``ulimit -f``) leaves neither the lock nor a temporary,
    and is raised naming the lock file: an empty lock it left was read as a dead driver's, and
    the error named no file."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        try:
            tmp.write_text(text)
        except OSError as exc:
            raise OSError(exc.errno, exc.strerror, str(path)) from None
        try:
            os.link(tmp, path)
            return True
        except FileExistsError:
            return False
        except OSError as exc:  # a file system without hard links: exclusive create instead
            if exc.errno in NO_ROOM:
                raise OSError(exc.errno, exc.strerror, str(path)) from None
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            return False
        try:
            with os.fdopen(fd, "w") as f:
                f.write(text)
        except OSError as exc:  # ours, just made: never left half written
            path.unlink(missing_ok=True)
            raise OSError(exc.errno, exc.strerror, str(path)) from None
        return True
    finally:
        try:  # on a read-only file system unlinking even a missing file fails (EROFS): that
            tmp.unlink(missing_ok=True)  # must not hide the failure that names the lock
        except OSError:
            pass


#: Hidden files of the lock's own making: a lock file's temporary, a stale lock moved aside.
_LEFTOVER = re.compile(r"\.driver\.lock\.([0-9a-f]{32}\.tmp|stale-[0-9a-f]{32})\Z")


def _clear_leftovers(path: Path) -> None:
    """Remove the hidden files a driver killed with ``kill -9`` left beside the lock (its
    temporaries, a stale lock it had moved aside): only names of that exact pattern holding
    a lock record of a driver that is gone (never a live contender's, never anything else)."""
    for name in sorted(os.listdir(path.parent)):
        leftover = path.parent / name
        if not _LEFTOVER.match(name) or not leftover.is_file() or leftover.is_symlink():
            continue
        try:
            raw = json.loads(read_plain(leftover))
            holder = LockInfo(**{k: raw[k] for k in LockInfo.__dataclass_fields__ if k in raw})
        except (OSError, ValueError, TypeError, AttributeError):
            continue
        if holder.host == socket.gethostname() and not processes.pid_alive(holder.pid):
            leftover.unlink(missing_ok=True)
            logger.info("removed %s, left by a killed jetstudy driver", leftover)


class StudyLock:
    """Hold ``<folder>/driver.lock`` while the block runs; raise :class:`StudyBusy` naming
    the other driver when it is held."""

    def __init__(self, folder: Path, heartbeat_s: float = HEARTBEAT_S) -> None:
        self.path = Path(folder) / LOCK_FILE
        self.heartbeat_s = heartbeat_s
        self.info: LockInfo | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def acquire(self) -> None:
        """Take the lock, or raise :class:`StudyBusy`. A stop (Ctrl-C, SIGTERM) that lands
        while the lock is taken leaves no lock file and no temporary behind: the lock is
        written with both held, and released again if the stop comes once it is won."""
        try:
            self._acquire(LockInfo.mine())
        except BaseException:
            self.release()
            raise

    def _acquire(self, info: LockInfo) -> None:
        for _ in range(5):
            with held_signals():  # won and known as won in one step
                won = _write_new(self.path, info.to_json())
                if won:
                    self.info = info
            if won:
                _HELD[str(self.path.parent)] = self
                _LOST.pop(str(self.path.parent), None)  # an earlier run's, in this process
                _clear_leftovers(self.path)
                self._thread = threading.Thread(target=self._beat, name="jetstudy-lock",
                                                daemon=True)
                self._thread.start()
                logger.info("holding %s", self.path)
                return
            if self.path.is_dir() or self.path.is_symlink():
                raise StudyBusy(f"{self.path} is a folder or a link, not jetstudy's lock file; "
                                f"remove it (no jetstudy driver made it) and run again")
            if os.path.lexists(self.path) and not _plain(self.path):  # a FIFO: never read
                raise StudyBusy(f"{self.path} is not a plain file (a named pipe, socket or "
                                f"device), so not jetstudy's lock file; remove it (no jetstudy "
                                f"driver made it) and run again")
            holder = read_lock(self.path.parent)
            if holder is None:  # our writes are atomic: only a dead writer leaves it unreadable
                time.sleep(0.5)
                if read_lock(self.path.parent) is None:
                    logger.warning("taking over the unreadable study lock %s", self.path)
                    self._take_over(None)
                continue
            reason = holder.stale_reason()
            if reason is None:
                raise busy(self.path.parent, holder)
            logger.warning("taking over the study lock %s: the driver (%s) is gone: %s",
                           self.path, holder.describe(), reason)
            self._take_over(holder)
        raise StudyBusy(f"{self.path}: could not take the study lock (other drivers keep "
                        f"taking it); stop the other jetstudy runs of this study and retry")

    def _take_over(self, stale: LockInfo | None) -> None:
        """Move the stale lock aside (only one contender's rename succeeds), and put it back
        if what was moved was not the stale lock after all (a newer driver's), or is no
        longer stale (its driver woke and wrote a heartbeat since it was judged)."""
        aside = self.path.with_name(f".{self.path.name}.stale-{uuid.uuid4().hex}")
        with held_signals():  # a stop never leaves a newer driver's lock moved aside
            try:
                os.rename(self.path, aside)
            except FileNotFoundError:
                return
            try:
                raw = json.loads(read_plain(aside))
                moved: LockInfo | None = LockInfo(**{
                    k: v for k, v in raw.items() if k in LockInfo.__dataclass_fields__})
            except (OSError, ValueError, TypeError, AttributeError):
                moved = None
            if stale is not None and (moved is None or moved.token != stale.token
                                      or moved.stale_reason() is None):
                try:
                    os.link(aside, self.path)
                except OSError:
                    pass
            aside.unlink(missing_ok=True)

    def _beat(self) -> None:
        failing = False  # the last refresh failed (a full disk): warned once until one works
        while self.info is not None and not self._stop.wait(self.heartbeat_s):
            try:
                taker = self._refresh()
            except OSError as exc:  # storage hiccup: try again next beat, warned once
                (logger.debug if failing else logger.warning)(
                    "cannot refresh the study lock %s: %s (this driver keeps the study; "
                    "retried every %.0f s)", self.path, exc, self.heartbeat_s)
                failing = True
                continue
            if taker is not None:
                self._lost(taker)
                return
            if failing:
                logger.warning("the study lock %s is refreshed again", self.path)
                failing = False

    def _refresh(self) -> LockInfo | None:
        """Write a new heartbeat into the very lock file this driver holds: the file is
        opened, its token checked, and the heartbeat written through that one open file, in
        place. A driver of another host that took the lock over meanwhile (this one's
        heartbeat was 30 s old) moved that file aside and linked its own in: the heartbeat
        lands in the file moved aside, never over the new holder's lock (a read of the lock,
        then a new file renamed over its name, put this driver's lock back over the other's
        when the takeover fell between the two: two drivers on one study). Returns the holder
        that took the lock, or None while this driver holds it. Never shrinks the file (the
        new text padded with spaces, which JSON ignores): a reader meanwhile never sees the
        old text's tail after the new."""
        info = self.info
        if info is None:
            return None
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_NOFOLLOW)
        except FileNotFoundError:  # removed (by hand): made again, only while nobody took it
            if _write_new(self.path, info.to_json()):
                return None
            holder = read_lock(self.path.parent)
            return holder if holder is not None and holder.token != info.token else None
        with os.fdopen(fd, "r+b") as lock:
            raw = lock.read()
            try:
                holder = LockInfo(**{k: v for k, v in json.loads(raw).items()
                                     if k in LockInfo.__dataclass_fields__})
            except (ValueError, TypeError, AttributeError):
                holder = None  # not a whole lock: only this driver writes into its file
            if holder is not None and holder.token != info.token:
                return holder
            fresh = LockInfo(**{**info.__dict__, "heartbeat": time.time()})
            text = fresh.to_json().encode()
            lock.seek(0)
            lock.write(text.ljust(len(raw)))
            lock.flush()
            if self.info is not None:
                self.info = fresh
        return None

    def _lost(self, taker: LockInfo) -> None:
        """Another driver holds the study now (this one's heartbeat went unwritten for
        :data:`STALE_AFTER_S` seconds: the process was stopped, or its node cut off from
        the shared storage, while a driver of another host started): this driver stops, as
        on SIGTERM (its study ends as interrupted), rather than run the study beside it."""
        import signal

        logger.error("lost the study lock %s to another driver (%s): this driver's heartbeat "
                     "went unwritten for over %.0f s, so that driver took the study over; this "
                     "driver stops now so the two never run the study together", self.path,
                     taker.describe(), STALE_AFTER_S)
        _LOST[str(self.path.parent)] = taker  # nothing more written into the study
        self.info = None  # the lock is the other driver's: never released by this one
        os.kill(os.getpid(), signal.SIGTERM)

    def release(self) -> None:
        if _HELD.get(str(self.path.parent)) is self:
            del _HELD[str(self.path.parent)]
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.heartbeat_s + 5)
        if self.info is None:
            return
        _keep_tuner_state(self.path.parent)
        holder = read_lock(self.path.parent)
        if holder is not None and holder.token == self.info.token:
            try:
                self.path.unlink(missing_ok=True)
            except OSError as exc:  # the folder turned read-only mid-run: the error that
                # ended the study (raised as this runs) is the one to see; the lock of a
                # process that is gone is taken over by the next run on this host
                logger.warning("could not remove the study lock %s (%s); the next jetstudy run "
                               "of this study takes it over", self.path, exc.strerror or exc)
        self.info = None

    def __enter__(self) -> StudyLock:
        self.acquire()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()


def _keep_tuner_state(folder: Path) -> None:
    """As the driver lets the study go: a copy of Tune's whole ``ray/tuner.pkl`` (written as the
    study started), so that a full disk cutting it on a later ``--resume`` loses nothing
    (:mod:`jetstudy.study.tune_state`). A copy that cannot be written (the disk full now) is
    said, never in place of the study's own outcome."""
    from jetstudy.study.tune_state import keep_tuner_state

    try:
        keep_tuner_state(folder)
    except OSError as exc:
        logger.warning("could not keep a copy of %s (%s); a later --resume on a full disk may "
                       "not continue Tune's experiment", folder / "ray" / "tuner.pkl",
                       exc.strerror or exc)


def _plain(path: Path) -> bool:
    from jetstudy.trainables.staging import plain_file

    return plain_file(path)
