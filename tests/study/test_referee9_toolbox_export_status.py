"""Round 9, toolbox: an export says how far its trial trained (model.json ``training``), so a
trigger engineer never takes a failed or stopped-early trial's weights for a finished model."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from jetstudy.study.export_meta import trial_training


def _study(tmp_path: Path) -> Path:
    pd.DataFrame({
        "trial_id": ["done", "early", "broke", "budget", "converged"],
        "status": ["completed", "stopped", "error", "stopped", "completed"],
        "epochs": [10, 3, 2, 10, 6],
        "max_epochs": [10, 10, 10, 10, 10],
    }).to_parquet(tmp_path / "trials.parquet")
    return tmp_path


def test_finished_trials_say_fully_trained_without_warning(tmp_path: Path) -> None:
    results = _study(tmp_path)
    for tid in ("done", "budget", "converged"):  # a time budget after the last epoch, patience
        got = trial_training(results, tid)
        assert got["fully_trained"] is True, got
        assert "warning" not in got


def test_stopped_early_and_failed_trials_are_named_half_trained(tmp_path: Path) -> None:
    results = _study(tmp_path)
    early = trial_training(results, "early")
    assert early == {"status": "stopped", "epochs": 3, "max_epochs": 10, "fully_trained": False,
                     "warning": early["warning"]}
    assert "not fully trained (status stopped, 3 of 10 epochs)" in early["warning"]
    # it points to a finished model: the study's best where the study has one (round 11:
    # not in a study without best/model.pt)
    assert "for a finished model export a completed trial" in early["warning"]
    (results / "best").mkdir()
    (results / "best" / "model.pt").write_bytes(b"")
    assert "export the study's best (no --trial) or a completed trial" in trial_training(
        results, "early")["warning"]
    broke = trial_training(results, "broke")
    assert broke["fully_trained"] is False and "status error" in broke["warning"]


def test_a_trial_without_a_row_is_undetermined(tmp_path: Path) -> None:
    results = _study(tmp_path)
    assert trial_training(results, "nope")["fully_trained"] == "undetermined"
    assert trial_training(tmp_path / "missing", "done")["fully_trained"] == "undetermined"
