"""The study's yardsticks for its losses: ``<study>/reference.json``, written with the splits.

* ``prior_entropy``: the cross-entropy (nats) of always predicting the training split's class
  frequencies; a model no better than that has learnt nothing from the jets.
* on synthetic data, the Bayes-optimal classifier (the generator's exact posterior,
  :func:`jetstudy.trainables.synth.bayes_posterior`) on the validation jets: ``bayes_val_loss`` (with
  its standard error ``bayes_val_loss_se``, per-jet spread / sqrt(n)) and ``bayes_val_acc``:
  the lowest validation loss and best accuracy any tagger can reach on these very jets;
  and on the training jets ``bayes_train_loss`` (``bayes_train_loss_se``): the regime rules
  compare the training loss with it (same jets) and take the two splits' own difference in
  difficulty out of the val - train gap. ``null`` on real data.

The analysis reads it back as ``StudyTables.reference`` (docs/results_layout.md); nothing
reads it while the trials run, so a study computes it beside them (:class:`DeferredReference`:
the Bayes posterior of 800k jets is ~5 s of numpy, a third of the study's set-up on a GPU) and
writes it before it ends; the numbers are those :func:`reference_numbers` gives in line.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from jetstudy.study.background import Background
from jetstudy.study.paths import inside
from jetstudy.study.tables import write_json
from jetstudy.trainables.data import JetSplits
from jetstudy.trainables.schema import CLASSES
from jetstudy.trainables.synth import bayes_posterior

__all__ = ["REFERENCE_FILE", "reference_numbers", "write_reference", "DeferredReference",
           "prior_entropy", "loss_mean_se"]

logger = logging.getLogger(__name__)

#: Its name in the study folder.
REFERENCE_FILE = "reference.json"


def prior_entropy(labels: np.ndarray, n_classes: int = len(CLASSES)) -> float:
    """Entropy (nats) of the class frequencies of ``labels``: the log loss of predicting them."""
    counts = np.bincount(np.asarray(labels, dtype=np.int64), minlength=n_classes)
    freq = counts[counts > 0] / counts.sum()
    return float(-(freq * np.log(freq)).sum())


def loss_mean_se(labels: np.ndarray, probs: np.ndarray) -> tuple[float, float]:
    """Mean per-jet ``-log(max(p_true, 1e-12))`` and its standard error (std / sqrt(n)), as
    the trial loop measures ``val_loss`` and ``val_loss_se``."""
    p_true = probs[np.arange(len(labels)), labels]
    per_jet = -np.log(np.clip(p_true, 1e-12, None))
    se = float(per_jet.std(ddof=1) / math.sqrt(len(per_jet))) if len(per_jet) > 1 else math.nan
    return float(per_jet.mean()), se


def _bayes_train(splits: JetSplits) -> dict[str, Any]:
    """The Bayes loss on the training jets, raw features recovered from the standardised ones
    (float32 rounding changes the posterior by far less than its standard error)."""
    scaler = splits.scaler
    raw = splits.x_train.astype(np.float64) * np.asarray(scaler.std) + np.asarray(scaler.mean)
    probs = bayes_posterior(raw)
    ok = np.isfinite(probs).all(axis=1)
    if not ok.any():
        return {}
    loss, se = loss_mean_se(np.asarray(splits.y_train, dtype=np.int64)[ok], probs[ok])
    return {"bayes_train_loss": loss, "bayes_train_loss_se": se}


def reference_numbers(splits: JetSplits, synthetic: bool) -> dict[str, Any]:
    """``reference.json``'s content for these splits (see the module docstring)."""
    out: dict[str, Any] = {"prior_entropy": prior_entropy(splits.y_train),
                           "n_classes": len(CLASSES), "bayes_val_loss": None,
                           "bayes_val_loss_se": None, "bayes_val_acc": None,
                           "bayes_train_loss": None, "bayes_train_loss_se": None}
    if not synthetic:
        return out
    out.update(_bayes_train(splits))
    labels = np.asarray(splits.y_val, dtype=np.int64)
    probs = bayes_posterior(splits.x_val_raw)
    ok = np.isfinite(probs).all(axis=1)
    if not ok.all():  # outside the generator's support: not this generator's jets
        logger.warning("%d of %d validation jets lie outside the synthetic generator's support; "
                       "the Bayes reference leaves them out", int((~ok).sum()), len(ok))
    if not ok.any():
        return out
    loss, se = loss_mean_se(labels[ok], probs[ok])
    acc = float((probs[ok].argmax(axis=1) == labels[ok]).mean())
    return {**out, "bayes_val_loss": loss, "bayes_val_loss_se": se, "bayes_val_acc": acc}


def write_reference(splits: JetSplits, bayes: bool, folder: Path) -> dict[str, Any]:
    """Compute :func:`reference_numbers` and write them to ``<folder>/reference.json``."""
    numbers = reference_numbers(splits, bayes)
    write_json(numbers, inside(folder, REFERENCE_FILE))
    return numbers


#: The reference thread's niceness: it takes the CPU the set-up and the trials leave idle
#: (a GPU host's spare cores), never theirs (on 2 cores it delayed the packs' warm-up).
REFERENCE_NICENESS = 10


def _yield_the_cpu() -> None:
    """Lower this thread's own priority (Linux: ``setpriority`` on a thread id affects that
    thread only); elsewhere, or where refused, it runs as it is."""
    import os
    import threading

    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, max(os.getpriority(os.PRIO_PROCESS, tid),
                                                 REFERENCE_NICENESS))
    except (AttributeError, OSError):  # no setpriority (Windows), or not allowed
        pass


class DeferredReference:
    """``reference.json`` computed in a background thread (:class:`Background`), started at
    once: :meth:`finish` waits for it and raises its error, if any (the error the in-line
    computation would have raised, once). :meth:`abandon`, for a study ending on another
    error: waits briefly in the ordinary way (a Ctrl-C stops the wait) and from then on the
    thread writes nothing, so a study folder being removed never gets a file back."""

    def __init__(self, splits: JetSplits, bayes: bool, folder: Path) -> None:
        self._lock = threading.Lock()
        self._cancelled = False
        #: wall seconds the computation took (in its thread), once finished
        self.seconds: float | None = None
        self._job = Background("reference", lambda: self._compute(splits, bayes, folder))

    def _compute(self, splits: JetSplits, bayes: bool, folder: Path) -> None:
        _yield_the_cpu()
        start = time.perf_counter()
        numbers = reference_numbers(splits, bayes)
        self.seconds = round(time.perf_counter() - start, 3)
        with self._lock:  # abandon() either waits for this write or prevents it
            if not self._cancelled:
                write_json(numbers, inside(folder, REFERENCE_FILE))

    def finish(self) -> None:
        """Wait until ``reference.json`` is written; its computation's error is raised here."""
        self._job.result()

    def abandon(self) -> None:
        """Another error ends the study: let the thread write what it has (the folder may
        stay, e.g. for ``--resume``) unless a Ctrl-C cuts the wait; then it writes nothing."""
        try:
            self._job.settle()
        finally:
            with self._lock:
                self._cancelled = True
