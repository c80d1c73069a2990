"""Live snapshots of the result tables while a study runs.

``jetstudy report`` on a running study reads these: ``trials.parquet`` and ``epochs.parquet``
are rewritten (atomically) every ``interval_s`` seconds and whenever a trial ends, with
unfinished trials as ``running``. The final tables replace them when the study ends. Nothing
is kept in the driver's memory between snapshots. Lives in an importable module because Tune
pickles callbacks.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Any

from ray.tune import Callback

from jetstudy.study.collect import build_tables, from_live_trials
from jetstudy.study.config import StudyConfig
from jetstudy.study.lock import lost_to
from jetstudy.study.tables import write_table

__all__ = ["TableSnapshots", "TUNE_PERIOD_ENV", "tune_snapshot_period_s",
           "set_tune_snapshot_period", "check_tune_period_env"]

logger = logging.getLogger(__name__)

#: Tune's own experiment snapshot period (seconds; Ray reads it when the study starts).
TUNE_PERIOD_ENV = "TUNE_GLOBAL_CHECKPOINT_S"
#: The driver's CPU seconds per trial for one of Tune's experiment snapshots (every trial's
#: state as JSON): 0.96 ms at 40 trials, the snapshot's own thread CPU (bench.many_packs
#: ``tune_snapshots_full``, 2026-11-29; bench/README.md "Many packs").
SNAPSHOT_S_PER_TRIAL = 0.001
#: The share of a core the snapshots may take (Tune's own "auto" allows 5% of the time; the
#: driver's whole loop used 0.2-0.4 of a core with 16-40 trials, so 5% of a core was a fifth
#: of its main thread): a snapshot's cost per second stays flat as the trials grow.
SNAPSHOT_CORE_SHARE = 0.004
#: The longest period (seconds): a resume does not need a recent snapshot (trials that trained
#: after it are found from their own folders and continued), but Tune's ``ray/`` folder, which
#: other readers use, should not lag a long study by more.
MAX_PERIOD_S = 60
#: The values this module set (so a later study in the same process may set its own; a value
#: the user set is never replaced).
_set_by_us: list[str] = []


def tune_snapshot_period_s(concurrent: int) -> float:
    """Tune's experiment snapshot period for ``concurrent`` trials at once: each snapshot writes
    every trial's state, so the period grows with the trials to keep their cost near
    :data:`SNAPSHOT_CORE_SHARE` of a core (0.25 s per trial: 1 s up to 5 trials, 4 s at 16, 10
    s at 40, at most :data:`MAX_PERIOD_S`). At 1 s for up to 20 trials and 2 s at 40 it took
    46-50% of the driver's main thread (cProfile; 22% of the driver's CPU unprofiled at 40).
    A trial that trains after the last snapshot is not lost to a ``--resume`` after a crash:
    its folder holds its epochs and checkpoint, and the next driver lists or continues it
    (tests/study/test_referee11_driver_snapshots.py: a snapshot an hour apart)."""
    per_trial = SNAPSHOT_S_PER_TRIAL / SNAPSHOT_CORE_SHARE
    return float(min(MAX_PERIOD_S, max(1, round(concurrent * per_trial))))


def check_tune_period_env() -> None:
    """The user's own :data:`TUNE_PERIOD_ENV`, as Tune reads it (``auto`` or ``float(value)``):
    anything else stopped the study in Tune with a raw ValueError after its folder was made, and
    ``inf``/``nan``/a negative number would be taken: Tune snapshots once as its loop starts
    (its last-save time starts at minus infinity) and then, with ``inf``, only as the study
    ends, so its ``ray/`` folder would lag the whole study (a ``--resume`` after a crash does
    not lose the trials trained since: they are found from their folders, as with any
    period). Refused with a ConfigError naming the variable, before any work (``jetstudy
    run``)."""
    import math

    from jetstudy.trainables.errors import ConfigError

    raw = os.environ.get(TUNE_PERIOD_ENV)
    if raw is None or raw in _set_by_us or raw == "auto":
        return
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if math.isfinite(value) and value >= 0:
        return
    word = raw.strip().lower()
    hint = (" (Ray reads only 'auto', in lower case and without spaces)" if word == "auto" else
            f" (infinite: Tune would save its experiment state in ray/ as the study starts and "
            f"then only as it ends, so ray/ would lag the whole study; jetstudy keeps it at most "
            f"{MAX_PERIOD_S} s behind)" if value == math.inf else " (negative)" if value < 0 else "")
    raise ConfigError(f"{TUNE_PERIOD_ENV} is {raw!r}, but Ray Tune takes auto or a number of "
                      f"seconds >= 0 between its experiment snapshots{hint}; unset it "
                      f"(jetstudy then picks the period) or set e.g. {TUNE_PERIOD_ENV}=10")


def set_tune_snapshot_period(concurrent: int) -> None:
    """Set :data:`TUNE_PERIOD_ENV` for a study of ``concurrent`` trials at once, unless the
    user set it (checked: :func:`check_tune_period_env`)."""
    current = os.environ.get(TUNE_PERIOD_ENV)
    if current is not None and current not in _set_by_us:
        check_tune_period_env()
        return  # the user's own value
    value = f"{tune_snapshot_period_s(concurrent):g}"
    os.environ[TUNE_PERIOD_ENV] = value
    _set_by_us.append(value)


class TableSnapshots(Callback):
    """Writes snapshot tables into the results folder during the study."""

    def __init__(self, cfg: StudyConfig, folder: Path, interval_s: float = 10.0,
                 min_gap_s: float = 2.0) -> None:
        self.cfg = cfg
        self.folder = folder
        self.interval_s = interval_s
        self.min_gap_s = min_gap_s  # trial endings come in bursts: at most one write per gap
        self._last = 0.0
        self._empty = -float("inf")  # when a look found nothing trained yet
        self._cost = 0.0  # seconds the last snapshot took
        self._failing = False  # the last snapshot failed (warned once until one succeeds)

    def _write(self, trials: list, due_after: float, step: bool = False) -> None:
        now = time.monotonic()
        # a snapshot reads every trial's epoch log: in a large study, space them out so they
        # take at most ~5% of the driver's time
        if now - self._last < max(due_after, 20 * self._cost):
            return
        # while nothing has trained, Tune's loop steps many times a second: look at every
        # trial's folder again only after a gap, not at each step (a trial ending always looks)
        if step and now - self._empty < self.min_gap_s:
            return
        if lost_to(self.folder) is not None:  # another driver took the study over: its
            return                               # tables now, never written over
        try:  # a snapshot must never fail a trial or stop the study
            trials_table, epochs_table = build_tables(
                from_live_trials(trials), self.cfg, str(self.folder / "trials"),
                with_orphans=False)
            if not len(trials_table):
                self._empty = now
                return  # nothing trained yet: no snapshot; look again after min_gap_s
            self._last = now
            write_table(trials_table, self.folder, "trials")
            write_table(epochs_table, self.folder, "epochs")
        except Exception as exc:
            self._last = now
            self._failed(exc)
            return
        if self._failing:
            logger.warning("table snapshots of %s are written again", self.folder)
            self._failing = False
        self._cost = time.monotonic() - now

    def _failed(self, exc: Exception) -> None:
        """Warn once per run of failures (not at every snapshot); the trials go on."""
        if self._failing:
            logger.debug("table snapshot skipped again: %s", exc)
            return
        self._failing = True
        where = f"{exc.filename}: " if isinstance(exc, OSError) and exc.filename else ""
        reason = (exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc))
        logger.warning("live table snapshots of %s cannot be written (%s%s); the trials go "
                       "on, and the final tables are written when the study ends: check that "
                       "the study folder is writable", self.folder, where, reason)

    def on_step_begin(self, iteration: int, trials: list, **info: Any) -> None:
        self._write(trials, self.interval_s, step=True)

    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._write(trials, self.min_gap_s)

    def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._write(trials, self.min_gap_s)
