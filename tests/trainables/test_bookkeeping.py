"""One epoch bookkeeping for the trial loop and the pack: best epoch, checkpoints, patience."""

from __future__ import annotations

import math

import pytest

from jetstudy.trainables.bookkeeping import EpochBook, EpochVerdict
from jetstudy.trainables.objective import Objective

LOSS = Objective.of("val_loss")


def _run(book: EpochBook, values: list[float]) -> list[EpochVerdict]:
    return [book.record(epoch, v) for epoch, v in enumerate(values, start=1)]


def test_best_weights_are_due_whenever_the_best_improves_checkpoints_every_n() -> None:
    book = EpochBook(LOSS, max_epochs=7, checkpoint_every=3)
    verdicts = _run(book, [0.9, 0.7, 0.8, math.nan, 0.6, 0.65, 0.66])
    assert [v.improved for v in verdicts] == [True, True, False, False, True, False, False]
    assert [v.checkpoint for v in verdicts] == [False, False, True, False, False, True, True]
    assert not any(v.converged for v in verdicts)  # no patience: never
    assert book.to_dict() == {"epoch": 5, "value": 0.6}


def test_patience_counts_epochs_since_the_best_and_forces_a_checkpoint() -> None:
    book = EpochBook(Objective.of("val_acc"), max_epochs=20, checkpoint_every=10, patience=3)
    verdicts = _run(book, [0.5, 0.6, 0.6, 0.59, 0.61, 0.6, 0.6, 0.6])
    assert [v.converged for v in verdicts] == [False] * 7 + [True]
    assert verdicts[-1].checkpoint and not verdicts[-2].checkpoint
    assert (book.best_epoch, book.best_value) == (5, 0.61)


def test_a_restored_book_continues_where_the_state_left_it() -> None:
    book = EpochBook(LOSS, max_epochs=10, patience=2)
    book.restore({"epoch": 4, "value": 0.5, "model": None})
    assert book.record(5, 0.55) == EpochVerdict(False, True, False)
    assert book.record(6, 0.52) == EpochVerdict(False, True, True)
    fresh = EpochBook(LOSS, max_epochs=10)
    fresh.restore({"epoch": 0, "value": None})
    assert fresh.record(1, 3.0).improved


@pytest.mark.parametrize(("field", "value"), [("checkpoint_every", 0), ("patience", 0)])
def test_bad_settings_are_refused(field: str, value: int) -> None:
    with pytest.raises(ValueError, match=f"{field} must be"):
        EpochBook(LOSS, max_epochs=5, **{field: value})
