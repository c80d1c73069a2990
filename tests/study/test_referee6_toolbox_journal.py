"""Referee 6 (toolbox): optuna-dashboard's intermediate values after a Ctrl-C and --resume.

A study stopped with Ctrl-C while a trial's epoch-2 report was on its way to Tune: the trial
had logged and checkpointed epoch 2 (epochs.parquet has it), Tune never received it, and the
resumed trial went on at epoch 3. The journal's intermediate values read 1, 3, 4, 5, 6 for
good (the README: every epoch is an intermediate value). Now the searcher fills such a gap
from the trial's epoch log when the next epoch arrives. A real Optuna study in a journal file;
no Ray.
"""

from __future__ import annotations

import json
from pathlib import Path

import optuna

from jetstudy.study.config import from_dict
from jetstudy.study.searcher import OPTUNA_STUDY_NAME, make_searcher, optuna_storage


def _loss(epoch: int) -> float:
    return 1.6 - epoch / 20


def test_an_epoch_tune_never_forwarded_becomes_an_intermediate_value(tmp_path: Path) -> None:
    (tmp_path / "trials").mkdir()
    searcher = make_searcher(from_dict({"search": {"num_trials": 2, "max_concurrent": 1},
                                        "scheduler": {"type": "fifo", "max_epochs": 5}}),
                             tmp_path).searcher
    searcher.suggest("t1")
    log = tmp_path / "trials" / "t1"
    log.mkdir(exist_ok=True)
    (log / "epochs.jsonl").write_text("".join(
        json.dumps({"epoch": e, "val_loss": _loss(e), "n_params": 181, "flops": 336}) + "\n"
        for e in range(1, 6)))
    for epoch in (1, 3, 4):  # epoch 2's report was lost
        searcher.on_trial_result("t1", {"epoch": epoch, "val_loss": _loss(epoch)})
    searcher.on_trial_complete("t1", {"epoch": 5, "val_loss": _loss(5)})
    (trial,) = optuna.load_study(study_name=OPTUNA_STUDY_NAME,
                                 storage=optuna_storage(tmp_path)).trials
    assert trial.intermediate_values == {e: _loss(e) for e in range(1, 6)}
    assert trial.state == optuna.trial.TrialState.COMPLETE and trial.value == _loss(5)
