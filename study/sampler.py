"""The study's Optuna sampler: built from the config with every setting explicit
(:func:`make_sampler`), recorded as it is (:func:`sampler_settings`, :func:`sampler_record`:
``provenance.json``'s ``sampler``), and the marks on a trial that its TPE ranks by: a size
limit's excess (:func:`mark_excess`) and a divergence (:func:`mark_diverged`), both
constraints, so such a trial ranks after every feasible one.

Split off :mod:`jetstudy.study.searcher` (the Ray Tune searcher that asks and tells Optuna,
which re-exports these names); needs no Ray, so :mod:`jetstudy.study.orphans` closes a trial
from its log with the same marks.
"""

from __future__ import annotations

import json
import warnings
from typing import Any

import optuna

from jetstudy.study.config import StudyConfig
from jetstudy.study.search_rules import tpe_startup_trials
from jetstudy.study.space import space_distributions
from jetstudy.study.tpe_sampler import StartupTPESampler

__all__ = ["make_sampler", "sampler_settings", "sampler_record", "size_constraints",
           "mark_excess", "mark_diverged", "EXCESS_ATTR", "DIVERGED_ATTR"]

#: Optuna user attribute holding a trial's relative excess over the size limits (<= 0: fits).
EXCESS_ATTR = "size_excess"

#: Optuna user attribute of a trial whose loss became NaN/inf (why); the trial is *pruned*.
DIVERGED_ATTR = "diverged"


#: Optuna 5 records constraints on the trial (``Trial.set_constraint``); 4.x asks the
#: sampler's ``constraints_func`` (deprecated in 5.0).
_TRIAL_CONSTRAINTS = hasattr(optuna.trial.Trial, "set_constraint")


def size_constraints(trial: optuna.trial.FrozenTrial) -> list[float]:
    """Optuna 4.x's ``constraints_func``: the relative excess over the size limits and
    whether the trial diverged (> 0 violates); module level, so the sampler pickles."""
    return [float(trial.user_attrs.get(EXCESS_ATTR, 0.0)),
            1.0 if DIVERGED_ATTR in trial.user_attrs else 0.0]


def mark_diverged(ot_trial: optuna.trial.Trial, reason: str) -> None:
    """A diverged trial is *infeasible* (constraint ``diverged`` 1.0) as well as pruned: TPE
    ranks pruned trials by the last epoch they reached before their value, so one that passed
    ASHA's first rung and then diverged ranked above every trial stopped at that rung and,
    early in a search, was one of TPE's "good" trials (20 of 30 model proposals went to the
    diverging region, 3 now: tests/study/test_referee11_search_diverged_rank.py); infeasible
    trials rank after every feasible one."""
    ot_trial.set_user_attr(DIVERGED_ATTR, reason)
    if _TRIAL_CONSTRAINTS:
        ot_trial.set_constraint(DIVERGED_ATTR, 1.0)


def mark_excess(ot_trial: optuna.trial.Trial, excess: float) -> None:
    """The trial's relative excess over the size limits, for TPE's feasibility split."""
    ot_trial.set_user_attr(EXCESS_ATTR, float(excess))
    if _TRIAL_CONSTRAINTS:
        ot_trial.set_constraint(EXCESS_ATTR, float(excess))


def make_sampler(cfg: StudyConfig) -> optuna.samplers.BaseSampler:
    """The Optuna sampler of ``search.sampler``, every setting explicit.

    TPE: ``multivariate=True`` (parameters modelled jointly), ``group=True`` (the conditional
    space split into groups that occur together: each depth's widths are one group, see
    :mod:`jetstudy.study.space`), ``constant_liar=True`` (running trials count as bad results, so
    concurrent proposals spread out instead of piling onto one spot) and
    ``n_startup_trials`` from :func:`jetstudy.study.search_rules.tpe_startup_trials`, counted
    in trained trials (:class:`~jetstudy.study.tpe_sampler.StartupTPESampler`: a draw a size
    limit turned away is no start-up trial). A scan's trials are all enqueued design points
    (:func:`jetstudy.study.searcher.make_searcher`); its random sampler is only the fallback
    Optuna requires and never proposes a trial.
    """
    s = cfg.search
    if s.sampler == "tpe":  # with two objectives too: it beat NSGA-II at equal budget (README)
        with warnings.catch_warnings():  # `multivariate`/`group` are "experimental": chosen
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return _tpe(s, cfg)
    return optuna.samplers.RandomSampler(seed=s.seed)


def sampler_settings(sampler: optuna.samplers.BaseSampler) -> dict[str, Any]:
    """What ``sampler`` does, read from the object Optuna uses (not from the config): its
    class and, for TPE, ``multivariate``, ``group``, ``constant_liar`` and
    ``n_startup_trials``."""
    out: dict[str, Any] = {"class": type(sampler).__name__, "optuna": optuna.__version__}
    if isinstance(sampler, optuna.samplers.TPESampler):
        out.update(multivariate=sampler._multivariate, group=sampler._group,
                   constant_liar=sampler._constant_liar,
                   n_startup_trials=sampler._n_startup_trials,
                   # jetstudy's TPE counts only trained trials toward the start-up
                   startup_counts=("trained trials" if isinstance(sampler, StartupTPESampler)
                                   else "finished trials, size-limit rejections included"))
        out["class"] = "TPESampler"  # Optuna's TPE (StartupTPESampler changes the count only)
    return out


def sampler_record(cfg: StudyConfig, space: bool = False) -> dict[str, Any]:
    """``provenance.json``'s ``sampler``: ``search.sampler``, the study's kind, the
    settings of the sampler :func:`make_sampler` builds for ``cfg`` (a resumed study's
    restored sampler is given the same, :mod:`jetstudy.study.resume`) and, with ``space``
    (the study's record), ``distributions``: every Optuna parameter the space can ask for, as
    Optuna's JSON of its distribution (:func:`jetstudy.study.space.space_distributions`); a
    scan's trials are its enqueued
    design, the random sampler only Optuna's required fallback."""
    record = {"search.sampler": cfg.search.sampler, "kind": cfg.kind,
              **sampler_settings(make_sampler(cfg))}
    if space:
        from optuna.distributions import distribution_to_json

        asked = space_distributions(cfg.space, scan=cfg.kind == "scan")
        record["distributions"] = {name: json.loads(distribution_to_json(d))
                                   for name, d in asked.items()}
    return record


def _tpe(s: Any, cfg: StudyConfig) -> optuna.samplers.TPESampler:
    return StartupTPESampler(
        seed=s.seed, n_startup_trials=tpe_startup_trials(s.num_trials, s.max_concurrent),
        multivariate=True, group=True, constant_liar=True,
        # Optuna 4.x reads size limits and divergence from the trial (Optuna 5: the trial's
        # own constraints, set by mark_excess and mark_diverged)
        constraints_func=None if _TRIAL_CONSTRAINTS else size_constraints)
