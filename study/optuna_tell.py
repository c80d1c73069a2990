"""What :class:`jetstudy.study.searcher.HonestOptunaSearch` tells Optuna of a trial's results
(split from :mod:`jetstudy.study.searcher`; a mixin, so the searcher Ray pickles stays one
class there).

Every epoch is an intermediate value, told at its epoch (Tune's iteration restarts with a
trial; the epoch does not), the ones Optuna missed from the trial's own log. A trial ending
before ``max_epochs`` without error was stopped early (ASHA, the time budget): *pruned*,
not *complete* with a truncated score (Ray's stock ``OptunaSearch``). One that stopped by
itself (validation-loss patience: its last epoch says ``"converged": true``) ran to its own
end and is *complete*, with its best epoch's value (:mod:`jetstudy.study.optuna_story`). One
whose loss became NaN/inf (its ``trials/<id>/diverged`` file) is *pruned* with user attribute
``diverged`` (TPE leaves *failed* trials out of its model, so a diverging region looked
unexplored); other errors stay *failed*. With a size objective a completed trial is told both
values, and a stopped one's epochs are a user attribute (Optuna takes no intermediate values
in a multi-objective study).
"""

from __future__ import annotations

import logging
from typing import Any

import optuna

from jetstudy.study.optuna_story import describe_trial, with_best_value
from jetstudy.study.sampler import mark_diverged
from jetstudy.study.space import config_size
from jetstudy.trainables.trialfiles import diverged_before, read_epochs

__all__ = ["TellsOptuna"]

logger = logging.getLogger("jetstudy.study.searcher")  # the searcher's own words


class TellsOptuna:
    """The result half of :class:`jetstudy.study.searcher.HonestOptunaSearch` (put before
    Ray's ``OptunaSearch`` in its bases: ``super()`` here is Ray's)."""

    # set by HonestOptunaSearch
    _ot_study: Any
    _ot_trials: dict[str, Any]
    _completed_trials: set[str]
    _reported: dict[str, int]
    state_dir: str
    max_epochs: int
    metric: str
    mode: str
    primary: str
    size_objective: str | None
    space_config: Any

    @property
    def multi_objective(self) -> bool:
        return getattr(self, "size_objective", None) is not None

    def on_trial_result(self, trial_id: str, result: dict) -> None:
        """Report the metric at its epoch (Tune's iteration count restarts when a trial is
        restarted from its own checkpoint; the epoch does not)."""
        if trial_id in self._completed_trials or trial_id not in self._ot_trials:
            return
        epoch = int(result.get("epoch", 0))
        if self._reported.get(trial_id, 0) >= epoch:
            return
        if not self._reported.get(trial_id):  # its first result: its size is known
            self._describe(trial_id)
        if epoch > self._reported.get(trial_id, 0) + 1 and not self.multi_objective:
            self._report_missed(trial_id, epoch)
        try:
            if self.multi_objective:  # Optuna forbids report() with several objectives
                self._ot_trials[trial_id].set_user_attr("epochs", epoch)
            else:
                self._ot_trials[trial_id].report(result[self.primary], epoch)
        except Exception as exc:  # e.g. the trial was told finished before a driver crash
            logger.warning("optuna: could not report trial %s epoch %d: %s", trial_id, epoch,
                           exc)
        self._reported[trial_id] = epoch

    def _report_missed(self, trial_id: str, epoch: int) -> None:
        """Epochs before ``epoch`` the trial logged but Optuna never heard of (a Ctrl-C while
        their report was on its way; the resumed trial goes on after them): from its log."""
        ot_trial = self._ot_trials[trial_id]
        try:
            (frozen,) = [t for t in self._ot_study.get_trials(deepcopy=False)
                         if t.number == ot_trial.number]
            have = set(frozen.intermediate_values)
            records = read_epochs(self.state_dir, trial_id) if self.state_dir else []
            for record in records:
                step, value = int(record.get("epoch", 0)), record.get(self.primary)
                if 0 < step < epoch and step not in have and value is not None:
                    ot_trial.report(float(value), step)
        except Exception as exc:  # never stop the study over the journal's story
            logger.warning("optuna: could not report trial %s's earlier epochs: %s", trial_id,
                           exc)

    def _converged(self, trial_id: str, result: dict) -> bool:
        """The trial stopped itself by patience: its last result or epoch record says so."""
        if result.get("converged"):
            return True
        records = read_epochs(self.state_dir, trial_id) if self.state_dir else []
        return bool(records and records[-1].get("converged"))

    def _describe(self, trial_id: str,
                  records: list[dict[str, Any]] | None = None) -> None:
        """The Optuna trial's user attributes ``trial_id``, ``n_params``, ``flops``."""
        if records is None:
            records = read_epochs(self.state_dir, trial_id) if self.state_dir else []
        try:
            describe_trial(self._ot_trials[trial_id], trial_id, records)
        except Exception as exc:  # e.g. told finished before a driver crash
            logger.warning("optuna: could not describe trial %s: %s", trial_id, exc)

    def _last_and_best(self, trial_id: str, result: dict, epochs: int) -> dict:
        """A trial ends: every epoch of its log that Optuna has not heard of becomes an
        intermediate value (Tune does not forward the result a trial ends on, nor, when the
        study's time budget ends it, the results still queued), and the result is returned
        with the log's last epoch and the best epoch's value, what Optuna is told
        (:mod:`jetstudy.study.optuna_story`: the tables rank by the best epoch, over the log)."""
        records = read_epochs(self.state_dir, trial_id) if self.state_dir else []
        self._describe(trial_id, records)
        pending = {int(r["epoch"]): r.get(self.metric) for r in records if "epoch" in r}
        if result.get(self.metric) is not None and epochs not in pending:
            pending[epochs] = result.get(self.metric)
        done = self._reported.get(trial_id, 0)
        for epoch in sorted(e for e in pending if e > done and pending[e] is not None):
            try:
                if getattr(self, "multi_objective", False):
                    self._ot_trials[trial_id].set_user_attr("epochs", epoch)
                else:
                    self._ot_trials[trial_id].report(pending[epoch], epoch)
                self._reported[trial_id] = epoch
            except Exception as exc:
                logger.warning("optuna: could not report trial %s epoch %d: %s", trial_id,
                               epoch, exc)
                break
        last = max([epochs, *pending])
        return with_best_value({**result, "epoch": last}, records, self.metric, self.mode)

    def on_trial_complete(self, trial_id: str, result: dict | None = None,
                          error: bool = False) -> None:
        if error and self._tell_diverged(trial_id):
            return
        epochs = int((result or {}).get("epoch", 0))
        if (not error and trial_id in self._ot_trials
                and trial_id not in self._completed_trials):
            # a trial the time budget cut short may come without a result: its log has it
            merged = self._last_and_best(trial_id, result or {}, epochs)
            if result or int(merged.get("epoch", 0)) > 0:
                result = merged
                epochs = int(result.get("epoch", epochs))  # the log's last epoch
        if (error or not result or epochs >= self.max_epochs
                or self._converged(trial_id, result)):
            if self.multi_objective and result and not error:
                self._tell_both(trial_id, result)
                return
            super().on_trial_complete(trial_id, result, error)
            return
        if trial_id in self._completed_trials:
            return
        ot_trial = self._ot_trials[trial_id]
        # Tune does not forward the result on which the scheduler stopped the trial
        value = result.get(self.primary)
        if value is not None and self._reported.get(trial_id, 0) < epochs:
            if self.multi_objective:
                ot_trial.set_user_attr("epochs", epochs)
            else:
                ot_trial.report(value, epochs)
        try:
            self._ot_study.tell(ot_trial, state=optuna.trial.TrialState.PRUNED)
        except Exception as exc:  # e.g. already told before a resume
            logger.warning("optuna: could not mark trial %s pruned: %s", trial_id, exc)
        self._completed_trials.add(trial_id)
        self._reported.pop(trial_id, None)


    def _tell_diverged(self, trial_id: str) -> bool:
        """A trial whose loss became NaN/inf (its ``diverged`` file, written before Tune hears
        the error) is told *pruned*, with the epochs it trained before as intermediate values
        and user attribute ``diverged`` (why), not *failed*: TPE learns nothing from a failed
        trial, so a diverging region of the space (a learning rate too high) looked unexplored
        and drew the rest of the search (35-40 of 40 model-proposed trials, Optuna 5, where
        pruned: 2). Other errors stay *failed* (the configuration is not to blame). True
        when told."""
        if trial_id not in self._ot_trials or trial_id in self._completed_trials:
            return False
        reason = diverged_before(self.state_dir, trial_id) if self.state_dir else None
        if reason is None:
            return False
        ot_trial = self._ot_trials[trial_id]
        try:
            records = read_epochs(self.state_dir, trial_id)
            self._describe(trial_id, records)
            mark_diverged(ot_trial, reason)
            for record in records:
                step, value = int(record.get("epoch", 0)), record.get(self.primary)
                if step > self._reported.get(trial_id, 0) and value is not None:
                    if self.multi_objective:
                        ot_trial.set_user_attr("epochs", step)
                    else:
                        ot_trial.report(float(value), step)
                    self._reported[trial_id] = step
            self._ot_study.tell(ot_trial, state=optuna.trial.TrialState.PRUNED)
        except Exception as exc:  # e.g. told before a resume: Ray's own handling
            logger.warning("optuna: could not mark diverged trial %s pruned: %s", trial_id,
                           exc)
            return False
        self._completed_trials.add(trial_id)
        self._reported.pop(trial_id, None)
        return True

    def _tell_both(self, trial_id: str, result: dict) -> None:
        """A completed trial of a two-objective study: its metric (``result`` as
        :meth:`_last_and_best` made it: the best epoch's value) and its model's size, from
        its config."""
        if trial_id in self._completed_trials:
            return
        config = result.get("config") or {k.removeprefix("config/"): v for k, v in
                                          result.items() if k.startswith("config/")}
        size = config_size(config, self.size_objective, self.space_config)
        value = result.get(self.primary)
        try:
            if value is None or size is None:
                raise ValueError(f"{self.primary}={value}, {self.size_objective}={size}")
            self._ot_study.tell(self._ot_trials[trial_id], [float(value), float(size)])
        except Exception as exc:  # e.g. a NaN loss, or told before a resume
            logger.warning("optuna: could not tell trial %s: %s", trial_id, exc)
        self._completed_trials.add(trial_id)
        self._reported.pop(trial_id, None)
