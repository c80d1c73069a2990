"""The bias-variance picture: final train and validation loss against parameter count.

Only trials that ran the study's full epoch budget (or converged by patience; a trial stopped
after its last epoch too, :func:`~jetstudy.analysis.curve_stats.ran_to_the_end`) are used by
default: an ASHA-stopped trial's loss after two epochs measures how fast it started, not what
its capacity allows, and would swamp the curve. If fewer than ``min_trials`` did, all trials
with finite losses are used instead and :attr:`ComplexityCurve.note` says so. Unstable and
undetermined trials never enter. A bin's medians sit at the median size of its trials, and a
bin without trials has none (NaN: the drawn line breaks there).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from jetstudy.analysis.curve_stats import ran_to_the_end
from jetstudy.analysis.errors import AnalysisError

__all__ = ["ComplexityCurve", "complexity_curve", "median_lines_join"]


@dataclass(frozen=True)
class ComplexityCurve:
    """``points``: one row per trial (``trial_id, n_params, train_loss, val_loss, gap, regime``,
    gap = val - train in nats). ``bins``: every log-spaced parameter bin from the smallest to the
    largest trial, ``n_params`` (median size of its trials; the geometric centre of an empty
    bin), ``n``, ``train_median``, ``val_median``, ``val_best`` (the bin's lowest final val loss)
    at ``val_best_n_params`` (that trial's size) and ``gap_median`` (NaN where ``n`` is 0)."""

    points: pd.DataFrame
    bins: pd.DataFrame
    note: str
    #: the regime rules' reference loss L* (``reference_loss`` of the regime table), if known
    reference: float | None = None
    #: which losses the points are, in words for a caption: the judged ones (median of the last
    #: three finite epochs, regimes.csv's ``judged_*``) or, in older tables, the last epoch's
    losses: str = "last-epoch"


def complexity_curve(
    trials: pd.DataFrame,
    regimes: pd.DataFrame,
    statuses: tuple[str, ...] = ("completed",),
    bins_per_decade: int = 2,
    min_trials: int = 3,
    ran: tuple[str, str] = ("trial that ran to the end (max_epochs or its patience)",
                            "trials that ran to the end (max_epochs or their patience)"),
) -> ComplexityCurve:
    """Points and binned medians of final losses by parameter count (see module docstring);
    ``ran``: the note's words for one and for several complete trials, in the study's own
    terms (the report's: an ASHA study has no patience)."""
    missing = [c for c in ("trial_id", "status", "n_params") if c not in trials.columns]
    if missing:
        raise AnalysisError(f"the trials table has no {', '.join(f'`{c}`' for c in missing)} "
                            "column: no complexity curve")
    trials = trials.drop_duplicates("trial_id", keep="last")  # listed twice: its last row
    regimes = regimes.drop_duplicates("trial_id", keep="last")
    # the losses the verdicts judged (median of the last 3 finite epochs; regimes.csv since
    # round 4), else the last epoch's (older tables): a point coloured overfit sits where the
    # rule saw it, not at a last epoch's spike
    train_col, val_col = (("judged_train_loss", "judged_val_loss")
                          if {"judged_train_loss", "judged_val_loss"} <= set(regimes.columns)
                          else ("final_train_loss", "final_val_loss"))
    # a trial that trained its whole max_epochs is complete whatever its status (the time
    # budget came after its last epoch): the front's and regimes.csv's rule
    trials = trials.assign(_full=ran_to_the_end(trials).to_numpy(dtype=bool))
    df = trials[["trial_id", "status", "n_params", "_full"]].merge(
        regimes[["trial_id", "regime", train_col, val_col]], on="trial_id"
    )
    df = df.rename(columns={train_col: "train_loss", val_col: "val_loss"})
    ok = np.isfinite(df[["n_params", "train_loss", "val_loss"]]).all(axis=1) & (df["n_params"] > 0)
    ok &= ~df["regime"].isin(["unstable", "undetermined"])
    usable = df[ok]
    chosen = usable[usable["status"].isin(statuses) | usable["_full"]]
    note = f"{len(chosen)} {ran[0] if len(chosen) == 1 else ran[1]}"
    if len(chosen) < min_trials and len(usable) > len(chosen):  # else nothing to add: say so
        ended, chosen = len(chosen), usable
        judged = ("the only judged trial" if len(chosen) == 1
                  else f"all {len(chosen)} judged trials")
        note = (f"{judged} with finite losses (too few ran to the end: {ended}, fewer than "
                f"{min_trials})")
    if chosen.empty:
        sized = np.isfinite(df["n_params"].astype(float)) & (df["n_params"] > 0)
        if len(df) and not sized.any():
            raise AnalysisError("no trial has a parameter count (`n_params`): no complexity "
                                "curve")
        regimes_seen = set(df["regime"])
        if len(df) and regimes_seen == {"unstable"}:  # waiting will not help: say why
            who = "the only trial" if len(df) == 1 else f"every one of the {len(df)} trials"
            raise AnalysisError(f"{who} is unstable (diverged, or no better than the class "
                                "priors): no complexity curve; see the "
                                f"reason{'' if len(df) == 1 else 's'} in regimes.csv")
        counts = ", ".join(f"{n} {regime}" for regime, n in
                           df["regime"].value_counts().items())
        running = "status" in df and (df["status"] == "running").any()
        raise AnalysisError("no judged trial has finite train and val losses"
                            + (" yet" if running else "")
                            + " (unstable and undetermined trials are left out"
                            + (f"; here: {counts}; see the reasons in regimes.csv)" if counts
                               else ")"))
    points = chosen.drop(columns="_full").assign(
        gap=chosen["val_loss"] - chosen["train_loss"]).reset_index(drop=True)
    logp = np.log10(points["n_params"].to_numpy(dtype=float))
    lo = math.floor(logp.min() * bins_per_decade) / bins_per_decade
    hi = max(math.ceil(logp.max() * bins_per_decade) / bins_per_decade, lo + 1 / bins_per_decade)
    edges = np.arange(lo, hi + 1e-9, 1 / bins_per_decade)
    idx = np.clip(np.searchsorted(edges, logp, side="right") - 1, 0, len(edges) - 2)
    grouped = points.assign(bin=idx).groupby("bin")
    bins = pd.DataFrame({
        "n_params": grouped["n_params"].median(),
        "n": grouped.size(),
        "train_median": grouped["train_loss"].median(),
        "val_median": grouped["val_loss"].median(),
        "val_best": grouped["val_loss"].min(),
        # drawn where that trial is, not at the bin's median size (no trial may be there)
        "val_best_n_params": points["n_params"].loc[grouped["val_loss"].idxmin()].set_axis(
            grouped["val_loss"].idxmin().index),
        "gap_median": grouped["gap"].median(),
    })
    bins = bins.reindex(range(len(edges) - 1))
    bins["n"] = bins["n"].fillna(0).astype(int)
    centres = 10 ** ((edges[:-1] + edges[1:]) / 2)
    bins["n_params"] = bins["n_params"].fillna(pd.Series(centres, index=bins.index))
    ref = regimes["reference_loss"].dropna() if "reference_loss" in regimes else pd.Series([])
    return ComplexityCurve(points=points, bins=bins.reset_index(drop=True), note=note,
                           reference=float(ref.iloc[0]) if len(ref) else None,
                           losses=("judged" if train_col == "judged_train_loss"
                                   else "last-epoch"))


def median_lines_join(n: pd.Series) -> bool:
    """Whether the complexity figure's bin medians draw a line anywhere: two neighbouring bins
    each of two trials or more (``n``: the trials per bin, in order); else each median is a
    lone marker, drawn and named (legend, caption) as one."""
    held = (n.fillna(0).to_numpy() >= 2)
    return bool((held[:-1] & held[1:]).any())
