"""Round 7: Tune's per-trial logs (``jetstudy.study.run_logs``) after a mend: the TensorBoard
logger repeated ``_Continued``'s init/getstate/skip/missed loop; now the three loggers share one
base with two hooks (``_earlier``: how far the trial's file got; ``_as_logged``: a result as the
file takes it). What must hold, behaviour kept: Tune's own callback classes stay in the MRO
(Tune and ``tuner.pkl`` pickle the loggers by reference), a pickled-and-restored logger (a
resumed driver's, its per-trial memory dropped) continues the CSV, JSON and TensorBoard files
where the first driver stopped, with the epoch Tune never received taken from the trial's log,
and a result without an epoch is logged as Tune would. No Ray session: a stand-in trial."""

from __future__ import annotations

import csv
import json
import pickle
from pathlib import Path

import pytest

pytest.importorskip("tensorboardX")

from ray.tune.logger import (  # noqa: E402
    CSVLoggerCallback,
    JsonLoggerCallback,
    LoggerCallback,
    TBXLoggerCallback,
)
from jetstudy.study import run_logs  # noqa: E402
from tests.study.run_log_trial import StandInTrial, curve, sync_staging  # noqa: E402


def _loss(epoch: int) -> float:
    return round(1.5 - epoch / 20, 4)


def _drive(loggers: list, staging: Path, stored: Path, epochs: list[int | None]) -> None:
    trial = StandInTrial(staging, stored, "5d0c1e2a", {"depth": 2})
    for cb in loggers:
        cb.log_trial_start(trial)
    for iteration, epoch in enumerate(epochs, start=1):
        result = {"training_iteration": iteration, "trial_id": trial.trial_id,
                  "val_loss": _loss(epoch or 0), "n_params": 90}
        if epoch is not None:
            result["epoch"] = epoch
        for cb in loggers:
            cb.log_trial_result(iteration, trial, result)
    for cb in loggers:
        cb.log_trial_end(trial)
    sync_staging(staging, stored)


def test_one_base_keeps_tunes_classes_in_the_mro() -> None:
    pairs = [(run_logs.EpochCSVLogger, CSVLoggerCallback),
             (run_logs.EpochJsonLogger, JsonLoggerCallback),
             (run_logs.EpochTBXLogger, TBXLoggerCallback)]
    for ours, tunes in pairs:
        mro = ours.__mro__
        # the shared base first, then Tune's logger (its log_trial_result is what super() reaches)
        assert mro[1] is run_logs._Continued and mro[2] is tunes, (ours, mro)
        assert issubclass(ours, LoggerCallback)
        assert "log_trial_result" not in vars(ours)  # the loop lives once, in the base


def test_pickled_loggers_continue_every_file_across_a_resume(tmp_path: Path) -> None:
    trials = tmp_path / "s" / "trials"
    (trials / "5d0c1e2a").mkdir(parents=True)
    (trials / "5d0c1e2a" / "epochs.jsonl").write_text("".join(  # epoch 4 never reached Tune
        json.dumps({"epoch": e, "val_loss": _loss(e), "n_params": 90}) + "\n" for e in range(1, 7)))
    stored = tmp_path / "s" / "ray" / "5d0c1e2a_d2"
    first = run_logs.run_log_callbacks(str(trials))
    assert len(first) == 3
    _drive(first, tmp_path / "staging1", stored, [1, 2, 3])
    # tuner.pkl: the loggers as the first driver left them, restored by the second
    second = [pickle.loads(pickle.dumps(cb)) for cb in first]
    assert all(cb._logged == {} and cb._trials_dir == str(trials) for cb in second)
    _drive(second, tmp_path / "staging2", stored, [3, 5, 6])  # 3 again: reported on resume
    want = [(e, _loss(e)) for e in range(1, 7)]
    with open(stored / "progress.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [(int(r["epoch"]), round(float(r["val_loss"]), 4)) for r in rows] == want
    lines = [json.loads(x) for x in (stored / "result.json").read_text().splitlines()]
    assert [(r["epoch"], round(r["val_loss"], 4)) for r in lines] == want
    assert curve(stored, "ray/tune/val_loss") == want  # step = epoch, each once


def test_a_result_without_an_epoch_is_logged_as_tune_would(tmp_path: Path) -> None:
    stored = tmp_path / "ray" / "t"
    _drive(run_logs.run_log_callbacks(), tmp_path / "staging", stored, [None, 1])
    lines = [json.loads(x) for x in (stored / "result.json").read_text().splitlines()]
    assert [r.get("epoch") for r in lines] == [None, 1]
    # Tune's own step (training_iteration 1) for the epoch-less result, the epoch after it
    assert curve(stored, "ray/tune/val_loss") == sorted([(1, _loss(0)), (1, _loss(1))])
