"""regimes.csv's numbers to the digits their errors allow (:mod:`jetstudy.analysis.regimes`
builds the table, this module rounds it), so every number a reason prints can be found in its
row and none carries digits its error does not allow."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from jetstudy.analysis.intervals import round_error, round_to_error
from jetstudy.analysis.regime_thresholds import RegimeThresholds
from jetstudy.analysis.significance import sigma_decimals

__all__ = ["relative", "table_digits"]


def relative(diff: float, base: float) -> float:
    """``diff / base`` as the reasons read it: infinite of a zero base (0 for no difference)."""
    if not (np.isfinite(diff) and np.isfinite(base)):
        return np.nan
    return diff / base if base > 0 else (0.0 if diff == 0 else math.copysign(np.inf, diff))


def table_digits(table: pd.DataFrame, s: pd.DataFrame,
            used: list[dict[str, object]], z: float = RegimeThresholds().z) -> pd.DataFrame:
    """The table's numbers to the digits their errors allow, as regimes.csv shows them: losses
    by their per-jet standard errors (the last epoch's), the relative gap by the error of the
    difference over the train loss, ``gap_sigma`` to 0.1 sigma (itself uncertain by ~1; more decimals where 0.1 would read as z),
    ``epochs_judged`` a whole number. The ``judged_*``, ``gap_abs`` and ``excess*`` columns
    (the numbers a reason prints) keep at least the digits the reason prints (3 significant
    figures, L* 4), so every number of a reason can be found in its row."""
    train_se, val_se = s["train_se"].to_numpy(float), s["val_se"].to_numpy(float)
    train = s["train"].to_numpy(float)
    gap_se = np.sqrt(train_se ** 2 + val_se ** 2) / np.where(train > 0, train, np.nan)
    excess_se = np.array([float(u.get("excess_se", np.nan)) for u in used])
    reference = np.array([float(u.get("reference", np.nan)) for u in used])
    reference_se = np.array([float(u.get("reference_se", np.nan)) for u in used])
    out = table.copy()
    for name, errors in (("final_train_loss", train_se), ("final_val_loss", val_se),
                         ("gap", gap_se)):
        out[name] = [round_to_error(v, e) for v, e in zip(out[name].astype(float), errors)]
    for name, errors, figures in (
            ("judged_train_loss", train_se, 3), ("judged_val_loss", val_se, 3),
            ("gap_abs", gap_se * np.abs(train), 3), ("judged_reference_loss", reference_se, 1),
            ("split_offset", np.full(len(out), np.nan), 3),
            ("excess_abs", excess_se, 3),
            ("excess", excess_se / np.where(reference > 0, reference, np.nan), 2),
            ("min_val_loss", val_se, 3), ("train_loss_at_min_val", train_se, 3),
            ("smoothed_final_train_loss", train_se, 3), ("smoothed_final_val_loss", val_se, 3)):
        out[name] = [_at_least(v, e, figures) for v, e in zip(out[name].astype(float), errors)]
    for name in ("gap_sigma", "excess_sigma"):
        out[name] = [round(v, sigma_decimals(v, z)) + 0.0 if np.isfinite(v) else v
                     for v in out[name].astype(float)]  # as the reason: 3.04 beside z = 3
    for name in ("epochs_judged", "epochs_logged", "min_val_epoch"):
        out[name] = pd.to_numeric(out[name]).round().astype("Int64")
    return out


def _at_least(value: float, error: float, figures: int) -> float:
    """``value`` to the decimal its error allows (4 significant figures without one), but never
    fewer than ``figures`` significant ones (the digits a reason prints it with)."""
    if not np.isfinite(value) or value == 0:
        return float(value) + 0.0
    magnitude = math.floor(math.log10(abs(value)))
    by_error = (round_error(float(error))[1] if np.isfinite(error) and error > 0
                else 3 - magnitude)
    return round(float(value), max(by_error, figures - 1 - magnitude)) + 0.0
