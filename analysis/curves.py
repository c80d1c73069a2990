"""Which learning curves to show: the best trials, then a few of each regime.

Within a regime the trials that ran the most epochs are shown first (ties broken by a seeded
shuffle): a curve of two epochs cut short by ASHA says little about the regime.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from jetstudy.analysis.errors import AnalysisError
from jetstudy.analysis.maps import score_column
from jetstudy.analysis.pareto import PARETO_STATUSES
from jetstudy.analysis.regimes import REGIMES
from jetstudy.analysis.trial_order import ranked_best

__all__ = ["select_learning_curves", "joins", "points_only"]


def select_learning_curves(
    trials: pd.DataFrame,
    regimes: pd.DataFrame,
    epochs: pd.DataFrame,
    metric: str,
    maximize: bool,
    n_best: int = 3,
    n_per_regime: int = 3,
    seed: int = 0,
) -> pd.DataFrame:
    """Long table ``group, trial_id, status, epoch, train_loss, val_loss``; ``group`` is ``best`` (the
    best non-failed trials, as in the report's best trial) or a
    regime. A trial appears in one group only (``best`` first, best trial first); groups follow
    :data:`~jetstudy.analysis.regimes.REGIMES`."""
    have_curve = set(epochs["trial_id"])
    df = regimes[regimes["trial_id"].isin(have_curve)].merge(trials, on=["trial_id", "status"])
    if df.empty:
        raise AnalysisError("the epochs table has no curve for any trial in the trials table")
    chosen: list[tuple[str, str]] = []
    score = score_column(df, metric)
    if score is not None:
        ok = df[np.isfinite(df[score]) & df["status"].isin(PARETO_STATUSES)]  # not a diverged one
        # the order of summary.best_trial, ties included (completed first, then the smaller
        # model, then the first proposed): the first curve is the trial 'Best trial' names
        ranked = ok.iloc[ranked_best(ok, ok[score], maximize)]
        chosen += [("best", t) for t in ranked["trial_id"].head(n_best)]
    taken = {t for _, t in chosen}
    rng = np.random.default_rng(seed)
    for regime in REGIMES:
        if regime == "undetermined":
            continue
        pool = df[(df["regime"] == regime) & ~df["trial_id"].isin(taken)]
        pool = pool.assign(_r=rng.random(len(pool))).sort_values(
            ["epochs_judged", "_r"], ascending=[False, True], na_position="last")
        chosen += [(regime, t) for t in pool["trial_id"].head(n_per_regime)]
    picked = pd.DataFrame(chosen, columns=["group", "trial_id"]).rename_axis("rank").reset_index()
    # each trial's status, for its legend: a running trial's curve ends where it has got to
    status = df.drop_duplicates("trial_id", keep="last").set_index("trial_id")["status"]
    picked["status"] = picked["trial_id"].map(status).astype(object)
    curves = picked.merge(epochs[["trial_id", "epoch", "train_loss", "val_loss"]], on="trial_id")
    curves = curves.sort_values(["rank", "epoch"], kind="mergesort").drop(columns="rank")
    return curves.reset_index(drop=True)


def joins(values: pd.Series) -> bool:
    """Whether a curve draws a line anywhere: two neighbouring epochs both finite (a curve of
    one epoch, or one broken by NaN after its first, is its markers alone)."""
    ok = np.isfinite(pd.to_numeric(values, errors="coerce").to_numpy(dtype=float))
    return bool((ok[:-1] & ok[1:]).any())


def points_only(curves: pd.DataFrame) -> tuple[int, int]:
    """Of the curves drawn (each trial's train and val loss in each group): how many, and how
    many draw no line (:func:`joins`), for the figure's words (a figure of one-epoch trials
    has no solid or dashed line to name)."""
    flags = [joins(c[col]) for _, c in curves.groupby(["group", "trial_id"], sort=False)
             for col in ("train_loss", "val_loss") if np.isfinite(
                 pd.to_numeric(c[col], errors="coerce").to_numpy(dtype=float)).any()]
    return len(flags), len(flags) - sum(flags)
