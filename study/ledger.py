"""A driver-side record of which trials Ray Tune has finished.

After a driver crash, Tune resumes from its last experiment snapshot, which can be a few
seconds older than the crash: a trial that finished (or that ASHA stopped) in between looks
unfinished and would be started again. The ledger writes an ``ended`` marker into the trial's
state folder the moment Tune finishes it; the trial sees the marker on restart and only
repeats its last result. Lives in an importable module because Tune pickles callbacks.
"""

from __future__ import annotations

import logging
from typing import Any

from ray.tune import Callback

from jetstudy.trainables.trialfiles import ended_marker

__all__ = ["TrialLedger"]

logger = logging.getLogger(__name__)


class TrialLedger(Callback):
    """Writes ``<state_dir>/<trial id>/ended`` when a trial completes or is stopped."""

    def __init__(self, state_dir: str) -> None:
        self.state_dir = state_dir

    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        marker = ended_marker(self.state_dir, trial.trial_id)
        try:  # a bookkeeping write must never fail the trial it records
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.write_text(f"{trial.last_result.get('epoch', 0)}\n")
        except OSError as exc:
            logger.warning("trial %s: could not write its 'ended' marker (%s); a resume after "
                           "a crash may repeat its last result", trial.trial_id, exc)
