"""Referee round 6 (importance): the importance of a search mixes completed trials with trials
ASHA stopped after a rung or two, whose scores are of fewer epochs; the report said nothing of
it (Optuna's own importance leaves pruned trials out). Now the count is carried and said."""

from __future__ import annotations

import numpy as np
import pandas as pd

from jetstudy.analysis.importance import hyperparameter_importance


def _trials(stopped: int) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    n = 12
    lr = 10 ** rng.uniform(-4, -2, n)
    return pd.DataFrame({
        "trial_id": [f"t{i}" for i in range(n)],
        "status": ["stopped"] * stopped + ["completed"] * (n - stopped),
        "depth": rng.integers(1, 4, n), "dropout": rng.uniform(0, 0.5, n), "lr": lr,
        "best_val_loss": 0.6 + 0.2 * np.abs(np.log10(lr) + 3) + rng.normal(0, 0.01, n)})


def test_the_stopped_trials_among_those_ranked_are_counted():
    assert hyperparameter_importance(_trials(5), None, "val_loss", False).n_stopped == 5
    assert hyperparameter_importance(_trials(0), None, "val_loss", False).n_stopped == 0


def test_the_report_says_how_many_ranked_trials_were_stopped_early(full_report):
    from jetstudy.analysis.tables import load_tables

    outcome = full_report.outcome
    text = (outcome.out_dir / "summary.md").read_text()
    part = text.split("## Hyperparameter importance", 1)[1].split("\n## ", 1)[0]
    trials = load_tables(outcome.out_dir.parent).trials
    finished = trials[trials["status"].isin(["completed", "stopped"])]
    finished = finished[np.isfinite(finished["best_val_loss"].astype(float))]
    stopped = int((finished["status"] == "stopped").sum())
    assert stopped > 0  # the shared study is an ASHA search
    assert (f"{stopped} of the {len(finished)} trials were stopped early (ASHA or the time "
            "budget)") in part, part
