"""Referee round 6 (lead): the runner-up line's printed lead is the unrounded scores'
difference; where the printed scores differ by another amount (0.694 and 0.684 printed, "leads
by 0.009"), the line gives the unrounded scores so a reader's subtraction finds the lead."""

from __future__ import annotations

import pandas as pd

from jetstudy.analysis.summary import runner_up_line


def _table(acc: list[float]) -> pd.DataFrame:
    return pd.DataFrame({"trial_id": ["a", "b"], "trial_number": [0, 1],
                         "status": ["completed", "completed"], "n_params": [10, 20],
                         "best_val_acc": acc, "best_val_loss": [0.6, 0.61],
                         "val_loss_se": [0.004, 0.004]})


def test_a_lead_that_the_printed_scores_do_not_show_names_the_unrounded_scores():
    line = runner_up_line(_table([0.69364, 0.68424]), "val_acc", True, n_val=3300)
    assert "0.684 ± 0.008 against 0.694 ± 0.008" in line
    assert "leads by 0.009 ± 0.011 (the unrounded scores, 0.69364 and 0.68424" in line
    no_errors = runner_up_line(_table([0.69364, 0.68424]), "val_acc", True)
    assert "0.6842 against 0.6936" in no_errors and "leads by 0.0094;" in no_errors


def test_a_lead_the_printed_scores_show_adds_nothing():
    line = runner_up_line(_table([0.694, 0.684]), "val_acc", True, n_val=3300)
    assert "leads by 0.010 ± 0.011, within" in line and "unrounded" not in line
