"""The report's text tables: outcomes, the best trial, test metrics against the yardsticks.

Pure functions from tables to small frames; the report only lays them out. The yardstick for
test metrics is the Bayes-optimal classifier on synthetic data (the best any model can do) and
the published 16-HLF DNN on real data (what a good tagger does).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from analysis.errors import AnalysisError
from analysis.maps import score_column
from analysis.pareto import PARETO_STATUSES
from analysis.references import REFERENCE_AUC, REFERENCE_FPRS, REFERENCE_TPR
from analysis.regimes import REGIMES
from analysis.roc import rejection_table
from analysis.tables import STATUSES
from trainables.objective import Objective
from trainables.schema import CLASSES

__all__ = ["status_counts", "regime_counts", "common_errors", "best_trial", "compare_test_metrics",
           "operating_table"]


def status_counts(trials: pd.DataFrame) -> pd.DataFrame:
    """``status, trials`` for each known status (zeros too), any unknown one, then the total."""
    counts = trials["status"].value_counts()
    order = list(STATUSES) + sorted(set(counts.index) - set(STATUSES))
    rows = [(s, int(counts.get(s, 0))) for s in order] + [("total", len(trials))]
    return pd.DataFrame(rows, columns=["status", "trials"])


def regime_counts(regimes: pd.DataFrame) -> pd.DataFrame:
    """``regime, trials, judged on partial curves`` per regime that occurs, in REGIMES order."""
    rows = []
    for r in REGIMES:
        part = regimes[regimes["regime"] == r]
        if len(part):
            rows.append((r, len(part), int(part["judged_on_partial"].sum())))
    return pd.DataFrame(rows, columns=["regime", "trials", "judged on partial curves"])


def common_errors(trials: pd.DataFrame, n: int = 5) -> pd.DataFrame:
    """The ``n`` most frequent error messages of failed trials, with counts."""
    if "error" not in trials.columns:
        return pd.DataFrame(columns=["error", "trials"])
    errors = trials.loc[(trials["status"] == "failed") & (trials["error"] != ""), "error"]
    counts = errors.value_counts().head(n)
    return pd.DataFrame({"error": counts.index.astype(str), "trials": counts.to_numpy()})


def best_trial(trials: pd.DataFrame, metric: str, maximize: bool) -> pd.Series:
    """The trial with the best ``best_<metric>`` (else ``<metric>``) among non-failed trials.

    Running trials count: in a snapshot the leader may still be training.
    """
    score = score_column(trials, metric)
    if score is None:
        raise AnalysisError(f"no trial has reported a `{metric}` yet, so none is best")
    ok = trials[trials["status"].isin(PARETO_STATUSES) & np.isfinite(trials[score])]
    if ok.empty:
        raise AnalysisError("no trial has finished an epoch without failing, so none is best")
    index = Objective(score, "max" if maximize else "min").best_index(ok[score])
    return trials.loc[index]


def compare_test_metrics(test_metrics: dict[str, Any], synthetic: bool | None) -> pd.DataFrame:
    """Rows ``accuracy, log_loss, auc_macro, auc g..t``; columns ``model`` and the yardstick
    (``Bayes optimal`` on synthetic data, ``16-HLF DNN reference`` AUCs on real data)."""
    model = test_metrics.get("model")
    if not isinstance(model, dict):
        raise AnalysisError("test_metrics.json has no `model` object")
    rows = ["accuracy", "log_loss", "auc_macro"] + [f"auc {c}" for c in CLASSES]

    def flat(m: dict[str, Any]) -> dict[str, float]:
        auc = m.get("auc") if isinstance(m.get("auc"), dict) else {}
        values = {k: m.get(k) for k in rows[:3]} | {f"auc {c}": auc.get(c) for c in CLASSES}
        return {k: float(v) if isinstance(v, (int, float)) else np.nan for k, v in values.items()}

    table = pd.DataFrame({"model": flat(model)}, index=rows)
    bayes = test_metrics.get("bayes")
    if isinstance(bayes, dict):
        table["Bayes optimal"] = pd.Series(flat(bayes))
        table["model - Bayes"] = table["model"] - table["Bayes optimal"]
    elif synthetic is False:
        ref = {f"auc {c}": v for c, v in REFERENCE_AUC.items()}
        ref["auc_macro"] = float(np.mean(list(REFERENCE_AUC.values())))
        table["16-HLF DNN reference"] = pd.Series(ref)
    return table.rename_axis("metric").reset_index()


def operating_table(predictions: pd.DataFrame, synthetic: bool | None) -> pd.DataFrame:
    """Per class: AUC, background rejection at 50% and 90% signal efficiency, signal efficiency
    at 10% and 1% background, for the model and the Bayes optimum (synthetic) or the reference
    signal efficiencies (real data)."""
    model = rejection_table(predictions, "p_")
    out = pd.DataFrame({
        "class": list(CLASSES),
        "AUC": model["auc"].to_numpy(),
        "rejection @ 50% sig": model["rejection@0.5"].to_numpy(),
        "rejection @ 90% sig": model["rejection@0.9"].to_numpy(),
        "sig eff @ 10% bkg": model["sig_eff@0.1"].to_numpy(),
        "sig eff @ 1% bkg": model["sig_eff@0.01"].to_numpy(),
    })
    if all(f"bayes_{c}" in predictions.columns for c in CLASSES):
        bayes = rejection_table(predictions, "bayes_")
        out["Bayes AUC"] = bayes["auc"].to_numpy()
        out["Bayes rejection @ 50% sig"] = bayes["rejection@0.5"].to_numpy()
        out["Bayes rejection @ 90% sig"] = bayes["rejection@0.9"].to_numpy()
    elif synthetic is False:
        out["reference AUC"] = [REFERENCE_AUC[c] for c in CLASSES]
        for i, fpr in enumerate(REFERENCE_FPRS):
            out[f"reference sig eff @ {fpr:.0%} bkg"] = [REFERENCE_TPR[c][i] for c in CLASSES]
    return out
