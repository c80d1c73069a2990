"""Run a study: data -> Ray Tune (Optuna + ASHA) -> result tables -> the best model on test.

Reads top to bottom like Ray's Optuna example; the pieces (config, space, searcher, progress,
tables, evaluation) live in their own modules.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pandas as pd

from study.config import StudyConfig
from study.prepare import PreparedData, prepare_data, prepare_folder, results_folder
from study.progress import StudyProgress
from study.searcher import make_searcher
from study.tables import (epoch_rows, epochs_frame, error_reason, trial_row, trials_frame,
                          write_table)
from trainables.errors import JetstudyError
from trainables.loop import TrainSettings, TrialData

__all__ = ["StudyOutcome", "run_study", "train_settings"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class StudyOutcome:
    folder: Path
    trials: pd.DataFrame
    test_metrics: dict[str, Any] | None

    def count(self, status: str) -> int:
        return int((self.trials["status"] == status).sum()) if len(self.trials) else 0


def train_settings(cfg: StudyConfig) -> TrainSettings:
    """The study-wide settings every trial trains with."""
    t = cfg.training
    return TrainSettings(max_epochs=cfg.scheduler.max_epochs, batch_size=t.batch_size,
                         optimizer=t.optimizer, train_eval_jets=t.train_eval_jets,
                         checkpoint_every=t.checkpoint_every, metric=cfg.search.metric,
                         mode=cfg.mode, seed=cfg.search.seed, device=t.device,
                         torch_threads=t.torch_threads)


def _init_ray(cfg: StudyConfig, verbose: bool) -> bool:
    """Start or join Ray; returns True when this call started it (and must shut it down)."""
    import ray

    if ray.is_initialized():
        return False
    os.environ.setdefault("RAY_DEDUP_LOGS", "1")
    # one checkpoint kept per trial forces frequent experiment snapshots; they are cheap here
    os.environ.setdefault("TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S", "0")
    if not verbose:  # Ray's new console output prints its banner even at verbose=0
        os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    kwargs: dict[str, Any] = {"log_to_driver": verbose,
                              "logging_level": logging.INFO if verbose else logging.ERROR}
    if cfg.resources.address:
        ray.init(address=cfg.resources.address, **kwargs)
    else:
        ray.init(num_cpus=cfg.resources.num_cpus, include_dashboard=False, **kwargs)
    return True


def _tuner(cfg: StudyConfig, prepared: PreparedData, folder: Path,
           callbacks: list, resume: bool) -> Any:
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler, FIFOScheduler

    from trainables.trial import run_trial

    s = prepared.splits
    data = TrialData(x_train=s.x_train, y_train=s.y_train, x_val=s.x_val, y_val=s.y_val)
    resources = {"cpu": cfg.resources.cpus_per_trial, "gpu": cfg.resources.gpus_per_trial}
    trainable = tune.with_resources(
        tune.with_parameters(run_trial, data=data, settings=train_settings(cfg)), resources)
    experiment = folder / "ray"
    if resume and tune.Tuner.can_restore(str(experiment)):
        return tune.Tuner.restore(str(experiment), trainable, resume_unfinished=True,
                                  resume_errored=False, restart_errored=False)
    sch = cfg.scheduler
    scheduler = (ASHAScheduler(time_attr="training_iteration", max_t=sch.max_epochs,
                               grace_period=sch.grace_period,
                               reduction_factor=sch.reduction_factor)
                 if sch.type == "asha" else FIFOScheduler())
    tune_config = tune.TuneConfig(
        metric=cfg.search.metric, mode=cfg.mode, search_alg=make_searcher(cfg, folder),
        scheduler=scheduler, num_samples=cfg.search.num_trials,
        time_budget_s=cfg.search.time_budget_s,
        reuse_actors=True)  # skip a process start (and torch import) per trial
    run_config = tune.RunConfig(
        name=experiment.name, storage_path=str(experiment.parent), callbacks=callbacks,
        verbose=0, checkpoint_config=tune.CheckpointConfig(num_to_keep=1),
        failure_config=tune.FailureConfig(max_failures=0))
    return tune.Tuner(trainable, tune_config=tune_config, run_config=run_config)


def collect_tables(grid: Any, cfg: StudyConfig) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The trials and epochs tables from Ray Tune's result grid."""
    trial_rows, all_epochs = [], []
    for result in grid:
        trial_id = str(result.metrics.get("trial_id", ""))
        records = ([] if result.metrics_dataframe is None
                   else result.metrics_dataframe.to_dict("records"))
        records = [r for r in records if "val_loss" in r and r.get("epoch") == r.get("epoch")]
        rows = epoch_rows(trial_id, records)
        frame = epochs_frame(rows)
        status = ("failed" if result.error is not None else
                  "completed" if len(frame) >= cfg.scheduler.max_epochs else "stopped")
        trial_rows.append(trial_row(
            trial_id, result.config or {}, frame, status=status,
            error=error_reason(result.error), max_epochs=cfg.scheduler.max_epochs,
            max_depth=cfg.space.depth[1], metric=cfg.search.metric, mode=cfg.mode,
            batch_size=cfg.training.batch_size,
            flops=int(records[-1]["flops"]) if records and "flops" in records[-1] else None))
        all_epochs.extend(rows)
    return trials_frame(trial_rows), epochs_frame(all_epochs)


def _best_result(grid: Any, trials: pd.DataFrame, cfg: StudyConfig) -> Any:
    ok = trials[(trials["status"] != "failed") & trials["best_epoch"].notna()]
    if ok.empty:
        return None
    col = f"best_{cfg.search.metric}"
    best_id = (ok.loc[ok[col].idxmin()] if cfg.mode == "min" else ok.loc[ok[col].idxmax()])
    for result in grid:
        if result.metrics.get("trial_id") == best_id["trial_id"] and result.checkpoint:
            return result
    return None


def run_study(cfg: StudyConfig, *, resume: bool = False,
              progress: Callable[[str], None] | None = None,
              verbose: bool = False) -> StudyOutcome:
    """Run the whole study described by ``cfg``; returns where the results are.

    ``progress`` receives the one-line status whenever it changes.
    """
    folder = results_folder(cfg)
    prepare_folder(cfg, folder, resume)
    prepared = prepare_data(cfg, folder)
    started = _init_ray(cfg, verbose)
    try:
        callbacks = [StudyProgress(cfg.search.num_trials, cfg.search.metric, cfg.mode,
                                   cfg.scheduler.max_epochs, progress)]
        grid = _tuner(cfg, prepared, folder, callbacks, resume).fit()
        trials, epochs = collect_tables(grid, cfg)
        write_table(trials, folder, "trials")
        write_table(epochs, folder, "epochs")
        best = _best_result(grid, trials, cfg)
        test_metrics = None
        if best is not None:
            from study.evaluate import evaluate_best

            with best.checkpoint.as_directory() as ckpt:
                test_metrics = evaluate_best(ckpt, best.metrics["trial_id"], prepared.splits,
                                             prepared.synthetic, folder / "best")
        else:
            logger.warning("no trial finished an epoch; no best model to evaluate")
    finally:
        if started:
            import ray

            ray.shutdown()
    if trials.empty:
        raise JetstudyError(f"the study in {folder} ran no trials; check search.num_trials "
                            f"and search.time_budget_s")
    return StudyOutcome(folder=folder, trials=trials, test_metrics=test_metrics)
