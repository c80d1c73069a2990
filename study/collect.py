"""Build the trials and epochs tables from what Ray Tune knows and what each trial wrote.

How a trial ended comes from Ray Tune (the result grid at the end, the live trial list for
snapshots); its learning curve comes from the trial's own epoch log (``trials/<id>/``), which
survives trial restarts and driver crashes. Both the final tables and the live snapshots are
built here, so they cannot disagree.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable

import pandas as pd

from jetstudy.study.config import StudyConfig
from jetstudy.study.tables import (epoch_rows, epochs_frame, epochs_trained, error_reason,
                                   trial_row, trials_frame)
from jetstudy.study.trial_numbers import in_trial_order, number_unnumbered
from jetstudy.trainables.trialfiles import (CONFIG_FILE, ended_marker, has_ended, read_epochs,
                                            restart_count, resume_count)
from jetstudy.trainables.plain_read import read_plain

__all__ = ["Known", "from_result_grid", "from_live_trials", "build_tables", "stop_reason",
           "STOP_REASONS"]

#: trial id -> (config, status or "" to derive it from the epochs run, error)
Known = dict[str, tuple[dict[str, Any], str, str]]

_INTERRUPTED = "interrupted: the driver died before Ray Tune recorded this trial"

#: Values of the trials table's ``stop_reason`` ("" while running or when it cannot be told).
STOP_REASONS: tuple[str, ...] = ("max_epochs", "patience", "scheduler", "time_budget", "failed",
                                 "interrupted", "")


def _asha_rungs(cfg: StudyConfig) -> set[int]:
    """The epochs at which ASHA may stop a trial (Ray's rungs: grace_period * rf**k)."""
    s, rungs, t = cfg.scheduler, set(), cfg.scheduler.grace_period
    while t < s.max_epochs:
        rungs.add(t)
        t *= s.reduction_factor
    return rungs


def stop_reason(status: str, error: str, epochs: int, converged: bool,
                cfg: StudyConfig, ended: bool | None = None) -> str:
    """Why a trial ended (:data:`STOP_REASONS`): all epochs, its own patience, the scheduler
    (ASHA), the study's time budget, an error, or Ctrl-C / a driver crash (status
    ``interrupted`` or an ``interrupted`` error: ``interrupted``, never ``time_budget``, though
    Tune finished neither). A trial ASHA could have stopped (at a rung) is ``scheduler``; one
    stopped elsewhere when the study has a time budget is ``time_budget``. ``ended``: whether
    Tune finished the trial itself (its ``ended`` marker, :mod:`jetstudy.study.ledger`); a
    trial the time budget cut short has none, so a stopped trial without the marker is
    ``time_budget`` even at a rung, also after a resume without the budget (None: not known,
    the rung and the budget decide)."""
    if status == "failed":
        return "failed"
    if status == "running":
        return ""
    if status == "interrupted" or error.startswith("interrupted"):
        return "interrupted"  # Ctrl-C, or a driver that died: neither the budget nor ASHA
    if converged:
        return "patience"
    if epochs >= cfg.scheduler.max_epochs:
        return "max_epochs"
    budget = cfg.search.time_budget_s is not None
    if ended is False:  # Tune did not finish it: the budget (of this or an earlier run) did
        return "time_budget"
    if cfg.scheduler.type == "asha" and (epochs in _asha_rungs(cfg) or not budget):
        return "scheduler"
    return "time_budget" if budget else ""


def from_result_grid(grid: Iterable[Any]) -> Known:
    """Trials of a finished ``tuner.fit()``: failed ones carry their error."""
    known: Known = {}
    for result in grid:
        trial_id = str(result.metrics.get("trial_id", ""))
        known[trial_id] = (result.config or {}, "failed" if result.error is not None else "",
                           error_reason(result.error))
    return known


def from_live_trials(trials: Iterable[Any]) -> Known:
    """Trials of a running study (Tune ``Trial`` objects): unfinished ones are ``running``."""
    known: Known = {}
    for trial in trials:
        if trial.status == "ERROR":
            known[trial.trial_id] = (trial.config, "failed", error_reason(trial.get_error()))
        elif trial.status == "TERMINATED":
            known[trial.trial_id] = (trial.config, "", "")
        else:
            known[trial.trial_id] = (trial.config, "running", "")
    return known


def _orphans(known: Known, cfg: StudyConfig, state_dir: str) -> Known:
    """Trials that trained but Tune does not know: started after its last snapshot before a
    driver crash and not continued after it (see ``HonestOptunaSearch._adopt``). Listed as
    completed when they ran all epochs, else stopped (interrupted); those that never finished
    an epoch are left out, since Tune asked for another configuration instead."""
    found: Known = {}
    for config_file in sorted(Path(state_dir).glob(f"*/{CONFIG_FILE}")):
        trial_id = config_file.parent.name
        epochs = read_epochs(state_dir, trial_id) if trial_id not in known else []
        if epochs:
            finished = has_ended(state_dir, trial_id, epochs_trained(epochs), cfg.scheduler.max_epochs,
                                 converged=bool(epochs[-1].get("converged")))
            found[trial_id] = (json.loads(read_plain(config_file)), "",
                               "" if finished else _INTERRUPTED)
    return found


def build_tables(known: Known, cfg: StudyConfig, state_dir: str,
                 with_orphans: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The ``trials`` and ``epochs`` tables (docs/results_layout.md)."""
    if with_orphans:
        known = {**known, **_orphans(known, cfg, state_dir)}
    trial_rows, all_epochs = [], []
    for trial_id, (config, status, error) in known.items():
        records = read_epochs(state_dir, trial_id)
        rows = epoch_rows(trial_id, records)
        if status in ("running", "") and not rows and not error:
            continue  # not started yet, or cut by the time budget before its first epoch
            # (Optuna: failed, never_trained; a resume gives its place to a new trial)
        frame = epochs_frame(rows, typed=False)  # the table is typed once, below
        # a trial that stopped by its own patience ran to its end: completed, like max_epochs
        converged = bool(records and records[-1].get("converged"))
        trained = epochs_trained(frame)  # the last epoch's number: a log 1, 2, 5 trained 5
        if not status:
            done = trained >= cfg.scheduler.max_epochs or converged
            status = "completed" if done and not error else "stopped"
        row = trial_row(
            trial_id, config, frame, status=status, error=error,
            max_epochs=cfg.scheduler.max_epochs, max_depth=cfg.space.depth[1],
            metric=cfg.search.metric, mode=cfg.mode, batch_size=cfg.training.batch_size,
            flops=int(records[-1]["flops"]) if records else None)
        row["stop_reason"] = stop_reason(status, error, trained, converged, cfg,
                                         ended=ended_marker(state_dir, trial_id).is_file())
        row["restarts"] = restart_count(state_dir, trial_id)  # recorded by the ledger, packs
        row["resumed"] = resume_count(state_dir, trial_id)  # by a --resume's driver
        trial_rows.append(row)
        all_epochs.extend(rows)
    # trials started before trial_number existed get theirs (Optuna's journal, else Tune's
    # order); both tables in the order the search proposed the trials
    trials = number_unnumbered(trials_frame(trial_rows), Path(state_dir).parent)
    return in_trial_order(trials, epochs_frame(all_epochs))
