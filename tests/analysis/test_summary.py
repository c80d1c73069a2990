"""The report's text tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.errors import AnalysisError
from analysis.summary import (best_trial, common_errors, operating_table, regime_counts,
                              status_counts, compare_test_metrics)
from trainables.schema import CLASSES

TRIALS = pd.DataFrame({
    "trial_id": list("abcde"), "status": ["completed", "stopped", "failed", "running", "failed"],
    "error": ["", "", "diverged", "", "diverged"],
    "best_val_loss": [0.70, 0.65, 0.10, 0.68, np.nan], "best_val_acc": [0.7, 0.75, 0.9, 0.72, np.nan],
})


def test_status_counts_include_zeros_and_total():
    t = TRIALS.assign(status=["completed", "completed", "failed", "paused", "failed"])
    counts = dict(zip(*status_counts(t).to_dict("list").values()))
    assert counts == {"completed": 2, "stopped": 0, "failed": 2, "running": 0, "paused": 1, "total": 5}


def test_regime_counts_and_errors():
    regimes = pd.DataFrame({"regime": ["good", "underfit", "good"], "judged_on_partial": [True, False, False]})
    assert regime_counts(regimes).values.tolist() == [["underfit", 1, 0], ["good", 2, 1]]
    assert common_errors(TRIALS).values.tolist() == [["diverged", 2]]


def test_best_trial_ignores_failed_and_follows_direction():
    assert best_trial(TRIALS, "val_loss", maximize=False)["trial_id"] == "b"
    assert best_trial(TRIALS, "val_acc", maximize=True)["trial_id"] == "b"
    with pytest.raises(AnalysisError, match="none is best"):
        best_trial(TRIALS[TRIALS["status"] == "failed"], "val_loss", False)


def _metrics(acc: float) -> dict:
    return {"accuracy": acc, "log_loss": 0.6, "auc_macro": 0.9, "auc": {c: 0.9 for c in CLASSES}}


def test_test_comparison_against_bayes_and_reference():
    synth = compare_test_metrics({"model": _metrics(0.75), "bayes": _metrics(0.80)}, synthetic=True)
    row = synth.set_index("metric").loc["accuracy"]
    assert row["model - Bayes"] == pytest.approx(-0.05)
    real = compare_test_metrics({"model": _metrics(0.75), "bayes": None}, synthetic=False).set_index("metric")
    assert real.loc["auc W", "16-HLF DNN reference"] == 0.954
    with pytest.raises(AnalysisError, match="no `model` object"):
        compare_test_metrics({}, synthetic=True)


def test_operating_table_columns_follow_the_data_kind():
    labels = np.repeat(np.arange(len(CLASSES)), 20)
    probs = np.eye(len(CLASSES))[labels] * 0.5 + 0.1
    pred = pd.DataFrame({"label": labels, **{f"p_{c}": probs[:, i] for i, c in enumerate(CLASSES)}})
    real = operating_table(pred, synthetic=False)
    assert real["class"].tolist() == list(CLASSES)
    assert real["reference sig eff @ 1% bkg"].tolist() == [0.40, 0.16, 0.64, 0.71, 0.63]
    assert np.isinf(real["rejection @ 50% sig"]).all()
    synth = operating_table(pred.assign(**{f"bayes_{c}": pred[f"p_{c}"] for c in CLASSES}), synthetic=True)
    assert "Bayes AUC" in synth.columns and "reference AUC" not in synth.columns
