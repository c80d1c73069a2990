"""The bias-variance picture: final train and validation loss against parameter count.

Only trials that ran the study's full epoch budget are used by default: an ASHA-stopped trial's
loss after two epochs measures how fast it started, not what its capacity allows, and would
swamp the curve. If fewer than ``min_trials`` ran the full budget, all trials with finite
losses are used instead and :attr:`ComplexityCurve.note` says so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.errors import AnalysisError

__all__ = ["ComplexityCurve", "complexity_curve"]


@dataclass(frozen=True)
class ComplexityCurve:
    """``points``: one row per trial (``trial_id, n_params, train_loss, val_loss, gap, regime``,
    gap = val - train in nats). ``bins``: per log-spaced parameter bin, ``n_params`` (geometric
    centre), ``n``, ``train_median``, ``val_median``, ``val_best`` and ``gap_median``."""

    points: pd.DataFrame
    bins: pd.DataFrame
    note: str


def complexity_curve(
    trials: pd.DataFrame,
    regimes: pd.DataFrame,
    statuses: tuple[str, ...] = ("completed",),
    bins_per_decade: int = 2,
    min_trials: int = 3,
) -> ComplexityCurve:
    """Points and binned medians of final losses by parameter count (see module docstring)."""
    df = trials[["trial_id", "status", "n_params"]].merge(
        regimes[["trial_id", "regime", "final_train_loss", "final_val_loss"]], on="trial_id"
    )
    df = df.rename(columns={"final_train_loss": "train_loss", "final_val_loss": "val_loss"})
    ok = np.isfinite(df[["n_params", "train_loss", "val_loss"]]).all(axis=1) & (df["n_params"] > 0)
    ok &= df["regime"] != "unstable"
    usable = df[ok]
    chosen = usable[usable["status"].isin(statuses)]
    note = f"{len(chosen)} trials that ran the full epoch budget"
    if len(chosen) < min_trials:
        chosen = usable
        note = f"all {len(chosen)} trials with finite losses (too few ran the full budget)"
    if chosen.empty:
        raise AnalysisError("no trial has finite train and val losses yet")
    points = chosen.assign(gap=chosen["val_loss"] - chosen["train_loss"]).reset_index(drop=True)
    logp = np.log10(points["n_params"].to_numpy(dtype=float))
    lo = math.floor(logp.min() * bins_per_decade) / bins_per_decade
    hi = max(math.ceil(logp.max() * bins_per_decade) / bins_per_decade, lo + 1 / bins_per_decade)
    edges = np.arange(lo, hi + 1e-9, 1 / bins_per_decade)
    idx = np.clip(np.searchsorted(edges, logp, side="right") - 1, 0, len(edges) - 2)
    grouped = points.assign(bin=idx).groupby("bin")
    bins = pd.DataFrame({
        "n": grouped.size(),
        "train_median": grouped["train_loss"].median(),
        "val_median": grouped["val_loss"].median(),
        "val_best": grouped["val_loss"].min(),
        "gap_median": grouped["gap"].median(),
    })
    centres = 10 ** ((edges[:-1] + edges[1:]) / 2)
    bins.insert(0, "n_params", centres[bins.index.to_numpy()])
    return ComplexityCurve(points=points, bins=bins.reset_index(drop=True), note=note)
