"""run's end-of-study lines print the test scores with the report's digits: a score without
spread (a constant classifier's macro AUC, error 0) keeps 4 significant figures (0.5000), never
a bare 0.5 beside 0.951 ± 0.010."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd

from jetstudy.study.cli import _describe


def test_a_score_without_spread_keeps_four_figures() -> None:
    trials = pd.DataFrame({"trial_id": ["a"], "status": ["completed"], "error": [None]})
    outcome = SimpleNamespace(
        folder="results/x", trials=trials,
        count=lambda status: int((trials["status"] == status).sum()),
        test_metrics={"trial_id": "a", "epoch": 2,
                      "model": {"accuracy": 0.215, "accuracy_se": 0.029,
                                "auc_macro": 0.5, "auc_macro_se": 0.0},
                      "bayes": {"accuracy": 0.805, "accuracy_se": 0.029,
                                "auc_macro": 0.9508, "auc_macro_se": 0.010}})
    text = _describe(outcome)
    assert "accuracy 0.215 ± 0.029, macro AUC 0.5000" in text
    assert "macro AUC 0.951 ± 0.010" in text
