"""Optimisation history: the search's objective per trial, in trial order, with the running best.

What Optuna's ``plot_optimization_history`` shows, computed from the trials table so it also
works for a lone ``trials.parquet``. The x axis is the trial number: the trial's row in the
trials table, which is the order the study started its trials (Ray Tune's trial order, Optuna's
trial number); the tables carry no completion times. The value is the one the search ranked
the trial by (``best_<metric>``, the best epoch's), and the running best follows the report's
"Best trial" rule (completed, stopped and running trials with a value), so the step line ends
at the best trial's value.

>>> panels = optimisation_history(trials, "val_loss", False, size="multiplications")  # doctest: +SKIP
>>> panels[0].points.columns.tolist()                                                   # doctest: +SKIP
['number', 'trial_id', 'status', 'value', 'scored', 'best_so_far']
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from jetstudy.analysis.errors import AnalysisError
from jetstudy.analysis.maps import score_column
from jetstudy.analysis.pareto import SCORED_STATUSES, with_sizes

__all__ = ["HistoryPanel", "history_points", "optimisation_history", "wants_log"]

#: A positive quantity spanning at least this ratio is shown on a log axis.
LOG_SPAN = 10.0


@dataclass(frozen=True)
class HistoryPanel:
    """One objective's history. ``points``: ``number`` (0-based trial number), ``trial_id``,
    ``status``, ``value`` (NaN: no value), ``scored`` (counts for the best: a status of
    :data:`~jetstudy.analysis.pareto.SCORED_STATUSES` and a finite value) and ``best_so_far``
    (the best scored value among trials up to this number; NaN before the first).
    ``running_best`` is False for a size objective, whose "best" is merely the smallest
    model tried (its trade-off with the metric is the Pareto front's business)."""

    objective: str
    maximize: bool
    points: pd.DataFrame
    log_y: bool
    running_best: bool = True

    @property
    def n_without_value(self) -> int:
        """Trials drawn nowhere: failed before an epoch, or still without a value."""
        return int((~np.isfinite(self.points["value"])).sum())


def wants_log(values: pd.Series) -> bool:
    """Whether these values read better on a log axis: all finite ones positive and spanning
    at least :data:`LOG_SPAN` (a diverged loss of 40 beside 0.6 would flatten the rest)."""
    finite = values[np.isfinite(values)]
    return bool(len(finite) and (finite > 0).all() and finite.max() / finite.min() >= LOG_SPAN)


def history_points(trials: pd.DataFrame, column: str, maximize: bool) -> pd.DataFrame:
    """The history table of one ``column`` of ``trials`` (see :class:`HistoryPanel`)."""
    values = pd.to_numeric(trials[column], errors="coerce").astype(float).to_numpy()
    status = trials["status"].astype(str).to_numpy()
    scored = np.isfinite(values) & np.isin(status, SCORED_STATUSES)
    masked = pd.Series(np.where(scored, values, np.nan))
    best = (masked.cummax() if maximize else masked.cummin()).ffill()  # NaN before the first
    return pd.DataFrame({"number": np.arange(len(trials)),
                         "trial_id": trials["trial_id"].astype(str).to_numpy(),
                         "status": status, "value": values, "scored": scored,
                         "best_so_far": best.to_numpy()})


def optimisation_history(trials: pd.DataFrame, metric: str, maximize: bool,
                         size: str | None = None) -> list[HistoryPanel]:
    """One panel for the search metric (its ``best_`` column when present) and, for a
    two-objective search (``search.objectives: [metric, size]``), one for the size.

    Raises :class:`AnalysisError` when no trial has a finite value of the metric (all failed,
    or a snapshot before any epoch): there is no history to draw.
    """
    column = score_column(trials, metric)
    values = pd.to_numeric(trials[column], errors="coerce") if column else None
    if column is None or not np.isfinite(values.astype(float)).any():
        which = (f"none of the {len(trials)} trials has a" if len(trials) != 1 else
                 "the only trial has no")
        raise AnalysisError(f"{which} `{metric}` value (all failed or none finished an "
                            "epoch), so there is no history to draw")
    points = history_points(trials, column, maximize)
    panels = [HistoryPanel(column, maximize, points, wants_log(points["value"]))]
    if size is not None:
        sized = with_sizes(trials)
        if size not in sized.columns:
            raise AnalysisError(f"the trials table has no `{size}` column for the search's "
                                "second objective")
        size_points = history_points(sized, size, False)
        panels.append(HistoryPanel(size, False, size_points, wants_log(size_points["value"]),
                                   running_best=False))
    return panels
