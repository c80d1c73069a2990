"""Pareto front and "smallest within 1%" on tiny frames with known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.errors import AnalysisError
from analysis.pareto import compute_pareto, pareto_front, smallest_within


def _df(costs: list[float], scores: list[float]) -> pd.DataFrame:
    return pd.DataFrame({"trial_id": [f"t{i}" for i in range(len(costs))], "cost": costs, "score": scores})


def test_front_keeps_only_undominated_points():
    df = _df([10, 20, 30, 40, 15], [0.70, 0.80, 0.75, 0.85, 0.65])
    assert pareto_front(df, "cost", "score")["trial_id"].tolist() == ["t0", "t1", "t3"]


def test_front_with_equal_costs_and_duplicates():
    df = _df([10, 10, 20, 20], [0.7, 0.8, 0.8, 0.8])
    # at cost 10 the better score wins; cost 20 adds nothing over 0.8
    assert pareto_front(df, "cost", "score")["trial_id"].tolist() == ["t1"]
    dup = _df([5, 5], [0.9, 0.9])
    assert pareto_front(dup, "cost", "score")["trial_id"].tolist() == ["t0"]


def test_front_when_minimising():
    df = _df([10, 20, 30], [0.9, 0.6, 0.7])
    assert pareto_front(df, "cost", "score", maximize=False)["trial_id"].tolist() == ["t0", "t1"]


def test_smallest_within_relative_tolerance():
    df = _df([100, 1000, 5000, 20000], [0.70, 0.752, 0.758, 0.760])
    # 1% of 0.760 is 0.0076 -> limit 0.7524: 0.752 is just outside
    assert smallest_within(df, "cost", "score", 0.01)["trial_id"] == "t2"
    assert smallest_within(df, "cost", "score", 0.02)["trial_id"] == "t1"
    assert smallest_within(df, "cost", "score", 0.0)["trial_id"] == "t3"
    assert smallest_within(df.iloc[:0], "cost", "score") is None
    with pytest.raises(AnalysisError, match="`tolerance` is 1.5"):
        smallest_within(df, "cost", "score", 1.5)


def test_compute_pareto_uses_best_epoch_scores_and_skips_failed():
    trials = pd.DataFrame({
        "trial_id": ["a", "b", "c", "d"], "status": ["completed", "stopped", "failed", "running"],
        "n_params": [100, 1000, 10, 50], "val_acc": [0.1, 0.1, 0.1, 0.1],
        "best_val_acc": [0.70, 0.76, 0.99, np.nan],
    })
    r = compute_pareto(trials, "n_params", "val_acc")
    assert r.score == "best_val_acc"
    assert r.points["trial_id"].tolist() == ["a", "b"]
    assert r.front["trial_id"].tolist() == ["a", "b"] and r.pick["trial_id"] == "b"


def test_compute_pareto_explains_missing_inputs():
    trials = pd.DataFrame({"trial_id": ["a"], "status": ["failed"], "n_params": [1], "val_acc": [0.5]})
    with pytest.raises(AnalysisError, match="no `flops` column"):
        compute_pareto(trials, "flops", "val_acc")
    with pytest.raises(AnalysisError, match="no `val_auc` values"):
        compute_pareto(trials, "n_params", "val_auc")
    with pytest.raises(AnalysisError, match="no finished trial"):
        compute_pareto(trials, "n_params", "val_acc")
