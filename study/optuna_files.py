"""Where a study keeps its Optuna history: the journal file's name, the study's name in it and
the storage that reads it, and the clearing of the stale lock a killed driver leaves. Kept apart from :mod:`jetstudy.study.searcher` (which imports Ray
Tune) so that reading a finished study (``jetstudy report``, trial numbering on load) needs
only Optuna, never Ray or torch."""

from __future__ import annotations

import logging
from pathlib import Path

import optuna

__all__ = ["OPTUNA_JOURNAL", "OPTUNA_STUDY_NAME", "optuna_storage", "clear_stale_journal_lock"]

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
