"""Planted regimes, from hand-made learning curves, come out as planted."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.errors import AnalysisError
from analysis.regimes import RegimeThresholds, classify_regimes, curve_summary
from trainables.errors import JetstudyError

EPOCHS = 10


def _trial(tid: str, train: list[float], val: list[float], *, status: str = "completed",
           error: str = "", n_params: int = 5000, max_epochs: int = EPOCHS) -> tuple[dict, list[dict]]:
    n = len(train)
    best = int(np.nanargmin(val)) if np.isfinite(val).any() else 0
    row = {"trial_id": tid, "status": status, "error": error, "n_params": n_params, "epochs": n,
           "max_epochs": max_epochs, "train_loss": train[-1], "val_loss": val[-1],
           "best_val_loss": val[best], "best_epoch": best + 1}
    epochs = [{"trial_id": tid, "epoch": i + 1, "train_loss": t, "val_loss": v}
              for i, (t, v) in enumerate(zip(train, val))]
    return row, epochs


def _frames(*trials: tuple[dict, list[dict]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    return (pd.DataFrame([t[0] for t in trials]),
            pd.DataFrame([e for t in trials for e in t[1]]))


def _decay(start: float, end: float, n: int = EPOCHS) -> list[float]:
    return list(end + (start - end) * np.exp(-np.arange(n) / 2.0))


@pytest.fixture
def planted() -> tuple[pd.DataFrame, pd.DataFrame]:
    """tiny: 1 layer of 2 units, plateaus at 1.10 (train ~ val); big: val rises from epoch 4
    while train falls; healthy: train 0.66 / val 0.68; nan: NaN at epoch 5; stopped: ASHA at 3."""
    big_train = _decay(1.4, 0.70)[:4] + list(np.linspace(0.68, 0.35, EPOCHS - 4))
    big_val = _decay(1.4, 0.70)[:4] + list(np.linspace(0.71, 0.95, EPOCHS - 4))
    nan_train = _decay(1.5, 0.8)[:4] + [np.nan]
    return _frames(
        _trial("tiny", _decay(1.5, 1.10), _decay(1.5, 1.11), n_params=49),
        _trial("big", big_train, big_val, n_params=200_000),
        _trial("healthy", _decay(1.4, 0.66), _decay(1.4, 0.68)),
        _trial("nan", nan_train, nan_train, status="failed", error="loss diverged to nan"),
        _trial("stopped", _decay(1.4, 0.66)[:3], _decay(1.4, 0.68)[:3], status="stopped"),
    )


def _by_id(result: pd.DataFrame) -> pd.DataFrame:
    return result.set_index("trial_id")


def test_planted_regimes_are_recovered(planted):
    trials, epochs = planted
    r = _by_id(classify_regimes(trials, epochs))
    assert r.loc["tiny", "regime"] == "underfit"
    assert r.loc["big", "regime"] == "overfit"
    assert r.loc["healthy", "regime"] == "good"
    assert r.loc["nan", "regime"] == "unstable"
    assert "epoch 5" in r.loc["nan", "reason"]


def test_overfit_reason_names_rise_and_falling_train(planted):
    trials, epochs = planted
    reason = _by_id(classify_regimes(trials, epochs)).loc["big", "reason"]
    assert "overfit" not in reason  # the reason explains; the regime column names
    assert ("rose" in reason and "train loss fell" in reason) or "above train loss" in reason


def test_rise_rule_alone_catches_early_overfitting():
    """Val loss 8% above its minimum, train falling, gap still below overfit_gap: overfit."""
    train = [1.2, 0.9, 0.75, 0.70, 0.695, 0.69, 0.685, 0.68]
    val = [1.2, 0.9, 0.76, 0.70, 0.71, 0.72, 0.74, 0.756]
    trials, epochs = _frames(_trial("early", train, val, max_epochs=8))
    r = _by_id(classify_regimes(trials, epochs)).loc["early"]
    assert r["regime"] == "overfit"
    assert "rose 8%" in r["reason"] and "epoch 4" in r["reason"]


def test_rising_val_with_rising_train_is_not_overfit():
    """Both losses rise from epoch 4 (an optimiser problem): not memorisation."""
    train = [1.2, 0.9, 0.72, 0.70, 0.72, 0.74, 0.76, 0.78]
    val = [1.2, 0.9, 0.73, 0.71, 0.73, 0.75, 0.77, 0.80]
    trials, epochs = _frames(_trial("drift", train, val, max_epochs=8),
                             _trial("ref", _decay(1.3, 0.76, 8), _decay(1.3, 0.77, 8), max_epochs=8))
    assert _by_id(classify_regimes(trials, epochs)).loc["drift", "regime"] != "overfit"


def test_early_stopped_trial_is_judged_on_partial_curve(planted):
    trials, epochs = planted
    r = _by_id(classify_regimes(trials, epochs))
    assert bool(r.loc["stopped", "judged_on_partial"]) is True
    assert "judged on 3 of 10 epochs: stopped early" in r.loc["stopped", "reason"]
    assert bool(r.loc["healthy", "judged_on_partial"]) is False
    assert r.loc["stopped", "epochs_judged"] == 3


def test_underfit_is_relative_to_the_studys_best(planted):
    trials, epochs = planted
    alone = trials[trials["trial_id"] == "tiny"]
    r = classify_regimes(alone, epochs[epochs["trial_id"] == "tiny"])
    assert r.iloc[0]["regime"] == "good"  # nothing better in its study
    r = classify_regimes(alone, epochs[epochs["trial_id"] == "tiny"], best_val_loss=0.68)
    assert r.iloc[0]["regime"] == "underfit"


def test_thresholds_move_the_boundaries(planted):
    trials, epochs = planted
    lenient = RegimeThresholds(underfit_excess=1.0)
    assert _by_id(classify_regimes(trials, epochs, lenient)).loc["tiny", "regime"] == "good"


def test_table_only_classification_matches_curves(planted):
    trials, epochs = planted
    with_curves = _by_id(classify_regimes(trials, epochs))["regime"]
    table_only = _by_id(classify_regimes(trials, None))
    assert table_only.loc["tiny", "regime"] == with_curves["tiny"] == "underfit"
    assert table_only.loc["big", "regime"] == "overfit"
    assert table_only.loc["nan", "regime"] == "unstable"  # from the error text


def test_table_only_rise_says_train_trend_unknown():
    row, _ = _trial("rise", [1.0, 0.66, 0.65], [1.0, 0.68, 0.74])
    r = classify_regimes(pd.DataFrame([row]), None).iloc[0]
    assert r["regime"] == "overfit" and "train trend unknown" in r["reason"]


def test_failed_without_divergence_and_no_epochs_is_undetermined():
    row = {"trial_id": "oom", "status": "failed", "error": "CUDA out of memory", "n_params": 10,
           "train_loss": np.nan, "val_loss": np.nan}
    r = classify_regimes(pd.DataFrame([row]), None).iloc[0]
    assert r["regime"] == "undetermined" and "CUDA out of memory" in r["reason"]


def test_running_trial_without_epochs_is_undetermined_and_running_is_partial():
    rows = [{"trial_id": "new", "status": "running", "n_params": 10, "train_loss": np.nan, "val_loss": np.nan},
            {"trial_id": "mid", "status": "running", "n_params": 10, "train_loss": 0.7, "val_loss": 0.71,
             "epochs": 3, "max_epochs": 10}]
    r = _by_id(classify_regimes(pd.DataFrame(rows), None))
    assert r.loc["new", "regime"] == "undetermined"
    assert r.loc["mid", "regime"] == "good" and bool(r.loc["mid", "judged_on_partial"])
    assert "still running" in r.loc["mid", "reason"]


def test_inf_loss_and_worse_than_guessing_are_unstable():
    rows = [{"trial_id": "inf", "status": "completed", "n_params": 10, "train_loss": np.inf, "val_loss": np.inf},
            {"trial_id": "bad", "status": "completed", "n_params": 10, "train_loss": 3.0, "val_loss": 3.1},
            {"trial_id": "ok", "status": "completed", "n_params": 10, "train_loss": 0.7, "val_loss": 0.72}]
    r = _by_id(classify_regimes(pd.DataFrame(rows), None))
    assert r.loc["inf", "regime"] == "unstable"
    assert r.loc["bad", "regime"] == "unstable" and "worse than guessing" in r.loc["bad", "reason"]
    assert r.loc["ok", "regime"] == "good"  # the unstable ones do not set the study's best


def test_curve_summary_reads_the_minimum(planted):
    trials, epochs = planted
    s = curve_summary(trials, epochs).set_index("trial_id")
    assert s.loc["big", "min_val_epoch"] == 5
    assert s.loc["big", "min_val"] == pytest.approx(0.71)
    assert s.loc["big", "train_at_min_val"] == pytest.approx(0.68)
    assert s.loc["nan", "first_nonfinite_epoch"] == 5
    assert bool(s.loc["healthy", "has_curve"])


@pytest.mark.parametrize("field, value", [
    ("underfit_excess", 0), ("overfit_gap", -0.1), ("overfit_rise", float("nan")),
    ("train_still_falling", "x"), ("diverged_factor", 1.0), ("min_epochs_for_trend", 1),
])
def test_bad_thresholds_are_refused_by_name(field, value):
    with pytest.raises(AnalysisError, match=f"`{field}` is"):
        RegimeThresholds(**{field: value})
    assert issubclass(AnalysisError, JetstudyError)


def test_make_study_fixture_has_every_regime(make_study):
    trials, epochs = make_study(n_trials=60, seed=0)
    counts = classify_regimes(trials, epochs)["regime"].value_counts()
    assert {"underfit", "good", "overfit", "unstable"} <= set(counts.index)
