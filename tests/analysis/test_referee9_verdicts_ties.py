"""Round 9 referee of the runner-up line (issue 8's class): a tie of more than two trials."""
from __future__ import annotations

import pandas as pd


def _three(same_config: bool) -> pd.DataFrame:
    return pd.DataFrame({
        "trial_id": ["a", "b", "c"], "trial_number": [0, 1, 2], "status": "completed",
        "n_params": [100] * 3, "depth": [2] * 3, "widths": ["[8, 8]"] * 3, "dropout": [0.1] * 3,
        "lr": [1e-3, 1e-3, 1e-3 if same_config else 3e-3], "best_val_acc": [0.8] * 3})


def test_a_three_way_tie_is_not_called_a_tie_of_two_runs():
    """Three trials at exactly the same val accuracy, a and b of one configuration, c of
    another: the line named only b ("an exact tie") and then said "the tie is between two runs
    of one configuration, not between configurations" -- c, another configuration, ties too."""
    from jetstudy.analysis.summary import runner_up_line

    line = runner_up_line(_three(False), "val_acc", True, n_val=1000)
    assert "Trial c ties at that score too: an exact tie of 3 trials." in line
    assert "not between configurations" not in line
    assert "repeats trial a's configuration" in line and "exactly the same score" in line
    # a tie of two stays as it was
    two = runner_up_line(_three(False).iloc[:2], "val_acc", True, n_val=1000)
    assert "not between configurations" in two and "exact tie of" not in two
