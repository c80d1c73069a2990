"""Accuracy/AUC against model cost: the Pareto front and the smallest model that is good enough.

For a trigger (hls4ml targets FPGAs) a model 1% worse but ten times smaller usually wins, so the
question is not "which is best" but "what is the smallest model within a tolerance of the best".
Costs are ``n_params`` and ``flops``; scores are the validation accuracy and macro AUC at each
trial's best epoch (``best_val_*``, the checkpoint a trial keeps). Test metrics exist only for the
study's best trial, so they are a single marker, not a front.

>>> df = pd.DataFrame({"trial_id": list("abc"), "n_params": [10, 20, 30], "acc": [0.7, 0.8, 0.75]})
>>> pareto_front(df, "n_params", "acc")["trial_id"].tolist()
['a', 'b']
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.errors import AnalysisError
from analysis.maps import score_column

__all__ = ["ParetoResult", "pareto_front", "smallest_within", "compute_pareto", "PARETO_STATUSES"]

#: Trials whose scores are real measurements (a running trial's are a snapshot, still usable).
PARETO_STATUSES: tuple[str, ...] = ("completed", "stopped", "running")


def pareto_front(df: pd.DataFrame, cost: str, score: str, maximize: bool = True) -> pd.DataFrame:
    """Rows not dominated by another (no other row is at most as costly and strictly better, or
    cheaper and at least as good), sorted by cost. Of exact duplicates the first row is kept."""
    s = df[score] if maximize else -df[score]
    ordered = df.assign(_s=s).sort_values([cost, "_s"], ascending=[True, False], kind="mergesort")
    best = -np.inf
    keep = []
    for i, value in zip(ordered.index, ordered["_s"]):
        if value > best:
            keep.append(i)
            best = value
    return ordered.loc[keep].drop(columns="_s")


def smallest_within(
    df: pd.DataFrame, cost: str, score: str, tolerance: float = 0.01, maximize: bool = True
) -> pd.Series | None:
    """The cheapest row whose score is within ``tolerance`` (relative) of the best score.

    Relative, so "1%" means 0.0076 accuracy at 0.76 and 0.0095 AUC at 0.95; ties in cost go to
    the better score. None for an empty frame.
    """
    if df.empty:
        return None
    if not 0 <= tolerance < 1:
        raise AnalysisError(f"`tolerance` is {tolerance!r}, but must be in [0, 1), e.g. 0.01")
    best = df[score].max() if maximize else df[score].min()
    limit = best - tolerance * abs(best) if maximize else best + tolerance * abs(best)
    good = df[df[score] >= limit] if maximize else df[df[score] <= limit]
    return pareto_front(good, cost, score, maximize).iloc[0]


@dataclass(frozen=True)
class ParetoResult:
    """One cost/score pair: all candidate ``points`` (``trial_id, cost, score``), the ``front``,
    the ``pick`` (smallest within ``tolerance`` of the best) and the column names used."""

    cost: str
    score: str
    points: pd.DataFrame
    front: pd.DataFrame
    pick: pd.Series
    tolerance: float


def compute_pareto(
    trials: pd.DataFrame, cost: str, metric: str, tolerance: float = 0.01
) -> ParetoResult:
    """Front and pick for ``metric`` (``val_acc`` or ``val_auc``; higher is better) by ``cost``."""
    if cost not in trials.columns:
        raise AnalysisError(f"the trials table has no `{cost}` column")
    score = score_column(trials, metric)
    if score is None:
        raise AnalysisError(f"the trials table has no `{metric}` values")
    points = trials.loc[trials["status"].isin(PARETO_STATUSES), ["trial_id", cost, score]]
    points = points[np.isfinite(points[[cost, score]]).all(axis=1) & (points[cost] > 0)]
    if points.empty:
        raise AnalysisError(f"no finished trial has both `{cost}` and `{score}`")
    points = points.rename(columns={cost: "cost", score: "score"}).reset_index(drop=True)
    front = pareto_front(points, "cost", "score").reset_index(drop=True)
    pick = smallest_within(points, "cost", "score", tolerance)
    return ParetoResult(cost=cost, score=score, points=points, front=front, pick=pick,
                        tolerance=tolerance)
