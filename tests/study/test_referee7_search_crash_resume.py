"""Round 7: crash and resume through ASHA's rung replay, end to end (``jetstudy.study.rungs``).

One tiny real ASHA study (1,000 synthetic jets, the fewest the config takes; depth 1; rungs at
epochs 1 and 2 = max_epochs; 5 trials one at a time, so ASHA judges them in proposal order).
``referee7_crash_run.py``, a process of its own, runs ``python -m jetstudy.study.cli run``,
polls the epoch logs until ASHA has judged two trials at its first rung, SIGKILLs the driver
and then, by PID, the processes it had started. ``--resume`` then finishes the study. What
must hold: ASHA's decisions are the ones one uninterrupted ASHA makes over the same recorded
values (a trial below the rung's cut before the crash, judged or not, is not promoted after;
the trials after the crash are judged against the values recorded before it), every trial
stopped at a rung epoch, no duplicate trial numbers, and the counts agree: the trials table,
Optuna's storage, the run's summary and its last progress line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest

from jetstudy.study.searcher import OPTUNA_STUDY_NAME, optuna_storage
from tests.study.referee7_crash_run import write_crash_study

HELPER = Path(__file__).with_name("referee7_crash_run.py")
NUM_TRIALS = 5


@pytest.fixture(scope="module")
def crashed(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("crash")
    config, folder = write_crash_study(root, "crash", NUM_TRIALS)
    out = root / "crash.json"
    helper = subprocess.run([sys.executable, str(HELPER), str(config), str(folder), str(out)],
                            capture_output=True, text=True, timeout=300)
    record = json.loads(out.read_text())
    assert helper.returncode == 0 and record["crashed"], (record, out.with_suffix(".log")
                                                          .read_text()[-2000:])
    resumed = subprocess.run([sys.executable, "-m", "jetstudy.study.cli", "run", str(config),
                              "--resume", "--no-report"], capture_output=True, text=True,
                             timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    return {"folder": folder, "record": record, "stdout": resumed.stdout,
            "stderr": resumed.stderr, "trials": pd.read_parquet(folder / "trials.parquet"),
            "epochs": pd.read_parquet(folder / "epochs.parquet")}


def test_the_kill_left_none_of_its_processes(crashed: dict) -> None:
    assert crashed["record"]["rc"] == -9
    assert crashed["record"]["left"] == []


def test_asha_decides_as_one_uninterrupted_asha_over_the_same_values(crashed: dict) -> None:
    trials, epochs = crashed["trials"], crashed["epochs"]
    assert trials["trial_number"].is_unique and trials["trial_id"].is_unique
    recorded: list[float] = []
    want, got = [], []
    for row in trials.sort_values("trial_number").itertuples():
        at_rung = epochs[(epochs["trial_id"] == row.trial_id) & (epochs["epoch"] == 1)]
        value = -float(at_rung["val_loss"].iloc[0])  # Ray's sign for mode min
        cut = np.nanpercentile(recorded, 50) if recorded else None
        want.append((row.trial_id, "stopped" if cut is not None and value < cut else "on"))
        recorded.append(value)
        got.append((row.trial_id, "stopped" if row.stop_reason == "scheduler" else "on"))
        # a stopped trial's last epoch is its rung; the others ran every epoch
        assert row.epochs == (1 if row.stop_reason == "scheduler" else 2), row
    assert got == want
    assert "stopped" in {w for _, w in want}  # the study shows a stop at all


def test_what_was_decided_before_the_crash_stands(crashed: dict) -> None:
    trials = crashed["trials"].set_index("trial_id")
    for trial_id, before in crashed["record"]["at_kill"].items():
        if before["ended"] and before["epochs"] == [1]:  # ASHA stopped it before the kill
            assert trials.loc[trial_id, "stop_reason"] == "scheduler"
            assert trials.loc[trial_id, "epochs"] == 1
        if 2 in before["epochs"]:  # promoted before the kill
            assert trials.loc[trial_id, "epochs"] == 2


def test_the_counts_agree_with_optuna_and_the_printed_lines(crashed: dict) -> None:
    trials = crashed["trials"]
    study = optuna.load_study(study_name=OPTUNA_STUDY_NAME,
                              storage=optuna_storage(crashed["folder"]))
    states = {t.number: t.state for t in study.trials}
    assert len(trials) == NUM_TRIALS
    # one Optuna trial per row, by number; a trial asked but never trained before the kill is
    # Optuna's FAIL (never_trained) and no row: its number is left out, never reused
    assert set(trials["trial_number"]) <= set(states)
    for t in study.trials:
        if t.number not in set(trials["trial_number"]):
            assert t.state == optuna.trial.TrialState.FAIL and t.user_attrs.get("never_trained")
    by_number = trials.set_index("trial_number")
    for number, state in states.items():
        if number in by_number.index:
            want = (optuna.trial.TrialState.PRUNED
                    if by_number.loc[number, "stop_reason"] == "scheduler"
                    else optuna.trial.TrialState.COMPLETE)
            assert state == want, (number, state, by_number.loc[number, "stop_reason"])
            attrs = study.trials[number].user_attrs
            assert attrs["trial_id"] == by_number.loc[number, "trial_id"]
    stopped = int((trials["stop_reason"] == "scheduler").sum())
    done = int((trials["stop_reason"] == "max_epochs").sum())
    assert done + stopped == NUM_TRIALS
    assert (f"trials: {NUM_TRIALS} ({done} completed, {stopped} stopped early, 0 failed)"
            in crashed["stdout"])
    progress = [line for line in crashed["stderr"].splitlines() if line.startswith("trials ")]
    assert progress and progress[-1].startswith(
        f"trials {NUM_TRIALS}/{NUM_TRIALS} finished ({stopped} stopped early, 0 failed), "
        f"0 running"), progress[-3:]
