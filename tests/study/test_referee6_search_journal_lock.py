"""Round 6: a driver killed while it wrote the Optuna journal (kill -9 in the middle of a
trial's proposal) leaves Optuna's file lock ``optuna.journal.lock``; the resumed driver then
waited Optuna's 30 s grace period at its first write and printed "taking longer than 10.0
seconds to acquire the lock file ... Forcibly releasing the lock file" three times. The
launch now removes it while holding the study's lock (``searcher.clear_stale_journal_lock``).
A real journal, no Ray; nothing here depends on time."""

from __future__ import annotations

import os
from pathlib import Path

import optuna

from jetstudy.study.searcher import (OPTUNA_JOURNAL, OPTUNA_STUDY_NAME,
                                     clear_stale_journal_lock, optuna_storage)


def test_a_killed_writers_lock_is_removed_and_the_journal_written(tmp_path: Path) -> None:
    study = optuna.create_study(study_name=OPTUNA_STUDY_NAME, storage=optuna_storage(tmp_path))
    study.ask()
    lock = tmp_path / f"{OPTUNA_JOURNAL}.lock"
    os.symlink(str(tmp_path / "optuna.journal.lock-dead"), lock)  # as Optuna's lock makes it
    assert clear_stale_journal_lock(tmp_path) is True
    assert not lock.is_symlink() and not lock.exists()
    again = optuna.load_study(study_name=OPTUNA_STUDY_NAME, storage=optuna_storage(tmp_path))
    again.ask()  # would wait the grace period on a lock left in place
    assert len(again.trials) == 2
    assert clear_stale_journal_lock(tmp_path) is False  # none there: nothing done


def test_a_plain_lock_file_goes_a_folder_of_that_name_stays(tmp_path: Path) -> None:
    lock = tmp_path / f"{OPTUNA_JOURNAL}.lock"
    lock.write_text("")  # Optuna's open-file lock (NFS) is a plain file
    assert clear_stale_journal_lock(tmp_path) is True and not lock.exists()
    lock.mkdir()
    assert clear_stale_journal_lock(tmp_path) is False and lock.is_dir()


def test_the_launch_clears_it_under_the_study_lock() -> None:
    """The call sits where the killed driver's other leftovers are cleared: inside the study
    lock, before anything of this run opens the journal."""
    source = (Path(__file__).parents[2] / "study" / "launch.py").read_text()
    locked = source.index("StudyLock(folder):")
    cleared = source.index("clear_stale_journal_lock(folder)")
    assert locked < cleared < source.index("_run_locked(cfg, folder, resume", locked)
