"""A trial's epoch bookkeeping: its best epoch, when to checkpoint, when it has converged.

The self-training loop (:func:`jetstudy.trainables.loop.fit`) and the pack
(:class:`jetstudy.trainables.pack_server.PackServer`) both keep one :class:`EpochBook` per trial and ask
it after each epoch; so both decide "better", "checkpoint due" and "converged" the same way.
Torch-free: the weights themselves stay with the caller.

>>> book = EpochBook(Objective.of("val_loss"), max_epochs=10, checkpoint_every=5, patience=2)
>>> [book.record(e, v) for e, v in [(1, 0.9), (2, 0.8), (3, 0.85)]][-1]
EpochVerdict(improved=False, checkpoint=False, converged=False)
>>> book.record(4, 0.81)
EpochVerdict(improved=False, checkpoint=True, converged=True)
>>> book.best_epoch, book.best_value
(2, 0.8)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

from jetstudy.trainables.objective import Objective

__all__ = ["EpochBook", "EpochVerdict"]


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

    def to_dict(self) -> dict[str, Any]:
        """The best epoch as the trial's state stores it (``best`` without its weights)."""
        return {"epoch": self.best_epoch, "value": self.best_value}

    def restore(self, best: dict[str, Any]) -> None:
        """Continue from a state's ``best`` (``epoch``, ``value``)."""
        self.best_epoch = int(best.get("epoch", 0))
        value = best.get("value")
        self.best_value = None if value is None else float(value)
