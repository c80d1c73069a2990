"""ASHA's rungs on ``--resume``: what the first driver's scheduler had recorded, put back.

Ray Tune does not save a scheduler's state: ``Tuner.restore`` brings back the
``ASHAScheduler`` as it was built (``tuner.pkl``), its rungs empty. The resumed study then
judged trials against the trials of the resumed run only (a weak new trial reaching a rung
with nothing recorded there went on), and a trial continued from its checkpoint past a rung
was judged at its next epoch, as if it had just reached that rung: stopped at an epoch that is
no rung (``stop_reason`` ``scheduler`` at epoch 5 of rungs 1, 3, 9), against values of
other epochs.

:func:`replay_rungs` records, before Tune starts, every trial's value of ``search.metric`` at
each rung epoch its epoch log reaches (``trials/<id>/epochs.jsonl``): exactly what ASHA
recorded the first time, since a trial reports every epoch and ASHA records a trial at a
rung on its first result at or past it. A continued trial then passes the rungs it passed
before and is judged only at the next rung epoch it reaches, against every trial of the study.

A trial whose log ends at a rung epoch, with no ``ended`` marker and no ``passed`` record of
that epoch (:class:`~jetstudy.study.ledger.TrialLedger` writes it once Tune let the trial go
on), was not judged there (the driver was killed between the trial's report and ASHA's
decision, or between a stop and the ledger's marker): recorded, it went on past the rung
unjudged, though below the cut. It is judged during the replay, against the values recorded at
that rung before it (the trials judged there, then the unjudged ones in the order their rung
epoch was logged), and one below the cut is stopped there (its ``ended`` marker). One with
the ``passed`` record was promoted there and killed while training its next epoch: judged
again, against the values of trials that reached the rung after it, it could be stopped
though ASHA had let it go on; its value is recorded as ASHA recorded it.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

from jetstudy.study.config import StudyConfig
from jetstudy.trainables.trialfiles import (CONFIG_FILE, DIVERGED_FILE, EPOCHS_FILE,
                                            ended_marker, mark_ended, passed_epoch,
                                            read_epochs)

__all__ = ["replay_rungs", "follow_adoptions", "adopted"]

logger = logging.getLogger(__name__)

#: The resumed driver's ASHA (:func:`follow_adoptions`): a lost trial the searcher adopts
#: under Tune's new id (:meth:`jetstudy.study.searcher.HonestOptunaSearch._adopt`) takes its
#: rung values along. Kept here, not on the searcher, whose whole state Ray pickles.
_FOLLOWED: list[Any] = []


def follow_adoptions(scheduler: Any | None) -> None:
    """Let :func:`adopted` move rung values in ``scheduler`` (None: in none)."""
    _FOLLOWED[:] = [] if scheduler is None else [scheduler]


def adopted(old_id: str, new_id: str) -> None:
    """A lost trial's folder ``old_id`` continues as Tune's trial ``new_id``: its recorded
    rung values now belong to ``new_id`` (else ASHA judged it again at its next epoch, no
    rung, beside its own old values)."""
    for scheduler in _FOLLOWED:
        for bracket in getattr(scheduler, "_brackets", None) or []:
            for _, values in getattr(bracket, "_rungs", None) or []:
                if old_id in values:
                    values[new_id] = values.pop(old_id)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return math.inf


def _cut_by_budget(state_dir: Path) -> set[str]:
    """The trials the last table (``trials.parquet`` beside ``trials/``) says the time budget
    stopped: Tune finished them without the ``ended`` marker and does not run them again."""
    try:
        import pandas as pd

        table = pd.read_parquet(state_dir.parent / "trials.parquet",
                                columns=["trial_id", "stop_reason"])
    except (OSError, ValueError, KeyError, ImportError):
        return set()
    return set(table.loc[table["stop_reason"] == "time_budget", "trial_id"].astype(str))


def _stopped(state_dir: str, trial_id: str, epoch: int) -> None:
    """ASHA stops ``trial_id`` at the rung of ``epoch``: its ``ended`` marker, as
    :class:`~jetstudy.study.ledger.TrialLedger` writes it (the resumed trial then only
    repeats its last result, and the tables call it stopped by the scheduler)."""
    try:
        mark_ended(state_dir, trial_id, epoch)
    except OSError as exc:
        logger.warning("resume: trial %s is below ASHA's cut at epoch %d but its 'ended' "
                       "marker could not be written (%s): it trains on", trial_id, epoch, exc)
        return
    logger.info("resume: trial %s reached ASHA's rung at epoch %d below the cut before the "
                "driver stopped: stopped there", trial_id, epoch)


def replay_rungs(scheduler: Any, cfg: StudyConfig, state_dir: str | Path) -> int:
    """Record in ``scheduler`` (Ray's ``ASHAScheduler``) each trial's ``search.metric`` at
    every rung its epoch log reached; the number of values recorded. A scheduler without
    rungs (FIFO) or of another Ray version's make is left as it is (a warning for the
    latter)."""
    brackets = getattr(scheduler, "_brackets", None)
    if cfg.scheduler.type != "asha" or brackets is None:
        return 0
    # one bracket, as jetstudy builds ASHA: every trial is in it
    if len(brackets) != 1 or not isinstance(getattr(brackets[0], "_rungs", None), list):
        logger.warning("resume: this Ray's ASHA keeps its rungs otherwise; the resumed study's "
                       "ASHA starts with empty rungs (it compares the resumed run's trials only)")
        return 0
    metric, sign = cfg.search.metric, 1.0 if cfg.mode == "max" else -1.0  # Ray's metric_op
    recorded, bracket = 0, brackets[0]
    cut_by_budget = _cut_by_budget(Path(state_dir))
    unjudged: list[tuple[float, str, int, dict, float]] = []
    for config_file in sorted(Path(state_dir).glob(f"*/{CONFIG_FILE}")):
        trial_id = config_file.parent.name
        epochs = read_epochs(str(state_dir), trial_id)
        last = max((int(e.get("epoch", 0)) for e in epochs), default=0)
        # Tune ended it, or it diverged (a failed trial is not run again)
        ended = (ended_marker(str(state_dir), trial_id).is_file()
                 or (config_file.parent / DIVERGED_FILE).exists())
        passed = passed_epoch(str(state_dir), trial_id)  # Tune let it go on from there
        for milestone, values in bracket._rungs:
            # ASHA records a trial at its first result at or past the rung
            reached = next((e for e in epochs if int(e.get("epoch", 0)) >= milestone), None)
            value = None if reached is None else reached.get(metric)
            if not (isinstance(value, (int, float)) and math.isfinite(value)):
                continue
            if (int(reached["epoch"]) == last < cfg.scheduler.max_epochs and not ended
                    and passed < last and trial_id not in cut_by_budget):
                # its last epoch, at the rung, and Tune had not ended it: the driver died
                # before judging it, or before recording that it stopped it
                arrived = _mtime(Path(state_dir, trial_id, EPOCHS_FILE))
                unjudged.append((arrived, trial_id, last, values, sign * float(value)))
                continue
            values.setdefault(trial_id, sign * float(value))
            recorded += 1
    # judged now as ASHA judges a trial reaching a rung: against the values recorded there
    # before it (those judged earlier, in the order their rung epoch was logged)
    for _, trial_id, epoch, values, value in sorted(unjudged, key=lambda u: (u[0], u[1])):
        cutoff = bracket.cutoff(values)
        if cutoff is not None and value < cutoff:
            _stopped(str(state_dir), trial_id, epoch)
        values.setdefault(trial_id, value)
        recorded += 1
    if recorded:
        logger.info("resume: ASHA's rungs hold again the %d value(s) the study's trials "
                    "reached there", recorded)
    return recorded
