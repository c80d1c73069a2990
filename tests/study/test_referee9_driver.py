"""The driver's cost as the trials at once grow (issue 10, bench/README.md "Many packs"):
Tune's experiment snapshots are spaced by the study's concurrency, and the live table
snapshots stop re-reading every trial's folder at each step of Tune's loop while nothing has
trained yet."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from ray.tune.experiment import Trial

from jetstudy.study import snapshots
from jetstudy.study.config import from_dict
from jetstudy.study.snapshots import (TUNE_PERIOD_ENV, TableSnapshots,
                                      set_tune_snapshot_period, tune_snapshot_period_s)
from jetstudy.trainables.trialfiles import append_epoch, trial_folder

EPOCH = {"epoch": 1, "train_loss": 1.5, "train_loss_running": 1.5, "val_loss": 1.4,
         "val_acc": 0.3, "val_auc": 0.7, "n_params": 100, "flops": 200}


def test_tune_snapshots_stay_1_s_for_small_studies_and_space_out_for_many_trials() -> None:
    # 0.25 s per trial at once since session 12 (was 1 s up to 20 trials, 2 s at 40)
    assert [tune_snapshot_period_s(n) for n in (1, 4)] == [1.0] * 2
    periods = [tune_snapshot_period_s(n) for n in (16, 40, 128, 512)]
    assert periods == [4.0, 10.0, 32.0, snapshots.MAX_PERIOD_S]
    # the estimated snapshot time over the period stays near SNAPSHOT_CORE_SHARE of a core,
    # and under 1% where the longest period caps it
    for n, period in zip((16, 40, 128, 512), periods):
        share = n * snapshots.SNAPSHOT_S_PER_TRIAL / (period + n * snapshots.SNAPSHOT_S_PER_TRIAL)
        assert 0.003 < share < (0.005 if period < snapshots.MAX_PERIOD_S else 0.01)


def test_each_study_sets_its_own_period_and_a_users_value_is_kept(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(TUNE_PERIOD_ENV, raising=False)
    monkeypatch.setattr(snapshots, "_set_by_us", [])
    set_tune_snapshot_period(4)
    assert __import__("os").environ[TUNE_PERIOD_ENV] == "1"
    set_tune_snapshot_period(128)  # a later, larger study in the same process
    assert __import__("os").environ[TUNE_PERIOD_ENV] == "32"
    monkeypatch.setenv(TUNE_PERIOD_ENV, "7")  # the user's own
    set_tune_snapshot_period(512)
    assert __import__("os").environ[TUNE_PERIOD_ENV] == "7"


def _trials(state_dir: Path, count: int) -> list[Any]:
    """Tune trials (stubs: no trainable registered), each with its folder and config.json."""
    out = []
    for i in range(count):
        trial = Trial("jetstudy_stub", stub=True, config={"depth": 1, "width_0": 4,
                                                          "trial_number": i})
        trial.set_status(Trial.RUNNING)
        trial_folder(str(state_dir), trial.trial_id, trial.config)
        out.append(trial)
    return out


def _study(tmp_path: Path, n: int) -> tuple[Any, Path, list]:
    """A tiny study's config, its folder with ``trials/`` and ``n`` live trials in it."""
    cfg = from_dict({"data": {"synthetic_jets": 1000},
                     "space": {"depth": [1, 1], "width": [4, 8]},
                     "scheduler": {"type": "fifo", "max_epochs": 3},
                     "storage": {"results_dir": str(tmp_path), "name": "s"}})
    folder = tmp_path / "s"
    (folder / "trials").mkdir(parents=True)
    return cfg, folder, _trials(folder / "trials", n)


def test_table_snapshots_look_again_after_a_gap_while_nothing_trained(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg, folder, trials = _study(tmp_path, 8)
    looks: list[int] = []
    real = snapshots.build_tables

    def counted(*args: Any, **kwargs: Any) -> Any:
        looks.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(snapshots, "build_tables", counted)
    snap = TableSnapshots(cfg, folder, interval_s=0.0, min_gap_s=0.3)
    for _ in range(50):  # Tune's loop steps many times a second while the trials start
        snap.on_step_begin(0, trials)
    assert len(looks) == 1, f"{len(looks)} looks at every trial's folder, none trained"
    assert not (folder / "trials.parquet").exists()
    append_epoch(str(folder / "trials"), trials[0].trial_id, EPOCH)
    time.sleep(0.35)
    snap.on_step_begin(0, trials)  # the first trained epoch is snapshotted after the gap
    assert len(looks) == 2
    assert (folder / "trials.parquet").is_file() and (folder / "epochs.parquet").is_file()


def test_a_trial_ending_is_snapshotted_at_once_after_an_empty_look(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The gap after an empty look is for Tune's loop steps only: a trial that ends within it
    (a tiny study's first trial, 1 s after the look) was not snapshotted, so a failing snapshot
    was never tried and never warned (tests/faults/test_snapshots.py)."""
    cfg, folder, trials = _study(tmp_path, 2)
    snap = TableSnapshots(cfg, folder, interval_s=0.0, min_gap_s=30.0)
    snap._last = -float("inf")
    snap.on_step_begin(0, trials)  # nothing trained: an empty look
    append_epoch(str(folder / "trials"), trials[0].trial_id, EPOCH)
    snap.on_trial_complete(0, trials, trials[0])
    assert (folder / "trials.parquet").is_file()
