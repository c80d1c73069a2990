"""Referee 6 (toolbox): Tune's per-trial logs in ``ray/<run>/`` after ``jetstudy run --resume``.

A study stopped with Ctrl-C and resumed: trial ``8583545b`` had logged epochs 1-4, trained 5-6
after the resume. Its ``progress.csv`` and ``result.json`` then held epochs 5 and 6 only (Tune
takes a trial resumed from jetstudy's own checkpoint for one starting from scratch: a fresh,
empty file in its staging folder, synced over the earlier one), and TensorBoard drew epochs 5
and 6 at steps 1 and 2, over epochs 1 and 2 (its step is Tune's ``training_iteration``, which
restarts); a trial that had finished reported its last epoch again (a second row, a point at
step 1). epochs.parquet, optuna.journal and ExperimentAnalysis's tables disagreed with them.
Now jetstudy's loggers (``jetstudy.study.run_logs``) continue the files, log each epoch once,
and use the epoch as TensorBoard's step.

Tune's calls are replayed on the loggers as the driver makes them: a first driver logs epochs
1-4 (its staging folder copied into ``ray/``, as Tune's syncer does), a second driver, with a
new staging folder, logs epoch 4 again (iteration 1) and epochs 5-6 (iterations 2-3). No Ray
session (a stand-in trial with the attributes the loggers read).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

pytest.importorskip("tensorboardX")

from jetstudy.study.run_logs import run_log_callbacks  # noqa: E402
from tests.study.run_log_trial import StandInTrial, curve, sync_staging  # noqa: E402


def _driver(staging: Path, stored: Path, epochs: list[int], trials: Path | None = None) -> None:
    """One driver's Tune run of the trial: results with training_iteration from 1, then
    its staging folder synced into ray/ (new files over old ones of the same name)."""
    trial = StandInTrial(staging, stored, "8583545b", {"depth": 1})
    loggers = run_log_callbacks(str(trials) if trials else None)
    for cb in loggers:
        cb.log_trial_start(trial)
    for iteration, epoch in enumerate(epochs, start=1):
        result = {**_metrics(epoch), "training_iteration": iteration, "trial_id": trial.trial_id}
        for cb in loggers:
            cb.log_trial_result(iteration, trial, result)
    for cb in loggers:
        cb.log_trial_end(trial)
    sync_staging(staging, stored)


def _metrics(epoch: int) -> dict:
    return {"epoch": epoch, "val_loss": 2.0 - epoch / 10, "n_params": 181}


def test_a_resumed_trial_continues_its_logs_by_epoch(tmp_path: Path) -> None:
    stored = tmp_path / "results" / "s" / "ray" / "8583545b_d1_w8"
    _driver(tmp_path / "staging1", stored, [1, 2, 3, 4])
    _driver(tmp_path / "staging2", stored, [4, 5, 6])  # 4: reported again on resume
    want = [(e, round(2.0 - e / 10, 4)) for e in range(1, 7)]
    with open(stored / "progress.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [(int(r["epoch"]), round(float(r["val_loss"]), 4)) for r in rows] == want
    lines = [json.loads(line) for line in (stored / "result.json").read_text().splitlines()]
    assert [(r["epoch"], round(r["val_loss"], 4)) for r in lines] == want
    assert curve(stored, "ray/tune/val_loss") == want  # step = epoch, each once
    assert curve(stored, "ray/tune/training_iteration") == []  # the step, not a curve


def test_an_epoch_tune_never_received_is_taken_from_the_trials_log(tmp_path: Path) -> None:
    """Ctrl-C while epoch 3's report was on its way: the trial had logged it in
    trials/<id>/epochs.jsonl (epochs.parquet has it) and checkpointed it, Tune never saw it;
    the resumed trial goes on at epoch 4. Tune's logs lacked epoch 3 for good."""
    trials = tmp_path / "results" / "s" / "trials"
    (trials / "8583545b").mkdir(parents=True)
    (trials / "8583545b" / "epochs.jsonl").write_text(
        "".join(json.dumps({**_metrics(e), "device": "cpu"}) + "\n" for e in range(1, 6)))
    stored = tmp_path / "results" / "s" / "ray" / "8583545b_d1_w8"
    _driver(tmp_path / "staging1", stored, [1, 2], trials)
    _driver(tmp_path / "staging2", stored, [4, 5], trials)
    want = [(e, round(2.0 - e / 10, 4)) for e in range(1, 6)]
    with open(stored / "progress.csv", newline="") as f:
        assert [(int(r["epoch"]), round(float(r["val_loss"]), 4)) for r in csv.DictReader(f)] == want
    lines = [json.loads(line) for line in (stored / "result.json").read_text().splitlines()]
    assert [(r["epoch"], round(r["val_loss"], 4)) for r in lines] == want
    assert curve(stored, "ray/tune/val_loss") == want


def test_the_loggers_pickle_as_tuner_pkl_holds_them() -> None:
    import pickle

    for cb in run_log_callbacks():
        assert pickle.loads(pickle.dumps(cb)).__class__ is cb.__class__
