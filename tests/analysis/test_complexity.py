"""The complexity curve: which trials, and the binned medians."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from jetstudy.analysis.complexity import complexity_curve
from jetstudy.analysis.errors import AnalysisError


def _tables(statuses: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    n = len(statuses)
    trials = pd.DataFrame({"trial_id": [f"t{i}" for i in range(n)], "status": statuses,
                           "n_params": [100, 120, 1000, 1100, 10_000, 12_000][:n]})
    regimes = pd.DataFrame({"trial_id": trials["trial_id"], "regime": "good",
                            "final_train_loss": [1.0, 1.0, 0.7, 0.7, 0.4, 0.5][:n],
                            "final_val_loss": [1.0, 1.02, 0.72, 0.74, 0.9, 1.0][:n]})
    return trials, regimes


def test_binned_medians_and_gap():
    trials, regimes = _tables(["completed"] * 6)
    c = complexity_curve(trials, regimes, bins_per_decade=1)
    assert c.bins["n"].tolist() == [2, 2, 2]
    assert c.bins["train_median"].tolist() == pytest.approx([1.0, 0.7, 0.45])
    assert c.bins["val_best"].tolist() == pytest.approx([1.0, 0.72, 0.9])
    assert c.bins["gap_median"].iloc[-1] == pytest.approx(0.5)
    assert c.bins["n_params"].is_monotonic_increasing
    assert "6 trials that ran to the end (max_epochs or their patience)" == c.note
    assert c.bins["n_params"].tolist() == [110, 1050, 11_000]  # where the trials are


def test_reference_loss_comes_from_the_regime_table():
    trials, regimes = _tables(["completed"] * 6)
    assert complexity_curve(trials, regimes).reference is None
    assert complexity_curve(trials, regimes.assign(reference_loss=0.49)).reference == 0.49


def test_no_median_where_no_trial_exists():
    trials, regimes = _tables(["completed"] * 6)
    trials["n_params"] = [100, 120, 150, 110, 10_000, 12_000]  # nothing between 316 and 10k
    c = complexity_curve(trials, regimes)
    empty = c.bins[c.bins["n"] == 0]
    assert len(empty) == 3 and empty[["train_median", "val_median", "val_best"]].isna().all().all()
    assert c.bins["n"].sum() == 6


def test_unstable_and_undetermined_trials_stay_out():
    trials, regimes = _tables(["completed"] * 6)
    regimes["regime"] = ["good", "unstable", "undetermined", "good", "overfit", "underfit"]
    c = complexity_curve(trials, regimes)
    assert set(c.points["trial_id"]) == {"t0", "t3", "t4", "t5"}


def test_early_stopped_trials_are_left_out_unless_too_few():
    trials, regimes = _tables(["completed", "stopped", "completed", "stopped", "completed", "stopped"])
    c = complexity_curve(trials, regimes)
    assert set(c.points["trial_id"]) == {"t0", "t2", "t4"}
    trials, regimes = _tables(["completed", "stopped", "stopped"])
    c = complexity_curve(trials, regimes)
    assert len(c.points) == 3 and "too few ran to the end" in c.note


def test_no_finite_loss_is_refused():
    trials, regimes = _tables(["completed", "completed"])
    regimes["final_val_loss"] = np.nan
    with pytest.raises(AnalysisError, match="no judged trial has finite"):
        complexity_curve(trials, regimes)
