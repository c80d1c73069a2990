"""One-vs-rest ROC curves and the HEP operating-point table of the best model on the test split.

HEP convention: signal efficiency (TPR) against background efficiency (FPR), quoted as
background rejection 1/FPR at fixed signal efficiency. Curves come from
:func:`trainables.metrics.roc_curve`, so they match the AUCs the study itself reported.

Operating points are read off the curve without interpolation, as thresholds one could actually
cut at: the background efficiency at signal efficiency ``s`` is that of the tightest threshold
keeping at least ``s`` of the signal; the signal efficiency at background efficiency ``b`` is the
largest reached while keeping at most ``b`` of the background. A rejection is ``inf`` when no
background jet passes (perfect separation, or too few test jets to measure it).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.errors import AnalysisError
from trainables.metrics import roc_auc, roc_curve
from trainables.schema import CLASSES

__all__ = ["SOURCES", "roc_points", "rejection_table", "operating_points"]

#: Score-column prefixes in ``test_predictions`` and what they are.
SOURCES: dict[str, str] = {"p_": "model", "bayes_": "Bayes optimal"}


def _scores(predictions: pd.DataFrame, prefix: str) -> np.ndarray:
    cols = [f"{prefix}{c}" for c in CLASSES]
    missing = [c for c in cols if c not in predictions.columns]
    if missing:
        raise AnalysisError(f"test predictions lack the columns {', '.join(missing)}")
    return predictions[cols].to_numpy(dtype=float)


def operating_points(
    signal_eff: np.ndarray, background_eff: np.ndarray, at_signal: float, at_background: float
) -> tuple[float, float]:
    """Background eff at signal eff ``at_signal``, and signal eff at background eff
    ``at_background``, as a pair."""
    reach = signal_eff >= at_signal
    bkg = float(background_eff[reach].min()) if reach.any() else np.nan
    within = background_eff <= at_background
    sig = float(signal_eff[within].max()) if within.any() else 0.0
    return bkg, sig


def _thin(x: np.ndarray, y: np.ndarray, max_points: int) -> tuple[np.ndarray, np.ndarray]:
    """At most ``max_points`` points, always keeping both ends: enough for a smooth line."""
    if len(x) <= max_points:
        return x, y
    keep = np.unique(np.linspace(0, len(x) - 1, max_points).round().astype(int))
    return x[keep], y[keep]


def roc_points(
    predictions: pd.DataFrame, prefix: str = "p_", max_points: int = 2000
) -> pd.DataFrame:
    """Long table ``cls, signal_eff, background_eff`` of each class's one-vs-rest ROC curve,
    thinned to ``max_points`` per class for drawing (the table uses the full curve)."""
    scores = _scores(predictions, prefix)
    labels = predictions["label"].to_numpy()
    parts = []
    for c, name in enumerate(CLASSES):
        sig, bkg, _ = roc_curve(labels == c, scores[:, c])
        sig, bkg = _thin(sig, bkg, max_points)
        parts.append(pd.DataFrame({"cls": name, "signal_eff": sig, "background_eff": bkg}))
    return pd.concat(parts, ignore_index=True)


def rejection_table(
    predictions: pd.DataFrame,
    prefix: str = "p_",
    signal_effs: tuple[float, ...] = (0.5, 0.9),
    background_effs: tuple[float, ...] = (0.1, 0.01),
) -> pd.DataFrame:
    """Per class (index): ``auc``, ``bkg_eff@s`` and ``rejection@s`` for each signal efficiency
    ``s``, and ``sig_eff@b`` for each background efficiency ``b`` (the references' quantity)."""
    scores = _scores(predictions, prefix)
    labels = predictions["label"].to_numpy()
    rows = {}
    for c, name in enumerate(CLASSES):
        is_sig = labels == c
        sig, bkg, _ = roc_curve(is_sig, scores[:, c])
        row = {"auc": roc_auc(is_sig, scores[:, c]), "n_signal": float(is_sig.sum())}
        for s in signal_effs:
            b, _ = operating_points(sig, bkg, s, 0.0)
            row[f"bkg_eff@{s:g}"] = b
            row[f"rejection@{s:g}"] = np.inf if b == 0 else 1.0 / b
        for b in background_effs:
            row[f"sig_eff@{b:g}"] = operating_points(sig, bkg, 1.0, b)[1]
        rows[name] = row
    return pd.DataFrame.from_dict(rows, orient="index")
