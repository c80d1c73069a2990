"""The report's text tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from jetstudy.analysis.errors import AnalysisError
from jetstudy.analysis.references import DUARTE_MLP, MORENO_DNN
from jetstudy.analysis.roc import rejection_table
from jetstudy.analysis.summary import (best_trial, common_errors, compare_test_metrics, heldout_metric_values,
                              operating_table, regime_counts, status_counts)
from jetstudy.trainables.schema import CLASSES

TRIALS = pd.DataFrame({
    "trial_id": list("abcde"), "status": ["completed", "stopped", "failed", "running", "failed"],
    "error": ["", "", "diverged", "", "diverged"],
    "best_val_loss": [0.70, 0.65, 0.10, 0.68, np.nan], "best_val_acc": [0.7, 0.75, 0.9, 0.72, np.nan],
})


def test_status_counts_include_zeros_and_total():
    t = TRIALS.assign(status=["completed", "completed", "failed", "paused", "failed"])
    counts = dict(zip(*status_counts(t).to_dict("list").values()))
    assert counts == {"completed": 2, "stopped": 0, "failed": 2, "running": 0, "interrupted": 0,
                      "paused": 1, "total": 5}


def test_regime_counts_and_errors():
    regimes = pd.DataFrame({"regime": ["good", "underfit", "good"], "judged_on_partial": [True, False, False]})
    assert regime_counts(regimes).values.tolist() == [["underfit", 1, 0], ["good", 2, 1]]
    assert common_errors(TRIALS).values.tolist() == [["diverged", 2]]


def test_best_trial_ignores_failed_and_follows_direction():
    assert best_trial(TRIALS, "val_loss", maximize=False)["trial_id"] == "b"
    assert best_trial(TRIALS, "val_acc", maximize=True)["trial_id"] == "b"
    with pytest.raises(AnalysisError, match="none is best"):
        best_trial(TRIALS[TRIALS["status"] == "failed"], "val_loss", False)


def _metrics(acc: float, se: float | None = None) -> dict:
    out = {"accuracy": acc, "log_loss": 0.6, "auc_macro": 0.9, "auc": {c: 0.9 for c in CLASSES}}
    if se is not None:
        out |= {"accuracy_se": se, "log_loss_se": 0.004, "auc_macro_se": 0.0012,
                "auc_se": {c: 0.002 for c in CLASSES}}
    return out


def test_test_values_against_bayes_with_paired_or_quadrature_errors():
    tm = {"model": _metrics(0.75, 0.003), "bayes": _metrics(0.80, 0.004)}
    v = heldout_metric_values(tm).loc["accuracy"]
    assert v["diff"] == pytest.approx(-0.05) and v["diff_se"] == pytest.approx(0.005)
    paired = heldout_metric_values(tm | {"model_minus_bayes": {"accuracy_se": 0.001}})
    assert paired.loc["accuracy", "diff_se"] == pytest.approx(0.001)
    with pytest.raises(AnalysisError, match="no `model` object"):
        heldout_metric_values({})


def test_test_comparison_prints_value_and_error_with_matching_digits():
    synth = compare_test_metrics({"model": _metrics(0.75123, 0.00312),
                                  "bayes": _metrics(0.80, 0.004)}, synthetic=True)
    row = synth.set_index("metric").loc["accuracy"]
    assert row["model"] == "0.7512 ± 0.0031"
    assert row["Bayes optimal"] == "0.800 ± 0.004"
    assert row["model - Bayes"] == "-0.049 ± 0.005"
    assert synth.set_index("metric").loc["auc g", "model"] == "0.9000 ± 0.0020"
    old = compare_test_metrics({"model": _metrics(0.75123), "bayes": None}, synthetic=True)
    assert old.set_index("metric").loc["accuracy", "model"] == "0.7512"  # no error stored


def test_real_data_cites_each_reference_and_never_invents_a_number():
    real = compare_test_metrics({"model": _metrics(0.75, 0.003), "bayes": None},
                                synthetic=False).set_index("metric")
    dnn, mlp = MORENO_DNN.label, DUARTE_MLP.label
    assert "Moreno" in dnn and "Duarte" in mlp
    assert real.loc["auc W", dnn] == "0.954" and real.loc["auc t", mlp] == "0.964"
    assert real.loc["auc Z", mlp] == "0.950"  # as quoted, three decimals like the others
    assert real.loc["accuracy", dnn] == "not quoted"  # the DNN's accuracy is not in our sources
    assert real.loc["accuracy", mlp] == "0.75-0.766"
    assert real.loc["log_loss", mlp] == "not quoted"
    assert "EPJC" not in MORENO_DNN.citation and "Eur. Phys. J. C 80 (2020) 58" in MORENO_DNN.citation
    assert "JINST 13 (2018) P07027" in DUARTE_MLP.citation
    unknown = compare_test_metrics({"model": _metrics(0.75)}, synthetic=None)
    assert unknown.columns.tolist() == ["metric", "model"]


def _overlap_predictions(n_per_class: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(len(CLASSES)), n_per_class)
    z = 2.0 * np.eye(len(CLASSES))[labels] + rng.normal(size=(len(labels), len(CLASSES)))
    probs = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    return pd.DataFrame({"label": labels, **{f"p_{c}": probs[:, i] for i, c in enumerate(CLASSES)}})


def test_operating_table_columns_follow_the_data_kind():
    labels = np.repeat(np.arange(len(CLASSES)), 20)
    probs = np.eye(len(CLASSES))[labels] * 0.5 + 0.1
    pred = pd.DataFrame({"label": labels, **{f"p_{c}": probs[:, i] for i, c in enumerate(CLASSES)}})
    real = operating_table(pred, synthetic=False)
    assert real["class"].tolist() == list(CLASSES)
    assert real[f"{MORENO_DNN.label} sig eff @ 1% bkg"].tolist() == ["0.40", "0.16", "0.64", "0.71",
                                                                     "0.63"]
    # perfect separation on 80 background jets: a lower limit, never "inf"
    assert all(t.startswith("> ") and "no bkg jet passes" in t for t in real["rejection @ 50% sig"])
    # 1% of 80 background jets is no jet at all: flagged
    assert all(t.startswith("undetermined: 1% of 80 bkg jets is under 1 jet (with none passing: ")
               and t.endswith(", a lower bound)") for t in real["sig eff @ 1% bkg"])
    synth = operating_table(pred.assign(**{f"bayes_{c}": pred[f"p_{c}"] for c in CLASSES}), synthetic=True)
    assert "Bayes rejection @ 50% sig" in synth.columns
    assert not any("sig eff @ 1% bkg" in c and "Moreno" in c for c in synth.columns)


def test_operating_table_rejections_from_few_background_jets_get_one_figure():
    pred = _overlap_predictions(100)
    table = operating_table(pred, synthetic=None).set_index("class")
    counts = rejection_table(pred).loc[:, ["bkg_pass@0.5", "n_background"]]
    ks = counts["bkg_pass@0.5"]
    assert ((ks >= 1) & (ks <= 5)).any() and (ks > 5).any()  # both cases occur here
    # [67.8, 292] with its ends rounded outward (referee round 2): 70 cut the interval
    assert table.loc["g", "rejection @ 50% sig"] == "100 [60, 300] (only 3 bkg jets)"
    assert table.loc["Z", "rejection @ 50% sig"] == "50 [34, 76]"  # 8 jets: 400 / 8
    for cls, row in table.iterrows():
        k = int(counts.loc[cls, "bkg_pass@0.5"])
        text = row["rejection @ 50% sig"]
        if k == 0:
            assert text.startswith("> ")
        elif k <= 5:
            assert text.endswith(f"bkg jet{'s' if k > 1 else ''})") and f"only {k} " in text
            value = text.split(" ")[0]
            assert len(value.strip("0")) == 1  # one significant figure
        else:
            assert "only" not in text and "[" in text
    assert (table["background jets"] == 400).all() and (table["signal jets"] == 100).all()
    assert table.loc["g", "sig eff @ 1% bkg"].endswith("(1% bkg = 4 jets)")
