"""A trial's epoch bookkeeping: its metric record, best epoch, when to checkpoint, when it
has converged.

The self-training loop (:func:`jetstudy.trainables.loop.fit`) and the pack
(:class:`jetstudy.trainables.pack_server.PackServer`) both build each epoch's record with
:func:`epoch_record`, keep one :class:`EpochBook` per trial and :meth:`~EpochBook.close` each
epoch with it; so both decide "better", "checkpoint due" and "converged" the same way and keep
the same best-epoch record (:attr:`EpochBook.best`). Torch-free: the book holds the caller's
best weights as an opaque object.

>>> book = EpochBook(Objective.of("val_loss"), max_epochs=10, checkpoint_every=5, patience=2)
>>> [book.record(e, v) for e, v in [(1, 0.9), (2, 0.8), (3, 0.85)]][-1]
EpochVerdict(improved=False, checkpoint=False, converged=False)
>>> book.record(4, 0.81)
EpochVerdict(improved=False, checkpoint=True, converged=True)
>>> book.best_epoch, book.best_value
(2, 0.8)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from jetstudy.trainables.objective import Objective

__all__ = ["EpochBook", "EpochVerdict", "TrialDiverged", "divergence", "epoch_record"]


class TrialDiverged(RuntimeError):
    """The training loss became NaN or infinite (:func:`divergence`): the trial fails with this
    reason. One class for the self-training loop and the packed trial, so a failed trial's
    ``error`` reads the same on either path (``TrialDiverged: training loss became nan ...``)."""


class EpochVerdict(NamedTuple):
    """What one epoch means for its trial."""

    improved: bool    # a new best epoch: keep (write) its weights now
    checkpoint: bool  # write the resumable state now
    converged: bool   # no improvement for ``patience`` epochs: the trial stops by itself


@dataclass
class EpochBook:
    """The best epoch so far of one trial and the study's stopping and checkpoint rules.

    ``checkpoint_every`` governs the resumable state only; the best epoch's weights are due
    whenever it improves (:attr:`EpochVerdict.improved`), so they exist whatever the trial's
    end. ``patience`` (None: off) stops a trial once its objective has not improved for that
    many epochs; the converging epoch and ``max_epochs`` always checkpoint.
    """

    objective: Objective
    max_epochs: int
    checkpoint_every: int = 1
    patience: int | None = None
    best_epoch: int = 0
    best_value: float | None = None
    #: the best epoch's weights, as the caller gave them (:meth:`keep_best`)
    best_model: Any = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.checkpoint_every < 1:
            raise ValueError(f"checkpoint_every must be >= 1, got {self.checkpoint_every}")
        if self.patience is not None and self.patience < 1:
            raise ValueError(f"patience must be None (off) or >= 1, got {self.patience}")

    def record(self, epoch: int, value: Any) -> EpochVerdict:
        """Book ``epoch``'s objective ``value`` (epochs count from 1)."""
        improved = self.objective.better(value, self.best_value)
        if improved:
            self.best_epoch, self.best_value = int(epoch), float(value)
        converged = self.patience is not None and epoch - self.best_epoch >= self.patience
        checkpoint = (epoch % self.checkpoint_every == 0 or epoch >= self.max_epochs
                      or converged)
        return EpochVerdict(improved, checkpoint, converged)

    def close(self, metrics: dict[str, Any]) -> EpochVerdict:
        """Book an epoch from its record (:func:`epoch_record`: its ``epoch`` and the
        objective's metric); a converging epoch's record gets ``"converged": True``."""
        verdict = self.record(metrics["epoch"], metrics[self.objective.name])
        if verdict.converged:
            metrics["converged"] = True
        return verdict

    def keep_best(self, model: Any) -> dict[str, Any]:
        """Keep the weights of the epoch that just improved the best; returns :attr:`best`."""
        self.best_model = model
        return self.best

    @property
    def best(self) -> dict[str, Any]:
        """The best epoch's record as a trial's state stores it: ``epoch``, ``value``,
        ``model`` (None before the first epoch)."""
        return {"epoch": self.best_epoch, "value": self.best_value, "model": self.best_model}

    def to_dict(self) -> dict[str, Any]:
        """The best epoch as the trial's state stores it (``best`` without its weights)."""
        return {"epoch": self.best_epoch, "value": self.best_value}

    def restore(self, best: dict[str, Any]) -> None:
        """Continue from a state's ``best`` (``epoch``, ``value``, ``model``)."""
        self.best_epoch = int(best.get("epoch", 0))
        value = best.get("value")
        self.best_value = None if value is None else float(value)
        self.best_model = best.get("model")


def divergence(metrics: dict[str, Any], lr: float, l1: float = 0.0, l2: float = 0.0
               ) -> str | None:
    """Why an epoch's record shows a diverged model, or None: a non-finite training loss, or
    a non-finite validation loss (the weights went non-finite at the epoch's end: every
    evaluated metric is NaN then). One rule for the self-training loop and the packed trial,
    so a NaN never reaches the scheduler and the trial fails with this reason."""
    for key, what in (("train_loss_running", "training loss"), ("val_loss", "validation loss")):
        value = metrics.get(key)
        if value is not None and not math.isfinite(float(value)):
            return (f"{what} became {value} at epoch {metrics.get('epoch')} (lr={lr:.3g}, "
                    f"l1={l1:.3g}, l2={l2:.3g}); lower the learning rate range")
    return None


def epoch_record(epoch: int, running: float, evaluated: dict[str, Any], n_params: int,
                 flops: int, time_s: float) -> dict[str, Any]:
    """One epoch's metrics as a trial reports them and ``epochs.jsonl`` holds them: its
    ``epoch``, ``train_loss_running`` (the mean batch loss while training), the evaluation's
    metrics, the model's ``n_params`` and ``flops``, and ``time_s`` trained so far."""
    return {"epoch": epoch, "train_loss_running": running, **evaluated, "n_params": n_params,
            "flops": flops, "time_s": time_s}
