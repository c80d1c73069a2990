"""Pareto front and "smallest within 1%" on tiny frames with known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from jetstudy.analysis.errors import AnalysisError
from jetstudy.analysis import pareto
from jetstudy.analysis.pareto import compute_pareto, pareto_front, pick_notes, score_se, smallest_within


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


def test_compute_pareto_uses_best_epoch_scores_of_completed_trials_only():
    trials = pd.DataFrame({
        "trial_id": ["a", "b", "c", "d", "e"],
        "status": ["completed", "stopped", "failed", "running", "completed"],
        "n_params": [100, 1000, 10, 50, 2000], "val_acc": [0.1, 0.1, 0.1, 0.1, 0.1],
        "best_val_acc": [0.70, 0.76, 0.99, np.nan, 0.74],
    })
    r = compute_pareto(trials, "n_params", "val_acc")
    assert r.score == "best_val_acc"
    assert r.points["trial_id"].tolist() == ["a", "e"]
    assert r.partial["trial_id"].tolist() == ["b"]  # running d has no score; failed c never
    assert r.front["trial_id"].tolist() == ["a", "e"] and r.pick["trial_id"] == "e"


def test_stopped_trials_are_never_on_the_front_even_when_better_and_cheaper():
    trials = pd.DataFrame({
        "trial_id": ["done_big", "done_small", "asha_tiny", "asha_mid", "live"],
        "status": ["completed", "completed", "stopped", "stopped", "running"],
        "n_params": [20000, 3000, 50, 500, 100],
        "best_val_acc": [0.760, 0.700, 0.90, 0.80, 0.95],
    })
    for tolerance in (0.01, 0.5):
        r = compute_pareto(trials, "n_params", "val_acc", tolerance=tolerance)
        assert set(r.front["trial_id"]) <= {"done_big", "done_small"}
        assert r.pick["trial_id"] in {"done_big", "done_small"}
        assert r.best["trial_id"] == "done_big"
        assert set(r.partial["trial_id"]) == {"asha_tiny", "asha_mid", "live"}
    assert compute_pareto(trials, "n_params", "val_acc", tolerance=0.5).pick["trial_id"] == \
        "done_small"


def test_no_completed_trial_leaves_the_front_undetermined():
    trials = pd.DataFrame({"trial_id": ["s1", "s2"], "status": ["stopped", "running"],
                           "n_params": [10, 100], "best_val_acc": [0.3, 0.6]})
    r = compute_pareto(trials, "n_params", "val_acc", n_val=1000)
    assert not r.determined and r.pick is None and r.best is None
    assert r.front.empty and r.points.empty and len(r.partial) == 2
    note = " ".join(pick_notes(r))
    assert "undetermined" in note and "no trial ran to completion" in note


def test_scores_carry_binomial_noise_and_a_pick_within_noise_says_so():
    trials = pd.DataFrame({"trial_id": ["big", "small"], "status": ["completed", "completed"],
                           "n_params": [10000, 500], "best_val_acc": [0.760, 0.756]})
    r = compute_pareto(trials, "n_params", "val_acc", n_val=2000)
    assert r.points.set_index("trial_id").loc["big", "se"] == pytest.approx(
        np.sqrt(0.76 * 0.24 / 2000))
    assert r.pick["trial_id"] == "small"
    assert r.gap == pytest.approx(0.004)
    assert r.gap_se == pytest.approx(np.hypot(np.sqrt(0.76 * 0.24 / 2000),
                                              np.sqrt(0.756 * 0.244 / 2000)))
    assert r.within_noise is True  # 0.004 against ~0.0135 se
    notes = " ".join(pick_notes(r))
    assert "within the validation noise" in notes and "cannot tell the two apart" in notes
    assert "narrower than" in notes  # a 1% band of 0.0076 < 2 x 0.0095
    # a million jets resolve the same difference
    big = compute_pareto(trials, "n_params", "val_acc", n_val=1_000_000)
    assert big.within_noise is False and "significant" in " ".join(pick_notes(big))
    # unknown size: no error claimed either way
    unknown = compute_pareto(trials, "n_params", "val_acc")
    assert unknown.within_noise is None and np.isnan(unknown.points["se"]).all()
    assert "without an error" in " ".join(pick_notes(unknown))


def test_auc_noise_is_an_approximate_hanley_mcneil_error():
    values = pd.Series([0.9, 0.95])
    se = score_se("best_val_auc", values, 5000, [1000] * 5)
    assert (se > 0).all() and se[1] < se[0]  # a better AUC is measured more precisely
    assert 0.0005 < se[0] < 0.005
    assert np.isnan(score_se("best_val_loss", values, 5000)).all()


def test_compute_pareto_explains_missing_inputs():
    trials = pd.DataFrame({"trial_id": ["a"], "status": ["failed"], "n_params": [1], "val_acc": [0.5]})
    with pytest.raises(AnalysisError, match="no `flops` column"):
        compute_pareto(trials, "flops", "val_acc")
    with pytest.raises(AnalysisError, match="no `val_auc` values"):
        compute_pareto(trials, "n_params", "val_auc")
    with pytest.raises(AnalysisError, match="no finished trial"):
        compute_pareto(trials, "n_params", "val_acc")


def _sized(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["trial_id", "status", "n_params", "flops",
                                       "best_val_loss", "best_val_acc"])


def test_how_big_needs_both_rules() -> None:
    t = _sized([("big", "completed", 9000, 16000, 0.600, 0.760),
                ("mid", "completed", 3000, 5000, 0.605, 0.757),   # 0.8% worse, -0.3 pt: fits
                ("tiny", "completed", 500, 800, 0.605, 0.750),    # loss fits, -1.0 pt: too far
                ("cheap", "stopped", 100, 150, 0.601, 0.759)])    # never finished: no pick
    answer = pareto.how_big(t, "val_loss", False, "multiplications")
    assert answer is not None
    assert answer.pick["trial_id"] == "mid" and answer.best["trial_id"] == "big"
    assert answer.pick["multiplications"] == 2500
    text = pareto.how_big_paragraph(answer, {"n_params": 10000})
    assert "trial mid" in text and "2500 multiplications per jet" in text
    assert "search.max_params 10000" in text and "--trial mid" in text
    assert pareto.how_big(t[t["status"] == "stopped"], "val_loss", False, "n_params") is None


def test_search_front_marks_dominated_trials() -> None:
    t = _sized([("a", "completed", 100, 200, 0.70, 0.70), ("b", "completed", 200, 400, 0.65, 0.72),
                ("c", "completed", 300, 600, 0.66, 0.71), ("d", "stopped", 50, 100, 0.6, 0.8)])
    front = pareto.search_front(t, "val_loss", False, "multiplications")
    # d is cheaper and better but was stopped early: listed, never on the front
    assert front.set_index("trial_id")["on_front"].to_dict() == {"d": False, "a": True,
                                                                  "b": True, "c": False}
