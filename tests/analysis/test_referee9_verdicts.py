"""Round 9 referee of the verdicts (issue 8's class): words that claim more than the numbers."""
from __future__ import annotations

import pandas as pd


def _pair(scores: list[float]) -> pd.DataFrame:
    return pd.DataFrame({"trial_id": ["a", "b"], "trial_number": [0, 1], "status": "completed",
                         "n_params": [100, 100], "depth": [2, 2], "widths": ["[8, 8]"] * 2,
                         "dropout": [0.1, 0.1], "lr": [1e-3, 1e-3], "best_val_acc": scores})


def test_a_repeat_that_ties_exactly_is_not_given_a_difference_to_explain():
    """Two runs of one configuration with exactly the same val accuracy: the line said "an
    exact tie" and then "their difference is training noise" -- there is no difference."""
    from jetstudy.analysis.summary import runner_up_line

    tie = runner_up_line(_pair([0.8, 0.8]), "val_acc", True, n_val=1000)
    assert "exact tie" in tie
    assert "difference" not in tie
    assert "repeats trial a's configuration" in tie and "exactly the same score" in tie
    apart = runner_up_line(_pair([0.81, 0.8]), "val_acc", True, n_val=1000)
    assert "their difference is training noise" in apart


def test_a_stopped_full_run_picked_as_best_is_not_called_completed():
    """A trial the time budget stopped after its last epoch is a candidate (it trained all of
    max_epochs) and here the best and the pick: the note called it "the best completed trial"
    beside the sentence saying its status is stopped."""
    from jetstudy.analysis import pareto
    from jetstudy.analysis.size_answer import how_big, how_big_paragraph

    t = pd.DataFrame({
        "trial_id": ["big", "small"], "trial_number": [0, 1],
        "status": ["completed", "stopped"], "stop_reason": ["max_epochs", "time_budget"],
        "epochs": [6, 6], "max_epochs": [6, 6], "best_epoch": [6, 6],
        "n_params": [4000, 400], "flops": [8000, 800], "depth": [2, 1], "widths": ["64-32", "16"],
        "best_val_acc": [0.70, 0.80], "best_val_loss": [0.7, 0.6]})
    r = pareto.compute_pareto(t, "n_params", "val_acc", n_val=10000)
    assert r.pick["trial_id"] == "small" == r.best["trial_id"]
    notes = " ".join(pareto.pick_notes(r))
    assert "the best fully trained trial itself (small)" in notes
    assert "completed trial" not in notes
    text = how_big_paragraph(how_big(t, "val_acc", True, "n_params"), n_val=10000)
    assert "completed model" not in text and "fully trained model" in text
