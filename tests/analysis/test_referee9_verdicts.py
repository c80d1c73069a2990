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
    assert "the best fully trained trial itself (trial small)" in notes
    assert "completed trial" not in notes
    text = how_big_paragraph(how_big(t, "val_acc", True, "n_params"), n_val=10000)
    assert "completed model" not in text and "fully trained model" in text


def test_the_complexity_curve_says_which_losses_it_plots():
    """The caption said "Final train and val loss" while the points are the judged losses (the
    median of each trial's last 3 epochs, regimes.csv's judged_* columns): a reader comparing a
    point with the last epoch's loss in trials.parquet found another number."""
    from jetstudy.analysis.complexity import complexity_curve
    from jetstudy.analysis.regimes import assess_regimes

    t = pd.DataFrame({
        "trial_id": list("abc"), "trial_number": [0, 1, 2], "status": "completed",
        "epochs": 6, "max_epochs": 6, "best_epoch": 6, "n_params": [100, 1000, 10000],
        "best_val_acc": [0.7, 0.75, 0.76], "best_val_loss": [0.8, 0.7, 0.69],
        "train_loss": [0.8, 0.65, 0.5], "val_loss": [0.8, 0.7, 0.69]})
    regimes = assess_regimes(t).table
    judged = complexity_curve(t, regimes, min_trials=1)
    assert judged.losses == "judged"
    old = regimes.drop(columns=[c for c in regimes if c.startswith("judged_")])
    assert complexity_curve(t, old, min_trials=1).losses == "last-epoch"


def test_sig_eff_at_one_percent_of_under_100_background_jets_is_undetermined():
    """1% of 80 background jets is under one jet: no cut lets 1% through, and the number is
    the efficiency with no background passing. It was printed as the 1% value with a bare
    flag "(1% bkg = 0 jets)"; it now leads with "undetermined" and calls the number a lower
    bound, while 10% of 80 (8 jets) keeps its plain number."""
    import numpy as np

    from jetstudy.analysis.summary import operating_table
    from jetstudy.trainables.schema import CLASSES

    labels = np.repeat(np.arange(len(CLASSES)), 20)
    rng = np.random.default_rng(0)
    probs = np.eye(len(CLASSES))[labels] * 0.3 + rng.uniform(0, 0.5, (len(labels), len(CLASSES)))
    pred = pd.DataFrame({"label": labels, **{f"p_{c}": probs[:, i] for i, c in enumerate(CLASSES)}})
    table = operating_table(pred, synthetic=False)
    for text in table["sig eff @ 1% bkg"]:
        assert text.startswith("undetermined: 1% of 80 bkg jets is under 1 jet"), text
        assert text.endswith("a lower bound)"), text
    assert not any(t.startswith("undetermined") for t in table["sig eff @ 10% bkg"])


def test_the_complexity_caption_names_the_judged_losses(tmp_path, make_study, write_study):
    from jetstudy.analysis.sections import PARTS
    from jetstudy.analysis.tables import load_tables

    from tests.analysis.conftest import words_only

    trials, epochs = make_study(n_trials=10, seed=13, asha=False)
    state = words_only(load_tables(write_study(tmp_path / "s", trials, epochs)))
    part = dict(PARTS)["complexity curve"]
    state.attempt("complexity curve", lambda: part(state))
    caption = next(s.caption for s in state.sections if s.title == "Complexity curve")
    assert caption.startswith("Judged train (eval mode) and val loss (each the median of its "
                              "trial's last 3 finite epochs")
    assert "Final train" not in caption
