"""One-vs-rest ROC curves and the HEP operating-point table of the best model on the test split.

HEP convention: signal efficiency (TPR) against background efficiency (FPR), quoted as
background rejection 1/FPR at fixed signal efficiency. Curves come from
:func:`jetstudy.trainables.metrics.roc_curve`, so they match the AUCs the study itself reported.

Operating points are read off the curve without interpolation, as thresholds one could actually
cut at: the background efficiency at signal efficiency ``s`` is that of the tightest threshold
keeping at least ``s`` of the signal; the signal efficiency at background efficiency ``b`` is the
largest reached while keeping at most ``b`` of the background. A rejection is ``inf`` when no
background jet passes (perfect separation, or too few test jets to measure it).

Each operating point also carries its counts (signal and background jets passing) and a
Clopper-Pearson interval at one sigma (:mod:`jetstudy.analysis.intervals`): an efficiency ``k / n`` from
the jets of its class, a rejection from the background jets passing. The intervals are those
of a fixed cut; the cut itself is read off the same jets, a small extra effect not included.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from jetstudy.analysis.errors import AnalysisError
from jetstudy.analysis.intervals import clopper_pearson, hanley_mcneil_se, rejection_interval
from jetstudy.trainables.metrics import roc_auc, roc_curve
from jetstudy.trainables.schema import CLASSES

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
    """Per class (index): ``auc`` and ``auc_se`` (Hanley-McNeil), ``n_signal``, ``n_background``;
    for each signal efficiency ``s``: ``bkg_eff@s``, ``bkg_pass@s`` (background jets passing),
    ``sig_reached@s`` (the signal efficiency that cut keeps: at least ``s``, more with few
    signal jets),
    ``rejection@s`` with ``rejection_lo@s`` / ``rejection_hi@s``; for each background efficiency
    ``b``: ``sig_eff@b`` with ``sig_eff_lo@b`` / ``sig_eff_hi@b``, ``sig_pass@b`` (the
    references' quantity) and ``bkg_reached@b`` (the background efficiency that cut passes: at
    most ``b``, less where tied scores leave no cut nearer it). Intervals: one sigma,
    Clopper-Pearson."""
    scores = _scores(predictions, prefix)
    labels = predictions["label"].to_numpy()
    rows = {}
    for c, name in enumerate(CLASSES):
        is_sig = labels == c
        n_sig, n_bkg = int(is_sig.sum()), int((~is_sig).sum())
        sig, bkg, _ = roc_curve(is_sig, scores[:, c])
        auc = roc_auc(is_sig, scores[:, c])
        row = {"auc": auc, "auc_se": hanley_mcneil_se(auc, n_sig, n_bkg),
               "n_signal": float(n_sig), "n_background": float(n_bkg)}
        for s in signal_effs:
            b, _ = operating_points(sig, bkg, s, 0.0)
            k = int(round(b * n_bkg)) if np.isfinite(b) else -1
            value, lo, hi = rejection_interval(k, n_bkg) if k >= 0 and n_bkg else (np.nan,) * 3
            # the signal efficiency that cut keeps: with few signal jets it jumps past s (one
            # jet: every s is 100%), and the rejection is that efficiency's, not s's
            at = (sig >= s) & (bkg == b)
            row |= {f"sig_reached@{s:g}": float(sig[at].min()) if n_sig and at.any() else np.nan}
            row |= {f"bkg_eff@{s:g}": b, f"bkg_pass@{s:g}": float(k) if k >= 0 else np.nan,
                    f"rejection@{s:g}": value, f"rejection_lo@{s:g}": lo,
                    f"rejection_hi@{s:g}": hi}
        for b in background_effs:
            e = operating_points(sig, bkg, 1.0, b)[1]
            k = int(round(e * n_sig))
            lo, hi = clopper_pearson(k, n_sig) if n_sig else (np.nan, np.nan)
            # the background that cut passes: below b where tied scores put no cut nearer it
            # (a collapsed net: 0 at every b), as sig_reached@s for the rejections
            at = (bkg <= b) & (sig == e)
            row |= {f"sig_eff@{b:g}": e, f"sig_eff_lo@{b:g}": lo, f"sig_eff_hi@{b:g}": hi,
                    f"sig_pass@{b:g}": float(k),
                    f"bkg_reached@{b:g}": float(bkg[at].max()) if n_bkg and at.any() else np.nan}
        rows[name] = row
    return pd.DataFrame.from_dict(rows, orient="index")
