"""A compact live progress line for a running study, as a Ray Tune callback.

Ray's own status tables are long and scroll; a physicist wants one line: trials done, running,
stopped early and failed, and the best validation metric so far. The callback only counts and
formats; where the line goes (a terminal, a log) is the caller's ``sink``, so library code never
prints. Lives in an importable module because Ray pickles callbacks by reference.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable

from ray.tune import Callback

from trainables.objective import Objective

__all__ = ["ProgressCounts", "StudyProgress"]


@dataclass
class ProgressCounts:
    """What the progress line shows; ``format`` renders it."""

    total: int
    metric: str
    mode: str
    finished: int = 0
    running: int = 0
    stopped: int = 0
    failed: int = 0
    best: float | None = None
    best_trial: str = ""

    def offer(self, value: Any, trial_id: str) -> None:
        """Keep ``value`` as the best so far if it beats it (:class:`Objective`'s rule)."""
        if Objective(self.metric, self.mode).better(value, self.best):
            self.best, self.best_trial = float(value), trial_id

    def format(self) -> str:
        best = (f"best {self.metric} {self.best:.4f} ({self.best_trial})"
                if self.best is not None else f"best {self.metric} -")
        return (f"trials {self.finished}/{self.total} finished ({self.stopped} stopped early, "
                f"{self.failed} failed), {self.running} running | {best}")


class StudyProgress(Callback):
    """Counts trial events and sends the progress line to ``sink`` when it changes
    (at most every ``min_interval_s`` seconds, plus once at the end)."""

    def __init__(self, total: int, metric: str, mode: str, max_epochs: int,
                 sink: Callable[[str], None] | None, min_interval_s: float = 0.5,
                 watch: Any = None) -> None:
        self.watch = watch  # a study.interrupts.InterruptWatch: after Ctrl-C, no last count
        self.counts = ProgressCounts(total=total, metric=metric, mode=mode)
        self.max_epochs = max_epochs
        self.sink = sink
        self.min_interval_s = min_interval_s
        self._last_line = ""
        self._last_time = 0.0
        self._last_recount = 0.0

    def __getstate__(self) -> dict[str, Any]:
        # Tune pickles callbacks into tuner.pkl; the sink (a terminal, a widget) may not
        # pickle and means nothing to a resumed driver, which passes its own
        state = self.__dict__.copy()
        state["sink"] = None
        return state

    def _emit(self, force: bool = False) -> None:
        line = self.counts.format()
        now = time.monotonic()
        if self.sink and line != self._last_line and (force or now - self._last_time
                                                      >= self.min_interval_s):
            self.sink(line)
            self._last_line, self._last_time = line, now

    def _recount(self, trials: list) -> None:
        """Counts from the trials' states, so a resumed study starts from the right numbers."""
        c = self.counts
        c.finished = c.running = c.stopped = c.failed = 0
        for trial in trials:
            status = trial.status
            if status == "RUNNING":
                c.running += 1
            elif status == "ERROR":
                c.finished += 1
                c.failed += 1
            elif status == "TERMINATED":
                c.finished += 1
                if int(trial.last_result.get("epoch", 0)) < self.max_epochs:
                    c.stopped += 1
            if status != "PENDING":
                c.offer(trial.last_result.get(c.metric), trial.trial_id)

    def on_step_begin(self, iteration: int, trials: list, **info: Any) -> None:
        now = time.monotonic()
        if self.sink and now - self._last_recount >= self.min_interval_s:  # O(trials): throttle
            self._last_recount = now
            self._recount(trials)
            self._emit()

    def on_trial_result(self, iteration: int, trials: list, trial: Any, result: dict,
                        **info: Any) -> None:
        self.counts.offer(result.get(self.counts.metric), trial.trial_id)
        self._emit()

    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._recount(trials)
        self._emit(force=True)

    def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self._recount(trials)
        self._emit(force=True)

    def on_experiment_end(self, trials: list, **info: Any) -> None:
        if self.watch is not None and self.watch.interrupted:
            return  # Tune's clean-up marked the cut-short trials finished: they are not
        self._recount(trials)
        self._emit(force=True)
