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
