"""Run a study: data -> Ray Tune (Optuna + ASHA) -> result tables -> the best model on test.

Reads top to bottom like Ray's Optuna example; the pieces (config, space, searcher, progress,
tables, evaluation) live in their own modules.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import pandas as pd

from jetstudy.study.collect import build_tables, from_result_grid
from jetstudy.study.config import StudyConfig
from jetstudy.study.connect import check_address, check_reachable
from jetstudy.study.launch_ray import init_ray, refuse_what_ray_cannot_start_under
from jetstudy.study.launch_resumed import mark_continued
from jetstudy.study.launch_tuner import make_tuner, trial_data
from jetstudy.study.ledger import TrialLedger
from jetstudy.study.hardlinks import unshare_linked_files
from jetstudy.study.lock import StudyLock, lost_to, raise_if_busy
from jetstudy.study.paths import (abandon_study_folder, check_results_dir_in_job,
                                  clear_dead_temporaries)
from jetstudy.study.background import Background
from jetstudy.study.prepare import (check_checkpoints, check_folder,
                                    discard_unstarted, load_data, results_folder, split_data,
                                    write_config)
from jetstudy.study.reference import DeferredReference
from jetstudy.study.pack_ready import PacksReady
from jetstudy.study.packing import (PACK_DATA, launch_packs, pack_stats, restored_trials, write_pack_data)
from jetstudy.study.interrupts import (INTERRUPTED, InterruptWatch, StudyInterrupted,
                                       mark_interrupted, sigint_restored,
                                       sigterm_as_ctrl_c)
from jetstudy.study.progress import StudyProgress
from jetstudy.study.namespace import check_not_shadowed
from jetstudy.study.provenance import mark_ended, write_provenance
from jetstudy.study.raysession import end_session, reap_dead_sessions, record_session
from jetstudy.study.run_logs import run_log_callbacks
from jetstudy.study.resources import (check_fit, check_local_request, cluster_shapes,
                                       resolve_packing)
from jetstudy.study.concurrency import concurrency_warning, trials_at_once
from jetstudy.study.settings import train_settings
from jetstudy.study.optuna_files import drop_cut_journal_line
from jetstudy.study.searcher import (clear_stale_journal_lock,
                                     close_orphaned_trials, sampler_record)
from jetstudy.study.snapshots import TableSnapshots, check_tune_period_env
from jetstudy.study.tables import write_json, write_table
from jetstudy.trainables.atomic import held_signals
from jetstudy.trainables.errors import ConfigError, JetstudyError
from jetstudy.trainables.trialfiles import state_path

__all__ = ["StudyOutcome", "run_study"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class StudyOutcome:
    folder: Path
    trials: pd.DataFrame
    test_metrics: dict[str, Any] | None
    #: where the set-up's seconds went (wall): ``load_s`` (synthetic jets, read, validate),
    #: ``ray_start_s`` (while the jets are split), ``split_wait_s`` (the split outlasting
    #: Ray's start), ``packs_s`` (pack data written, packs launched: they warm up while Tune
    #: starts the trials), ``tuner_s`` (searcher and Tuner built); ``reference_s``: the Bayes
    #: reference, computed beside the trials
    setup: dict[str, float] = dataclasses.field(default_factory=dict)

    def count(self, status: str) -> int:
        return int((self.trials["status"] == status).sum()) if len(self.trials) else 0


def _with_suffix(progress: Callable[[str], None] | None, suffix: str
                 ) -> Callable[[str], None] | None:
    """The progress sink, each line ending in `` | suffix`` (after the counts, which a log
    file's sink compares)."""
    if progress is None:
        return None
    return lambda line: progress(f"{line} | {suffix}")


def _best_trial(trials: pd.DataFrame, cfg: StudyConfig) -> str | None:
    """The trial with the best value of the search metric at any epoch (failed ones excluded):
    the report's rule (``jetstudy.analysis.summary.best_trial``), so both name the same trial."""
    from jetstudy.analysis.errors import AnalysisError
    from jetstudy.analysis.summary import best_trial

    try:
        return str(best_trial(trials, cfg.search.metric, cfg.mode == "max")["trial_id"])
    except AnalysisError:  # no trial finished an epoch without failing
        return None


def _saved_config(cfg: StudyConfig, folder: Path) -> StudyConfig:
    """On resume the study continues as it was configured: only how much is left to run and
    where it runs may change (:mod:`jetstudy.study.resume`); any other difference is an error."""
    from jetstudy.study.resume import config_for_resume

    return config_for_resume(cfg, folder)


def run_study(cfg: StudyConfig, *, resume: bool = False,
              progress: Callable[[str], None] | None = None,
              verbose: bool = False, callbacks: Sequence[Any] = ()) -> StudyOutcome:
    """Run the whole study described by ``cfg``; returns where the results are.

    ``progress`` receives the one-line status whenever it changes; ``callbacks`` are extra
    Ray Tune callbacks (they must live in importable modules). The driver holds the study's
    lock (:mod:`jetstudy.study.lock`) throughout: a second driver on the same study is refused.
    """
    if resume and cfg.storage.name is None:
        raise ConfigError("--resume needs storage.name: the name of the study folder to "
                          "continue, e.g. --set storage.name=study-20261125-134000")
    check_results_dir_in_job(cfg.storage.results_dir)  # not into Ray's temporary copy
    check_tune_period_env()  # the user's TUNE_GLOBAL_CHECKPOINT_S, as `jetstudy run` does
    check_not_shadowed()  # a jetstudy.py here is what Ray's workers would import
    refuse_what_ray_cannot_start_under(cfg)  # before anything is claimed or written
    _refuse_dead_cluster(cfg)  # likewise: a cluster that does not answer
    folder = results_folder(cfg)
    named = cfg.storage.name is not None  # else from the clock: a stopped start is not reused
    cfg = dataclasses.replace(cfg, storage=dataclasses.replace(cfg.storage, name=folder.name))
    reap_dead_sessions(folder.parent)  # Ray left behind by a driver killed with kill -9
    raise_if_busy(folder)
    created: list[Path] | None = None  # None: the folder was not claimed (refused)
    try:
        with held_signals():  # claimed and known as claimed in one step: a stop undoes it
            created = check_folder(folder, resume)
        with sigterm_as_ctrl_c(), StudyLock(folder):
            clear_dead_temporaries(folder)  # a killed driver's or trial's: ours, none live
            unshare_linked_files(folder)  # a cp -al snapshot's files: never appended to
            clear_stale_journal_lock(folder)  # a killed driver's, mid-write: none live
            drop_cut_journal_line(folder)  # a full disk's or a kill's half line: never read
            _recover_best(folder)
            return _run_locked(cfg, folder, resume, progress, verbose, callbacks)
    except KeyboardInterrupt:  # a second Ctrl-C, or one outside Tune's loop
        taker = lost_to(folder)
        if taker is not None:  # the study is another driver's now: nothing touched
            raise StudyInterrupted(folder, folder.name, True, lost_to=taker) from None
        if created is not None:
            if not named:
                discard_unstarted(folder, created)
            abandon_study_folder(folder, created)
        raise StudyInterrupted(folder, folder.name, (folder / "config.yaml").exists()) from None
    except BaseException:  # bad data: leave no half-made study to trip over when rerun
        if created is not None:
            if not named:
                discard_unstarted(folder, created)
            abandon_study_folder(folder, created)
        raise


def _refuse_dead_cluster(cfg: StudyConfig) -> None:
    """``resources.address`` where no Ray cluster answers is refused before the study folder
    is claimed or any data read (:func:`jetstudy.study.connect.check_reachable`); not when this
    process already runs Ray (the study joins that one)."""
    import sys

    ray = sys.modules.get("ray")
    if cfg.resources.address and not (ray is not None and ray.is_initialized()):
        check_reachable(cfg.resources.address)


def _recover_best(folder: Path) -> None:
    """An earlier best/ that a driver killed while replacing it left aside is put back if
    best/ is missing (:func:`jetstudy.study.evaluate.recover_best`), so a resume stopped
    before its own evaluation still has one."""
    from jetstudy.study.evaluate import recover_best

    recover_best(folder / "best")


@contextmanager
def _not_started_on_error(folder: Path, resume: bool) -> Iterator[None]:
    """A check before the first trial failed (the cluster, its resources, its storage): a new
    study never started, so its folder stops being a study (this run's ``config.yaml`` goes)
    and the same command, fixed, runs again without ``--resume``."""
    try:
        yield
    except ConfigError:
        if not resume:
            (folder / "config.yaml").unlink(missing_ok=True)
        raise


class _Clock:
    """Wall seconds of the set-up's steps, each from the end of the one before."""

    def __init__(self) -> None:
        self.times: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.times[name] = round(now - self._last, 3)
        self._last = now


def _raise_data_error_first(split: Background, exc: BaseException) -> None:
    """Starting Ray failed (or Ctrl-C) while the jets were being split: wait for the split
    (its files land before the folder may be removed) and, unless the user interrupted,
    raise its error instead: bad data is said first, as when Ray started after the split."""
    error = split.settle()
    if error is not None and not isinstance(exc, KeyboardInterrupt):
        raise error from None


def _settle_background(split: Background, reference: DeferredReference | None) -> None:
    """The study ends (on any path): no background thread writes into its folder after this
    (``run_study`` may remove the folder next). Their errors were raised where the study
    asked for their results; after another error they are left unsaid."""
    split.settle()
    if reference is not None:
        reference.abandon()


def _run_locked(cfg: StudyConfig, folder: Path, resume: bool,
                progress: Callable[[str], None] | None, verbose: bool,
                callbacks: Sequence[Any]) -> StudyOutcome:
    if resume:
        cfg = _saved_config(cfg, folder)
        check_checkpoints(folder)  # a planted state.pt stops here, never unpickled
    check_address(cfg.resources.address)  # its form and Ray's extras, before any data work
    # the trials --resume continues: the packs hold them too (None: unreadable, assume all)
    restored = (restored_trials(folder) if resume else 0)
    restored = cfg.search.max_concurrent if restored is None else restored
    check_local_request(cfg, restored)  # a trial asking more CPUs than resources.num_cpus
    clock = _Clock()
    loaded = load_data(cfg, folder)  # bad files stop here, before Ray starts
    if resume:  # the files it was run on, by their checksums in provenance.json
        from jetstudy.study.resume import check_data_unchanged

        check_data_unchanged(folder)
    clock.lap("load_s")
    # the split (numpy, which releases the GIL) runs while Ray starts in this, the main thread
    split = Background("split", lambda: split_data(cfg, folder, loaded, reference=False))
    try:
        with _not_started_on_error(folder, resume):
            started = init_ray(cfg, verbose)
    except BaseException as exc:
        _raise_data_error_first(split, exc)
        raise
    clock.lap("ray_start_s")
    packs: list = []
    provenance = False
    reference: DeferredReference | None = None
    try:
        from jetstudy.study.cluster import check_shared_storage

        if started and not cfg.resources.address:
            record_session(folder)  # so a later run can clean up after a kill -9 of this one
        prepared = split.result()  # a bad split stops here, before the folder is a study
        clock.lap("split_wait_s")
        write_config(cfg, folder)  # on resume: with the trial count and resources it now runs with
        # reference.json is read only after the trials: computed beside them
        reference = DeferredReference(prepared.splits, prepared.bayes, folder)

        with _not_started_on_error(folder, resume):
            packing_cfg = cfg
            cfg, plan = resolve_packing(cfg, restored)  # auto -> a number (config.yaml: auto)
            check_fit(cfg, restored)  # a request no node can hold would wait for ever
            check_shared_storage(folder)  # every node must see the results folder
        # versions, commit, host, start time, what pack_size became
        shapes = cluster_shapes(cfg.resources.address is None)
        crowded = concurrency_warning(cfg, shapes)  # max_concurrent above what the nodes hold
        if crowded:
            logger.warning("%s", crowded)
        write_provenance(folder, cfg.training.device, plan.record(packing_cfg),
                         sampler={**sampler_record(cfg, space=True),
                                  "trials_at_once": trials_at_once(cfg, shapes)})
        if plan.size:  # the progress line says the study runs packed
            progress = _with_suffix(progress, f"packs: {plan.packs} x {plan.size} trials")
        provenance = True
        (folder / "trials").mkdir(exist_ok=True)  # trials check they can see it (autoscaling)
        watch = InterruptWatch()
        all_callbacks = [StudyProgress(cfg.search.num_trials, cfg.search.metric, cfg.mode,
                                       cfg.scheduler.max_epochs, progress, watch=watch,
                                       state_dir=str(folder / "trials")),
                         TrialLedger(str(folder / "trials"), cfg.scheduler.type == "asha"),
                         TableSnapshots(cfg, folder),
                         watch, *callbacks, *run_log_callbacks(str(folder / "trials"))]  # ray/<run>/
        ready = None
        if cfg.resources.pack_size:  # the packs warm up while Tune starts the trials
            pack_data = write_pack_data(trial_data(prepared), folder)
            packs = launch_packs(cfg, pack_data, train_settings(cfg, folder), plan.packs,
                                 plan.slots)
            ready = PacksReady(packs, cfg.resources.pack_size)  # a failed start ends fit()
            all_callbacks.append(ready)
            clock.lap("packs_s")
        tuner = make_tuner(cfg, prepared, folder, all_callbacks, resume, packs)
        if resume:  # the trials Tune restores go on from their checkpoints: each one said
            mark_continued(folder)
        clock.lap("tuner_s")
        logger.info("set-up before Tune's first trial: %s", clock.times)
        with sigint_restored():
            grid = tuner.fit()
        taker = lost_to(folder)
        if taker is not None:  # another driver took the study over (this one was stopped or
            # cut off for 30 s): its tables, never written over with this driver's
            raise StudyInterrupted(folder, folder.name, True, lost_to=taker)
        if ready is not None:
            ready.wait()  # Tune's loop ended before the packs answered: their error, if any
            write_json(pack_stats(packs), folder / "packs.json")
        known = from_result_grid(grid)
        if watch.interrupted:  # Ctrl-C: Tune stopped; its running trials go on at --resume
            known = mark_interrupted(known, watch.cut_short, str(folder / "trials"),
                                     cfg.scheduler.max_epochs)
        trials, epochs = build_tables(known, cfg, str(folder / "trials"))
        if not watch.interrupted:  # else --resume continues its Optuna trials
            close_orphaned_trials(folder)
        write_table(trials, folder, "trials")
        write_table(epochs, folder, "epochs")
        if watch.interrupted:
            cut = int((trials["status"] == INTERRUPTED).sum()) if len(trials) else 0
            raise StudyInterrupted(folder, folder.name, True, len(trials) - cut, cut,
                                   counted=True)
        best = _best_trial(trials, cfg)
        test_metrics = None
        if best is not None:
            from jetstudy.study.evaluate import BestEpochMismatch, evaluate_best

            best_epoch = trials.loc[trials["trial_id"] == best, "best_epoch"].iloc[0]
            try:  # exactly the epoch the table names, or nothing
                test_metrics = evaluate_best(state_path(str(folder / "trials"), best), best,
                                             prepared.splits, prepared.synthetic,
                                             folder / "best", expected_epoch=int(best_epoch),
                                             bayes_known=prepared.bayes)
            except BestEpochMismatch as exc:
                logger.warning("no test evaluation: %s", exc)
        else:
            every = len(trials) and (trials["status"] == "failed").all()
            logger.warning("%s; no best model to evaluate", f"every trial failed ({len(trials)})"
                           if every else "no trial finished an epoch")
        reference.finish()  # reference.json written; its error, if any, raised here
        clock.times["reference_s"] = reference.seconds
    finally:  # whole, with stops held: the lock's heartbeat SIGTERMs a driver that lost the
        import ray  # study, which may land here (Tune ended just before): raised as it ends

        with held_signals():  # (a second Ctrl-C still stops a shutdown that hangs)
            for pack in packs:  # on a cluster they would outlive the driver
                ray.kill(pack)
            lost = lost_to(folder) is not None  # its files are another driver's: left alone
            try:
                if not lost:
                    (folder / PACK_DATA).unlink(missing_ok=True)
            except OSError as exc:  # a folder turned read-only: never instead of the study's error
                if (folder / PACK_DATA).exists():
                    logger.warning("could not remove %s: %s", folder / PACK_DATA, exc.strerror)
            if started:
                ray.shutdown()
                end_session(folder)  # and whatever of it outlived the shutdown (its record only)
            if provenance and not lost:
                mark_ended(folder)
            _settle_background(split, reference)
    if trials.empty:
        budget = cfg.search.time_budget_s
        raise JetstudyError(
            f"the study in {folder} ran no trials; check search.num_trials "
            f"and search.time_budget_s" if not budget else
            f"search.time_budget_s ({budget:g} s) ran out before any trial of the study in "
            f"{folder} finished an epoch (the budget counts from the start of Ray Tune, "
            f"start-up included); continue it with a larger budget: the same command with "
            f"--resume --set search.time_budget_s={max(600, int(budget * 10))}")
    return StudyOutcome(folder=folder, trials=trials, test_metrics=test_metrics,
                        setup=clock.times)
