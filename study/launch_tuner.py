"""The Ray Tune ``Tuner`` of a study: a new one (Optuna's searcher, ASHA or FIFO, the study's
run config) or, on ``--resume``, Tune's saved experiment restored with this run's callbacks and
search settings (:func:`make_tuner`); a step of :func:`jetstudy.study.launch.run_study`."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Any

from jetstudy.study.config import StudyConfig
from jetstudy.study.optuna_story import trial_name
from jetstudy.study.packing import packed_trainable
from jetstudy.study.prepare import PreparedData
from jetstudy.study.rungs import follow_adoptions, replay_rungs
from jetstudy.study.searcher import OPTUNA_JOURNAL, make_searcher
from jetstudy.study.settings import train_settings
from jetstudy.trainables.loop import TrialData

__all__ = ["make_tuner", "trial_data"]

logger = logging.getLogger(__name__)


def trial_data(prepared: PreparedData) -> TrialData:
    s = prepared.splits
    return TrialData(x_train=s.x_train, y_train=s.y_train, x_val=s.x_val, y_val=s.y_val)


def make_tuner(cfg: StudyConfig, prepared: PreparedData, folder: Path,
           callbacks: list, resume: bool, packs: list) -> Any:
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler, FIFOScheduler

    from jetstudy.trainables.trial import run_trial

    if packs:
        trainable = packed_trainable(cfg, packs, str(folder / "trials"))
    else:
        resources = {"cpu": cfg.resources.cpus_per_trial, "gpu": cfg.resources.gpus_per_trial}
        trainable = tune.with_resources(
            tune.with_parameters(run_trial, data=trial_data(prepared),
                                 settings=train_settings(cfg, folder)), resources)
    experiment = folder / "ray"
    if resume and tune.Tuner.can_restore(str(experiment)):
        tuner = tune.Tuner.restore(str(experiment), trainable, resume_unfinished=True,
                                   resume_errored=False, restart_errored=False)
        # the pickled callbacks point at the dead driver's terminal: use this run's
        tuner._local_tuner.get_run_config().callbacks = callbacks
        # and the pickled search settings are the first run's: use this run's
        from jetstudy.study.resume import resumed_search

        tune_config = tuner._local_tuner._tune_config
        tune_config.search_alg = resumed_search(tune_config.search_alg, cfg)
        tune_config.num_samples = cfg.search.num_trials
        tune_config.time_budget_s = cfg.search.time_budget_s
        # Tune saves no scheduler state: ASHA's rungs as the first driver had them
        replay_rungs(tune_config.scheduler, cfg, folder / "trials")
        follow_adoptions(tune_config.scheduler)  # a lost trial adopted takes its values along
        return tuner
    follow_adoptions(None)
    if resume:
        _set_aside_orphans(folder)
    sch = cfg.scheduler
    scheduler = (ASHAScheduler(time_attr="epoch", max_t=sch.max_epochs,
                               grace_period=sch.grace_period,
                               reduction_factor=sch.reduction_factor)
                 if sch.type == "asha" else FIFOScheduler())
    if resume:  # the set-aside run's trials stay in the tables: ASHA compares with them too
        replay_rungs(scheduler, cfg, folder / "trials")
    tune_config = tune.TuneConfig(
        metric=cfg.search.metric, mode=cfg.mode, search_alg=make_searcher(cfg, folder),
        scheduler=scheduler, num_samples=cfg.search.num_trials,
        time_budget_s=cfg.search.time_budget_s,
        trial_name_creator=trial_name, trial_dirname_creator=trial_name,  # readable runs
        reuse_actors=True)  # skip a process start (and torch import) per trial
    run_config = tune.RunConfig(
        name=experiment.name, storage_path=str(experiment.parent), callbacks=callbacks,
        verbose=0,
        failure_config=tune.FailureConfig(max_failures=cfg.resources.max_failures))
    return tune.Tuner(trainable, tune_config=tune_config, run_config=run_config)


def _set_aside_orphans(folder: Path) -> None:
    """Tune saved no experiment state (the driver died before its first snapshot), so no
    trial was recorded: start the search afresh, keeping the old files for inspection."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for name in ("ray", OPTUNA_JOURNAL):
        if (folder / name).exists():
            os.replace(folder / name, folder / f"{name}.orphaned-{stamp}")
            logger.warning("resume: %s had no saved Tune state; set aside as %s.orphaned-%s",
                           name, name, stamp)
