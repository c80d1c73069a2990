"""Refereeing the regime verdicts, round 2: zero spreads, zero and negative losses, logs with
missing or repeated epochs, studies too short to judge, a study with no stable trial."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from jetstudy.analysis.regimes import assess_regimes, classify_regimes

from tests.analysis.test_regimes import BAYES, EPOCHS, _flat, _frames, _judge, _settled, _trial

LN5 = math.log(5)


# --- standard errors of 0 and losses of 0 ------------------------------------------------------

def test_standard_errors_of_zero_are_no_noise_not_missing_errors():
    """Every jet with the same loss: the gap is exact, so the 8% floor decides (a 13% gap was
    'good' by the 15% rule of tables without errors, and said nothing about it)."""
    r = _judge(_flat("same", 0.62, 0.62, train_se=0.0, val_se=0.0),
               _flat("gap", 0.62, 0.70, train_se=0.0, val_se=0.0))
    assert r.loc["gap", "regime"] == "overfit"
    assert "no spread: se 0" in r.loc["gap", "reason"]
    assert r.loc["gap", "gap_sigma"] == math.inf
    assert r.loc["same", "regime"] == "good" and r.loc["same", "gap_sigma"] == 0.0


def test_a_zero_loss_gives_no_infinite_percentages():
    """Train and val loss both 0 (against the study's own best, 0): no gap, not '+inf%'."""
    r = _judge(_flat("zero", 0.0, 0.0), reference=None)
    assert r.loc["zero", "regime"] == "good"
    assert "inf" not in r.loc["zero", "reason"]
    assert r.loc["zero", "gap"] == 0.0
    memorised = _judge(_flat("mem", 0.0, 0.3), reference=None)
    assert memorised.loc["mem", "regime"] == "overfit"
    assert "of a zero loss" in memorised.loc["mem", "reason"]


def test_a_negative_loss_is_no_verdict_and_no_yardstick():
    """A cross-entropy below 0 (a damaged table) is undetermined, and neither makes the
    Bayes L* 'no lower bound' for every other trial nor becomes the proxy L*."""
    r = _judge(_flat("neg", -0.1, -0.05), _flat("ok", 0.62, 0.63))
    assert r.loc["neg", "regime"] == "undetermined"
    assert "no cross-entropy" in r.loc["neg", "reason"]
    assert r.loc["ok", "regime"] == "good"
    proxy = assess_regimes(*_frames(_flat("neg", 0.5, -0.05), _flat("ok", 0.62, 0.63)))
    assert proxy.reference.source == "proxy" and proxy.reference.proxy_trial == "ok"


# --- logs with missing, repeated or unsorted epochs ---------------------------------------------

def test_epochs_missing_from_the_log_do_not_reach_back_to_the_first_epochs():
    """Only epochs 1, 2 and 10 logged: the final loss is epoch 10's, not the median of the
    three rows (which was epoch 2's 1.09: 'underfit')."""
    t, e = _frames(_flat("gappy", 0.62, 0.63))
    r = classify_regimes(t, e[e["epoch"].isin([1, 2, EPOCHS])], None, BAYES).set_index("trial_id")
    assert r.loc["gappy", "regime"] == "good"
    assert "train loss 0.62" in r.loc["gappy", "reason"]


def test_an_epoch_logged_twice_counts_once_with_its_last_row():
    """A resumed trial re-ran its last epochs: the stale rows neither vote in the median of
    the last three epochs nor change the order."""
    t, e = _frames(_flat("resumed", 0.62, 0.63))
    stale = e.tail(3).assign(train_loss=0.95, val_loss=0.96)
    shuffled = pd.concat([stale, e]).sample(frac=1.0, random_state=1)
    r = classify_regimes(t, shuffled, None, BAYES).set_index("trial_id")
    assert r.loc["resumed", "regime"] == "good"
    assert r.loc["resumed", "final_train_loss"] == 0.62


# --- studies too short to judge, studies with no stable trial -------------------------------------

def test_complete_curves_shorter_than_min_epochs_are_judged_as_trained_and_say_so():
    """A study run with max_epochs 1 or 2 completes every trial: each is judged on its final
    losses (round 3: underfit needs only the train loss against L*), and the reason says the
    whole run was that short; a stopped 2-epoch trial stays undetermined."""
    r = _judge(_trial("e1", [0.7], [0.71], max_epochs=1),
               _trial("e2", [0.8, 0.7], [0.8, 0.71], max_epochs=2),
               _trial("cut", [0.8, 0.7], [0.8, 0.71], status="stopped"))
    assert r.loc["e1", "regime"] == r.loc["e2", "regime"] == "underfit"
    assert r.loc["cut", "regime"] == "undetermined"
    assert r["complete"].tolist() == [True, True, False]
    for tid, n in (("e1", "1 epoch,"), ("e2", "2 epochs,")):
        assert f"its whole run is {n} fewer than regimes.min_epochs 3" in r.loc[tid, "reason"]
    assert "min_epochs" not in r.loc["cut", "reason"]


def test_a_study_where_every_trial_is_unstable_names_why_there_is_no_reference():
    """All trials at the class priors: they have finite losses, so 'no trial has a finite
    loss' was false; the reference sentence says none is stable."""
    flat = [LN5] * EPOCHS
    v = assess_regimes(*_frames(_trial("a", flat, flat, auc=0.5),
                                _trial("b", _settled(1.7, LN5), flat, auc=0.51)))
    assert (v.table["regime"] == "unstable").all()
    assert v.reference.loss is None
    text = v.reference.describe()
    assert "no trial has a finite loss below the prior entropy" in text
    assert "sits at the class priors" in text
    assert np.isnan(v.table["reference_loss"]).all()


# --- a user's L* below the Bayes loss ------------------------------------------------------------

def test_a_user_reference_below_the_bayes_loss_is_no_evidence_of_underfitting():
    """regimes.reference_loss 0.3 on synthetic jets whose Bayes loss is 0.60: a model 7% above
    the Bayes loss of its training jets was 'underfit' against a bound no classifier reaches.
    Underfit stands only where the loss is significantly above the Bayes loss too."""
    from jetstudy.analysis.regimes import known_reference

    bayes = {"prior_entropy": LN5, "bayes_val_loss": 0.60, "bayes_val_loss_se": 0.004,
             "bayes_train_loss": 0.58, "bayes_train_loss_se": 0.003}
    ref = known_reference(bayes, 0.3)
    assert ref.source == "user" and ref.loss == 0.3 and ref.below_bayes
    r = _judge(_flat("near", 0.62, 0.63), _flat("far", 0.9, 0.91), reference=ref)
    assert r.loc["near", "regime"] == "undetermined"
    assert "below the Bayes-optimal loss 0.58 of the training jets" in r.loc["near", "reason"]
    assert "set regimes.reference_loss >= 0.6" in r.loc["near", "reason"]
    assert r.loc["far", "regime"] == "underfit"  # far above the Bayes loss as well
    assert "BELOW the Bayes-optimal validation loss 0.6" in ref.describe()
    above = known_reference(bayes, 0.61)  # a user L* above the optimum: no such doubt
    assert not above.below_bayes
    assert _judge(_flat("near", 0.62, 0.63), reference=above).loc["near", "regime"] == "good"
    real = known_reference({"prior_entropy": LN5}, 0.3)  # real data: no Bayes loss known
    assert not real.below_bayes
    assert _judge(_flat("near", 0.62, 0.63), reference=real).loc["near", "regime"] == "underfit"


# --- the proxy L* is a measurement too -----------------------------------------------------------

def test_the_proxy_reference_carries_its_own_noise():
    """The study's best val loss on a small validation split (se 0.05) stands in for L*: a
    trial 17% above it was underfit at 5 sigma counting only its own training noise; with the
    proxy's noise it is 1.9 sigma, so no verdict of bias, and the reason says it is more than
    15% above L* (it said 'within 15%')."""
    v = assess_regimes(*_frames(_flat("best", 0.58, 0.60, train_se=0.05, val_se=0.05),
                                _flat("other", 0.70, 0.72, train_se=0.02, val_se=0.02)))
    assert v.reference.source == "proxy" and v.reference.se == 0.05
    r = v.table.set_index("trial_id")
    assert r.loc["other", "regime"] == "good"
    assert "+1.9 sigma" in r.loc["other", "reason"]
    assert "more than 15% above it, but not significantly (z = 3)" in r.loc["other", "reason"]
    # best sits 19% below its yardstick (other's 0.72): no 'within 15%' of it (round 8)
    assert "more than 15% below it: no bias" in r.loc["best", "reason"]


def test_a_log_that_ends_before_the_trial_did_is_not_its_curve():
    """The epochs table lost the last 7 of 10 epochs: the trial was judged on epoch 3 (train
    1.09: 'underfit'); the trials table's last-epoch losses (0.62, 0.63) judge it instead."""
    t, e = _frames(_flat("cut_log", 0.62, 0.63))
    r = classify_regimes(t, e[e["epoch"] <= 3], None, BAYES).set_index("trial_id")
    assert r.loc["cut_log", "regime"] == "good"
    assert r.loc["cut_log", "epochs_judged"] == EPOCHS
    assert r.loc["cut_log", "final_train_loss"] == 0.62
