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

from study.collect import build_tables, from_live_trials
from study.config import StudyConfig
from study.tables import write_table

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

    def _write(self, trials: list, due_after: float) -> None:
        now = time.monotonic()
        # a snapshot reads every trial's epoch log: in a large study, space them out so they
        # take at most ~5% of the driver's time
        if now - self._last < max(due_after, 20 * self._cost):
            return
        self._last = now
        try:
            tables = build_tables(from_live_trials(trials), self.cfg,
                                  str(self.folder / "trials"), with_orphans=False)
        except Exception as exc:  # a snapshot must never stop the study
            logger.warning("table snapshot skipped: %s", exc)
            return
        trials_table, epochs_table = tables
        if len(trials_table):
            write_table(trials_table, self.folder, "trials")
            write_table(epochs_table, self.folder, "epochs")
        self._cost = time.monotonic() - now

    def on_step_begin(self, iteration: int, trials: list, **info: Any) -> None:
        self._write(trials, self.interval_s)

    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._write(trials, self.min_gap_s)

    def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._write(trials, self.min_gap_s)
