"""Ctrl-C during a study: Ray Tune's own graceful stop, and an honest record of it.

SIGTERM (a batch system's time limit, ``timeout``, ``kill PID``) stops a study the same way
(:func:`sigterm_as_ctrl_c`). On the first SIGINT Ray Tune ends its loop, saves the experiment state with the running
trials still *running* (so ``--resume`` continues them from their checkpoints) and then stops
their workers, marking them finished in memory. :class:`InterruptWatch` wraps Tune's handler
to learn that the stop happened and which trials it cut short, so the driver can write its
tables with those trials ``interrupted`` (not ``completed``), skip the test evaluation, and
raise :class:`StudyInterrupted` for the command line to print the ``--resume`` command. A
second Ctrl-C skips Tune's clean-up (Tune restores the previous handler): Python's
``KeyboardInterrupt``, which the driver turns into :class:`StudyInterrupted` too.
"""

from __future__ import annotations

import logging
import signal
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

from ray.tune import Callback

from jetstudy.study.collect import Known
from jetstudy.study.tables import epochs_trained
from jetstudy.trainables.atomic import stops_handled
from jetstudy.trainables.trialfiles import read_epochs

__all__ = ["INTERRUPTED", "InterruptWatch", "StudyInterrupted", "mark_interrupted",
           "reclaim_sigterm", "sigint_restored", "sigterm_as_ctrl_c", "stops_held_for_ray_init"]

logger = logging.getLogger(__name__)

#: ``trials.status`` of a trial an interrupt cut short before its last epoch.
INTERRUPTED = "interrupted"
_UNFINISHED = ("RUNNING", "PENDING", "PAUSED")


class StudyInterrupted(Exception):
    """The study was stopped by Ctrl-C. ``started``: its folder holds a study that
    ``--resume`` continues; ``counted``: Tune stopped cleanly and the tables were written,
    with ``finished`` and ``cut_short`` trials (else a second Ctrl-C skipped that).
    ``lost_to``: the driver stopped itself because another driver took its study over
    (:func:`jetstudy.study.lock.lost_to`); nothing more was written, and no ``--resume`` is
    to be run while that driver holds the study."""

    def __init__(self, folder: Path, name: str, started: bool, finished: int = 0,
                 cut_short: int = 0, counted: bool = False, lost_to: Any = None) -> None:
        super().__init__(f"the study in {folder} was interrupted")
        self.folder, self.name, self.started = folder, name, started
        self.finished, self.cut_short, self.counted = finished, cut_short, counted
        self.lost_to = lost_to


class InterruptWatch(Callback):
    """Records a Ctrl-C that Tune's handler turns into a graceful stop, and the trials it
    cut short (unfinished when Tune's loop ended)."""

    def __init__(self) -> None:
        self.interrupted = False
        self.cut_short: set[str] = set()
        self._trials: list | None = None

    def __getstate__(self) -> dict[str, Any]:  # Tune pickles callbacks: no live trial list
        return {"interrupted": False, "cut_short": set(), "_trials": None}

    def setup(self, **info: Any) -> None:
        """Runs inside ``tuner.fit()`` after Tune installed its SIGINT handler: wrap it."""
        if threading.current_thread() is not threading.main_thread():
            return
        tune_handler = signal.getsignal(signal.SIGINT)

        def on_sigint(signum: int, frame: Any) -> None:
            self.interrupted = True
            self._record()
            logger.warning("Ctrl-C: stopping the study; running trials keep their last "
                           "checkpoint (press Ctrl-C again to skip the clean-up)")
            if callable(tune_handler):
                tune_handler(signum, frame)  # Tune's stop; it puts back the earlier handler
            else:
                raise KeyboardInterrupt

        signal.signal(signal.SIGINT, on_sigint)

    def _record(self) -> None:
        if self._trials is not None:
            self.cut_short = {t.trial_id for t in self._trials if t.status in _UNFINISHED}

    def on_step_begin(self, iteration: int, trials: list, **info: Any) -> None:
        self._trials = trials

    def on_step_end(self, iteration: int, trials: list, **info: Any) -> None:
        self._trials = trials
        if self.interrupted:  # the last step before Tune's loop ends decides
            self._record()


@contextmanager
def sigint_restored() -> Iterator[None]:
    """Put back the SIGINT handler of before ``tuner.fit()``: Tune leaves its own (and this
    module's wrapper) installed after a run that was not interrupted."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    before = signal.getsignal(signal.SIGINT)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, before)


#: the SIGTERM handler :func:`sigterm_as_ctrl_c` installed, while its block runs
_SIGTERM_HANDLER: list[Callable[[int, Any], None]] = []
#: The signals :func:`sigterm_as_ctrl_c` turns into Ctrl-C's stop.
_CONVERTED = (signal.SIGTERM, signal.SIGHUP)


def _on_sigterm(signum: int, frame: Any) -> None:
    logger.warning("%s: stopping the study as on Ctrl-C", signal.Signals(signum).name)
    handler = signal.getsignal(signal.SIGINT)
    if callable(handler):
        handler(signal.SIGINT, frame)
    else:  # SIGINT ignored (a background job): no graceful stop to ask for
        raise KeyboardInterrupt


@contextmanager
def sigterm_as_ctrl_c() -> Iterator[None]:
    """While the block runs, SIGTERM does what Ctrl-C does: the handler SIGINT has at that
    moment runs (Tune's graceful stop during ``tuner.fit()``, else ``KeyboardInterrupt``), so a
    study stopped by a batch system's time limit or ``kill PID`` keeps its checkpoints, writes
    its tables with the cut trials ``interrupted`` and prints the ``--resume`` command. A second
    SIGTERM, like a second Ctrl-C, skips the clean-up. ``ray.init`` installs Ray's own SIGTERM
    handler (it logs and exits 15): call :func:`reclaim_sigterm` after it. SIGHUP (the
    terminal closed) stops the study the same way, unless it is ignored (``nohup``)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    # SIGHUP (the terminal closed) as well, unless ignored (nohup): then it stays ignored
    with stops_handled(_on_sigterm, _CONVERTED):
        _SIGTERM_HANDLER.append(_on_sigterm)
        try:
            yield
        finally:
            _SIGTERM_HANDLER.pop()


def reclaim_sigterm() -> None:
    """Inside :func:`sigterm_as_ctrl_c`, take SIGTERM back from whatever replaced its handler
    at the C level since (``ray.init``'s failure-signal handler)."""
    if _SIGTERM_HANDLER and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _SIGTERM_HANDLER[-1])


@contextmanager
def stops_held_for_ray_init() -> Iterator[None]:
    """For ``ray.init``: a Ctrl-C or SIGTERM that comes while Ray starts waits until it has
    started (:func:`jetstudy.trainables.atomic.held_signals`), then stops the study as
    anywhere else. Ray's own SIGTERM handler (``sys.exit(15)``), which ``ray.init`` installs
    first thing, is left out meanwhile: a SIGTERM it caught while Ray forked its processes
    ran inside a fork hook, which swallowed the exit, and the study ran on to the end."""
    from jetstudy.trainables.atomic import held_signals

    try:
        import ray._private.utils as ray_utils
    except ImportError:  # another Ray layout: only the hold
        ray_utils = None
    real = getattr(ray_utils, "set_sigterm_handler", None)
    if real is not None:
        ray_utils.set_sigterm_handler = lambda handler: None
    try:
        with held_signals():
            yield
    finally:
        if real is not None:
            ray_utils.set_sigterm_handler = real


def mark_interrupted(known: Known, cut_short: set[str], state_dir: str,
                     max_epochs: int) -> Known:
    """``known`` (trial id -> config, status, error) with the cut-short trials that had not
    trained all their epochs as ``interrupted``; trials Tune never started are dropped."""
    out: Known = {}
    for trial_id, (config, status, error) in known.items():
        if not trial_id:  # asked for, never started: nothing to show
            continue
        if (trial_id in cut_short and not status
                and epochs_trained(read_epochs(state_dir, trial_id)) < max_epochs):
            status = INTERRUPTED
        out[trial_id] = (config, status, error)
    return out
