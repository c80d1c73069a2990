"""What Optuna records of a trial, so it tells the same story as jetstudy's tables.

* A completed trial's *value* is its **best epoch's** value of ``search.metric`` (what
  ``trials.parquet``'s ``best_*`` columns and the report rank by), not its last epoch's.
* Every epoch is an intermediate value, the last one included (Tune does not forward the
  result on which a trial ends).
* User attributes ``trial_id`` (Ray Tune's, the name of ``trials/<id>/``), ``n_params`` and
  ``flops`` (from the trial's epoch log), so a join with the tables goes through the id and
  optuna-dashboard shows the model's size.

:class:`jetstudy.study.searcher.HonestOptunaSearch` calls these; they are plain functions on a trial's
epoch records so they can be tested without Ray.
"""

from __future__ import annotations

import logging
from typing import Any

from jetstudy.trainables.objective import Objective

__all__ = ["USER_ATTRS", "describe_trial", "with_best_value", "trial_name", "guided_trials",
           "running_in_journal"]

logger = logging.getLogger(__name__)

#: The user attributes every Optuna trial of a study gets (besides any the searcher adds).
USER_ATTRS: tuple[str, ...] = ("trial_id", "n_params", "flops")


def describe_trial(ot_trial: Any, trial_id: str, records: list[dict[str, Any]]) -> None:
    """Set the trial's :data:`USER_ATTRS` that are missing or changed (``trial_id`` changes
    when a resumed driver adopts a lost trial); sizes come from its latest epoch record."""
    wanted: dict[str, Any] = {"trial_id": trial_id}
    if records:
        for key in ("n_params", "flops"):
            if records[-1].get(key) is not None:
                wanted[key] = int(records[-1][key])
    have = ot_trial.user_attrs
    for key, value in wanted.items():
        if have.get(key) != value:
            ot_trial.set_user_attr(key, value)


def with_best_value(result: dict[str, Any], records: list[dict[str, Any]], metric: str,
                    mode: str) -> dict[str, Any]:
    """``result`` with ``metric`` replaced by the best value over the trial's epochs (its
    epoch log up to the result's epoch, and the result itself): what Optuna is told."""
    epoch = int(result.get("epoch", 0) or 0)
    values = [r.get(metric) for r in records if int(r.get("epoch", 0)) <= epoch or not epoch]
    best = Objective(metric, mode).best_value([*values, result.get(metric)])
    return result if best is None else {**result, metric: best}


def guided_trials(study_folder: Any) -> int | None:
    """How many of the study's trained trials TPE proposed from its model, from the marks
    its sampler left in ``optuna.journal`` (:data:`jetstudy.study.tpe_sampler.GUIDED_ATTR`);
    None when that is not known: no journal, one that cannot be read, or a trained trial
    without the mark (proposed before jetstudy kept it, or by another sampler). A trial the
    user fixed whole (a ``search.initial_points`` entry naming every parameter Optuna draws)
    is not TPE's; one whose point fixes only some counts by its mark (TPE's model drew the
    rest, past the start-up), as the trials Optuna proposes whole do."""
    from jetstudy.study.tpe_sampler import GUIDED_ATTR, REJECTED_ATTR

    trials = _journal_trials(study_folder, "which trials TPE proposed")
    if trials is None:
        return None
    guided = 0
    for t in trials:
        if (not t.user_attrs.get("trial_id") or REJECTED_ATTR in t.user_attrs
                or t.user_attrs.get("never_trained")):
            continue  # never trained: no trial of the tables
        if _fixed_whole(t):
            continue
        if GUIDED_ATTR not in t.system_attrs:
            return None
        guided += bool(t.system_attrs[GUIDED_ATTR])
    return guided


def _fixed_whole(trial: Any) -> bool:
    """Every parameter of ``trial`` that Optuna draws was fixed by its enqueued point (a
    constant parameter, a range of one value, is asked without any draw)."""
    fixed = trial.system_attrs.get("fixed_params")
    if not isinstance(fixed, dict):
        return False
    return all(name in fixed or trial.distributions[name].single() for name in trial.params)


def _journal_trials(study_folder: Any, why: str) -> list[Any] | None:
    """The trials of the study's ``optuna.journal``, read only; None without a journal or
    when it cannot be read (a warning says ``why`` it was read)."""
    from pathlib import Path

    from jetstudy.study.optuna_files import OPTUNA_JOURNAL, OPTUNA_STUDY_NAME, optuna_storage

    if not (Path(study_folder) / OPTUNA_JOURNAL).is_file():
        return None
    try:
        import optuna

        study = optuna.load_study(study_name=OPTUNA_STUDY_NAME,
                                  storage=optuna_storage(Path(study_folder)))
        return study.get_trials(deepcopy=False)
    except Exception as exc:  # noqa: BLE001 - a damaged journal: the report says less
        logger.warning("cannot read %s from %s (%s: %s)", why, study_folder,
                       type(exc).__name__, exc)
        return None


def running_in_journal(study_folder: Any) -> int | None:
    """How many trials ``optuna.journal`` still calls *running* (None: no journal, or one that
    cannot be read). After a ``kill -9`` of the driver they stay so (optuna-dashboard shows
    them running) until ``--resume`` continues them or closes them from their logs; nothing
    else may close them, or the resume would lose them (it continues running trials only)."""
    trials = _journal_trials(study_folder, "the trials still running")
    if trials is None:
        return None
    return sum(t.state.name == "RUNNING" for t in trials)


def trial_name(trial: Any) -> str:
    """Ray Tune's name for a trial (and its folder under ``ray/``, hence its TensorBoard run):
    ``<trial id>_d<depth>_w<widths>``, e.g. ``a1b2c3d4_d2_w64-32``, so a run in
    TensorBoard says which network it is and which ``trials/<id>/`` folder holds it."""
    config = getattr(trial, "config", {}) or {}
    depth = int(config.get("depth", 0) or 0)
    widths = "-".join(str(int(config[f"width_{i}"])) for i in range(depth)
                      if f"width_{i}" in config)
    return f"{trial.trial_id}_d{depth}_w{widths or 'x'}"
