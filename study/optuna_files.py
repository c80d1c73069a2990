"""Where a study keeps its Optuna history: the journal file's name, the study's name in it and
the storage that reads it, and the clearing of the stale lock a killed driver leaves. Kept apart from :mod:`jetstudy.study.searcher` (which imports Ray
Tune) so that reading a finished study (``jetstudy report``, trial numbering on load) needs
only Optuna, never Ray or torch."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

import optuna

__all__ = ["OPTUNA_JOURNAL", "OPTUNA_STUDY_NAME", "optuna_storage", "clear_stale_journal_lock",
           "drop_cut_journal_line"]

logger = logging.getLogger(__name__)

OPTUNA_JOURNAL = "optuna.journal"
OPTUNA_STUDY_NAME = "jetstudy"


def optuna_storage(folder: Path) -> optuna.storages.BaseStorage:
    """The journal-file storage of the study's Optuna history."""
    from optuna.storages.journal import JournalFileBackend

    return optuna.storages.JournalStorage(JournalFileBackend(str(Path(folder) / OPTUNA_JOURNAL)))


def clear_stale_journal_lock(folder: Path) -> bool:
    """Remove ``optuna.journal.lock`` that a driver killed while writing the journal left
    (Optuna's file lock: a link, or a file); True when one was removed. Call only while
    holding the study's lock (:mod:`jetstudy.study.lock`), before this run opens the
    journal: the driver is the journal's only writer, so no live writer holds it then. Left
    in place, every write of the resumed study waited Optuna's 30 s grace period and printed
    "taking longer than 10.0 seconds to acquire the lock file ... Forcibly releasing"."""
    lock = Path(folder) / f"{OPTUNA_JOURNAL}.lock"
    if not (lock.is_symlink() or lock.is_file()):  # a folder of that name is the user's
        return False
    try:
        lock.unlink()
    except FileNotFoundError:
        return False
    logger.info("removed %s, left by a driver killed while writing the Optuna journal", lock)
    return True


def drop_cut_journal_line(folder: Path) -> bool:
    """Cut ``optuna.journal`` back to its last whole line when it ends in a line cut short (a
    full disk, a quota or ``ulimit -f`` while Optuna appended, or a kill mid-write); True when
    it did. Optuna skips such a last line when it reads, but appends the next one right after
    it: the glued line then broke every later read, and ``--resume`` ended in a traceback
    (``'JournalStorageReplayResult' object has no attribute
    '_last_created_trial_id_by_this_process'``). The bytes dropped are an operation Optuna
    never applied. Call only while holding the study's lock, before this run opens the journal
    (and after :func:`jetstudy.study.hardlinks.unshare_linked_files`: a snapshot's link keeps
    its bytes); a link or folder under that name is never touched."""
    path = Path(folder) / OPTUNA_JOURNAL
    try:
        if not stat.S_ISREG(path.lstat().st_mode):
            return False
        fd = os.open(path, os.O_RDWR | os.O_NOFOLLOW)
    except OSError:
        return False
    try:
        size = os.fstat(fd).st_size
        if size == 0 or os.pread(fd, 1, size - 1) == b"\n":
            return False
        end, chunk = size, 1 << 16
        while end > 0:
            start = max(0, end - chunk)
            found = os.pread(fd, end - start, start).rfind(b"\n")
            if found >= 0:
                end = start + found + 1
                break
            end = start
        os.ftruncate(fd, end)
    except OSError as exc:
        logger.warning("%s ends in a line cut short, which could not be removed (%s): the "
                       "study's next Optuna writes may not be readable", path, exc)
        return False
    finally:
        os.close(fd)
    logger.warning("%s ended in a line cut short (a full disk, or a kill while Optuna wrote "
                   "it); its %d bytes, never read by Optuna, were removed", path, size - end)
    return True
