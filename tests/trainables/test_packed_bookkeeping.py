"""The epoch bookkeeping the trial loop (``loop.fit``) and the pack (``PackServer``) share:
one metric record (:func:`epoch_record`) and one best-epoch record (:attr:`EpochBook.best`)."""

from __future__ import annotations

import math

from jetstudy.trainables.bookkeeping import EpochBook, epoch_record
from jetstudy.trainables.objective import Objective


def test_close_books_the_record_and_marks_the_converging_epoch() -> None:
    book = EpochBook(Objective.of("val_loss"), max_epochs=9, checkpoint_every=4, patience=2)
    records = [epoch_record(e, 1.0, {"val_loss": v, "val_acc": 0.5}, 10, 20, 0.1 * e)
               for e, v in enumerate([0.9, 0.7, 0.8, math.nan], start=1)]
    assert list(records[0]) == ["epoch", "train_loss_running", "val_loss", "val_acc",
                                "n_params", "flops", "time_s"]
    verdicts = [book.close(r) for r in records]
    assert [v.improved for v in verdicts] == [True, True, False, False]
    assert [v.checkpoint for v in verdicts] == [False, False, False, True]
    assert "converged" not in records[2] and records[3]["converged"] is True
    assert (book.best_epoch, book.best_value) == (2, 0.7)


def test_best_record_keeps_the_callers_weights_and_restores() -> None:
    book = EpochBook(Objective.of("val_acc"), max_epochs=5)
    assert book.best == {"epoch": 0, "value": None, "model": None}
    book.close(epoch_record(1, 1.0, {"val_acc": 0.6}, 1, 1, 0.0))
    weights = {"0.weight": [1.0]}
    assert book.keep_best(weights) == {"epoch": 1, "value": 0.6, "model": weights}
    assert "model" not in book.to_dict() and "0.weight" not in repr(book)
    again = EpochBook(Objective.of("val_acc"), max_epochs=5)
    again.restore(book.best)  # as a resumed trial (fit) or a re-registered one (pack) does
    assert again.best == book.best and again.best["model"] is weights
    assert not again.close(epoch_record(2, 1.0, {"val_acc": 0.55}, 1, 1, 0.0)).improved
