"""Referee round 6 (interrupted): a trial a stop cut short is marked ``interrupted`` only when
it had not trained all its epochs, counted as the tables count them (the last epoch number,
``study.tables.epochs_trained``): a log with a gap (1, 2, 3, 5 of 5) was 4 rows, so the trial
was marked interrupted here while the tables call it completed."""

from __future__ import annotations

import json
from pathlib import Path

from jetstudy.study.interrupts import INTERRUPTED, mark_interrupted
from jetstudy.trainables.trialfiles import EPOCHS_FILE


def _log(state_dir: Path, trial_id: str, epochs: list[int]) -> None:
    folder = state_dir / trial_id
    folder.mkdir(parents=True)
    (folder / EPOCHS_FILE).write_text("".join(
        json.dumps({"epoch": e, "val_loss": 1.0 / e, "train_loss": 1.0 / e}) + "\n"
        for e in epochs))


def test_a_cut_trial_counts_its_epochs_by_number(tmp_path: Path) -> None:
    _log(tmp_path, "gap", [1, 2, 3, 5])
    _log(tmp_path, "short", [1, 2, 3])
    known = {"gap": ({}, "", None), "short": ({}, "", None)}
    marked = mark_interrupted(known, {"gap", "short"}, str(tmp_path), max_epochs=5)
    assert marked["gap"][1] == ""  # all 5 epochs trained: not interrupted
    assert marked["short"][1] == INTERRUPTED
