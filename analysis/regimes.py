"""Classify each trial as underfit, good, overfit or unstable from its learning curve.

The rules read the losses only (cross-entropy in nats), so they mean the same on any dataset:

1. **undetermined**: no finite loss to judge (a trial still in its first epoch, or one that
   failed for a reason other than divergence before reporting).
2. **unstable**: a NaN/inf loss anywhere, a failure whose error mentions NaN/inf/divergence, or a
   final training loss above ``diverged_factor`` x ln(number of classes), i.e. worse than
   guessing uniformly.
3. **overfit**: the validation loss ends more than ``overfit_gap`` above the training loss
   (relative), or it rose more than ``overfit_rise`` from its minimum while the training loss kept
   falling by more than ``train_still_falling`` after that minimum (needs an epochs table and at
   least ``min_epochs_for_trend`` epochs; from the trials table alone the training trend is unknown
   and a rise from ``best_val_loss`` is enough).
4. **underfit**: not overfit, and the final training loss (eval mode) is more than
   ``underfit_excess`` above the study's best validation loss: the model cannot even fit its
   training data as well as another model generalises.
5. **good**: everything else.

A trial that ran fewer epochs than the study's budget (stopped by ASHA or the time budget, still
running, or failed midway) is judged on the epochs it ran; ``judged_on_partial`` says so and the
reason names how many epochs that was.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, fields

import numpy as np
import pandas as pd

from analysis.errors import AnalysisError
from trainables.schema import CLASSES

__all__ = ["REGIMES", "RegimeThresholds", "curve_summary", "classify_regimes"]

#: Regimes in display order; ``undetermined`` trials are left out of maps and judged counts.
REGIMES: tuple[str, ...] = ("underfit", "good", "overfit", "unstable", "undetermined")

_DIVERGED_ERROR = re.compile(r"nan|inf|diverg|overflow", re.IGNORECASE)


def _pct(x: float) -> str:
    """A signed whole percentage without the "-0%" that rounding a tiny negative gives."""
    return f"{int(round(x * 100)):+d}%" if np.isfinite(x) else "n/a"


@dataclass(frozen=True)
class RegimeThresholds:
    """Thresholds of the regime rules (module docstring); all relative, so dataset-independent.

    >>> RegimeThresholds(overfit_gap=0.3).overfit_gap
    0.3
    """

    #: Underfit when final train loss > (1 + this) x the study's best val loss. 10% separates a
    #: 1x2-unit tagger (~40% above) from a sound small one (within a few %).
    underfit_excess: float = 0.10
    #: Overfit when final val loss > (1 + this) x final train loss. Regularised taggers on the
    #: hls4ml data end within ~5%; a wide net memorising a few thousand jets ends 2-3x apart.
    overfit_gap: float = 0.15
    #: Overfit (with the next) when the val loss ends this fraction above its minimum: more
    #: than epoch-to-epoch noise on a validation split of thousands of jets.
    overfit_rise: float = 0.05
    #: ... while train loss fell by at least this fraction after the val minimum; without it a
    #: rising val loss is an optimiser problem, not memorisation.
    train_still_falling: float = 0.02
    #: Unstable when final train loss > this x ln(n_classes) (uniform guessing is 1.0x).
    diverged_factor: float = 1.5
    #: Fewer epochs than this give no trend; only the gap and underfit rules apply.
    min_epochs_for_trend: int = 3

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "min_epochs_for_trend":
                if not isinstance(value, int) or value < 2:
                    raise AnalysisError(
                        f"`min_epochs_for_trend` is {value!r}, but must be an integer >= 2")
            elif f.name == "diverged_factor":
                if not (isinstance(value, (int, float)) and value > 1):
                    raise AnalysisError(
                        f"`diverged_factor` is {value!r}, but must be > 1 (1 = guessing)")
            elif not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise AnalysisError(f"`{f.name}` is {value!r}, but must be a number > 0")


def curve_summary(trials: pd.DataFrame, epochs: pd.DataFrame | None) -> pd.DataFrame:
    """Per trial, the few numbers the rules need, from the curve when there is one.

    Columns: ``trial_id, has_curve, n_epochs, final_train, final_val, min_val, min_val_epoch,
    train_at_min_val, first_nonfinite_epoch, table_nonfinite``. Without a curve they come from
    the trials table's last-epoch columns (``min_val`` from ``best_val_loss``; the training
    trend unknown).
    """
    base = trials.set_index("trial_id")
    out = pd.DataFrame(index=base.index)
    out["has_curve"] = False
    out["n_epochs"] = base["epochs"] if "epochs" in base else np.nan
    out["final_train"] = base["train_loss"]
    out["final_val"] = base["val_loss"]
    best = base["best_val_loss"] if "best_val_loss" in base else pd.Series(np.nan, index=base.index)
    out["min_val"] = np.fmin(best, base["val_loss"])
    out["min_val_epoch"] = base["best_epoch"] if "best_epoch" in base else np.nan
    out["train_at_min_val"] = np.nan
    table_nonfinite = ~np.isfinite(base["train_loss"]) | ~np.isfinite(base["val_loss"])
    out["first_nonfinite_epoch"] = np.nan
    out["table_nonfinite"] = table_nonfinite
    if epochs is not None and not epochs.empty:
        e = epochs[epochs["trial_id"].isin(base.index)]
        grouped = e.groupby("trial_id", sort=False)
        last = grouped.tail(1).set_index("trial_id")
        nonfinite = ~np.isfinite(e["train_loss"]) | ~np.isfinite(e["val_loss"])
        first_bad = e[nonfinite].groupby("trial_id")["epoch"].min()
        finite = e[~nonfinite]
        at_min = finite.loc[finite.groupby("trial_id")["val_loss"].idxmin()].set_index("trial_id")
        ids = last.index
        out.loc[ids, "has_curve"] = True
        out.loc[ids, "n_epochs"] = grouped["epoch"].max()
        out.loc[ids, "final_train"] = last["train_loss"]
        out.loc[ids, "final_val"] = last["val_loss"]
        out.loc[ids, ["min_val", "min_val_epoch", "train_at_min_val"]] = np.nan
        out.loc[at_min.index, "min_val"] = at_min["val_loss"]
        out.loc[at_min.index, "min_val_epoch"] = at_min["epoch"]
        out.loc[at_min.index, "train_at_min_val"] = at_min["train_loss"]
        out.loc[ids, "first_nonfinite_epoch"] = np.nan
        out.loc[first_bad.index, "first_nonfinite_epoch"] = first_bad
        out.loc[ids, "table_nonfinite"] = False
    return out.reset_index()


def _partial(row: pd.Series) -> tuple[bool, str]:
    n, budget, status = row["n_epochs"], row["max_epochs"], row["status"]
    ran = f"{int(n)}" if np.isfinite(n) else "an unknown number of"
    of = f" of {int(budget)}" if np.isfinite(budget) else ""
    if status == "running":
        return True, f"judged on {ran}{of} epochs: still running"
    if status == "failed":
        return True, f"judged on {ran}{of} epochs: failed"
    if np.isfinite(n) and np.isfinite(budget) and n < budget:
        return True, f"judged on {ran}{of} epochs: stopped early"
    if status == "stopped" and not np.isfinite(budget):
        return True, f"judged on {ran} epochs: stopped early"
    return False, ""


def _judge(row: pd.Series, best_val: float, t: RegimeThresholds) -> tuple[str, str]:
    train, val, error = row["final_train"], row["final_val"], row["error"]
    diverged_error = row["status"] == "failed" and bool(_DIVERGED_ERROR.search(error))
    if np.isfinite(row["first_nonfinite_epoch"]):
        return "unstable", f"non-finite loss at epoch {int(row['first_nonfinite_epoch'])}"
    if diverged_error:
        return "unstable", f"failed: {error}"
    if not (np.isfinite(train) and np.isfinite(val)):
        finished = row["status"] in ("completed", "stopped")
        if row["table_nonfinite"] and (finished or np.isinf([train, val]).any()):
            return "unstable", f"ended with a non-finite loss (train {train}, val {val})"
        failed = row["status"] == "failed" and error
        why = f"failed: {error}" if failed else "no finite loss reported yet"
        return "undetermined", why
    chance = math.log(len(CLASSES))
    if train > t.diverged_factor * chance:
        return "unstable", (f"train loss {train:.3g} is above {t.diverged_factor:g} x "
                            f"ln({len(CLASSES)}) (worse than guessing)")
    gap = (val - train) / train if train > 0 else np.inf
    if gap > t.overfit_gap:
        return "overfit", (f"val loss {val:.3g} is {gap:.0%} above train loss {train:.3g} "
                           f"(limit {t.overfit_gap:.0%})")
    min_val = row["min_val"]
    if np.isfinite(min_val) and min_val > 0:
        rise = (val - min_val) / min_val
        if row["has_curve"] and row["n_epochs"] >= t.min_epochs_for_trend and rise > t.overfit_rise:
            drop = (row["train_at_min_val"] - train) / row["train_at_min_val"]
            if drop > t.train_still_falling:
                return "overfit", (
                    f"val loss rose {rise:.0%} from its minimum {min_val:.3g} at epoch "
                    f"{int(row['min_val_epoch'])} while train loss fell {drop:.0%}"
                )
        elif not row["has_curve"] and rise > t.overfit_rise:
            return "overfit", (
                f"val loss {val:.3g} ended {rise:.0%} above its best {min_val:.3g} "
                "(train trend unknown without an epochs table)"
            )
    if np.isfinite(best_val) and best_val > 0:
        excess = (train - best_val) / best_val
        if excess > t.underfit_excess:
            return "underfit", (
                f"train loss {train:.3g} stays {excess:.0%} above the study's best val loss "
                f"{best_val:.3g} (val/train gap {_pct(gap)})"
            )
    return "good", f"train loss {train:.3g}, val loss {val:.3g} (val/train gap {_pct(gap)})"


def classify_regimes(
    trials: pd.DataFrame,
    epochs: pd.DataFrame | None = None,
    thresholds: RegimeThresholds | None = None,
    best_val_loss: float | None = None,
) -> pd.DataFrame:
    """One row per trial: ``trial_id, status, regime, reason, judged_on_partial`` and the numbers
    behind them (``epochs_judged, final_train_loss, final_val_loss, min_val_loss, gap``).

    ``best_val_loss`` overrides the study's own best as the underfit reference, e.g. to judge a
    snapshot against a finished study; by default it is the lowest val loss of any stable trial.
    """
    t = thresholds or RegimeThresholds()
    s = curve_summary(trials, epochs)
    meta = trials.set_index("trial_id")
    s["status"] = s["trial_id"].map(meta["status"])
    s["error"] = s["trial_id"].map(meta["error"]) if "error" in meta else ""
    s["error"] = s["error"].fillna("")
    s["max_epochs"] = s["trial_id"].map(meta["max_epochs"]) if "max_epochs" in meta else np.nan
    if best_val_loss is None:
        stable = s["first_nonfinite_epoch"].isna() & np.isfinite(s["final_train"])
        stable &= s["final_train"] <= t.diverged_factor * math.log(len(CLASSES))
        candidates = s.loc[stable, "min_val"]
        candidates = candidates[np.isfinite(candidates)]
        best_val_loss = float(candidates.min()) if len(candidates) else np.nan
    judged = [_judge(row, best_val_loss, t) for _, row in s.iterrows()]
    partial = [_partial(row) for _, row in s.iterrows()]
    out = pd.DataFrame({
        "trial_id": s["trial_id"],
        "status": s["status"],
        "regime": [j[0] for j in judged],
        "reason": [j[1] + (f" ({p[1]})" if p[0] and j[0] != "undetermined" else "")
                   for j, p in zip(judged, partial)],
        "judged_on_partial": [p[0] for p in partial],
        "epochs_judged": s["n_epochs"],
        "final_train_loss": s["final_train"],
        "final_val_loss": s["final_val"],
        "min_val_loss": s["min_val"],
        "gap": (s["final_val"] - s["final_train"]) / s["final_train"],
    })
    return out
