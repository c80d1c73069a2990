"""Live snapshots of the result tables while a study runs.

``jetstudy report`` on a running study reads these: ``trials.parquet`` and ``epochs.parquet``
are rewritten (atomically) every ``interval_s`` seconds and whenever a trial ends, with
unfinished trials as ``running``. The final tables replace them when the study ends. Nothing
is kept in the driver's memory between snapshots. Lives in an importable module because Tune
pickles callbacks.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from ray.tune import Callback

from jetstudy.study.collect import build_tables, from_live_trials
from jetstudy.study.config import StudyConfig
from jetstudy.study.tables import write_table

__all__ = ["TableSnapshots"]

logger = logging.getLogger(__name__)


class TableSnapshots(Callback):
    """Writes snapshot tables into the results folder during the study."""

    def __init__(self, cfg: StudyConfig, folder: Path, interval_s: float = 10.0,
                 min_gap_s: float = 2.0) -> None:
        self.cfg = cfg
        self.folder = folder
        self.interval_s = interval_s
        self.min_gap_s = min_gap_s  # trial endings come in bursts: at most one write per gap
        self._last = 0.0
        self._cost = 0.0  # seconds the last snapshot took
        self._failing = False  # the last snapshot failed (warned once until one succeeds)

    def _write(self, trials: list, due_after: float) -> None:
        now = time.monotonic()
        # a snapshot reads every trial's epoch log: in a large study, space them out so they
        # take at most ~5% of the driver's time
        if now - self._last < max(due_after, 20 * self._cost):
            return
        try:  # a snapshot must never fail a trial or stop the study
            trials_table, epochs_table = build_tables(
                from_live_trials(trials), self.cfg, str(self.folder / "trials"),
                with_orphans=False)
            if not len(trials_table):
                return  # nothing trained yet: no snapshot, and none is due later because of it
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
        self._write(trials, self.interval_s)

    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._write(trials, self.min_gap_s)

    def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._write(trials, self.min_gap_s)
