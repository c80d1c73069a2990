"""Classification metrics for multi-class jet tagging, in numpy (no torch, no sklearn).

Used by the trial loop (``val_auc`` each epoch), by the test evaluation of the best model and by
``analysis`` for ROC curves, so all three agree on one definition. Ties in the scores are
handled exactly (a tied signal/background pair counts one half), as in scikit-learn.

>>> import numpy as np
>>> roc_auc(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8]))
0.75
"""

from __future__ import annotations

import numpy as np

__all__ = ["accuracy", "roc_auc", "roc_auc_ovr", "roc_curve", "log_loss"]


def accuracy(labels: np.ndarray, probs: np.ndarray) -> float:
    """Fraction of jets whose highest-scoring class is the true class."""
    return float(np.mean(np.argmax(probs, axis=1) == labels))


def log_loss(labels: np.ndarray, probs: np.ndarray, eps: float = 1e-12) -> float:
    """Mean cross-entropy of class probabilities ``probs`` (N, C) for integer ``labels``."""
    p = np.clip(probs[np.arange(len(labels)), labels], eps, 1.0)
    return float(-np.mean(np.log(p)))


def roc_auc(is_signal: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve of binary ``is_signal`` against ``scores`` (Mann-Whitney U).

    Returns NaN when one of the two classes is absent, since the AUC is then undefined.
    """
    is_signal = np.asarray(is_signal).astype(bool)
    n_pos = int(is_signal.sum())
    n_neg = is_signal.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = np.argsort(scores, kind="mergesort")
    sorted_scores = np.asarray(scores)[order]
    # average ranks (1-based) over runs of tied scores
    ranks = np.empty(len(sorted_scores), dtype=np.float64)
    boundaries = np.flatnonzero(np.diff(sorted_scores)) + 1
    starts = np.concatenate(([0], boundaries))
    ends = np.concatenate((boundaries, [len(sorted_scores)]))
    run_rank = (starts + ends + 1) / 2.0
    ranks[order] = np.repeat(run_rank, ends - starts)
    u = ranks[is_signal].sum() - n_pos * (n_pos + 1) / 2.0
    return float(u / (n_pos * n_neg))


def roc_auc_ovr(labels: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """One-vs-rest AUC per class: entry ``c`` is the AUC of ``probs[:, c]`` for class ``c``."""
    return np.array([roc_auc(labels == c, probs[:, c]) for c in range(probs.shape[1])])


def roc_curve(is_signal: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Signal and background efficiencies for every distinct threshold, highest threshold first.

    Returns ``(signal_eff, background_eff, thresholds)``; a jet passes when its score is
    ``>= threshold``. The curve starts at (0, 0) (threshold +inf) and ends at (1, 1).
    """
    is_signal = np.asarray(is_signal).astype(bool)
    scores = np.asarray(scores, dtype=np.float64)
    order = np.argsort(-scores, kind="mergesort")
    s = scores[order]
    sig = is_signal[order]
    last_of_run = np.concatenate((np.flatnonzero(np.diff(s)), [len(s) - 1]))
    tp = np.cumsum(sig)[last_of_run]
    fp = np.cumsum(~sig)[last_of_run]
    n_pos = max(int(sig.sum()), 1)
    n_neg = max(int((~sig).sum()), 1)
    signal_eff = np.concatenate(([0.0], tp / n_pos))
    background_eff = np.concatenate(([0.0], fp / n_neg))
    thresholds = np.concatenate(([np.inf], s[last_of_run]))
    return signal_eff, background_eff, thresholds
