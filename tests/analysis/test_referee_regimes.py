"""Refereeing the regime verdicts on awkward hand-made curves: a verdict needs evidence, and
evidence that is missing, contradictory or unsettled gives "undetermined", never a guess."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from jetstudy.analysis.curve_stats import curve_summary, swing
from jetstudy.analysis.regimes import REGIMES, assess_regimes, classify_regimes, known_reference

from tests.analysis.test_regimes import (BAYES, EPOCHS, _decay, _flat, _frames, _judge, _settled,
                                         _trial)

LN5 = math.log(5)


# --- non-finite epochs, short curves ----------------------------------------------------------

@pytest.mark.parametrize("where", [4, EPOCHS - 1])
@pytest.mark.parametrize("column", ["train", "val"])
def test_a_nan_or_inf_epoch_in_the_middle_or_at_the_end_is_unstable(where, column):
    train, val = _decay(1.4, 0.62), _decay(1.4, 0.63)
    (train if column == "train" else val)[where] = np.nan if where == 4 else np.inf
    r = _judge(_trial("x", train, val))
    assert r.loc["x", "regime"] == "unstable"
    assert f"non-finite loss at epoch {where + 1}" in r.loc["x", "reason"]


def test_a_single_epoch_is_judged_only_when_it_is_the_whole_run():
    r = _judge(_trial("one", [0.62], [0.63], max_epochs=1),
               _trial("cut", [0.62], [0.63], status="stopped"))
    assert r.loc["cut", "regime"] == "undetermined"
    assert r.loc["one", "regime"] == "good" and "its whole run is 1 epoch" in r.loc["one", "reason"]


def test_flat_at_the_prior_entropy_is_unstable_once_the_curve_shows_it():
    flat = [LN5] * EPOCHS
    r = _judge(_trial("flat", flat, flat, auc=0.5),
               _trial("five", flat[:5], flat[:5], status="stopped", auc=0.5),
               _trial("one", flat[:1], flat[:1], status="stopped", auc=0.5))
    assert r.loc["flat", "regime"] == r.loc["five", "regime"] == "unstable"
    assert r.loc["one", "regime"] == "undetermined"


# --- the training loss above the validation loss -------------------------------------------------

def test_train_loss_significantly_above_val_loss_reads_the_bias_from_the_val_loss():
    """An eval-mode training loss measured on an unlucky (or different) subset: 0.75 against a
    val loss of 0.62 at 16 sigma. The model is 3% from the Bayes loss on the validation jets,
    so it is not underfit (it was, from the training loss alone)."""
    r = _judge(_flat("subset", 0.75, 0.62), _flat("tiny", 1.20, 1.05, n_params=49))
    assert r.loc["subset", "regime"] == "good"
    assert "bias is read from the val loss" in r.loc["subset", "reason"]
    assert "val loss 0.62 is +0.02" in r.loc["subset", "reason"]
    assert r.loc["tiny", "regime"] == "underfit"  # far from L* on either split


def test_train_loss_above_val_loss_within_noise_keeps_the_train_loss_rule():
    r = _judge(_flat("noise", 0.625, 0.62))
    assert r.loc["noise", "regime"] == "good"
    assert r.loc["noise", "reason"].startswith("train loss 0.625")


# --- a reference that is no lower bound --------------------------------------------------------

def test_a_user_reference_above_every_loss_calls_nothing_good():
    """regimes.reference_loss 2.0, above every trial: against it everything was "good",
    the 49-parameter net too. Now no trial is good (undetermined), and the reference says why."""
    ref = known_reference({}, reference_loss=2.0)
    v = assess_regimes(*_frames(_flat("ok", 0.62, 0.63), _flat("tiny", 1.10, 1.11, n_params=49),
                                _flat("mem", 0.10, 0.90)), reference=ref)
    r = v.table.set_index("trial_id")
    assert r.loc["ok", "regime"] == r.loc["tiny", "regime"] == "undetermined"
    assert "L* is no lower bound (trial ok reached val loss 0.63)" in r.loc["tiny", "reason"]
    assert r.loc["mem", "regime"] == "overfit"  # the gap needs no reference
    assert v.reference.contradicted_by[0] == "ok"
    assert "NOT a lower bound" in v.reference.describe()


def test_a_reference_too_high_keeps_underfit_verdicts():
    """L* 0.70 where a trial reaches 0.55: a trial at 1.10 is underfit against any lower L*."""
    ref = known_reference({}, reference_loss=0.70)
    r = _judge(_flat("best", 0.54, 0.55), _flat("tiny", 1.10, 1.11), reference=ref)
    assert r.loc["tiny", "regime"] == "underfit"
    assert r.loc["best", "regime"] == "undetermined"


def test_beating_the_bayes_loss_by_noise_is_good_and_no_contradiction():
    """A val loss 2% below the Bayes loss (1.5 sigma): noise, not a broken reference."""
    v = assess_regimes(*_frames(_flat("lucky", 0.585, 0.588)), reference=BAYES)
    assert v.table.set_index("trial_id").loc["lucky", "regime"] == "good"
    assert v.reference.contradicted_by is None
    assert "NOT" not in v.reference.describe()


def test_the_proxy_reference_is_never_contradicted():
    v = assess_regimes(*_frames(_flat("a", 0.62, 0.63), _flat("b", 0.70, 0.71)))
    assert v.reference.source == "proxy" and v.reference.contradicted_by is None


# --- curves that zig-zag ---------------------------------------------------------------------------

def _zigzag(low: float, high: float, n: int = EPOCHS, settle: int = 3) -> list[float]:
    """Decays for ``settle`` epochs, then alternates between ``low`` and ``high``."""
    return _decay(1.4, low)[:settle] + [low if i % 2 == 0 else high for i in range(n - settle)]


@pytest.mark.parametrize("n", [EPOCHS, EPOCHS + 1])
def test_a_zigzagging_curve_is_undetermined_whichever_epoch_it_ends_on(n):
    """A learning rate too high: both losses jump between 0.62 and 0.80 every epoch. The
    median of the last three epochs is 0.80 or 0.62 by parity, which called the net underfit
    (35 sigma) or good; its final loss is not settled."""
    r = _judge(_trial("zz", _zigzag(0.62, 0.80, n), _zigzag(0.63, 0.82, n), max_epochs=n))
    assert r.loc["zz", "regime"] == "undetermined"
    assert "zig-zags by 0.19" in r.loc["zz", "reason"] and "not settled" in r.loc["zz", "reason"]


def test_a_zigzagging_val_loss_is_no_gap():
    """Only the val loss jumps (0.63/0.82): its last-3 median sat 23 sigma above a smooth
    train loss and was called overfit; the swing is no memorisation."""
    r = _judge(_trial("zz", _decay(1.4, 0.62), _zigzag(0.63, 0.82)))
    assert r.loc["zz", "regime"] == "undetermined"


def test_a_gap_or_a_bias_larger_than_the_zigzag_is_still_a_verdict():
    mem = _trial("mem", _zigzag(0.20, 0.26), _zigzag(0.90, 1.00))
    tiny = _trial("tiny", _zigzag(1.10, 1.20), _zigzag(1.11, 1.21))
    r = _judge(mem, tiny)
    assert r.loc["mem", "regime"] == "overfit" and "beyond its epoch-to-epoch zig-zag" in \
        r.loc["mem", "reason"]
    assert r.loc["tiny", "regime"] == "underfit"


@pytest.mark.parametrize("spike_at", range(1, 8))
def test_one_spike_anywhere_in_the_window_is_no_zigzag(spike_at):
    """A second-difference measure read a spike three epochs from the end as a zig-zag."""
    val = _decay(1.4, 0.63)
    val[-spike_at] = 0.80
    s = curve_summary(*_frames(_trial("s", _decay(1.4, 0.62), val))).iloc[0]
    assert s["swing_val"] == 0 and s["swing_train"] == 0
    regime = _judge(_trial("s", _decay(1.4, 0.62), val)).loc["s", "regime"]
    assert regime == "good"


def test_swing_of_smooth_alternating_and_short_curves():
    assert swing(np.array([0.6, 0.8] * 4)) == pytest.approx(0.2)
    assert swing(np.linspace(1.0, 0.6, 10)) == 0
    assert swing(np.array(_decay(1.4, 0.62))) == 0  # still falling: curved, but monotone
    assert swing(np.array([0.6, 0.9, 0.6, 0.6, 0.6, 0.9, 0.6])) == 0  # two isolated spikes
    assert math.isnan(swing(np.array([0.6, 0.8] * 3)))  # 6 epochs: too short to tell
    noise = np.random.default_rng(0).normal(0.6, 0.006, size=(500, 7))  # 1% epoch noise
    assert np.percentile([swing(row) for row in noise], 99) < 0.08 * 0.6 / 4


# --- old tables, statuses, the metric's direction -------------------------------------------------

def test_tables_without_standard_errors_still_get_every_verdict():
    r = _judge(_flat("ok", 0.62, 0.63, train_se=None), _flat("tiny", 1.10, 1.11, train_se=None),
               _flat("mem", 0.30, 0.90, train_se=None),
               _trial("cut", _decay(1.4, 0.62)[:2], _decay(1.4, 0.63)[:2], status="stopped",
                      train_se=None))
    assert r["regime"].to_dict() == {"ok": "good", "tiny": "underfit", "mem": "overfit",
                                     "cut": "undetermined"}
    assert r["gap_sigma"].isna().all()


@pytest.mark.parametrize("status, regime", [("completed", "good"), ("stopped", "undetermined"),
                                            ("running", "undetermined"),
                                            ("failed", "undetermined")])
def test_each_status_of_a_short_curve(status, regime):
    r = _judge(_trial("x", _settled(1.4, 0.62, 6), _settled(1.4, 0.63, 6), status=status,
                      max_epochs=EPOCHS if status != "completed" else 6))
    assert r.loc["x", "regime"] == regime


@pytest.mark.parametrize("metric", ["val_loss", "val_acc", "val_auc"])
def test_the_search_metric_does_not_change_the_verdicts(metric):
    """The rules read losses whatever the search maximised; a table of a val_acc study (whose
    best_epoch is the best accuracy's) gets the same verdicts."""
    trials, epochs = _frames(_flat("ok", 0.62, 0.63), _flat("tiny", 1.10, 1.11),
                             _flat("mem", 0.30, 0.90))
    trials["metric"] = metric
    trials["best_val_acc"] = [0.78, 0.60, 0.70]
    r = classify_regimes(trials, epochs, reference=BAYES).set_index("trial_id")["regime"]
    assert r.to_dict() == {"ok": "good", "tiny": "underfit", "mem": "overfit"}
    assert set(r) <= set(REGIMES)


def test_an_empty_trials_table_gives_an_empty_verdict_table():
    t, e = _frames(_flat("ok", 0.62, 0.63))
    out = classify_regimes(t.iloc[0:0], e.iloc[0:0], reference=BAYES)
    assert out.empty and "regime" in out.columns
    assert isinstance(classify_regimes(t, pd.DataFrame(columns=e.columns), reference=BAYES),
                      pd.DataFrame)


# --- a failure's error text ------------------------------------------------------------------------

@pytest.mark.parametrize("error, regime", [
    ("TrialDiverged: training loss became nan at epoch 3 (lr=0.3); lower the learning rate", "unstable"),
    ("PackedTrialDiverged: training loss became inf at epoch 2", "unstable"),
    ("FloatingPointError: overflow encountered", "unstable"),
    ("RayActorError: the actor died; see the worker logs for more information", "undetermined"),
    ("RuntimeError: CUDA error during inference", "undetermined"),
    ("NodeDiedError: node removed for maintenance", "undetermined"),
])
def test_only_a_divergence_in_a_failures_error_is_unstable(error, regime):
    """"nan|inf" matched inside words: a worker lost for maintenance, or an error pointing to
    'more information', made a failed trial unstable."""
    r = _judge(_trial("f", _decay(1.4, 0.62)[:4], _decay(1.4, 0.63)[:4], status="failed",
                      error=error))
    assert r.loc["f", "regime"] == regime


@pytest.mark.parametrize("value", [0, -0.5, float("nan"), "high"])
def test_a_reference_loss_that_is_no_loss_is_refused_by_name(value):
    from jetstudy.analysis.errors import AnalysisError

    with pytest.raises(AnalysisError, match="regimes.reference_loss is .*must be a loss in nats > 0"):
        known_reference({"bayes_val_loss": 0.6}, reference_loss=value)
    assert known_reference({"bayes_val_loss": 0.0}).source == "none"  # a broken reference.json


# --- tables as they come: a trial listed twice, whole numbers, missing text ---------------------

def test_a_trial_listed_twice_counts_once_with_its_last_row():
    """A crash (InvalidIndexError) before; the loader keeps the last row, so do the rules."""
    t, e = _frames(_flat("a", 0.62, 0.63), _flat("b", 1.10, 1.11))
    stale = t.iloc[[0]].assign(status="running")
    r = classify_regimes(pd.concat([stale, t]), e, reference=BAYES).set_index("trial_id")
    assert len(r) == 2 and r.loc["a", "regime"] == "good" and r.loc["b", "regime"] == "underfit"


def test_whole_number_losses_and_missing_error_text_are_read():
    t, e = _frames(_flat("a", 0.62, 0.63), _flat("b", 1.10, 1.11))
    t = t.assign(train_loss=[1, 1], val_loss=[1, 1], error=np.nan, status=["completed", np.nan])
    r = classify_regimes(t, e, reference=BAYES).set_index("trial_id")
    assert r.loc["a", "regime"] == "good" and r.loc["b", "status"] == ""
    assert r.loc["b", "regime"] == "underfit"  # ran max_epochs: complete whatever its status
