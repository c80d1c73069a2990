"""A study folder's files shared with a snapshot by hard links get copies of their own before
a driver writes (:func:`unshare_linked_files`), the ones written in place only."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

__all__ = ["unshare_linked_files", "REPLACED_WHOLE"]

logger = logging.getLogger(__name__)

#: Folders of a study whose files jetstudy only ever replaces whole (a new file renamed over
#: the name, or the folder swapped) or removes, never writes into: ``data/`` (the synthetic
#: jets, gigabytes for a big study), ``best/`` (swapped whole), ``report/`` and ``export/``
#: (each file renamed into place). A snapshot's link to one of their files never sees a
#: change, so it keeps sharing the bytes.
REPLACED_WHOLE = frozenset({"data", "best", "report", "export"})


def _replaced_whole(rel: tuple[str, ...]) -> bool:
    """The study's file at the relative path ``rel`` is only ever replaced whole
    (:data:`REPLACED_WHOLE`, or a file of :data:`jetstudy.study.paths.ATOMIC_FILES`)."""
    from jetstudy.study.paths import ATOMIC_FILES

    if rel[0] in REPLACED_WHOLE:
        return True
    if len(rel) == 1:
        return rel[0] in ATOMIC_FILES[""]
    return len(rel) == 3 and rel[0] == "trials" and rel[2] in ATOMIC_FILES["trials/*"]


def _another_study(path: Path) -> bool:
    """``path``, a folder inside the study folder, is a study of its own (one whose
    ``storage.results_dir`` is this study folder or a folder in it): its files are its
    driver's alone, which may be appending to them right now (a copy renamed over its
    ``optuna.journal`` would take its next lines away from it), and which gives them copies
    of their own when it runs."""
    from jetstudy.study.paths import holds_study, marked

    return marked(path) or holds_study(path)  # the mark as listed: never a user's .JetStudy-Study


def unshare_linked_files(folder: Path) -> list[Path]:
    """Give every file of the study folder ``folder`` that has other hard links (a snapshot
    made with ``cp -al study backup``, rsync ``--link-dest``, a backup tool) and that may be
    written in place a copy of its own before this driver writes: jetstudy and its libraries
    append to some files in place (``trials/<id>/epochs.jsonl``, ``optuna.journal``, Tune's
    logs under ``ray/``), which would change the snapshot's file too (an epoch log so linked
    failed its trial instead). The copy replaces the study's name in one step; the other
    names keep the old bytes. Files only ever replaced whole (the synthetic jets in
    ``data/``, the tables, checkpoints: :func:`_replaced_whole`) stay linked: copying them
    protects nothing and costs their size again (a study of 10 GB of jets linked by a nightly
    snapshot doubled on every resume). Any file jetstudy does not know stays on the copying
    side. Links (symbolic) are never followed, and another study inside the folder (a study
    whose results_dir is this one) is left to its own driver. Call while holding the study's
    lock."""
    import shutil

    from jetstudy.trainables.atomic import write_atomic

    unshared = []
    for dirpath, dirnames, filenames in os.walk(folder):  # never into a linked folder
        here = Path(dirpath).relative_to(folder).parts
        if not here:  # never walked: folders whose files are all replaced whole
            dirnames[:] = [d for d in dirnames if d not in REPLACED_WHOLE]
        dirnames[:] = [d for d in dirnames if not _another_study(Path(dirpath) / d)]
        for name in filenames:
            path = Path(dirpath) / name
            if _replaced_whole((*here, name)):
                continue
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
