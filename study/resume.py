"""``--resume``: the restored search goes on with this run's trial count and concurrency.

What a resume may be given (the config field by field, the data files) is
:mod:`jetstudy.study.resume_checks`, re-exported here.

Ray Tune restores its search state from the experiment folder, counts included, so
:class:`ResumedSearch` re-applies this driver's trial count and concurrency after that
restore (a finished search with a larger ``num_trials`` starts asking again; a Sobol scan's
further design points are enqueued, the design being prefix-stable; TPE's start-up count
follows the new ``num_trials`` and ``max_concurrent``), and closes the Optuna trials a killed
driver left running that no one continues.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import optuna
from ray.tune.search import SearchGenerator

from jetstudy.study.config import StudyConfig
from jetstudy.study.resume_checks import (MAY_CHANGE, OLDER_STUDIES, check_data_unchanged,
                                          config_for_resume, saved_config)

__all__ = ["MAY_CHANGE", "OLDER_STUDIES", "config_for_resume", "saved_config", "ResumedSearch",
           "resumed_search", "check_data_unchanged"]

logger = logging.getLogger(__name__)


class ResumedSearch(SearchGenerator):
    """Tune's search generator, restored, then given this driver's ``num_trials`` and
    ``max_concurrent`` (Tune would keep the saved ones)."""

    def __init__(self, searcher: Any, num_trials: int, max_concurrent: int,
                 design: list[dict[str, Any]] | None = None,
                 time_budget_s: float | None = None, grid: bool = False,
                 initial: list[dict[str, Any]] | None = None,
                 cfg: StudyConfig | None = None) -> None:
        super().__init__(searcher)
        self.cfg = cfg  # the study's config: a lost trial is closed from its log by it
        self.initial = initial or []  # a search's initial points, as Optuna parameters
        self.grid = grid  # a grid scan: its size is fixed by its levels
        self.num_trials = num_trials
        self.max_concurrent = max_concurrent
        self.design = design or []
        self.time_budget_s = time_budget_s

    def restore_from_dir(self, dirpath: str) -> None:
        num_trials, max_concurrent = self.num_trials, self.max_concurrent
        super().restore_from_dir(dirpath)
        self.num_trials, self.max_concurrent = num_trials, max_concurrent
        self._total_samples = num_trials
        # Tune marks the search finished when search.time_budget_s runs out: what is left of
        # num_trials runs now
        self._finished = self._counter >= num_trials
        wrapper, limiters = self.searcher, []
        while hasattr(wrapper, "searcher"):  # ConcurrencyLimiter -> HonestOptunaSearch
            if hasattr(wrapper, "max_concurrent"):
                wrapper.max_concurrent = max_concurrent
            if hasattr(wrapper, "live_trials"):
                limiters.append(wrapper)
            wrapper = wrapper.searcher
        if hasattr(wrapper, "num_trials"):
            wrapper.num_trials = num_trials
        kept = _restart_count(wrapper, num_trials, max_concurrent)
        if kept is not None and self.cfg is not None:  # provenance.json took this config's
            from jetstudy.study.paths import study_folder

            _record_startup(study_folder(self.cfg.storage.results_dir, self.cfg.storage.name),
                            kept)
        for limiter in limiters:
            _release_ended(limiter, wrapper)
        _uncount_untrained(self, wrapper)
        _close_dead(wrapper, getattr(self, "cfg", None))
        self._finished = self._counter >= num_trials
        self._enqueue_rest(wrapper)
        self._fresh_budget()
        # Tune's count misses the trials a killed driver started after its last snapshot
        # (their folders count toward num_trials: HonestOptunaSearch.suggest)
        started = max(self._counter, _trials_started(wrapper))
        if started > num_trials:  # search.num_trials lowered below what started
            logger.warning("--resume: search.num_trials is now %d, but the study already "
                           "started %d trials: no new trial starts, the %d are kept (a trial "
                           "cut short continues to its end) and all of them are in the tables",
                           num_trials, started, started)
        if started >= num_trials and not _still_running(wrapper):
            logger.warning("--resume: the study has run all its search.num_trials (%d), none is "
                           "left running: nothing is left to train (the tables, the "
                           "best model's test scores and the report are made again); %s",
                           num_trials, "a grid has exactly its configurations: for more, start "
                           "a new study with more search.grid_levels" if getattr(
                               self, "grid", False) else "raise search.num_trials to run more "
                           "trials")

    def _fresh_budget(self) -> None:
        """Ray restores the first run's time-budget stopper (a spent budget stops the resumed
        run at once: its new trials were cut before their first epoch) over this run's: give
        the Tune controller restoring this search this driver's ``search.time_budget_s``
        (None: no budget), counted from now."""
        import inspect

        from ray.tune.stopper import NoopStopper, TimeoutStopper

        frame = inspect.currentframe()
        try:
            for _ in range(6):  # TuneController.resume -> ... -> restore_from_dir
                frame = frame.f_back if frame is not None else None
                owner = frame.f_locals.get("self") if frame is not None else None
                if owner is not None and getattr(owner, "_search_alg", None) is self:
                    owner._stopper = (TimeoutStopper(self.time_budget_s) if self.time_budget_s
                                      else NoopStopper())
                    return
        finally:
            del frame
        logger.warning("resume: could not reset Ray Tune's time budget; the first run's "
                       "remaining search.time_budget_s applies")

    def _enqueue_rest(self, searcher: Any) -> None:
        """Enqueue every design point of the scan that no Optuna trial holds (done, running
        or waiting), in design order: the rest of a scan whose ``num_trials`` grew, and the
        points of trials the time budget cut before their first epoch (failed, never
        trained: their places go to new trials). Else the scan's fallback random sampler
        would propose configurations outside the design. The same for a search's
        ``search.initial_points`` (``initial``): one whose trial the budget cut is trained
        after all, not replaced by a TPE proposal."""
        from collections import Counter

        from jetstudy.study.searcher import NEVER_TRAINED
        from jetstudy.study.tpe_sampler import REJECTED_ATTR

        study = getattr(searcher, "_ot_study", None)
        # a search's search.initial_points: only enqueued trials can hold one
        points, enqueued_only = ((self.design, False) if self.design else
                                 (getattr(self, "initial", None) or [], True))
        if not points or study is None:
            return
        held: Counter = Counter()
        for trial in study.get_trials(deepcopy=False):
            if ((trial.state == optuna.trial.TrialState.FAIL
                    and trial.user_attrs.get(NEVER_TRAINED)) or _dead(trial, searcher)
                    or REJECTED_ATTR in trial.user_attrs):  # a draw over a size limit
                continue  # its point is free again
            # an enqueued point's whole parameters (a trial cut while drawing has some)
            params = trial.system_attrs.get("fixed_params") or (
                {} if enqueued_only else trial.params)
            if params:
                held[_point_key(params)] += 1
        designed = {_point_key(p) for p in points}
        missing = []
        if not enqueued_only and any(key not in designed for key in held):  # parameters
            # not of this design (a study from another version): the earlier rule
            missing = points[len(study.get_trials(deepcopy=False)):]
        else:
            for point in points:
                key = _point_key(point)
                if held[key] > 0:
                    held[key] -= 1
                else:
                    missing.append(point)
        for point in missing:
            study.enqueue_trial(point)
        if missing:
            logger.info("resume: %d %s enqueued (not held by any trial)", len(missing),
                        "search.initial_points" if enqueued_only else "design points")


def _dead(trial: Any, searcher: Any) -> bool:
    """A trial still running in Optuna that a killed driver asked for after Tune's last
    snapshot and that never trained an epoch: Tune will not continue it (a trained one is
    adopted, :meth:`jetstudy.study.searcher.HonestOptunaSearch._find_orphans`), and it is
    closed failed, never trained, as the resume starts (:func:`_close_dead`)."""
    from jetstudy.trainables.trialfiles import EPOCHS_FILE

    if trial.state != optuna.trial.TrialState.RUNNING or getattr(searcher, "state_dir",
                                                                   None) is None:
        return False
    known = {t.number for t in getattr(searcher, "_ot_trials", {}).values()}
    folder = str(trial.user_attrs.get("trial_id", "")) or "-"
    return (trial.number not in known
            and not (Path(searcher.state_dir) / folder / EPOCHS_FILE).is_file())


def _lost(trial: Any, searcher: Any) -> bool:
    """A trial still running in Optuna that a killed driver asked for after Tune's last
    snapshot, trained (its epoch log) and left nothing Tune continues: no checkpoint
    (``training.checkpoint_every`` > 1, killed before the first), or Tune had ended it
    (``ended``) before the driver told Optuna. Tune will not adopt it
    (:meth:`jetstudy.study.searcher.HonestOptunaSearch._find_orphans` takes only a trial
    with a checkpoint and no end); the tables list it from its log (stopped, interrupted;
    completed when it trained to its end)."""
    from jetstudy.trainables.trialfiles import ENDED_FILE, EPOCHS_FILE, STATE_FILE

    if trial.state != optuna.trial.TrialState.RUNNING or getattr(searcher, "state_dir",
                                                                   None) is None:
        return False
    known = {t.number for t in getattr(searcher, "_ot_trials", {}).values()}
    folder = Path(searcher.state_dir) / (str(trial.user_attrs.get("trial_id", "")) or "-")
    return (trial.number not in known and (folder / EPOCHS_FILE).is_file()
            and (not (folder / STATE_FILE).is_file() or (folder / ENDED_FILE).exists()))


def _close_dead(searcher: Any, cfg: StudyConfig | None = None) -> None:
    """Close now the trials a killed driver asked for after Tune's last snapshot that no one
    continues: one that never trained (:func:`_dead`) *failed* and ``never_trained``; one that
    trained without leaving Tune anything to continue (:func:`_lost`) from its epoch log, as
    the study's end would (:func:`jetstudy.study.orphans.close_from_log`: *pruned* with its
    epochs as intermediate values, *complete* with its best epoch's value when it trained
    to its end, *pruned* and infeasible when it diverged), as the tables list it. Left
    *running* until this run's end, TPE's constant liar counted each as a live trial through
    the whole resumed run (more than ``search.max_concurrent`` at a time: a bad result at
    its parameters, pushing proposals away from them) and optuna-dashboard showed them
    running. A never-trained trial's place goes to a new trial (:func:`_enqueue_rest`); a
    trained one counts toward ``search.num_trials``, as its folder does."""
    from jetstudy.study.orphans import NEVER_TRAINED, close_from_log

    study = getattr(searcher, "_ot_study", None)
    if study is None:
        return
    for trial in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        if _dead(trial, searcher):
            study._storage.set_trial_user_attr(trial._trial_id, NEVER_TRAINED, True)
            study.tell(trial.number, state=optuna.trial.TrialState.FAIL)
            logger.info("resume: Optuna trial %d was asked for by the killed driver and never "
                        "trained; closed failed", trial.number)
        elif _lost(trial, searcher):
            if cfg is None:
                cfg = saved_config(Path(searcher.state_dir).parent)
            close_from_log(study, trial, Path(searcher.state_dir), cfg)
            logger.info("resume: Optuna trial %d (trial %s) trained for the killed driver and "
                        "left no checkpoint to continue from; closed from its epoch log (%s)",
                        trial.number, trial.user_attrs.get("trial_id"),
                        study._storage.get_trial(trial._trial_id).state.name.lower())


def _point_key(params: dict[str, Any]) -> tuple:
    """A design point (or an Optuna trial's parameters) as a comparable key."""
    return tuple(sorted((str(k), float(v) if isinstance(v, (int, float)) else str(v))
                        for k, v in params.items()))


def _restart_count(searcher: Any, num_trials: int, max_concurrent: int) -> int | None:
    """The restored TPE sampler keeps the first run's ``n_startup_trials``; give it this run's
    (:func:`jetstudy.study.search_rules.tpe_startup_trials`), so a study resumed with another
    ``max_concurrent`` or ``num_trials`` samples as ``provenance.json`` and the config check
    say (a batch of 16 at a time is not proposed from a model of 10 trials) -- unless TPE
    already models and this run's start-up is larger: it would draw at random again mid-study;
    the earlier start-up is kept and returned (None otherwise)."""
    from jetstudy.study.search_rules import tpe_startup_trials

    from jetstudy.study.tpe_sampler import StartupTPESampler, trained_finished

    study = getattr(searcher, "_ot_study", None)
    sampler = getattr(study, "sampler", None)
    if isinstance(sampler, optuna.samplers.TPESampler):
        if type(sampler) is optuna.samplers.TPESampler:  # a study started before round 8
            # its start-up counted draws the size limits turned away; the subclass holds no
            # state of its own, so the restored sampler counts trained trials from here on,
            # as this run's provenance.json says
            sampler.__class__ = StartupTPESampler
        _without_constraints_of_old(study, sampler)
        startup = tpe_startup_trials(num_trials, max_concurrent)
        trained = trained_finished(study)
        if startup > sampler._n_startup_trials <= trained:
            # TPE already models: a larger start-up would make its next proposals random
            # again, mid-study (10 trials, start-up 5, grown to 40: trials 9 and 10 random
            # after 3 guided), and the report's "N random start-up trials" untrue
            logger.info("resume: TPE's start-up stays %d trials (it already models, %d trained "
                        "trials finished); this config's %d would draw at random again",
                        sampler._n_startup_trials, trained, startup)
            return int(sampler._n_startup_trials)
        if sampler._n_startup_trials != startup:
            logger.info("resume: TPE's start-up is now %d trials (was %d)", startup,
                        sampler._n_startup_trials)
            sampler._n_startup_trials = startup


def _record_startup(folder: Path, startup: int) -> None:
    """``provenance.json``'s sampler (the study's and this run's) says the start-up the resumed
    sampler keeps (:func:`_restart_count`), not the one this config would give."""
    import json

    from jetstudy.study.provenance import PROVENANCE
    from jetstudy.study.tables import write_json
    from jetstudy.trainables.plain_read import read_plain

    path = folder / PROVENANCE
    try:
        record = json.loads(read_plain(path))
        for sampler in (record.get("sampler"), (record.get("runs") or [{}])[-1].get("sampler")):
            if isinstance(sampler, dict) and "n_startup_trials" in sampler:
                sampler["n_startup_trials"] = startup
                sampler["n_startup_trials_kept"] = "TPE already modelled when resumed"
        write_json(record, path)
    except (OSError, ValueError, AttributeError) as exc:
        logger.warning("provenance: could not record TPE's kept start-up of %d trials in %s: "
                       "%s", startup, path, exc)


def _without_constraints_of_old(study: Any, sampler: Any) -> None:
    """Optuna 4.x: the sampler's ``constraints_func`` (size excess, divergence:
    :func:`jetstudy.study.sampler.size_constraints`) records a trial's constraints when it is
    told, and its TPE ranks a finished trial without them after every other, with a warning.
    A study begun before every TPE study had one (round 11: before, only under size limits)
    holds such trials; its resume goes on without the constraints, as it began."""
    if getattr(sampler, "_constraints_func", None) is None:
        return
    finished = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,
                                                        optuna.trial.TrialState.PRUNED))
    if any("constraints" not in t.system_attrs for t in finished):
        logger.info("resume: the study's earlier trials have no constraint values (an older "
                    "study, Optuna 4.x): TPE goes on without them")
        sampler._constraints_func = None


def _trials_started(searcher: Any) -> int:
    """The trials the study started: Tune's (the searcher's) and every trial folder with an
    epoch log (one a killed driver started after Tune's last snapshot included)."""
    from jetstudy.trainables.trialfiles import EPOCHS_FILE

    state_dir = getattr(searcher, "state_dir", None)
    folders = ({p.parent.name for p in Path(state_dir).glob(f"*/{EPOCHS_FILE}")}
               if state_dir else set())
    return len(folders | set(getattr(searcher, "_ot_trials", {})))


def _still_running(searcher: Any) -> bool:
    """Whether the Optuna study has a trial still running (cut short by Ctrl-C or a crash:
    Tune continues it)."""
    study = getattr(searcher, "_ot_study", None)
    return study is None or bool(study.get_trials(
        deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)))


def _release_ended(limiter: Any, searcher: Any) -> None:
    """Trials the time budget cut were never reported finished to the searcher (Tune tells it
    nothing then), so the ConcurrencyLimiter still counts them running and, full, would
    propose nothing on resume. Those whose Optuna trial is closed
    (``jetstudy.study.searcher.close_orphaned_trials``) are released; a crashed driver's
    running trials (still running in Optuna) stay, Tune continues them."""
    study, known = getattr(searcher, "_ot_study", None), getattr(searcher, "_ot_trials", {})
    if study is None:
        return
    for trial_id in list(limiter.live_trials):
        ot_trial = known.get(trial_id)
        if ot_trial is None:
            continue
        frozen = study._storage.get_trial(ot_trial._trial_id)
        if frozen.state.is_finished():
            limiter.live_trials.discard(trial_id)
            limiter.num_unfinished_live_trials = max(0, limiter.num_unfinished_live_trials - 1)
            searcher._completed_trials.add(trial_id)
            logger.info("resume: trial %s ended with the time budget; not running", trial_id)


def _uncount_untrained(generator: Any, searcher: Any) -> None:
    """A trial the time budget cut before its first epoch trained nothing: Optuna *failed*,
    the tables do not list it; it does not count toward ``num_trials`` (Tune's counter and the
    searcher's), so the resumed study trains ``num_trials`` configurations."""
    study, known = getattr(searcher, "_ot_study", None), getattr(searcher, "_ot_trials", {})
    if study is None:
        return
    for trial_id, ot_trial in list(known.items()):
        frozen = study._storage.get_trial(ot_trial._trial_id)
        if frozen.state == optuna.trial.TrialState.FAIL and frozen.user_attrs.get(
                "never_trained"):  # jetstudy.study.searcher.NEVER_TRAINED
            del known[trial_id]
            generator._counter = max(0, generator._counter - 1)
            logger.info("resume: trial %s never trained; its place is taken by a new one",
                        trial_id)


def resumed_search(search_alg: Any, cfg: StudyConfig) -> ResumedSearch:
    """Wrap the restored tuner's searcher (or the generator around it) in a
    :class:`ResumedSearch` carrying ``cfg``'s trial count and concurrency."""
    searcher = search_alg.searcher if isinstance(search_alg, SearchGenerator) else search_alg
    design, initial = None, None
    s = cfg.search
    if cfg.kind == "scan":
        from jetstudy.study.design import scan_design

        design = scan_design(cfg.space, s.sampler, s.num_trials, s.grid_levels, s.seed)
    elif s.initial_points:
        from jetstudy.study.space import optuna_params

        initial = [optuna_params(cfg.space, p) for p in s.initial_points]
    return ResumedSearch(searcher, s.num_trials, s.max_concurrent, design, s.time_budget_s,
                         grid=s.sampler == "grid", initial=initial, cfg=cfg)
