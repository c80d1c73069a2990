"""Tune's ``ray/tuner.pkl``, kept whole across a full disk.

Tune writes ``tuner.pkl`` when a study starts and, on ``--resume``, copies its experiment
folder up again from the driver's staging copy, ``tuner.pkl`` with it, in place. A full disk
at that moment left it empty or cut short: the run ended with "No space left on device"
naming no file, and every later ``--resume`` with a raw ``EOFError`` traceback from Tune, even
once space was freed (the study could no longer be continued). jetstudy now keeps a copy of
the whole file beside the study's (:data:`COPY`, written atomically, so never itself cut) as
Tune writes or before it reads it (:func:`keep_tuner_state`), and a ``--resume`` that finds
``tuner.pkl`` cut short puts the copy back (:func:`mend_tuner_state`), or, with no whole
copy, says what happened and what to do. Wholeness is read from the pickle's opcodes
(:func:`pickletools.genops`), never by unpickling it.
"""

from __future__ import annotations

import logging
import os
import pickletools
import shutil
from pathlib import Path

from jetstudy.trainables.errors import ConfigError
from jetstudy.trainables.plain_read import read_plain_bytes

__all__ = ["TUNER_STATE", "COPY", "whole_pickle", "keep_tuner_state", "mend_tuner_state"]

logger = logging.getLogger(__name__)

#: Tune's own file in the study's ``ray/`` folder (``ray.tune.impl.tuner_internal._TUNER_PKL``).
TUNER_STATE = "tuner.pkl"
#: The copy jetstudy keeps in the study folder (hidden, outside ``ray/``, which Tune syncs).
COPY = ".tuner.pkl.whole"


def whole_pickle(path: Path) -> bool:
    """``path`` is a plain file holding one whole pickle (its opcodes read to STOP), read
    without unpickling (which would run whatever code it names)."""
    try:
        if not path.is_file() or path.is_symlink():
            return False
        data = read_plain_bytes(path)
    except OSError:
        return False
    try:
        for _ in pickletools.genops(data):
            pass
    except Exception:  # cut short (ValueError), or not a pickle at all
        return False
    return bool(data)


def keep_tuner_state(folder: Path) -> None:
    """Copy the study ``folder``'s whole ``ray/tuner.pkl`` to :data:`COPY` (atomically: a full
    disk raises, naming the copy, before Tune has written anything; never a cut copy)."""
    from jetstudy.trainables.atomic import write_atomic

    state = folder / "ray" / TUNER_STATE
    if not whole_pickle(state):
        return
    copy = folder / COPY
    if whole_pickle(copy) and read_plain_bytes(copy) == read_plain_bytes(state):
        return
    write_atomic(copy, lambda tmp: shutil.copyfile(state, tmp))


def mend_tuner_state(folder: Path) -> None:
    """Before ``--resume`` reads Tune's state: a ``ray/tuner.pkl`` cut short (a full disk as
    Tune wrote it) is put back from :data:`COPY` when that is whole; else a ConfigError names
    the file, what it holds and the way on (the study's tables and trials are untouched)."""
    from jetstudy.trainables.atomic import write_atomic

    state = folder / "ray" / TUNER_STATE
    if not os.path.lexists(state) or whole_pickle(state):
        return
    copy = folder / COPY
    size = state.stat().st_size if state.is_file() else 0
    if whole_pickle(copy):
        write_atomic(state, lambda tmp: shutil.copyfile(copy, tmp))
        logger.warning("%s was cut short (%d bytes: the disk was full as Tune wrote it?); put "
                       "back from jetstudy's copy %s", state, size, copy)
        return
    raise ConfigError(
        f"--resume: Tune's saved experiment {state} is cut short ({size} bytes: the disk was "
        f"full, or the driver killed, as Tune wrote it), and jetstudy holds no whole copy of "
        f"it; Tune cannot continue the study from it. The study's tables and trials are "
        f"whole: `jetstudy report {folder}` reads them; to run more trials, move {state.parent} "
        f"aside (mv {state.parent} {state.parent}.cut) and resume again: the search then "
        f"starts afresh beside the trials already run")
