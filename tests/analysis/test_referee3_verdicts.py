"""Refereeing the verdicts, round 3: runs whose whole budget is one or two epochs, thresholds at
their edges, metrics that are maximised, and the numbers' digits."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from jetstudy.analysis.intervals import format_error, percent, round_to_error
from jetstudy.analysis.maps import regime_map
from jetstudy.analysis.pareto import how_big, how_big_paragraph, smallest_within
from jetstudy.analysis.regimes import classify_regimes
from jetstudy.analysis.regime_thresholds import RegimeThresholds
from jetstudy.analysis.sections import _best
from jetstudy.analysis.significance import judge_diff
from jetstudy.analysis.study_state import study_state
from jetstudy.analysis.summary import best_epoch_loss_se
from jetstudy.analysis.tables import load_tables
from tests.analysis.test_referee2_report import build_report
from tests.analysis.test_regimes import _flat, _frames, _judge, _trial

LN5 = math.log(5)


# --- a complete run shorter than min_epochs is judged as trained ------------------------------

def test_a_complete_two_epoch_run_gets_every_verdict_its_final_losses_show():
    """max_epochs 2: good near L*, underfit far above it, overfit by a gap, unstable at the
    priors; a trial stopped after 2 of 10 epochs stays undetermined (a slow start may look the
    same). Every judged short run says its whole run was that short."""
    r = _judge(_trial("good", [0.8, 0.62], [0.8, 0.63], max_epochs=2),
               _trial("under", [1.1, 0.95], [1.1, 0.96], max_epochs=2),
               _trial("over", [0.7, 0.5], [0.8, 0.75], max_epochs=2),
               _trial("flat", [LN5, LN5], [LN5, LN5], max_epochs=2, auc=0.5),
               _trial("cut", [LN5, LN5], [LN5, LN5], status="stopped", auc=0.5),
               _trial("cut2", [1.1, 0.95], [1.1, 0.96], status="stopped"))
    assert r["regime"].to_dict() == {"good": "good", "under": "underfit", "over": "overfit",
                                     "flat": "unstable", "cut": "undetermined",
                                     "cut2": "undetermined"}
    for tid in ("good", "under", "over"):
        assert "its whole run is 2 epochs, fewer than regimes.min_epochs 3" in r.loc[tid, "reason"]
        assert bool(r.loc[tid, "complete"]) and not bool(r.loc[tid, "judged_on_partial"])
    assert "not only more capacity" in r.loc["under", "reason"]
    # the final loss of a 2-epoch run is epoch 2's, not the mean of epochs 1 and 2 (0.71)
    assert "train loss 0.62 " in r.loc["good", "reason"]
    assert r.loc["good", "min_val_loss"] == 0.63
    assert "whole run" not in r.loc["cut2", "reason"]


# --- the best validation loss carries its error ------------------------------------------------

def test_the_best_val_loss_error_is_its_best_epochs_per_jet_standard_error():
    """best_val_loss is the loss of best_epoch: its error is that epoch's val_loss_se, not the
    last epoch's; without the epoch the trials table's stands in; 0 or missing: no error."""
    trials = pd.DataFrame({"trial_id": ["a", "b", "c", "d"], "best_epoch": [2, 3, 1, np.nan],
                           "val_loss_se": [0.009, 0.008, 0.0, np.nan]})
    epochs = pd.DataFrame({"trial_id": ["a", "a", "a", "b", "c"], "epoch": [1, 2, 2, 1, 1],
                           "val_loss_se": [0.02, 0.5, 0.011, 0.03, 0.0]})
    se = best_epoch_loss_se(trials, epochs)
    assert se.iloc[0] == 0.011  # epoch 2's last row (a resumed log)
    assert se.iloc[1] == 0.008  # epoch 3 not logged: the table's last-epoch value
    assert np.isnan(se.iloc[2]) and np.isnan(se.iloc[3])
    assert best_epoch_loss_se(trials, None).tolist()[:2] == [0.009, 0.008]


def test_the_best_trial_table_gives_best_val_loss_with_its_error(tmp_path, make_study,
                                                                 write_study):
    trials, epochs = make_study(n_trials=6, seed=3)
    folder = write_study(tmp_path / "s", trials, epochs)
    state = build_report(load_tables(folder), ("Best trial",))
    (table,) = [t for _, t in _best(state).tables]
    rows = dict(zip(table["field"], table["value"]))
    t = trials.set_index("trial_id").loc[rows["trial_id"]]
    e = epochs[(epochs["trial_id"] == rows["trial_id"]) & (epochs["epoch"] == t["best_epoch"])]
    assert rows["best_val_loss"] == format_error(float(t["best_val_loss"]),
                                                 float(e["val_loss_se"].iloc[-1]))
    assert "±" in rows["best_val_loss"]


# --- regimes.csv's numbers: the digits their errors allow, no signed zeros ----------------------

def test_regimes_csv_numbers_have_the_digits_their_errors_allow_and_no_negative_zero():
    """Losses to their per-jet standard errors (PDG rule), the gap to its own error, sigmas to
    0.1, whole epochs; a val loss a hair below the train loss is a gap of 0, not -0.000."""
    r = _judge(_trial("a", [0.9, 0.7, 0.623456789], [0.9, 0.7, 0.631234567],
                      train_se=0.0031, val_se=0.0042),
               _trial("z", [0.9, 0.7, 0.62], [0.9, 0.7, 0.6199999], train_se=0.004,
                      val_se=0.007))
    a, z = r.loc["a"], r.loc["z"]
    assert a["final_train_loss"] == 0.6235 and a["final_val_loss"] == 0.631
    assert z["gap"] == 0.0 and math.copysign(1.0, z["gap"]) == 1.0
    assert a["gap_sigma"] == round(a["gap_sigma"], 1)
    assert str(r["epochs_judged"].dtype) == "Int64"
    text = r.reset_index().to_csv(index=False)
    assert "-0.0" not in text and "0.623456" not in text


def test_small_relative_differences_are_not_printed_as_zero_percent():
    """A 0.4% gap was '+0%' in the reason, a hair below '-0%', and -0.0 '-0'."""
    assert [percent(0.004), percent(0.005), percent(-0.00004), percent(-0.0), percent(0.17)] == [
        "+0.4%", "+0.5%", "-0.004%", "0%", "+17%"]
    t = RegimeThresholds()
    assert judge_diff(-0.0, 0.6, 0.0, t, 0.08, 0.15).text == "0 (0%, no spread: se 0)"
    assert "(+0.4%," in judge_diff(0.0024, 0.6, 1e-6, t, 0.08, 0.15).text
    assert format_error(-0.0, None) == "0" and round_to_error(-1e-5, 0.004) == 0.0


# --- the size answer and the validation noise -------------------------------------------------

def _sized(**columns) -> pd.DataFrame:
    n = len(columns["trial_id"])
    base = {"status": ["completed"] * n, "best_val_auc": [0.9] * n,
            "best_val_loss": [0.6] * n, "val_loss_se": [0.01] * n}
    return pd.DataFrame({**base, **columns})


def test_the_size_answer_says_when_a_much_smaller_model_is_within_noise_of_the_best():
    """400 validation jets: a 100-parameter model 0.78 against the best's 0.80 (both ± 0.02)
    is outside the 1% rule, so 'the best is also the smallest' was the whole answer; the
    validation set cannot tell them apart, and the answer now says so. On 40,000 jets it can."""
    t = _sized(trial_id=["small", "big"], n_params=[100, 10000], best_val_acc=[0.78, 0.80])
    answer = how_big(t, "val_acc", True, "n_params")
    assert answer.pick["trial_id"] == answer.best["trial_id"] == "big"
    text = how_big_paragraph(answer, None, 400, [80] * 5)
    assert "But trial small" in text and "cannot show that trial big needs its size" in text
    assert "But trial" not in how_big_paragraph(answer, None, 40000, [8000] * 5)
    assert "But trial" not in how_big_paragraph(answer)  # no split size: no noise to claim


def test_the_size_answer_with_a_loss_metric_and_flops_names_the_flops_it_compares():
    """metric val_loss (lower is better) by FLOPs: the noise check runs in the loss's own
    direction, and the sizes named include the FLOPs the ratio is taken of."""
    t = _sized(trial_id=["small", "big", "twin"], n_params=[100, 10000, 10000],
               flops=[200, 20000, 20000], best_val_acc=[0.795, 0.80, 0.80],
               best_val_loss=[0.605, 0.58, 0.58])
    answer = how_big(t, "val_loss", False, "flops")
    assert answer.best["trial_id"] == "big"  # an exact tie goes to the first trial id
    text = how_big_paragraph(answer, None, 400, [80] * 5)
    assert "20000 FLOPs per jet" in text and "at 1/100 of trial big's flops" in text
    worse = t.assign(best_val_loss=[0.70, 0.58, 0.58])  # 12 sigma worse: no noise sentence
    assert "But trial" not in how_big_paragraph(how_big(worse, "val_loss", False, "flops"),
                                                None, 400, [80] * 5)


def test_a_size_of_zero_is_no_answer():
    """A damaged row of 0 parameters was the 'smallest model' and its ratio divided by 0."""
    t = _sized(trial_id=["zero", "ok"], n_params=[0, 500], best_val_acc=[0.80, 0.80])
    answer = how_big(t, "val_acc", True, "n_params")
    assert answer.pick["trial_id"] == "ok"
    assert "trial ok" in how_big_paragraph(answer, None, 400, [80] * 5)


# --- a split too small to measure its noise ----------------------------------------------------

def test_a_one_jet_validation_split_gives_no_verdict_from_relative_thresholds():
    """One validation jet: its loss has no per-jet spread (NaN se). The table carries the
    errors, so this is no old table to judge on the 15% rule: a 30% 'gap' from one jet was
    'overfit'. A table without the columns is still judged on relative thresholds."""
    one = _flat("one", 0.62, 0.81, val_se=np.nan)
    fine = _flat("fine", 0.62, 0.63)
    r = _judge(one, fine)
    assert r.loc["one", "regime"] == "undetermined"
    assert "val loss has no standard error" in r.loc["one", "reason"]
    assert r.loc["fine", "regime"] == "good"
    old = _judge(_flat("old", 0.62, 0.81, train_se=None))
    assert old.loc["old", "regime"] == "overfit"
    assert "no standard errors in the table" in old.loc["old", "reason"]


# --- maps with a maximised metric ---------------------------------------------------------------

def test_a_map_cells_best_accuracy_is_never_an_infinite_damaged_value():
    """metric val_acc (mode max): a cell's best is the highest finite accuracy; an inf in a
    damaged row won the cell as 'inf' (Best trial already ignores it)."""
    t, e = _frames(*(_trial(f"t{i}", [0.9, 0.8] + [0.62] * 8, [0.9, 0.8] + [0.63] * 8,
                            n_params=n) for i, n in enumerate((100, 120, 10000))))
    t = t.assign(depth=[1, 1, 2], best_val_acc=[0.7, np.inf, 0.75])
    m = regime_map(t, classify_regimes(t, e), "n_params", "depth", "val_acc", True)
    assert sorted(m.cells["best"].dropna().tolist()) == [0.7, 0.75]


# --- thresholds met exactly: the last bit of a float decides nothing ----------------------------

def test_a_gap_exactly_at_gap_floor_is_not_beyond_it():
    """0.648 against 0.6 with no spread is a gap of exactly 8% = gap_floor: not 'overfit' by
    the 7e-17 that float subtraction adds; 8.01% is."""
    r = _judge(_flat("at", 0.6, 0.648, train_se=0.0, val_se=0.0),
               _flat("past", 0.6, 0.6481, train_se=0.0, val_se=0.0))
    assert r.loc["at", "regime"] == "good" and r.loc["past", "regime"] == "overfit"


def test_a_score_exactly_one_percent_from_the_best_is_within_one_percent():
    """0.989802 is 1% below 0.9998, yet 0.9998 - 0.01 * 0.9998 computes as 0.9898020000000001:
    the smaller model fell out of 'within 1%' (so for a loss 1% above the best)."""
    t = pd.DataFrame({"trial_id": ["small", "big"], "n_params": [10, 1000],
                      "acc": [0.989802, 0.9998], "loss": [1.615596, 1.5996]})
    assert smallest_within(t, "n_params", "acc")["trial_id"] == "small"
    assert smallest_within(t, "n_params", "loss", maximize=False)["trial_id"] == "small"
    sized = _sized(trial_id=["small", "big"], n_params=[10, 1000], best_val_acc=[0.8, 0.8],
                   best_val_auc=[0.989802, 0.9998])
    assert how_big(sized, "val_auc", True, "n_params").pick["trial_id"] == "small"



def test_a_trial_listed_twice_is_one_trial_in_the_study_state():
    """Two rows of one trial (a resumed log) made '3 of the 3 trials asked for' finished when
    only 2 trials ran; every other part takes a trial's last row."""
    t = pd.DataFrame({"trial_id": ["a", "a", "b"], "status": ["stopped", "completed", "completed"],
                      "stop_reason": ["scheduler", "max_epochs", "max_epochs"]})
    state = study_state(t, {"search": {"num_trials": 3}})
    assert state.n_trials == 2 and state.word == "ended early"


def test_user_cuts_at_the_edges_are_named_as_cuts_not_as_collapse():
    """auc_floor 1 and prior_margin 0.5 are allowed: they make a macro AUC of 0.9 or a loss of
    0.8 'unstable' by the user's cut, but the reason said 'the classes are not separated' and
    'no better than predicting the class priors', false of such a net."""
    auc = _judge(_flat("a", 0.62, 0.63), thresholds=RegimeThresholds(auc_floor=1.0))
    assert auc.loc["a", "regime"] == "unstable"
    assert "below the separation regimes.auc_floor asks for" in auc.loc["a", "reason"]
    assert "not separated" not in auc.loc["a", "reason"]
    wide = _judge(_flat("w", 0.85, 0.86), thresholds=RegimeThresholds(prior_margin=0.5))
    assert wide.loc["w", "regime"] == "unstable"
    assert "within regimes.prior_margin 50% of the class-prior entropy" in wide.loc["w", "reason"]
    flat = _judge(_trial("f", [LN5] * 10, [LN5] * 10, auc=0.5))
    assert "no better than predicting the class priors" in flat.loc["f", "reason"]


def test_a_reason_never_prints_a_rounded_loss_as_if_exact():
    """'val loss 1 is +0.183 above train loss 0.822' was a val loss of 1.005 (3 figures with
    their zeros stripped); an exact 0.62 stays 0.62."""
    r = _judge(_flat("o", 0.822, 1.005), _flat("g", 0.62, 0.63))
    assert "val loss 1.00 is" in r.loc["o", "reason"]
    assert "train loss 0.62 " in r.loc["g", "reason"]
