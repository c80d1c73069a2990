"""The regime rules that read a curve's shape rather than its final losses
(:mod:`jetstudy.analysis.regimes`): a final loss that zig-zags from epoch to epoch (its value
is then not settled, and its gap counts only beyond the swings) and the rise rule of
**overfit** (the validation loss rising significantly from its minimum while the training loss
still falls). Each takes a row of :func:`~jetstudy.analysis.curve_stats.curve_summary`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from jetstudy.analysis.curve_stats import SWING_EPOCHS
from jetstudy.analysis.intervals import three_figures
from jetstudy.analysis.regime_thresholds import RegimeThresholds
from jetstudy.analysis.significance import _beside as _percent_beside
from jetstudy.analysis.significance import beyond as _beyond
from jetstudy.analysis.significance import judge_diff as _judge_diff

__all__ = ["swung", "rise"]


def swung(row: pd.Series, t: RegimeThresholds) -> tuple[str | None, float, float]:
    """Words when a final loss zig-zags from epoch to epoch by more than ``gap_floor`` of it
    (its final value is then not settled), and the train and val swings (0 when settled)."""
    parts, swings = [], {}
    for name in ("val", "train"):
        value, amount = row[name], row[f"swing_{name}"]
        swings[name] = float(amount) if np.isfinite(amount) else 0.0
        if value > 0 and _beyond(swings[name] / value, t.gap_floor):  # at it: not more
            shown = _percent_beside(amount / value, t.gap_floor).lstrip("+")  # 8.3%, not 8%
            parts.append(f"{name} loss zig-zags by {amount:.3g} ({shown}) from "
                         "epoch to epoch")
    if not parts:
        return None, 0.0, 0.0
    return (" and ".join(parts) + f" over the last {SWING_EPOCHS} epochs, more than gap_floor "
            f"{t.gap_floor:.0%}: the final loss is not settled (a smaller learning rate "
            "settles it)", swings["train"], swings["val"])


def rise(row: pd.Series, t: RegimeThresholds) -> str | None:
    """The rise rule's reason when the val loss rose significantly while train kept falling."""
    min_val, val = row["min_val"], row["smooth_final_val"]
    # a trend needs min_epochs epochs *in the log*: two logged epochs (1 and 10) of a 10-epoch
    # run are two points, no curve, however many epochs were trained between them
    if not (row["has_curve"] and row["n_epochs"] >= t.min_epochs
            and row["n_logged"] >= t.min_epochs and np.isfinite(min_val)):
        return None
    # both ends are losses on the same jets, so their difference is less noisy than one loss:
    # one loss's standard error bounds it
    rise = _judge_diff(val - min_val, min_val, row["val_se"] ** 2, t, t.overfit_rise,
                       t.overfit_rise)
    start, end = row["train_at_min_val"], row["smooth_final_train"]
    drop = _judge_diff(start - end, start, row["train_se"] ** 2, t, t.train_still_falling,
                       t.train_still_falling)
    if rise.significant and drop.significant:
        return (f"val loss rose {rise.text} from its minimum {three_figures(min_val)} at epoch "
                f"{int(row['min_val_epoch'])} while train loss fell {drop.text}")
    return None
