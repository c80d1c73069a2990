"""A driver-side record of which trials Ray Tune has finished, and of ASHA's go-on decisions.

After a driver crash, Tune resumes from its last experiment snapshot, which can be a few
seconds older than the crash: a trial that finished (or that ASHA stopped) in between looks
unfinished and would be started again. The ledger writes an ``ended`` marker into the trial's
state folder the moment Tune finishes it; the trial sees the marker on restart and only
repeats its last result.

Tune saves no scheduler state either: a resume puts ASHA's rungs back from the epoch logs
(:mod:`jetstudy.study.rungs`). A trial whose log ends at a rung epoch may have been judged
there (ASHA let it go on; killed while training its next epoch) or not (killed before ASHA's
decision); the logs alone cannot tell. So the ledger also records, for every result Tune
let the trial go on from, that epoch (``passed``; Tune calls callbacks after the scheduler
has decided), and each time Tune restarts a trial after its worker died or it failed
(``resources.max_failures``: ``restarts``, the trials table's column). Lives in an importable module because Tune pickles callbacks.
"""

from __future__ import annotations

import logging
from typing import Any

from ray.tune import Callback

from jetstudy.trainables.trialfiles import (diverged_before, mark_ended, mark_passed,
                                            mark_restarted)

__all__ = ["TrialLedger"]

logger = logging.getLogger(__name__)


class TrialLedger(Callback):
    """Writes ``<state_dir>/<trial id>/ended`` when a trial completes or is stopped, and, in
    an ASHA study (``asha``), ``<state_dir>/<trial id>/passed`` (the epoch) when Tune lets it
    go on after a result: a study without ASHA has no rung decisions to record, and its
    driver no file to write per result."""

    def __init__(self, state_dir: str, asha: bool = True) -> None:
        self.state_dir = state_dir
        self.asha = asha

    def on_trial_result(self, iteration: int, trials: list, trial: Any, result: dict,
                        **info: Any) -> None:
        if not self.asha or result.get("done") or "epoch" not in result:
            return  # no rungs; a stop (its ended marker follows); not an epoch's result
        try:  # a bookkeeping write must never fail the trial it records
            mark_passed(self.state_dir, trial.trial_id, int(result["epoch"]))
        except (OSError, TypeError, ValueError) as exc:
            logger.warning("trial %s: could not record that it goes on after epoch %s (%s); "
                           "a resume after a crash may judge it again at that ASHA rung",
                           trial.trial_id, result.get("epoch"), exc)

    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        try:  # a bookkeeping write must never fail the trial it records
            mark_ended(self.state_dir, trial.trial_id, trial.last_result.get("epoch", 0))
        except OSError as exc:
            logger.warning("trial %s: could not write its 'ended' marker (%s); a resume after "
                           "a crash may repeat its last result", trial.trial_id, exc)

    def on_trial_recover(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        """Tune restarts the trial from its checkpoint (its worker died: a lost node, the OOM
        killer; or it raised); not counted for a diverged trial, whose restart fails at once
        and whose table row says why it failed."""
        if diverged_before(self.state_dir, trial.trial_id) is not None:
            return
        try:  # a bookkeeping write must never fail the trial it records
            mark_restarted(self.state_dir, trial.trial_id,
                           int((trial.last_result or {}).get("epoch", 0) or 0))
        except (OSError, TypeError, ValueError) as exc:
            logger.warning("trial %s: could not record its restart (%s); the trials table "
                           "will not count it", trial.trial_id, exc)
