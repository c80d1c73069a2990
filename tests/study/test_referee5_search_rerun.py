"""Round 5: ``jetstudy rerun``'s comparison names the trials that differ. It said only which
columns differed ("status, epochs differ"), so whether a rerun stopped the same trials as the
study (ASHA with several trials at a time need not) could not be read from it, and the epochs
table was paired by sorting whole rows, so an epoch of one trial could be compared with an
epoch of another. Rows now pair by ``trial_number`` (epochs by it and ``epoch``) where both
runs have it, and the message names the numbers. Hand-made tables, no Ray."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from jetstudy.study.rerun import compare_runs
from jetstudy.trainables.table_schema import TRIAL_ORDER


def _write(folder: Path, ids: list[str], status: list[str], epochs: list[int],
           losses: dict[int, list[float]]) -> None:
    folder.mkdir()
    pd.DataFrame({"trial_id": ids, TRIAL_ORDER: list(range(len(ids))), "status": status,
                  "epochs": epochs, "lr": [0.01 * (k + 1) for k in range(len(ids))],
                  # a layer only the first trial lacks: NaN equals NaN
                  "width_1": [float("nan")] + [8.0] * (len(ids) - 1),
                  "wall_time_s": 1.0}).to_parquet(folder / "trials.parquet")
    rows = [{"trial_id": ids[k], "epoch": e + 1, "val_loss": v, "time_s": 2.0}
            for k, values in losses.items() for e, v in enumerate(values)]
    pd.DataFrame(rows).to_parquet(folder / "epochs.parquet")


def test_rerun_comparison_names_the_trials_that_ended_otherwise(tmp_path: Path) -> None:
    _write(tmp_path / "s", ["a", "b", "c"], ["completed", "stopped", "completed"], [2, 1, 2],
           {0: [0.6, 0.5], 1: [0.7], 2: [0.65, 0.55]})
    _write(tmp_path / "r", ["x", "y", "z"], ["completed", "completed", "stopped"], [2, 2, 1],
           {0: [0.6, 0.5], 1: [0.7, 0.62], 2: [0.65]})
    differ = compare_runs(tmp_path / "s", tmp_path / "r")
    assert "trials.parquet: status, epochs differ (trial_number 1, 2)" in differ
    assert any(d.startswith("epochs.parquet:") for d in differ)
    # the same trials, the same curves, rows in another order and other ids: reproduced
    _write(tmp_path / "r2", ["q", "p", "o"], ["completed", "stopped", "completed"], [2, 1, 2],
           {2: [0.65, 0.55], 0: [0.6, 0.5], 1: [0.7]})
    assert compare_runs(tmp_path / "s", tmp_path / "r2") == []


def test_epochs_pair_by_trial_not_by_sorted_rows(tmp_path: Path) -> None:
    """Two trials' curves swapped between the runs (same set of epoch rows): not reproduced,
    though sorting whole rows made the epochs tables look equal."""
    _write(tmp_path / "s", ["a", "b"], ["completed"] * 2, [1, 1], {0: [0.6], 1: [0.7]})
    _write(tmp_path / "r", ["x", "y"], ["completed"] * 2, [1, 1], {0: [0.7], 1: [0.6]})
    assert compare_runs(tmp_path / "s", tmp_path / "r") == [
        "epochs.parquet: val_loss differ (trial_number 0, 1)"]


def test_a_trial_only_in_one_run_is_named(tmp_path: Path) -> None:
    _write(tmp_path / "s", ["a", "b"], ["completed"] * 2, [1, 1], {0: [0.6], 1: [0.7]})
    _write(tmp_path / "r", ["x", "y", "z"], ["completed"] * 3, [1, 1, 1],
           {0: [0.6], 1: [0.7], 2: [0.8]})
    differ = compare_runs(tmp_path / "s", tmp_path / "r")
    assert differ == [
        "trials.parquet: 2 rows in the study, 3 in the rerun (trial_number 2 only in the rerun)",
        "epochs.parquet: 2 rows in the study, 3 in the rerun (trial_number 2 only in the rerun)"]
