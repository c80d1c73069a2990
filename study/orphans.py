"""Closing the Optuna trials a study's end left *running* (split from
:mod:`jetstudy.study.searcher`, which re-exports :func:`close_orphaned_trials`): a driver killed
before Ray Tune saved them, or the time budget ending them mid-run; each is closed from its own
epoch log (``trials/<id>/``) as the tables read it."""

from __future__ import annotations

import json
from pathlib import Path

import optuna

from jetstudy.study.config import StudyConfig
from jetstudy.study.optuna_files import OPTUNA_STUDY_NAME, optuna_storage
from jetstudy.study.optuna_story import describe_trial
from jetstudy.study.space import config_size
from jetstudy.study.sampler import make_sampler, mark_diverged
from jetstudy.trainables.trialfiles import CONFIG_FILE, diverged_before, read_epochs
from jetstudy.trainables.plain_read import read_plain

__all__ = ["NEVER_TRAINED", "close_orphaned_trials", "close_from_log"]

#: Optuna user attribute of a trial closed *failed* because it never trained an epoch.
NEVER_TRAINED = "never_trained"


def close_orphaned_trials(folder: Path) -> int:
    """Close Optuna trials still *running* after the study ended; returns how many.

    They were asked for by a driver killed before Ray Tune saved them, or were running when
    the study's time budget ran out (Tune then tells the searcher nothing). Their epochs come
    from their own log (``trials/<id>/``), as the tables' do: each epoch Optuna missed becomes
    an intermediate value; one that trained to its end (``max_epochs`` or its patience) is
    *complete* with its best epoch's value; one that trained less was stopped early, *pruned*,
    as an ASHA stop is. One that diverged (its ``diverged`` file: the driver was killed
    before Tune told the searcher) is *pruned* and infeasible, as the searcher tells one
    (:func:`jetstudy.study.sampler.mark_diverged`). One that never trained is *failed*: Tune
    asked for another configuration instead (the tables do not list it).
    """
    study = optuna.load_study(study_name=OPTUNA_STUDY_NAME, storage=optuna_storage(folder))
    orphans = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,))
    cfg = None
    if orphans and (folder / "config.yaml").is_file():
        from jetstudy.study.resume_checks import saved_config

        cfg = saved_config(folder)  # its warnings were said when the run began
        # the study's own sampler: Optuna 4.x records a trial's constraints (size excess,
        # divergence) when it is told, through the sampler's constraints_func, and its TPE
        # ranks a trial without them after every other (Optuna 5: the trial holds them)
        study = optuna.load_study(study_name=OPTUNA_STUDY_NAME, storage=study._storage,
                                  sampler=make_sampler(cfg))
    for trial in orphans:
        close_from_log(study, trial, folder / "trials", cfg)
    return len(orphans)


def close_from_log(study: optuna.Study, trial: optuna.trial.FrozenTrial, trials: Path,
                   cfg: StudyConfig | None) -> None:
    """Close the *running* Optuna ``trial`` from its own epoch log under ``trials`` (the
    rule of :func:`close_orphaned_trials`; a ``--resume`` closes so, as it starts, a trial the
    killed driver lost that Tune will not continue: ``jetstudy.study.resume``). ``cfg``: the
    study's config (None: no log is read; closed *pruned* if Optuna heard of an epoch, else
    *failed*)."""
    trial_id = str(trial.user_attrs.get("trial_id", ""))
    records = read_epochs(str(trials), trial_id) if trial_id and cfg else []
    config_file = trials / trial_id / CONFIG_FILE
    config = json.loads(read_plain(config_file)) if records and config_file.is_file() else {}
    reason = diverged_before(str(trials), trial_id) if trial_id else None
    if reason is not None:  # killed before Tune told the searcher: told as it tells one
        mark_diverged(optuna.trial.Trial(study, trial._trial_id), reason)
        if records:
            _report_epochs(study, trial, records, cfg)
        study.tell(trial.number, state=optuna.trial.TrialState.PRUNED)
        return
    values = _from_log(study, trial, records, cfg, config) if records else None
    if values is not None:
        study.tell(trial.number, values)
        return
    trained = records or trial.intermediate_values or trial.user_attrs.get("epochs")
    if not trained:  # a resume does not count it toward num_trials (study/resume.py)
        study._storage.set_trial_user_attr(trial._trial_id, NEVER_TRAINED, True)
    state = (optuna.trial.TrialState.PRUNED if trained
             else optuna.trial.TrialState.FAIL)
    study.tell(trial.number, state=state)


def _report_epochs(study: optuna.Study, frozen: optuna.trial.FrozenTrial,
                   records: list[dict], cfg: StudyConfig) -> None:
    """Tell Optuna the epochs of ``records`` it missed (intermediate values; the epoch count
    of a two-objective study) and the trial's size."""
    metric, trial = cfg.search.metric, optuna.trial.Trial(study, frozen._trial_id)
    done = max(frozen.intermediate_values, default=int(frozen.user_attrs.get("epochs", 0)))
    for record in records:
        epoch, value = int(record["epoch"]), record.get(metric)
        if epoch > done and value is not None:
            if cfg.size_objective:
                trial.set_user_attr("epochs", epoch)
            else:
                trial.report(float(value), epoch)
    describe_trial(trial, str(frozen.user_attrs.get("trial_id", "")), records)


def _from_log(study: optuna.Study, frozen: optuna.trial.FrozenTrial, records: list[dict],
              cfg: StudyConfig, config: dict) -> list[float] | float | None:
    """Tell Optuna the epochs of ``records`` it missed; returns the values to complete the
    trial with when the log shows it trained to its end, else None (pruned)."""
    from jetstudy.trainables.objective import Objective

    metric = cfg.search.metric
    _report_epochs(study, frozen, records, cfg)
    last = int(records[-1]["epoch"])
    if last < cfg.scheduler.max_epochs and not records[-1].get("converged"):
        return None
    best = Objective(metric, cfg.mode).best_value([r.get(metric) for r in records])
    if best is None:
        return None
    if not cfg.size_objective:
        return float(best)
    size = config_size(config, cfg.size_objective, cfg.space)
    return None if size is None else [float(best), float(size)]
