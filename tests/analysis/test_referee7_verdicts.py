"""Referee round 7 (verdicts): a map cell says what it holds, the proxy L* never judges a
trial against itself, a table whose error columns are all empty, and the shared helpers of
the mends (repeats, epochs words, tied regimes by name)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from jetstudy.analysis.regimes import assess_regimes
from tests.analysis.test_regimes import _flat, _frames, _judge


def _map_tables(regimes: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    n = len(regimes)
    trials = pd.DataFrame({"trial_id": [f"t{i}" for i in range(n)], "depth": [1] * (n - 1) + [2],
                           "width_0": [8] * (n - 1) + [64], "status": "completed",
                           "best_val_loss": np.linspace(0.6, 0.7, n)})
    verdicts = pd.DataFrame({"trial_id": trials["trial_id"], "regime": regimes,
                             "judged_on_partial": False})
    return trials, verdicts


# --- a regime-map cell says what it holds ------------------------------------------------------

def test_a_cell_neither_unanimous_nor_tied_prints_its_counts():
    """2 good, 1 overfit: coloured good, but its label printed only 'n=3', hiding the overfit
    trial; a unanimous cell prints no counts; a tie keeps its regimes by name."""
    from jetstudy.analysis import plots
    from jetstudy.analysis.maps import regime_map

    trials, verdicts = _map_tables(["good", "overfit", "good", "good"])
    m = regime_map(trials, verdicts, "min_width", "depth", "val_loss", False)
    cells = m.cells.set_index(["y", "x"])
    mixed = cells.loc[("1", "8–16")]
    assert mixed["dominant"] == "good" and mixed["counts"] == "2 good, 1 overfit"
    assert mixed["tied"] == "" and tuple(mixed["tied_names"]) == ()
    assert cells.loc[("2", "32–64")]["counts"] == ""
    assert "n=3\n2 good\n1 overfit" in plots._cell_text(mixed)  # the label, without a figure
    assert plots._cell_text(cells.loc[("2", "32–64")]).endswith("n=1")
    trials, verdicts = _map_tables(["underfit", "good", "overfit", "good"])
    verdicts.loc[2, "judged_on_partial"] = True  # complete curves decide: a 1:1 tie
    tied = regime_map(trials, verdicts, "min_width", "depth", "val_loss",
                      False).cells.set_index(["y", "x"]).loc[("1", "8–16")]
    assert tied["dominant"] == "mixed" and tuple(tied["tied_names"]) == ("underfit", "good")
    # what the cell holds, all of it; the partial trial apart from the deciding ones
    assert tied["counts"] == "1 underfit, 1 good, 1 overfit (p)"


def test_a_cell_whose_complete_curves_decide_marks_its_partial_counts():
    """2 good on partial curves and 1 overfit on a complete one: the cell is coloured overfit
    (complete curves decide) while its label read '2 good, 1 overfit', as if good led; the
    partial counts are marked, and the maps' caption says what the mark means."""
    from types import SimpleNamespace

    from jetstudy.analysis import plots, sections
    from jetstudy.analysis.maps import regime_map

    trials, verdicts = _map_tables(["good", "overfit", "good", "good"])
    verdicts.loc[[0, 2], "judged_on_partial"] = True
    m = regime_map(trials, verdicts, "min_width", "depth", "val_loss", False)
    cell = m.cells.set_index(["y", "x"]).loc[("1", "8–16")]
    assert cell["dominant"] == "overfit" and cell["counts"] == "1 overfit, 2 good (p)"
    assert "n=3\n1 overfit\n2 good (p)" in plots._cell_text(cell)
    words = sections._cell_words(SimpleNamespace(best_word="lowest"), [m])
    assert "(p): trials judged on incomplete curves" in words
    assert "(those judged on complete curves, where the cell has any)" in words
    unmarked = regime_map(*_map_tables(["good", "overfit", "good", "good"]), "min_width",
                          "depth", "val_loss", False)
    words = sections._cell_words(SimpleNamespace(best_word="lowest"), [unmarked])
    assert "(p)" not in words and "where the cell has any" not in words


# --- the proxy L* never judges a trial against itself -----------------------------------------

def test_the_best_trial_is_judged_against_the_other_trials_best_not_its_own():
    """Proxy L* = the study's best val loss (trial 'best', 0.58). The best trial was judged
    against its own loss ('good': equal to itself); now against the best of the others."""
    r = _judge(_flat("best", 0.55, 0.58), _flat("other", 0.62, 0.63), reference=None)
    assert r.loc["other", "judged_reference_loss"] == pytest.approx(0.58)
    assert r.loc["best", "judged_reference_loss"] == pytest.approx(0.63)
    assert r.loc["best", "regime"] == "good"
    assert "trial other's min_val_loss" in r.loc["best", "reason"]
    assert r["reference_loss"].iloc[0] == pytest.approx(0.58)  # the study's L* unchanged
    t, e = _frames(_flat("best", 0.55, 0.58), _flat("other", 0.62, 0.63))
    words = assess_regimes(t, e).reference.describe()
    assert "trial best's min_val_loss" in words and "against trial other's" in words
    alone = _judge(_flat("only", 0.55, 0.58), reference=None)
    assert alone.loc["only", "regime"] == "undetermined"


# --- a table whose error columns are all empty ---------------------------------------------------

def test_all_empty_error_columns_are_judged_on_relative_thresholds_and_say_so():
    """An older or hand-made table whose train_loss_se/val_loss_se columns are there but empty
    left every trial undetermined ('its split has fewer than 2 jets'); it is judged like a
    table without them, and the reason says no uncertainty is available and how to get one.
    A table where only some trials lack them keeps those undetermined."""
    empty = {"train_se": np.nan, "val_se": np.nan}
    r = _judge(_flat("mem", 0.60, 0.66, **empty), _flat("wide", 0.60, 0.72, **empty))
    assert r.loc["mem", "regime"] == "good" and r.loc["wide", "regime"] == "overfit"
    for tid in ("mem", "wide"):
        assert "no uncertainty available" in r.loc[tid, "reason"]
        assert "train_loss_se" in r.loc[tid, "reason"] and "jetstudy rerun" in r.loc[tid, "reason"]
    some = _judge(_flat("one", 0.62, 0.81, val_se=np.nan), _flat("fine", 0.62, 0.63))
    assert some.loc["one", "regime"] == "undetermined"
    assert "val loss has no standard error" in some.loc["one", "reason"]
    both = _judge(_flat("two", 0.62, 0.81, **empty), _flat("fine", 0.62, 0.63))
    assert "train and val losses have no standard error" in both.loc["two", "reason"]


# --- mends: one helper each --------------------------------------------------------------------

def test_repeats_spread_is_one_helper_and_names_repeats_first_proposed_first():
    """The Pareto notes and the size answer computed a pick's repeats range/median each on
    its own; the size answer listed the repeats in row order ('also trials c, a' for a table
    read in another order) where the notes listed them first proposed first."""
    from jetstudy.analysis.size_answer import how_big, how_big_paragraph
    from jetstudy.analysis.trial_order import repeat_spread

    t = pd.DataFrame({"trial_id": list("cbad"), "trial_number": [2, 1, 0, 3],
                      "status": ["completed"] * 4, "n_params": [100, 100, 100, 1000],
                      "depth": [1, 1, 1, 2], "widths": ["8", "8", "8", "32-16"],
                      "lr": [1e-3] * 4, "best_val_acc": [0.785, 0.80, 0.795, 0.801]})
    spread = repeat_spread(t, t.iloc[1], "best_val_acc")
    assert (spread.ids, spread.n, spread.low, spread.high) == (["a", "c"], 3, 0.785, 0.80)
    assert spread.median == pytest.approx(0.795)
    assert repeat_spread(t, t.iloc[3], "best_val_acc") is None
    text = how_big_paragraph(how_big(t, "val_acc", True, "n_params"), n_val=1000)
    assert ("trained 3 times (also trials a, c): val_acc from 0.785 to 0.800, median "
            "0.795") in text


def test_how_far_a_trial_got_is_said_one_way():
    """regimes' reasons and the summary's runner-up line each spelt 'after N of M epochs'; a
    trial whose epoch count is unknown read 'stopped after an unknown number of of 5 epochs'."""
    from jetstudy.analysis.regimes import epochs_words
    from jetstudy.analysis.summary import _partial_words

    assert epochs_words(3, 5) == "3 of 5 epochs" and epochs_words(1, np.nan) == "1 epoch"
    assert epochs_words(np.nan, 5) == "an unknown number of the 5 epochs"
    row, log = _flat("cut", 0.62, 0.63)
    t = pd.DataFrame([{**row, "status": "stopped", "stop_reason": "scheduler", "epochs": np.nan}])
    reason = assess_regimes(t, None).table["reason"].iloc[0]
    assert "stopped after an unknown number of the 10 epochs by the scheduler" in reason
    best = pd.Series({"trial_id": "a", "status": "completed"})
    second = pd.Series({"trial_id": "b", "status": "stopped", "epochs": 1, "max_epochs": 5})
    assert "Trial b was stopped after 1 of 5 epochs" in _partial_words(best, second)


def test_a_stopped_trial_that_ran_its_whole_budget_is_no_model_still_learning():
    """Status 'stopped' after 6 of 6 epochs (the time budget ended it after its last epoch):
    regimes.csv calls the curve complete, but the runner-up line said 'stopped after 6 of 6
    epochs: its score is of a model still learning' and the importance counted it stopped."""
    from jetstudy.analysis.importance import _n_cut_short
    from jetstudy.analysis.summary import _partial_words

    full = pd.Series({"trial_id": "a", "status": "stopped", "epochs": 6, "max_epochs": 6})
    cut = pd.Series({"trial_id": "b", "status": "stopped", "epochs": 2, "max_epochs": 6})
    assert _partial_words(full, full.copy()) == ""
    assert "Trial b was stopped after 2 of 6 epochs: its score" in _partial_words(full, cut)
    row, _ = _flat("a", 0.62, 0.63)
    t = pd.DataFrame([{**row, "status": "stopped", "stop_reason": "time_budget"}])
    assert bool(assess_regimes(t, None).table["complete"].iloc[0])
    both = pd.DataFrame({"status": ["stopped", "stopped", "completed"], "epochs": [6, 2, 6],
                         "max_epochs": [6, 6, 6]})
    assert _n_cut_short(both) == 1


def test_a_sigma_that_rounds_to_z_gets_the_decimals_to_tell_them_apart():
    """A 10% gap at 3.04 sigma (z = 3) read '+10%, +3.0 sigma' in an overfit reason (3.0 is
    not beyond 3) and 2.96 sigma the same in a good one; regimes.csv's gap_sigma likewise."""
    import math

    se = 0.03
    over = _flat("over", 0.6, 0.6 + 3.04 * math.hypot(se, se), train_se=se, val_se=se)
    under = _flat("under", 0.6, 0.6 + 2.96 * math.hypot(se, se), train_se=se, val_se=se)
    r = _judge(over, under)
    assert r.loc["over", "regime"] == "overfit" and "+3.04 sigma" in r.loc["over", "reason"]
    assert r.loc["under", "regime"] == "good" and "+2.96 sigma" in r.loc["under", "reason"]
    assert r.loc["over", "gap_sigma"] == pytest.approx(3.04)
    at = _judge(_flat("far", 0.6, 0.6 + 5.04 * math.hypot(se, se), train_se=se, val_se=se))
    assert "+5.0 sigma" in at.loc["far", "reason"] and at.loc["far", "gap_sigma"] == 5.0


def test_a_lead_that_rounds_to_the_noise_threshold_gets_its_decimals():
    """A lead of 1.97 standard errors read 'within the validation noise (2.0 sigma, < 2)'
    and one of 2.04 'a significant lead (2.0 sigma)'."""
    import math

    from jetstudy.analysis.summary import runner_up_line

    se = 0.004
    for z, words in ((1.97, "(1.97 sigma, < 2)"), (2.04, "a significant lead (2.04 sigma)")):
        t = pd.DataFrame({"trial_id": list("ab"), "trial_number": [0, 1],
                          "status": "completed", "n_params": [100, 200],
                          "best_val_loss": [0.6, 0.6 + z * math.hypot(se, se)],
                          "val_loss_se": [se, se]})
        assert words in runner_up_line(t, "val_loss", False)


def test_a_lead_that_rounds_to_zero_shows_the_unrounded_scores():
    """0.8051 against 0.8049 with errors 0.013: 'val_acc 0.805 ± 0.013 against 0.805 ± 0.013:
    the best leads by 0.000 ± 0.018' left the reader no number that shows which is higher."""
    from jetstudy.analysis.summary import runner_up_line

    t = pd.DataFrame({"trial_id": list("ab"), "trial_number": [0, 1], "status": "completed",
                      "n_params": [100, 200], "best_val_acc": [0.8051, 0.8049]})
    line = runner_up_line(t, "val_acc", True, n_val=1000)
    assert "leads by 0.000 ± 0.018 (the unrounded scores, 0.80510 and 0.80490" in line
    tie = runner_up_line(t.assign(best_val_acc=0.8), "val_acc", True, n_val=1000)
    assert "exact tie" in tie and "unrounded" not in tie


def test_the_size_answer_has_no_table_note_for_one_trial():
    """One completed trial: 'the table below can name a smaller model' spoke of models that
    do not exist."""
    from jetstudy.analysis.size_answer import how_big, how_big_paragraph

    t = pd.DataFrame({"trial_id": list("abc"), "trial_number": [0, 1, 2], "status": "completed",
                      "n_params": [100, 1000, 5000], "best_val_loss": [0.61, 0.605, 0.60],
                      "best_val_acc": [0.79, 0.795, 0.80], "val_loss_se": [0.004] * 3})
    loss = how_big_paragraph(how_big(t, "val_loss", False, "n_params"), n_val=1000)
    assert "accuracy 0.795 ± 0.013 against 0.800 ± 0.013 for the best" in loss
    assert "The table below" in loss
    one = how_big_paragraph(how_big(t.iloc[:1], "val_loss", False, "n_params"), n_val=1000)
    assert "accuracy 0.790 ± 0.013." in one and "The table below" not in one


def test_a_time_budget_that_cut_no_trial_says_no_trial():
    """Fewer trials than asked for under a time budget, none of them cut by it: 'before it
    finished: 0 trials were cut short by it'."""
    from jetstudy.analysis.study_state import study_state

    t = pd.DataFrame({"trial_id": list("ab"), "status": "completed",
                      "stop_reason": "max_epochs"})
    state = study_state(t, {"search": {"num_trials": 8, "time_budget_s": 60}})
    assert state.word == "time budget"
    assert "no trial was cut short by it" in state.lines[0] and "0 trials" not in state.lines[0]
    assert "2 of the 8 trials asked for (search.num_trials) were started" in state.lines[0]


def test_one_undetermined_trial_is_said_in_the_singular():
    """'1 of 6 trials is undetermined (their curves cannot show a regime ...): counted in
    their cells' (tiny edit in task G's sections._map_lines)."""
    from types import SimpleNamespace

    from jetstudy.analysis.sections import _map_lines

    def lines(regimes: list[str]) -> str:
        r = SimpleNamespace(regimes=pd.DataFrame({"regime": regimes}), kind="scan",
                            t=SimpleNamespace(config={"scheduler": {"type": "fifo"}}))
        return _map_lines(r)[0]

    one = lines(["good"] * 5 + ["undetermined"])
    assert one.startswith("1 of 6 trials is undetermined (its curve cannot show a regime")
    assert "its reason is in regimes.csv): counted in its cell as" in one
    two = lines(["good"] * 4 + ["undetermined"] * 2)
    assert "2 of 6 trials are undetermined (their curves" in two and "in their cells" in two


def test_the_importance_part_counts_stopped_trials_in_good_english():
    """'1 of the 12 trials were stopped early: their values are ...', and 'all stopped' read
    '6 of the 6 trials ... fewer epochs than the completed trials'' with none completed."""
    from jetstudy.analysis.sections import _stopped_words

    assert _stopped_words(1, 12, "ASHA").startswith(
        "1 of the 12 trials was stopped early (ASHA): its value is of fewer epochs than the "
        "completed trials'")
    assert _stopped_words(3, 12, "ASHA").startswith("3 of the 12 trials were stopped early "
                                                    "(ASHA): their values are")
    every = _stopped_words(6, 6, "ASHA")
    assert every.startswith("All 6 trials were stopped early") and "completed" not in every


def test_a_pick_smaller_than_every_trial_tried_says_none_smaller_was_tried():
    """The pick is the smallest trial of the whole study: 'smaller models were not trained to
    the end' spoke of stopped trials that do not exist; a smaller stopped trial keeps it."""
    from jetstudy.analysis.pareto import compute_pareto, pick_notes
    from jetstudy.analysis.size_answer import how_big, how_big_paragraph

    t = pd.DataFrame({"trial_id": ["aaa", "bbb", "ccc"], "trial_number": [0, 1, 2],
                      "status": ["completed", "completed", "stopped"],
                      "n_params": [50, 100, 500], "best_val_acc": [0.80, 0.79, 0.7],
                      "best_val_loss": [0.6, 0.61, 0.8]})
    none = "No fully trained trial is smaller than trial aaa: no smaller model was tried at all"
    assert none in how_big_paragraph(how_big(t, "val_acc", True, "n_params"))
    assert any(none in n for n in pick_notes(compute_pareto(t, "n_params", "val_acc")))
    some = t.assign(n_params=[50, 100, 20])  # a smaller model, stopped early
    text = how_big_paragraph(how_big(some, "val_acc", True, "n_params"))
    assert "smaller models were not trained to the end" in text and none not in text


def test_a_loss_exactly_at_the_underfit_tolerance_reads_within_it():
    """Train loss 0.805 against L* 0.7 is 15% up to the last bit (0.10500000000000004): the
    rule calls it no excess, but the reason said 'more than 15% above it, but not
    significantly (z = 3)' beside '+26.3 sigma'."""
    from jetstudy.analysis.regimes import known_reference

    ref = known_reference({"bayes_val_loss": 0.70, "bayes_val_loss_se": 0.004})
    r = _judge(_flat("b", 0.805, 0.81, train_se=0.0, val_se=0.0), reference=ref)
    assert r.loc["b", "regime"] == "good" and "within 15%" in r.loc["b", "reason"]
    assert "but not significantly" not in r.loc["b", "reason"]


def test_a_zig_zag_just_over_gap_floor_prints_the_decimals_that_show_it():
    """A val loss swinging 0.05 on 0.6 (8.3%) read 'zig-zags by 0.05 (8%) ..., more than
    gap_floor 8%'."""
    from tests.analysis.test_regimes import _trial

    r = _judge(_trial("z", [0.60] * 10, [0.65, 0.60] * 5, train_se=0.0, val_se=0.0))
    assert r.loc["z", "regime"] == "undetermined"
    assert "zig-zags by 0.05 (8.3%) from epoch to epoch" in r.loc["z", "reason"]
