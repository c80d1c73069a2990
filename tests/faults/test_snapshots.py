"""A live table snapshot that cannot be written never fails a trial: the study goes on, warns
once, and its final tables are complete.

Tests run as root here, so a read-only folder would not stop a write; instead the snapshot's
target is turned into a folder mid-run (``os.replace`` of a file onto a folder fails for
everyone, root included), and put back before the final tables, as a user fixing the
folder's permissions would.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from ray import tune

from jetstudy.study.launch import run_study

pytestmark = pytest.mark.slow


class BlockSnapshots(tune.Callback):
    """When the first trial starts, make ``trials.parquet`` a folder (with a file in it);
    remove it when the experiment ends, before the driver writes the final tables."""

    def __init__(self, folder: Path) -> None:
        self.target = folder / "trials.parquet"
        self.planted = False

    def on_trial_start(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        if not self.planted:
            self.target.unlink(missing_ok=True)
            self.target.mkdir()
            (self.target / "blocker").write_text("a snapshot cannot replace this folder\n")
            self.planted = True

    def on_experiment_end(self, trials: list, **info: Any) -> None:
        shutil.rmtree(self.target)


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.WARNING:
            self.messages.append(record.getMessage())


def test_failing_snapshots_keep_trials_healthy(ray_cluster, small_config, tmp_path: Path) -> None:
    cfg = small_config(tmp_path, "blocked", data={"synthetic_jets": 1000},
                       search={"num_trials": 2, "max_concurrent": 1},
                       scheduler={"type": "fifo", "max_epochs": 2},
                       training={"train_eval_jets": 200})
    blocker = BlockSnapshots(tmp_path / "blocked")
    collect, logger = Collect(), logging.getLogger("jetstudy.study.snapshots")
    logger.addHandler(collect)
    try:
        outcome = run_study(cfg, callbacks=[blocker])
    finally:
        logger.removeHandler(collect)
    assert blocker.planted
    warnings = collect.messages
    assert len(warnings) == 1, warnings  # once, not at every snapshot
    assert "cannot be written" in warnings[0] and "trials.parquet" in warnings[0]
    assert "the trials go on" in warnings[0]
    trials = pd.read_parquet(outcome.folder / "trials.parquet")
    assert len(trials) == 2 and (trials["status"] == "completed").all(), trials[["status",
                                                                                 "error"]]
    assert outcome.count("failed") == 0
