"""A compact live progress line for a running study, as a Ray Tune callback.

Ray's own status tables are long and scroll; a physicist wants one line: trials done, running,
stopped early and failed, the best validation metric so far, the time since the run started
and an estimate of the time left (from the trials this run finished so far). The callback only counts and
formats; where the line goes (a terminal, a log) is the caller's ``sink``, so library code never
prints. Lives in an importable module because Ray pickles callbacks by reference.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from ray.tune import Callback

from jetstudy.analysis.trial_order import order_of
from jetstudy.trainables.objective import Objective, is_finite_number
from jetstudy.trainables.table_schema import TRIAL_ORDER
from jetstudy.trainables.plain_read import read_plain

__all__ = ["ProgressCounts", "StudyProgress", "format_duration"]


def format_duration(seconds: float) -> str:
    """``42s``, ``3m05s``, ``2h07m``: short enough for a progress line."""
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


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
    elapsed_s: float | None = None  # since this run started
    eta_s: float | None = None  # estimated time left; None until a trial finished
    _by_trial: dict[str, float] = field(default_factory=dict, repr=False)  # each trial's best
    _partial: dict[str, bool] = field(default_factory=dict, repr=False)  # not (yet) complete
    _size: dict[str, float] = field(default_factory=dict, repr=False)  # n_params
    _order: dict[str, float] = field(default_factory=dict, repr=False)  # trial_number

    def timing(self, elapsed_s: float, finished_this_run: int) -> None:
        """Set the elapsed time, and the time left at this run's pace so far (trials finished
        per second; the unfinished trials of a study are assumed alike)."""
        self.elapsed_s = elapsed_s
        left = self.total - self.finished
        self.eta_s = (elapsed_s / finished_this_run * left
                      if finished_this_run > 0 and left >= 0 else None)

    def _key(self, trial_id: str) -> tuple[float, bool, float, float, str]:
        """The report's ranking (``jetstudy.analysis.summary.best_trial``): the value, then a
        completed trial over a stopped or running one, the fewer parameters, the first
        proposed (``trial_number``, then the id: :mod:`jetstudy.analysis.trial_order`)."""
        sign = Objective(self.metric, self.mode).sign
        return (sign * self._by_trial[trial_id], self._partial.get(trial_id, True),
                self._size.get(trial_id, math.inf), self._order.get(trial_id, math.inf),
                trial_id)

    def offer(self, value: Any, trial_id: str, complete: bool = False,
              n_params: Any = None, order: Any = None) -> None:
        """Keep ``value`` as the trial's best if it beats it (:class:`Objective`'s rule), and
        the trial as the study's best if it ranks first (an exact tie as the report breaks it:
        ``complete`` trials first, then the fewer ``n_params``, then the lower ``order``, the
        trial's ``trial_number``, then the first id)."""
        objective = Objective(self.metric, self.mode)
        if order is not None:
            self._order[trial_id] = order_of(order)
        if complete:
            self._partial[trial_id] = False
        if is_finite_number(n_params):
            self._size[trial_id] = float(n_params)
        if objective.better(value, self._by_trial.get(trial_id)):
            self._by_trial[trial_id] = float(value)
        if trial_id not in self._by_trial:
            return
        if (trial_id == self.best_trial or self.best_trial not in self._by_trial
                or self._key(trial_id) < self._key(self.best_trial)):
            self.best, self.best_trial = self._by_trial[trial_id], trial_id

    def withdraw(self, trial_id: str) -> None:
        """A failed trial is never best (the tables' rule): forget its values, and take the
        best of the other trials' when it led."""
        self._by_trial.pop(trial_id, None)
        if trial_id == self.best_trial:
            self.best, self.best_trial = None, ""
            for other in self._by_trial:
                self.offer(None, other)

    def format(self) -> str:
        best = (f"best {self.metric} {self.best:.4f} ({self.best_trial})"
                if self.best is not None else f"best {self.metric} -")
        # a resume that lowered search.num_trials keeps the trials it had started
        total = max(self.total, self.finished + self.running)
        line = (f"trials {self.finished}/{total} finished ({self.stopped} stopped early, "
                f"{self.failed} failed), {self.running} running | {best}")
        if self.elapsed_s is not None:
            eta = f"ETA {format_duration(self.eta_s)}" if self.eta_s is not None else "ETA -"
            line += f" | {format_duration(self.elapsed_s)} elapsed, {eta}"
        return line


def _number(trial: Any, fallback: Any = None) -> Any:
    """The trial's ``trial_number`` (its config's, set by the searcher), else ``fallback``."""
    config = getattr(trial, "config", None)
    number = config.get(TRIAL_ORDER) if isinstance(config, dict) else None
    return fallback if number is None else number


def _created(trial: Any, index: int) -> int:
    """The counter Ray Tune created the trial with (the number that begins its
    ``experiment_tag``: the order of proposal, as ``trial_numbers`` numbers the tables), else
    its place in Tune's list (which is in no such order)."""
    from jetstudy.study.trial_numbers import creation_counter

    counter = creation_counter(getattr(trial, "experiment_tag", None))
    return index if counter is None else counter


def _best_reported(trial: Any, metric: str, mode: str) -> Any:
    """The best ``metric`` Tune recorded over all of the trial's results (its run metadata,
    restored on resume, where a trial of the earlier run has no new result to offer): the
    tables rank a trial by its best epoch, not its last."""
    try:
        return trial.run_metadata.metric_analysis[metric][mode]
    except (AttributeError, KeyError, TypeError):
        return None


class StudyProgress(Callback):
    """Counts trial events and sends the progress line to ``sink`` when it changes
    (at most every ``min_interval_s`` seconds, plus once at the end)."""

    def __init__(self, total: int, metric: str, mode: str, max_epochs: int,
                 sink: Callable[[str], None] | None, min_interval_s: float = 0.5,
                 watch: Any = None, state_dir: str | None = None) -> None:
        self.watch = watch  # a study.interrupts.InterruptWatch: after Ctrl-C, no last count
        # the trials' folders: the last count reads the epoch logs Tune's results lag behind
        self.state_dir = state_dir
        self.counts = ProgressCounts(total=total, metric=metric, mode=mode)
        self.max_epochs = max_epochs
        self.sink = sink
        self.min_interval_s = min_interval_s
        self._last_line = ""
        self._last_time = 0.0
        self._last_recount = 0.0
        self._started = time.monotonic()
        self._finished_before: int | None = None  # trials finished before this run (resume)
        self._ended = False  # Tune's loop ended: nothing is left to wait for
        self._orphan_folders: list | None = None  # trial folders Tune did not know at the start

    def setup(self, **info: Any) -> None:
        """Tune calls this when the run starts: the clock of ``elapsed`` and ``ETA``."""
        self._started = time.monotonic()
        self._finished_before = None
        self._ended = False
        self._orphan_folders = None

    def __getstate__(self) -> dict[str, Any]:
        # Tune pickles callbacks into tuner.pkl; the sink (a terminal, a widget) may not
        # pickle and means nothing to a resumed driver, which passes its own
        state = self.__dict__.copy()
        state["sink"] = None
        return state

    def _emit(self, force: bool = False) -> None:
        now = time.monotonic()
        c = self.counts
        if self._finished_before is None:
            self._finished_before = c.finished
        c.timing(now - self._started, c.finished - self._finished_before)
        if self._ended:  # the study is over (a time budget ends it with trials left): no ETA
            c.eta_s = 0.0
        line = c.format()
        if self.sink and line != self._last_line and (force or now - self._last_time
                                                      >= self.min_interval_s):
            self.sink(line)
            self._last_line, self._last_time = line, now

    def _logged(self, trial: Any, last: dict) -> dict:
        """``last`` (the trial's last result Tune received) or, when the trial's epoch log
        reaches further (the time budget ended the study after an epoch was written but before
        Tune received it), the log's last epoch with the log's best ``metric``: what the
        tables count (:func:`jetstudy.study.collect.build_tables` reads the log)."""
        if not self.state_dir:
            return last
        from jetstudy.trainables.trialfiles import read_epochs

        records = read_epochs(self.state_dir, str(trial.trial_id))
        if not records or int(records[-1].get("epoch", 0)) <= int(last.get("epoch") or 0):
            return last
        metric, mode = self.counts.metric, self.counts.mode
        best = Objective(metric, mode).best_value([r.get(metric) for r in records])
        return {**records[-1], metric: best}

    def _recount(self, trials: list, logs: bool = False) -> None:
        """Counts from the trials' states, so a resumed study starts from the right numbers;
        with ``logs`` (the study's last count) ended trials count as far as their epoch logs
        reach, as the tables do."""
        c = self.counts
        c.finished = c.running = c.stopped = c.failed = 0
        for index, trial in enumerate(trials):
            status = trial.status
            if status == "RUNNING":
                c.running += 1
            elif status == "ERROR":
                c.finished += 1
                c.failed += 1
                c.withdraw(trial.trial_id)
                continue
            last, complete = trial.last_result or {}, False
            if status == "TERMINATED" and logs:
                last = self._logged(trial, last)
            if status == "TERMINATED":
                if not last.get("epoch"):  # cut by the time budget before its first epoch:
                    continue  # not in the tables, and a resume gives its place to a new one
                c.finished += 1
                # a trial that converged by its patience ended by itself, not early
                complete = int(last.get("epoch", 0)) >= self.max_epochs or bool(
                    last.get("converged"))
                if not complete:
                    c.stopped += 1
            if status != "PENDING":
                # a trial started before trial_number existed (an older study resumed):
                # before every numbered one, in the order Tune created them, as the tables
                # number it (jetstudy.study.trial_numbers)
                c.offer(last.get(c.metric), trial.trial_id, complete, last.get("n_params"),
                        _number(trial, _created(trial, index) - 10**9))
                c.offer(_best_reported(trial, c.metric, c.mode), trial.trial_id, complete)
        if self.state_dir:
            self._count_orphans({str(t.trial_id) for t in trials}, ended_only=not logs)

    def _count_orphans(self, known: set[str], ended_only: bool = False) -> None:
        """Trials Tune does not know but the tables list from their folders
        (:func:`jetstudy.study.collect.build_tables`' orphans: trained after Tune's last
        snapshot before a driver crash, not continued after it): finished, stopped early
        unless they trained every epoch or converged. ``ended_only`` (while Tune runs): only
        those that ended (the others may yet be adopted and continue)."""
        from pathlib import Path

        from jetstudy.trainables.trialfiles import CONFIG_FILE, has_ended, read_epochs

        c = self.counts
        if self._orphan_folders is None:  # listed once a run: a folder made later is a trial
            # Tune started, so it knows it (a glob of every trial folder at each completion was
            # quadratic in the trials)
            self._orphan_folders = [f for f in sorted(Path(self.state_dir).glob(
                f"*/{CONFIG_FILE}")) if f.parent.name not in known]
        for config_file in self._orphan_folders:
            trial_id = config_file.parent.name
            records = [] if trial_id in known else read_epochs(self.state_dir, trial_id)
            if not records:
                continue
            last = records[-1]
            trained = max(int(r.get("epoch", 0)) for r in records)
            complete = trained >= self.max_epochs or bool(last.get("converged"))
            if ended_only and not has_ended(self.state_dir, trial_id, trained, self.max_epochs,
                                            bool(last.get("converged"))):
                continue
            c.finished += 1
            c.stopped += not complete
            best = Objective(c.metric, c.mode).best_value([r.get(c.metric) for r in records])
            try:
                number = json.loads(read_plain(config_file)).get(TRIAL_ORDER)
            except (OSError, ValueError, AttributeError):
                number = None
            c.offer(best, trial_id, complete, last.get("n_params"), number)

    def on_step_begin(self, iteration: int, trials: list, **info: Any) -> None:
        now = time.monotonic()
        if self.sink and now - self._last_recount >= self.min_interval_s:  # O(trials): throttle
            self._last_recount = now
            self._recount(trials)
            self._emit()

    def on_trial_result(self, iteration: int, trials: list, trial: Any, result: dict,
                        **info: Any) -> None:
        self.counts.offer(result.get(self.counts.metric), trial.trial_id,
                          n_params=result.get("n_params"), order=_number(trial))
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
        self._recount(trials, logs=True)
        self._ended = True
        self._emit(force=True)
