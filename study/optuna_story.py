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

__all__ = ["USER_ATTRS", "describe_trial", "with_best_value", "trial_name"]

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


def trial_name(trial: Any) -> str:
    """Ray Tune's name for a trial (and its folder under ``ray/``, hence its TensorBoard run):
    ``<trial id>_d<depth>_w<widths>``, e.g. ``a1b2c3d4_d2_w64-32``, so a run in
    TensorBoard says which network it is and which ``trials/<id>/`` folder holds it."""
    config = getattr(trial, "config", {}) or {}
    depth = int(config.get("depth", 0) or 0)
    widths = "-".join(str(int(config[f"width_{i}"])) for i in range(depth)
                      if f"width_{i}" in config)
    return f"{trial.trial_id}_d{depth}_w{widths or 'x'}"
