"""Referee 7 (toolbox): TensorBoard after a Ctrl-C that landed while an epoch was being drawn.

tensorboardX writes each of an epoch's scalars as an event of its own, one after the other; a
study stopped by Ctrl-C midway left the trial's event file with that epoch's first tags only
(``epoch``, ``train_loss``, no ``val_loss``). The resumed driver took the epoch as drawn (it
read how far the file got from the ``epoch`` tag alone), so TensorBoard never showed that
epoch's ``val_loss``, ``val_acc``, ... (seen on a real study: 149 of 150 ``val_loss`` points,
while ``epochs.parquet``, ``progress.csv`` and ``result.json`` had all 150). Now the earlier
driver's last epoch is drawn again with the tags it lacks, and only those: every tag once per
epoch. No Ray session: a stand-in trial.
"""

from __future__ import annotations

import pickle
from collections import Counter
from pathlib import Path

import pytest

pytest.importorskip("tensorboardX")

from tensorboardX import SummaryWriter  # noqa: E402
from jetstudy.study.run_logs import EpochTBXLogger  # noqa: E402
from tests.study.run_log_trial import StandInTrial, scalars  # noqa: E402


def _metrics(epoch: int) -> dict[str, float]:
    return {"epoch": epoch, "train_loss": 1.4 - epoch / 20, "val_loss": 1.5 - epoch / 20,
            "n_params": 90}


def _points(folder: Path) -> Counter:
    """(tag, step) -> how many times it was drawn, over every event file in ``folder``."""
    return Counter((tag, step) for step, tag, _ in scalars(folder))


def test_an_epoch_cut_while_drawn_gets_its_missing_tags_once(tmp_path: Path) -> None:
    stored = tmp_path / "ray" / "5d0c1e2a_d2"
    first = SummaryWriter(str(stored), flush_secs=1)  # the first driver's file, as it was cut
    for epoch in (1, 2, 3):
        for key, value in _metrics(epoch).items():
            if epoch == 3 and key not in ("epoch", "train_loss"):
                break  # Ctrl-C: epoch 3's val_loss and n_params never written
            first.add_scalar(f"ray/tune/{key}", value, global_step=epoch)
    first.close()
    logger = pickle.loads(pickle.dumps(EpochTBXLogger()))  # the resumed driver's, from tuner.pkl
    trial = StandInTrial(tmp_path / "staging", stored, "5d0c1e2a", {"depth": 2})
    logger.log_trial_start(trial)
    for iteration, epoch in enumerate((3, 4), start=1):  # 3 again: reported on resume
        logger.log_trial_result(iteration, trial, {"training_iteration": iteration,
                                                   "trial_id": trial.trial_id, **_metrics(epoch)})
    logger.log_trial_end(trial)
    for staged in (tmp_path / "staging").glob("events.out.tfevents.*"):
        staged.rename(stored / f"{staged.name}.resumed")
    drawn = _points(stored)
    for tag in ("epoch", "train_loss", "val_loss", "n_params"):
        assert [drawn[(f"ray/tune/{tag}", e)] for e in (1, 2, 3, 4)] == [1, 1, 1, 1], tag
