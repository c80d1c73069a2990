"""Round 9 referee of the size verdicts (issue 8's class): a hand-edited size must not change
which trial is called "the best" without a word."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


def _trials(size: float) -> pd.DataFrame:
    return pd.DataFrame({
        "trial_id": ["a", "b", "c"], "trial_number": [0, 1, 2], "status": "completed",
        "stop_reason": "max_epochs", "epochs": 6, "max_epochs": 6, "best_epoch": 6,
        "n_params": [4000, 400, size], "flops": [8000, 800, 100], "depth": [2, 1, 1],
        "widths": ["64-32", "16", "4"], "best_val_acc": [0.80, 0.75, 0.85],
        "best_val_loss": [0.6, 0.7, 0.5]})


@pytest.mark.parametrize("size", [0, -5, np.nan, np.inf])
def test_a_fully_trained_trial_without_a_size_is_named_where_it_is_left_out(size):
    """Trial c, fully trained and the best of the table (0.850; the Best-trial line names it),
    has n_params 0, negative, NaN or inf: the front and the size answer dropped it silently and
    called trial a (0.800) "the best fully trained trial/model", two "best"s in one report."""
    from jetstudy.analysis import pareto
    from jetstudy.analysis.size_answer import how_big, how_big_paragraph

    t = _trials(size)
    r = pareto.compute_pareto(t, "n_params", "val_acc", n_val=10000)
    assert r.best["trial_id"] == "a" and r.unsized == ("c",)
    notes = " ".join(pareto.pick_notes(r))
    assert "Left out: trial c, fully trained, whose `n_params` is not a size above 0" in notes
    assert "'the best' here is the best of the others" in notes
    text = how_big_paragraph(how_big(t, "val_acc", True, "n_params"), n_val=10000)
    assert "Left out: trial c, fully trained, whose `n_params` is not a size above 0" in text


def test_no_words_when_every_size_is_sound():
    from jetstudy.analysis import pareto
    from jetstudy.analysis.size_answer import how_big, how_big_paragraph

    t = _trials(40)
    r = pareto.compute_pareto(t, "n_params", "val_acc", n_val=10000)
    assert r.unsized == () and "Left out" not in " ".join(pareto.pick_notes(r))
    assert "Left out" not in how_big_paragraph(how_big(t, "val_acc", True, "n_params"),
                                               n_val=10000)


def test_undetermined_front_does_not_deny_the_unsized_full_run():
    """The only fully trained trial has no size, the other was stopped: the note said "no
    trial ran to completion" and then named that trial as fully trained."""
    from jetstudy.analysis import pareto

    t = _trials(np.nan).iloc[1:].assign(status=["stopped", "completed"], epochs=[2, 6],
                                        stop_reason=["asha", "max_epochs"])
    notes = " ".join(pareto.pick_notes(pareto.compute_pareto(t, "n_params", "val_acc",
                                                             n_val=10000)))
    assert "no trial with a size above 0 ran to completion" in notes
    assert "Left out: trial c, fully trained" in notes


def test_no_size_answer_says_why_when_every_full_run_is_unsized():
    """Every fully trained trial with n_params 0: how_big found nothing and the paragraph said
    "no trial ran to completion", beside notes naming those trials as fully trained."""
    from jetstudy.analysis.size_answer import how_big, how_big_paragraph, no_answer_reason

    t = _trials(0).assign(n_params=0)
    assert how_big(t, "val_acc", True, "n_params") is None
    why = no_answer_reason(t, "n_params")
    text = how_big_paragraph(None, why_none=why)
    assert "no trial ran to completion" not in text
    assert "the fully trained trials (a, b, c) have no `n_params` above 0" in text
    stopped = t.assign(status="stopped", epochs=2)
    assert no_answer_reason(stopped, "n_params") == "no trial ran to completion"
