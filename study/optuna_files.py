"""Where a study keeps its Optuna history: the journal file's name, the study's name in it and
the storage that reads it. Kept apart from :mod:`jetstudy.study.searcher` (which imports Ray
Tune) so that reading a finished study (``jetstudy report``, trial numbering on load) needs
only Optuna, never Ray or torch."""

from __future__ import annotations

from pathlib import Path

import optuna

__all__ = ["OPTUNA_JOURNAL", "OPTUNA_STUDY_NAME", "optuna_storage"]

OPTUNA_JOURNAL = "optuna.journal"
OPTUNA_STUDY_NAME = "jetstudy"


def optuna_storage(folder: Path) -> optuna.storages.BaseStorage:
    """The journal-file storage of the study's Optuna history."""
    from optuna.storages.journal import JournalFileBackend

    return optuna.storages.JournalStorage(JournalFileBackend(str(Path(folder) / OPTUNA_JOURNAL)))
