"""Refereeing the Pareto front, the "how big" answer and the best trial on awkward tables:
ties, duplicates, NaN scores, one trial, none completed, a loss (lower is better) as the
score. The answers must not depend on the order of the table's rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from jetstudy.analysis.errors import AnalysisError
from jetstudy.analysis.pareto import (compute_pareto, how_big, pareto_front, pick_notes,
                                      search_front, smallest_within)
from jetstudy.analysis.summary import best_trial


def _trials(*rows: tuple) -> pd.DataFrame:
    """Rows of (trial_id, status, n_params, best_val_acc, best_val_loss)."""
    df = pd.DataFrame(rows, columns=["trial_id", "status", "n_params", "best_val_acc",
                                     "best_val_loss"])
    return df.assign(flops=2 * df["n_params"], best_val_auc=0.9, val_acc=df["best_val_acc"],
                     val_loss=df["best_val_loss"])


def _reversed(df: pd.DataFrame) -> pd.DataFrame:
    return df.iloc[::-1].reset_index(drop=True)


# --- the front ----------------------------------------------------------------------------------

def test_nan_or_infinite_costs_and_scores_are_no_points():
    """A trial whose size is unknown (NaN) was put on the front: it sorted last and beat
    everything before it."""
    df = pd.DataFrame({"trial_id": list("abcd"), "cost": [1.0, 2.0, np.nan, np.inf],
                       "score": [np.nan, 0.5, 0.9, 0.95]})
    assert pareto_front(df, "cost", "score")["trial_id"].tolist() == ["b"]
    assert smallest_within(df, "cost", "score")["trial_id"] == "b"
    assert smallest_within(df.iloc[[0, 2]], "cost", "score") is None


def test_ties_in_size_and_score_are_broken_by_trial_id_not_row_order():
    df = _trials(("b", "completed", 100, 0.70, 0.6), ("a", "completed", 100, 0.70, 0.6),
                 ("c", "completed", 50, 0.60, 0.9))
    for table in (df, _reversed(df)):
        r = compute_pareto(table, "n_params", "val_acc")
        assert r.front["trial_id"].tolist() == ["c", "a"]
        assert r.best["trial_id"] == "a" and r.pick["trial_id"] == "a"


def test_duplicate_configurations_keep_the_better_score():
    df = _trials(("a", "completed", 100, 0.70, 0.6), ("b", "completed", 100, 0.74, 0.6),
                 ("c", "completed", 200, 0.72, 0.6))
    assert compute_pareto(df, "n_params", "val_acc").front["trial_id"].tolist() == ["b"]


@pytest.mark.parametrize("cost", ["n_params", "flops", "multiplications"])
def test_a_single_completed_trial_is_its_own_front_and_pick(cost):
    df = _trials(("a", "completed", 100, 0.70, 0.6))
    df["multiplications"] = df["n_params"] - 5
    r = compute_pareto(df, cost, "val_acc", n_val=1000)
    assert r.front["trial_id"].tolist() == ["a"] and r.pick["trial_id"] == "a"
    assert r.gap == 0 and r.within_noise is True
    assert "best fully trained trial itself (trial a)" in pick_notes(r)[0]


def test_no_completed_trial_has_no_front_and_failed_trials_never_count():
    df = _trials(("a", "stopped", 100, 0.70, 0.6), ("b", "running", 50, 0.75, 0.6),
                 ("c", "failed", 10, 0.99, 0.1))
    r = compute_pareto(df, "n_params", "val_acc")
    assert not r.determined and r.front.empty and r.pick is None
    assert sorted(r.partial["trial_id"]) == ["a", "b"]
    assert "undetermined" in pick_notes(r)[0]
    with pytest.raises(AnalysisError, match="no finished trial"):
        compute_pareto(df[df["status"] == "failed"], "n_params", "val_acc")


def test_a_loss_as_the_score_is_minimised():
    """compute_pareto treated every score as higher-is-better: with val_loss its front was the
    worst loss and its "best" the trial with the highest loss."""
    df = _trials(("a", "completed", 10, 0.70, 0.90), ("b", "completed", 200, 0.80, 0.60),
                 ("c", "completed", 300, 0.75, 0.70), ("d", "completed", 150, 0.79, 0.605))
    r = compute_pareto(df, "n_params", "val_loss")
    assert not r.maximize
    assert r.front["trial_id"].tolist() == ["a", "d", "b"]
    assert r.best["trial_id"] == "b" and r.pick["trial_id"] == "d"  # 0.605 within 1% of 0.60
    assert r.gap == pytest.approx(0.005)
    assert "above the best (trial b)" in pick_notes(r)[0]
    acc = compute_pareto(df, "n_params", "val_acc")
    assert acc.maximize and acc.best["trial_id"] == "b"


def test_a_pick_within_noise_and_one_beyond_it():
    df = _trials(("small", "completed", 100, 0.754, 0.6), ("big", "completed", 10000, 0.760, 0.6))
    noisy = compute_pareto(df, "n_params", "val_acc", n_val=1000)  # se 0.013 per score
    assert noisy.pick["trial_id"] == "small" and noisy.within_noise is True
    exact = compute_pareto(df, "n_params", "val_acc", n_val=10_000_000)  # se 1.4e-4
    assert exact.within_noise is False and "significant" in pick_notes(exact)[0]


@pytest.mark.parametrize("maximize, metric", [(True, "val_acc"), (False, "val_loss")])
def test_search_front_is_non_dominated_in_the_metrics_direction(maximize, metric):
    df = _trials(("a", "completed", 10, 0.70, 0.90), ("b", "completed", 200, 0.80, 0.60),
                 ("c", "completed", 300, 0.75, 0.70), ("s", "stopped", 5, 0.99, 0.01))
    front = search_front(df, metric, maximize, "n_params").set_index("trial_id")["on_front"]
    assert front.to_dict() == {"s": False, "a": True, "b": True, "c": False}


def test_how_big_does_not_depend_on_row_order_for_ties():
    df = _trials(("b", "completed", 100, 0.78, 0.60), ("a", "completed", 100, 0.78, 0.60),
                 ("z", "completed", 5000, 0.78, 0.60))
    for table in (df, _reversed(df)):
        answer = how_big(table, "val_loss", False, "n_params")
        assert answer.pick["trial_id"] == "a" and answer.best["trial_id"] == "a"


# --- the best trial ---------------------------------------------------------------------------

def test_best_trial_skips_nan_and_infinite_values():
    df = _trials(("nan", "completed", 10, 0.7, np.nan), ("inf", "completed", 10, 0.7, np.inf),
                 ("minf", "completed", 10, 0.7, -np.inf), ("ok", "stopped", 10, 0.7, 0.65),
                 ("failed", "failed", 10, 0.7, 0.10))
    assert best_trial(df, "val_loss", False)["trial_id"] == "ok"


def test_best_trial_tie_break_is_stated_and_order_free():
    """Equal best_val_loss: completed beats stopped, then the smaller model, then trial_id."""
    df = _trials(("s", "stopped", 10, 0.7, 0.60), ("big", "completed", 900, 0.7, 0.60),
                 ("b", "completed", 100, 0.7, 0.60), ("a", "completed", 100, 0.7, 0.60))
    for table in (df, _reversed(df)):
        assert best_trial(table, "val_loss", False)["trial_id"] == "a"
        assert best_trial(table[table["trial_id"].isin(["s", "big"])], "val_loss",
                          False)["trial_id"] == "big"


@pytest.mark.parametrize("metric, maximize, expected", [("val_acc", True, "hi_acc"),
                                                        ("val_loss", False, "lo_loss")])
def test_best_trial_follows_the_metrics_mode(metric, maximize, expected):
    df = _trials(("hi_acc", "completed", 10, 0.80, 0.70), ("lo_loss", "completed", 10, 0.75, 0.60))
    assert best_trial(df, metric, maximize)["trial_id"] == expected


def test_best_trial_with_a_duplicated_index_is_one_row():
    df = _trials(("a", "completed", 10, 0.7, 0.6), ("b", "stopped", 10, 0.7, 0.5))
    df.index = [5, 5]
    best = best_trial(df, "val_loss", False)
    assert isinstance(best, pd.Series) and best["trial_id"] == "b"


@pytest.mark.parametrize("maximize", [True, False])
@pytest.mark.parametrize("seed", range(5))
def test_the_front_is_exactly_the_non_dominated_points(maximize, seed):
    """On random tables with ties (integer costs and scores): no front point is dominated,
    and every other finite point is dominated by, or a duplicate of, a front point."""
    rng = np.random.default_rng(seed)
    n = 40
    df = pd.DataFrame({"trial_id": [f"t{i:02d}" for i in range(n)],
                       "cost": rng.integers(1, 10, n).astype(float),
                       "score": rng.integers(0, 8, n).astype(float)})
    df.loc[rng.choice(n, 4, replace=False), "score"] = np.nan
    front = pareto_front(df, "cost", "score", maximize)
    better = (lambda a, b: a > b) if maximize else (lambda a, b: a < b)
    points = df.dropna()

    def dominates(p, q) -> bool:
        at_least = p["cost"] <= q["cost"] and not better(q["score"], p["score"])
        return at_least and (p["cost"] < q["cost"] or better(p["score"], q["score"]))

    for _, q in front.iterrows():
        assert not any(dominates(p, q) for _, p in points.iterrows())
    on_front = set(front["trial_id"])
    for _, q in points[~points["trial_id"].isin(on_front)].iterrows():
        assert any(dominates(p, q) or (p["cost"] == q["cost"] and p["score"] == q["score"])
                   for _, p in front.iterrows())
    assert front["cost"].is_monotonic_increasing and front["score"].notna().all()
    assert len(set(zip(front["cost"], front["score"]))) == len(front)  # no duplicate point
