"""Optuna, through Ray Tune, told the truth about early-stopped trials.

Ray's stock ``OptunaSearch`` records a trial that ASHA stopped early as *complete* with its
truncated score, so TPE learns from scores that were never finished. :class:`HonestOptunaSearch`
tells Optuna such trials were *pruned*; their per-epoch values are already reported as
intermediate values. A trial that stopped by itself (validation-loss patience: its last epoch
says ``"converged": true``) ran to its own end and is *complete*. A trial whose loss became
NaN/inf (``failed`` in the tables, its ``trials/<id>/diverged`` file) is *pruned* with user
attribute ``diverged``: TPE leaves *failed* trials out of its model, so a diverging region
looked unexplored and drew nearly every later proposal; other errors stay *failed*. What is
told of a trial's results is :class:`jetstudy.study.optuna_tell.TellsOptuna` (a mixin);
this module draws (seeded, within the size limits) and continues lost trials.

Size-aware search (``search.objectives: [metric, size]``, :attr:`StudyConfig.size_objective`):
the Optuna study has two directions and named objectives (``set_metric_names``); a completed
trial is told both values (the metric of its best epoch, as a one-objective trial is told:
:mod:`jetstudy.study.optuna_story`; the size from its architecture);
ASHA still ranks trials by ``search.metric`` alone, and an ASHA-stopped trial is *pruned* (Optuna
takes no intermediate values in a multi-objective study, so its epochs are a user attribute).
Size limits (``search.max_*``): a drawn configuration over a limit is told *pruned* before any
training, with its relative excess as Optuna's constraint value, and drawn again
(:meth:`HonestOptunaSearch._draw`): it never reaches Tune.

The sampler's settings are explicit (:func:`make_sampler`, in :mod:`jetstudy.study.sampler`
with the marks TPE ranks by, re-exported here), so a study behaves the same on
every Optuna version ``pyproject.toml`` allows (4.x defaults to independent TPE without the
constant liar, 5.x to multivariate TPE with it). The Optuna study lives in a journal file next to the results
(``optuna.journal``), which ``optuna-dashboard`` opens while the study runs.
"""

from __future__ import annotations

import json
import logging
import warnings
import os
from pathlib import Path
from typing import Any

import optuna
from ray.tune.search import ConcurrencyLimiter, Searcher
from ray.tune.search.optuna import OptunaSearch

from jetstudy.study.config import SpaceConfig, StudyConfig
from jetstudy.study.design import scan_design
from jetstudy.study.optuna_files import (OPTUNA_JOURNAL, OPTUNA_STUDY_NAME,
                                         clear_stale_journal_lock, optuna_storage)
from jetstudy.study.optuna_tell import TellsOptuna
from jetstudy.study.orphans import NEVER_TRAINED, close_orphaned_trials
from jetstudy.study.search_rules import MAX_REDRAWS
from jetstudy.study.sampler import (DIVERGED_ATTR, EXCESS_ATTR, make_sampler, mark_excess,
                                    sampler_record, sampler_settings, size_constraints)
from jetstudy.study.space import SpaceFunction, optuna_params, size_excess
from jetstudy.study.tpe_sampler import REJECTED_ATTR
from jetstudy.trainables.trialfiles import (CONFIG_FILE, ENDED_FILE, EPOCHS_FILE, SEED_KEY,
                                            STATE_FILE, number_seed)
from jetstudy.trainables.table_schema import TRIAL_ORDER
from jetstudy.trainables.plain_read import read_plain

#: Ray's warning when the define-by-run space call (sampler included) is slow
DEFINE_BY_RUN_SLOW = r"Define-by-run function passed in the `space` argument took"

__all__ = ["HonestOptunaSearch", "make_searcher", "make_sampler", "sampler_settings",
           "sampler_record", "size_constraints", "DIVERGED_ATTR", "EXCESS_ATTR",
           "optuna_storage", "OPTUNA_JOURNAL", "OPTUNA_STUDY_NAME",
           "clear_stale_journal_lock", "close_orphaned_trials", "NEVER_TRAINED"]

logger = logging.getLogger(__name__)

#: Mixed into a trial number's seed for its draw, so the draw's random numbers are not the
#: trial's training seed's (``SEED_KEY``).
DRAW_SALT = 0x5EED


class HonestOptunaSearch(TellsOptuna, OptunaSearch):
    """``OptunaSearch`` that marks trials ending before ``max_epochs`` (without error) as
    pruned instead of complete."""

    def __init__(self, *args: Any, max_epochs: int, num_trials: int, state_dir: str,
                 study_seed: int | None = None, size_limits: dict[str, int] | None = None,
                 space_config: SpaceConfig | None = None, size_objective: str | None = None,
                 **kwargs: Any) -> None:
        # Tune sees one metric (the ranking one, what every result holds); the Optuna study
        # has two directions when there is a size objective (set before _setup_study runs)
        self.size_objective = size_objective
        self.size_limits = dict(size_limits or {})
        self.space_config = space_config
        super().__init__(*args, **kwargs)
        self.primary = self.metric
        self.study_seed = study_seed  # each config's SEED_KEY derives from it (see suggest)
        self.max_epochs = max_epochs
        self.num_trials = num_trials
        self.state_dir = state_dir
        self._earlier: set[str] | None = None  # trials that trained before this driver
        self._orphans: list[tuple[str, dict, Any]] = []  # trained trials Tune lost (see _adopt)
        self._reported: dict[str, int] = {}  # trial id -> last step told to Optuna

    def _setup_study(self, mode: Any) -> None:
        """Optuna's study, its objectives named after the metric (and the size, minimised)."""
        super()._setup_study([mode, "min"] if self.multi_objective else mode)
        names = [self.metric, self.size_objective] if self.multi_objective else [self.metric]
        if self._ot_study.metric_names != names:
            with warnings.catch_warnings():  # experimental in Optuna 4.x: chosen, not news
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                self._ot_study.set_metric_names(names)

    def _draw(self, trial_id: str) -> dict | str | None:
        """Optuna's next configuration within the size limits: one over a limit is told pruned
        (its excess the constraint value) and drawn again, at most :data:`MAX_REDRAWS` times;
        a ``search.initial_points`` entry fixing only some parameters keeps them and is drawn
        again (enqueued anew; ``search_rules`` refuses one that no draw can fit)."""
        for _ in range(MAX_REDRAWS):
            self._seed_draw()
            with warnings.catch_warnings():
                # Ray times the whole define-by-run call, which includes Optuna's sampler
                # (TPE over hundreds of trials takes seconds on a busy machine): its "took N
                # seconds ... ensure training happens in the trainable" blames the space
                # function, which does no training (issue 10's CI failure, 2026-11-28)
                warnings.filterwarnings("ignore", message=DEFINE_BY_RUN_SLOW)
                config = super().suggest(trial_id)
            if not self.size_limits or not isinstance(config, dict):
                return config
            over = size_excess(config, self.size_limits, self.space_config)
            ot_trial = self._ot_trials[trial_id]
            if not over:
                mark_excess(ot_trial, 0.0)
                return config
            mark_excess(ot_trial, max(size / limit - 1 for size, limit in over.values()))
            ot_trial.set_user_attr(REJECTED_ATTR, "; ".join(
                f"{q} {size} > limit {limit}" for q, (size, limit) in over.items()))
            self._ot_study.tell(ot_trial, state=optuna.trial.TrialState.PRUNED)
            del self._ot_trials[trial_id]
            fixed = self._ot_study._storage.get_trial(ot_trial._trial_id).system_attrs.get(
                "fixed_params")
            if fixed:  # a search.initial_points entry fixing only some parameters: it is
                # drawn again (its own next), not dropped for a configuration of TPE's
                self._ot_study.enqueue_trial(fixed, skip_if_exists=False)
            logger.debug("size limit: drew again (%s)", over)
        limits = ", ".join(f"{q} <= {v}" for q, v in self.size_limits.items())
        raise RuntimeError(f"{MAX_REDRAWS} configurations in a row were over the size limits "
                           f"({limits}); narrow space.depth / space.width or raise the limit")

    def _seed_draw(self) -> None:
        """Seed the sampler's random states from ``search.seed`` and the number the next Optuna
        trial gets, so that number draws the same configuration in a straight run and after a
        ``--resume`` (the sampler's state is otherwise the count of its earlier draws)."""
        if getattr(self, "study_seed", None) is None:
            return
        trials = self._ot_study.get_trials(deepcopy=False)
        # Optuna's ask() takes the first enqueued (waiting) trial, else makes a new one: an
        # enqueued point's free parameters (search.initial_points that fix only some) are drawn
        # under its own number, not the count, which was the same for every waiting point
        waiting = [t.number for t in trials if t.state == optuna.trial.TrialState.WAITING]
        number = min(waiting) if waiting else len(trials)
        seed = number_seed(self.study_seed, number) ^ DRAW_SALT
        sampler = self._ot_study.sampler
        for part in (sampler, getattr(sampler, "_random_sampler", None)):
            rng = getattr(part, "_rng", None)
            if rng is not None:
                rng.rng.seed(seed)

    def restore(self, checkpoint_path: str) -> None:
        """After a driver crash: the sampler's random state is the snapshot's, so it would
        propose again the configurations it proposed after the snapshot (those trials are
        continued by ``_adopt`` or listed from their own files). A seeded search seeds each
        draw by its trial number (:meth:`_seed_draw`), and the journal holds the numbers drawn
        after the snapshot, so it goes on with new numbers, as a straight run does; an unseeded
        one gets a fresh random state."""
        super().restore(checkpoint_path)
        self._ot_study.sampler.reseed_rng()
        self._earlier = None  # trials of the crashed drivers: counted again from disk
        self._orphans = []

    def suggest(self, trial_id: str) -> dict | str | None:
        """Continue first the trials a crashed driver trained but Tune's last snapshot missed;
        stop at ``num_trials`` trials, counting those (they have an epoch log in
        ``state_dir``)."""
        if trial_id not in self._ot_trials:
            if self._earlier is None:  # once per driver, not per suggestion
                trained = sorted(p.parent for p in Path(self.state_dir).glob(f"*/{EPOCHS_FILE}"))
                self._earlier = {folder.name for folder in trained}
                self._orphans = self._find_orphans(trained)
            if self._orphans:
                return self._adopt(trial_id, *self._orphans.pop(0))
            if len(self._earlier | set(self._ot_trials)) >= self.num_trials:
                return Searcher.FINISHED
        config = self._draw(trial_id)
        if isinstance(config, dict) and getattr(self, "study_seed", None) is not None:
            # the trial's seed from search.seed and its Optuna number, never Ray's random id
            config[SEED_KEY] = number_seed(self.study_seed, self._ot_trials[trial_id].number)
        if isinstance(config, dict):  # joins with the tables go through Tune's id
            self._ot_trials[trial_id].set_user_attr("trial_id", trial_id)
            # the order of proposal, stable on a rerun (Ray's ids are random): trials.parquet's
            # trial_number, the tie-break wherever one trial is chosen
            config[TRIAL_ORDER] = int(self._ot_trials[trial_id].number)
        return config

    def _find_orphans(self, trained: list[Path]) -> list[tuple[str, dict, Any]]:
        """Of the ``trained`` trial folders, those with a state file, not ended and unknown to
        Tune, each with its still-running Optuna trial of the same parameters (its own, by
        its ``trial_id`` attribute or ``trial_number``, where several share them)."""
        running = self._ot_study.get_trials(deepcopy=False,
                                            states=(optuna.trial.TrialState.RUNNING,))
        taken = {t.number for t in self._ot_trials.values()}
        found = []
        for folder in trained:
            if (folder.name in self._ot_trials or (folder / ENDED_FILE).exists()
                    or not (folder / STATE_FILE).exists()):
                continue
            config = json.loads(read_plain(folder / CONFIG_FILE))
            match = [t for t in running if t.number not in taken and self._drawn(t.params)
                     and all(config.get(k) == v for k, v in t.params.items())]
            # its own Optuna trial first (two running trials may share parameters): the one
            # holding its trial_id, else its config's trial_number, else the first
            match.sort(key=lambda t: (t.user_attrs.get("trial_id") != folder.name,
                                      t.number != config.get(TRIAL_ORDER), t.number))
            if match:
                taken.add(match[0].number)
                found.append((folder.name, config, match[0]))
        return found

    def _drawn(self, params: dict[str, Any]) -> bool:
        """``params`` are a whole configuration of the space: a trial a kill cut before or
        while its parameters were drawn has none or some, and matches every lost trial's
        folder (it once took a pruned trial's folder and trained it on)."""
        if not params:
            return False
        if not callable(self._space):
            return True
        try:  # the space asks for each parameter again: a missing one is a ValueError
            self._space(optuna.trial.FixedTrial(params))
        except (ValueError, KeyError):
            return False
        return True

    def _adopt(self, trial_id: str, old_id: str, config: dict, frozen: Any) -> dict:
        """Give a lost trial's configuration, checkpoint and Optuna trial to Tune's new trial,
        so it continues from its last checkpoint instead of being dropped."""
        root = Path(self.state_dir)
        os.replace(root / old_id, root / trial_id)
        from jetstudy.study.rungs import adopted

        adopted(old_id, trial_id)  # ASHA's rung values go with the folder
        self._earlier.discard(old_id)
        self._ot_trials[trial_id] = optuna.trial.Trial(self._ot_study, frozen._trial_id)
        self._reported[trial_id] = max(frozen.intermediate_values,
                                       default=int(frozen.user_attrs.get("epochs", 0)))
        logger.info("resume: trial %s continues the lost trial %s", trial_id, old_id)
        from jetstudy.study.launch_resumed import mark_adopted

        mark_adopted(root, trial_id)  # a continuation by --resume, as Tune's restored trials
        return config

def make_searcher(cfg: StudyConfig, folder: Path) -> ConcurrencyLimiter:
    """Optuna over the config's space (a search: TPE or random, seeded; a scan: its design
    points, :mod:`jetstudy.study.design`, enqueued in order), at most ``search.max_concurrent`` trials
    at a time."""
    s = cfg.search
    if cfg.kind == "scan":
        points = scan_design(cfg.space, s.sampler, s.num_trials, s.grid_levels, s.seed)
    else:
        points = [optuna_params(cfg.space, p) for p in s.initial_points]
    # Optuna's INFO line "A new study created in Journal with name: jetstudy" is kept out of
    # the driver's output (the CLI's and the Python API's alike; docs/results_layout.md names
    # the study); the user's own Optuna verbosity is back once the study exists
    previous = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(max(previous, optuna.logging.WARNING))
    try:
        searcher = HonestOptunaSearch(
            space=SpaceFunction(cfg.space, scan=cfg.kind == "scan"), metric=s.metric,
            mode=cfg.mode, sampler=make_sampler(cfg), size_limits=cfg.size_limits,
            space_config=cfg.space, size_objective=cfg.size_objective,
            study_name=OPTUNA_STUDY_NAME, storage=optuna_storage(folder),
            points_to_evaluate=points or None,
            max_epochs=cfg.scheduler.max_epochs, num_trials=s.num_trials,
            state_dir=str(folder / "trials"), study_seed=s.seed)
    finally:
        optuna.logging.set_verbosity(previous)
    return ConcurrencyLimiter(searcher, max_concurrent=s.max_concurrent)
