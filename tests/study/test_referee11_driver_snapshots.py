"""Referee 11 (driver): ``--resume`` after ``kill -9`` does not need Tune's experiment snapshot
to be recent (issue 10: the snapshot, every trial's state as JSON, was the largest part of the
driver's main thread; its period is now spaced further, bench/README.md "Many packs").

The tiny ASHA study of round 7 (``referee7_crash_run.py``: 5 trials one at a time, the driver
killed with SIGKILL once ASHA has judged two trials) runs with ``TUNE_GLOBAL_CHECKPOINT_S``
at an hour, so Tune's only snapshot is its first, taken before any trial trained: every trial
that trained before the kill is unknown to it. ``--resume`` must still list every trial that
finished before the kill, with each epoch it logged, continue the rest, and end with the
study's 5 trials, once each."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from jetstudy.study.snapshots import TUNE_PERIOD_ENV
from tests.study.referee7_crash_run import write_crash_study

HELPER = Path(__file__).with_name("referee7_crash_run.py")
NUM_TRIALS = 5


def _tune_knows(folder: Path) -> int:
    """Trials in the newest experiment snapshot Tune left in ``ray/`` (0: none)."""
    states = sorted((folder / "ray").rglob("experiment_state-*.json"))
    if not states:
        return 0
    return len(json.loads(states[-1].read_text())["trial_data"])


@pytest.fixture(scope="module")
def crashed(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("stale")
    config, folder = write_crash_study(root, "stale", NUM_TRIALS)
    out = root / "crash.json"
    stale = {**os.environ, TUNE_PERIOD_ENV: "3600"}  # the user's own value: kept
    helper = subprocess.run([sys.executable, str(HELPER), str(config), str(folder), str(out)],
                            capture_output=True, text=True, timeout=300, env=stale)
    record = json.loads(out.read_text())
    assert helper.returncode == 0 and record["crashed"], (record, out.with_suffix(".log")
                                                          .read_text()[-2000:])
    known = _tune_knows(folder)
    resumed = subprocess.run([sys.executable, "-m", "jetstudy.study.cli", "run", str(config),
                              "--resume", "--no-report"], capture_output=True, text=True,
                             timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    return {"record": record, "known": known, "stdout": resumed.stdout,
            "trials": pd.read_parquet(folder / "trials.parquet"),
            "epochs": pd.read_parquet(folder / "epochs.parquet")}


def test_tunes_snapshot_knew_fewer_trials_than_had_trained(crashed: dict) -> None:
    trained = [t for t, logged in crashed["record"]["at_kill"].items() if logged["epochs"]]
    assert len(trained) >= 2  # ASHA judged two before the kill
    assert crashed["known"] < len(trained)  # so this resume cannot lean on the snapshot


def test_every_trial_finished_before_the_kill_is_listed_with_its_epochs(crashed: dict) -> None:
    trials = crashed["trials"].set_index("trial_id")
    epochs = crashed["epochs"]
    for trial_id, before in crashed["record"]["at_kill"].items():
        if not before["ended"]:
            continue
        assert trial_id in trials.index, (trial_id, list(trials.index))
        assert trials.loc[trial_id, "status"] in ("completed", "stopped")
        logged = sorted(epochs.loc[epochs["trial_id"] == trial_id, "epoch"])
        assert logged == before["epochs"]
        values = epochs.loc[epochs["trial_id"] == trial_id].sort_values("epoch")["val_loss"]
        assert [round(v, 6) for v in values] == [round(v, 6) for v in before["values"]]


def test_the_resumed_study_holds_each_of_its_trials_once(crashed: dict) -> None:
    trials = crashed["trials"]
    assert len(trials) == NUM_TRIALS
    assert trials["trial_id"].is_unique and trials["trial_number"].is_unique
    assert set(trials["status"]) <= {"completed", "stopped"}
    assert f"trials: {NUM_TRIALS} (" in crashed["stdout"]
