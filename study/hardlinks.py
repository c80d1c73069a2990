"""A study folder's files shared with a snapshot by hard links get copies of their own before
a driver writes (:func:`unshare_linked_files`)."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

__all__ = ["unshare_linked_files"]

logger = logging.getLogger(__name__)


def unshare_linked_files(folder: Path) -> list[Path]:
    """Give every file of the study folder ``folder`` that has other hard links (a snapshot
    made with ``cp -al study backup``, rsync ``--link-dest``, a backup tool) a copy of its own
    before this driver writes: jetstudy and its libraries append to some files in place
    (``trials/<id>/epochs.jsonl``, ``optuna.journal``, Tune's logs under ``ray/``), which would
    change the snapshot's file too (an epoch log so linked failed its trial instead). The copy
    replaces the study's name in one step; the other names keep the old bytes. Links
    (symbolic) are never followed. Call while holding the study's lock."""
    import shutil

    from jetstudy.trainables.atomic import write_atomic

    unshared = []
    for dirpath, _, filenames in os.walk(folder):  # never into a linked folder
        for name in filenames:
            path = Path(dirpath) / name
            try:
                info = path.lstat()
            except OSError:
                continue
            if not stat.S_ISREG(info.st_mode) or info.st_nlink < 2:
                continue
            write_atomic(path, lambda tmp, path=path: shutil.copy2(path, tmp))
            logger.info("%s had other hard links (a snapshot?): the study now writes a copy "
                        "of its own", path)
            unshared.append(path)
    return unshared
