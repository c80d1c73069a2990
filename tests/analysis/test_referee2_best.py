"""Refereeing "the best trial", round 2: a trial listed twice, a table with nothing ranked."""

from __future__ import annotations

import pandas as pd
import pytest

from jetstudy.analysis.errors import AnalysisError
from jetstudy.analysis.summary import best_trial
from jetstudy.trainables.objective import Objective


def test_a_trial_listed_twice_counts_with_its_last_row():
    """A stale snapshot row of trial a (0.1) beside its final one (0.9): the stale value was
    named best, while the regimes and the loaded tables keep the last row."""
    t = pd.DataFrame({"trial_id": ["a", "b", "a"], "status": ["running", "completed", "completed"],
                      "n_params": [10, 20, 10], "best_val_loss": [0.1, 0.5, 0.9]})
    assert best_trial(t, "val_loss", False)["trial_id"] == "b"
    assert best_trial(t.iloc[::-1], "val_loss", False)["trial_id"] == "a"


def test_nothing_ranked_says_which_statuses_were_left_out():
    t = pd.DataFrame({"trial_id": ["a", "b"], "status": ["interrupted", "failed"],
                      "n_params": [10, 20], "best_val_acc": [0.7, 0.8]})
    with pytest.raises(AnalysisError, match=r"none is best \(the interrupted ones are not "
                                            r"ranked\)"):
        best_trial(t, "val_acc", True)


def test_an_exact_tie_between_epochs_keeps_the_first_epoch():
    """The loop's best epoch on a tie is the first one reaching the value (best.pt is not
    rewritten by an equal epoch), in both directions."""
    assert Objective.of("val_loss").best_index([0.7, 0.6, 0.6, 0.65]) == 1
    assert Objective.of("val_auc").best_index([0.8, 0.9, 0.9]) == 1
