"""TPE whose start-up counts trained trials, not the draws a size limit turned away.

A configuration over a size limit (``search.max_params``, ...) is told *pruned* at once, never
trained (:meth:`jetstudy.study.searcher.HonestOptunaSearch._draw`), so that TPE learns to avoid
its region. Optuna's TPE counts every complete or pruned trial toward ``n_startup_trials``:
with a limit that one random draw in three fits, a study of 24 trials, 2 at a time, proposed
its 6th trained trial from TPE's model (4 finished, the rest of the count turned-away draws),
not its 12th, after the 10 random start-up trials that ``provenance.json``, the config check
and the report's Kind line said. :class:`StartupTPESampler` holds back the model until ``n_startup_trials``
*trained* trials have finished; the turned-away draws still count as bad examples once it
models.

A trial that diverged (NaN/inf loss; *pruned* and *infeasible*,
:func:`jetstudy.study.sampler.mark_diverged`) counts as a start-up trial, even one that
diverged in its first epoch: kept on purpose (round 11). It is an observation of the space
(this region diverges), where a turned-away draw is none (the limit is known before any
training); the start-up is there so that TPE's densities rest on observations, and TPE, once
it models, moves away from a diverging region (``tests/study/test_referee10_search_diverged``)
while a start-up that waited for trials that did not diverge would keep drawing at random from
it: a space in which most of the lr range diverges would spend many times
``n_startup_trials`` trials on NaNs before TPE began.

Each proposal records in the Optuna trial whether it came from TPE's model
(:data:`GUIDED_ATTR`, a system attribute), so the report counts the guided trials that ran
(:func:`jetstudy.study.optuna_story.guided_trials`) rather than estimating them from the
config: a failed trial, like a turned-away draw, is no start-up trial, and that estimate
cannot know how many failed before TPE began to model.
"""

from __future__ import annotations

from typing import Any

import optuna
from optuna.trial import TrialState

__all__ = ["StartupTPESampler", "REJECTED_ATTR", "GUIDED_ATTR", "trained_finished"]

#: Optuna user attribute of a draw a size limit turned away (what it exceeded); never trained.
REJECTED_ATTR = "rejected"
#: Optuna system attribute of every trial this sampler proposed: true when TPE's model
#: proposed it, false for a random start-up trial.
GUIDED_ATTR = "jetstudy:tpe_guided"


def trained_finished(study: optuna.Study) -> int:
    """The study's finished (complete or pruned) trials that were trained: those the size
    limits did not turn away."""
    trials = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED))
    return sum(REJECTED_ATTR not in t.user_attrs for t in trials)


class StartupTPESampler(optuna.samplers.TPESampler):
    """``TPESampler`` whose ``n_startup_trials`` are trained trials (see the module)."""

    def _starting(self, study: optuna.Study) -> bool:
        return trained_finished(study) < self._n_startup_trials

    def sample_relative(self, study: optuna.Study, trial: optuna.trial.FrozenTrial,
                        search_space: dict[str, Any]) -> dict[str, Any]:
        params = {} if self._starting(study) else super().sample_relative(study, trial,
                                                                          search_space)
        # {}: random, as TPE's own start-up (every parameter drawn independently)
        study._storage.set_trial_system_attr(trial._trial_id, GUIDED_ATTR, bool(params))
        return params

    def sample_independent(self, study: optuna.Study, trial: optuna.trial.FrozenTrial,
                           param_name: str, param_distribution: Any) -> Any:
        if self._starting(study):
            return self._random_sampler.sample_independent(study, trial, param_name,
                                                           param_distribution)
        return super().sample_independent(study, trial, param_name, param_distribution)
