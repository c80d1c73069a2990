"""Temporaries a killed jetstudy writer left in a study folder, cleared as a driver takes the
study's lock (:func:`clear_dead_temporaries`; :mod:`jetstudy.study.paths` re-exports it)."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

from jetstudy.trainables.atomic import temporary_of
from jetstudy.trainables.staging import plain_file

__all__ = ["ATOMIC_FILES", "clear_dead_temporaries", "real_folder", "sorted_entries"]

logger = logging.getLogger(__name__)


def sorted_entries(folder: Path) -> list[str]:
    """The names in ``folder``, sorted; none for a folder not there (also paths.py's and
    file_record.py's listing)."""
    try:
        return sorted(os.listdir(folder))
    except FileNotFoundError:
        return []


#: The files of a study written through :func:`jetstudy.trainables.atomic.write_atomic`, by
#: the folder they stand in ("" the study folder, "trials/*" a trial's, "data" the synthetic
#: jets'): a temporary of one of them (:func:`jetstudy.trainables.atomic.temporary_name`, its
#: name carrying a check only jetstudy writes) that is still there when a driver takes the
#: study's lock was left by a killed writer (``kill -9`` of the driver, a trial's worker killed
#: mid-checkpoint). A name merely shaped like one (``.config.yaml.original.tmp``, or an older
#: jetstudy's ``.<name>.<8 random>.tmp``, which cannot be told from a user's) stays.
ATOMIC_FILES = {
    "": frozenset({"config.yaml", "scaler.json", "data_summary.json", "reference.json",
                   "provenance.json", "ray_session.json", "packs.json", "pack_data.npz",
                   "trials.parquet", "trials.csv", "epochs.parquet", "epochs.csv",
                   ".tuner.pkl.whole"}),
    "trials/*": frozenset({"state.pt", "best.pt", "config.json"}),
    "data": frozenset({".jetstudy-synthetic.json"}),
}


def _dead_temporary(folder: Path, name: str, files: frozenset[str]) -> bool:
    return temporary_of(name) in files and plain_file(folder / name)


def clear_dead_temporaries(folder: Path) -> list[Path]:
    """Remove the atomic writers' temporaries a killed driver or trial left in the study
    folder ``folder`` (see :data:`ATOMIC_FILES`). Call only while holding the study's lock,
    before this run writes anything: no other writer of this study is alive then. Only the
    exact names of jetstudy's own files' temporaries, plain files (a link is never
    followed), in jetstudy's real folders count, and only when the name carries jetstudy's
    check (:func:`~jetstudy.trainables.atomic.temporary_of`): a user's file or a look-alike
    under the same pattern stays. Tune's ``ray/tuner.pkl`` cut short (a full disk as Tune
    wrote it: every ``--resume`` failed on it) is put back from jetstudy's whole copy, which is
    then taken of the file as it stands (:mod:`jetstudy.study.tune_state`)."""
    from jetstudy.study.tune_state import keep_tuner_state, mend_tuner_state

    mend_tuner_state(folder)
    keep_tuner_state(folder)
    folders = [(folder, ATOMIC_FILES[""]), (folder / "data", ATOMIC_FILES["data"])]
    trials = folder / "trials"
    if real_folder(trials):
        folders += [(trials / n, ATOMIC_FILES["trials/*"]) for n in sorted_entries(trials)
                    if real_folder(trials / n)]
    removed = []
    for where, files in folders:
        if not real_folder(where):
            continue
        for name in sorted_entries(where):
            if _dead_temporary(where, name, files):
                try:
                    (where / name).unlink()
                except OSError as exc:
                    logger.warning("could not remove %s, left by a killed writer: %s",
                                   where / name, exc)
                    continue
                logger.info("removed %s, left by a killed jetstudy writer", where / name)
                removed.append(where / name)
    return removed


def real_folder(path: Path) -> bool:
    try:
        return stat.S_ISDIR(path.lstat().st_mode)
    except OSError:
        return False
