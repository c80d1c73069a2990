"""Referee round 5 (verdicts): the bootstrap's macro AUC when a class has one test jet."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from jetstudy.analysis.intervals import bootstrap_replicates
from jetstudy.study.evaluate import score_test_split


def _probs(n: int, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).dirichlet(np.ones(5), n)


def test_a_resampling_that_loses_a_class_has_no_macro_auc():
    """One t jet among 101: the ~37% of resamplings without it averaged the 4 other classes'
    AUCs, mixing 4-class and 5-class means in one spread; now they have no macro AUC."""
    labels = np.array([0, 1, 2, 3] * 25 + [4])
    reps = bootstrap_replicates(labels, {"m": _probs(len(labels))}, n_boot=60, seed=0)["m"]
    lost = np.isnan(reps["auc_4"])
    assert 0 < lost.sum() < 60
    assert np.array_equal(np.isnan(reps["auc_macro"]), lost)
    five = np.mean([reps[f"auc_{c}"] for c in range(5)], axis=0)
    assert reps["auc_macro"][~lost] == pytest.approx(five[~lost])


def test_a_class_absent_from_the_test_jets_leaves_every_macro_defined():
    labels = np.array([0, 1, 2, 3] * 25)  # no t jet at all: the macro is over 4 classes
    reps = bootstrap_replicates(labels, {"m": _probs(len(labels))}, n_boot=30, seed=0)["m"]
    assert np.isfinite(reps["auc_macro"]).all()
    four = np.mean([reps[f"auc_{c}"] for c in range(4)], axis=0)
    assert reps["auc_macro"] == pytest.approx(four)


def test_the_test_metrics_say_how_many_resamplings_had_no_macro_auc():
    labels = np.array([0, 1, 2, 3] * 25 + [4])
    out = score_test_split(labels, _probs(len(labels)), _probs(len(labels), 2), n_boot=40)
    reps = bootstrap_replicates(labels, {"m": _probs(len(labels))}, n_boot=40, seed=0)["m"]
    assert out["uncertainty"]["auc_macro_undefined"] == int(np.isnan(reps["auc_macro"]).sum()) > 0
    m = out["model"]
    assert m["auc_macro_se"] is not None and m["auc_macro_se"] > 0
    # at least the error of a mean of the classes' errors (the one t jet's Hanley-McNeil)
    assert m["auc_macro_se"] >= np.sqrt(sum(v ** 2 for v in m["auc_se"].values())) / 5 - 1e-12
    assert out["model_minus_bayes"]["auc_macro_se"] is not None


def test_too_few_resamplings_with_a_macro_auc_fall_back_on_the_classes_errors():
    """Two jets of the t class among 4: most resamplings lose a class; the spread of the few
    left is not the error, the classes' errors are."""
    labels = np.array([0, 1, 4, 4])
    out = score_test_split(labels, _probs(len(labels)), n_boot=40)
    assert out["uncertainty"]["auc_macro_undefined"] > 20
    m = out["model"]
    ses = [v for v in m["auc_se"].values() if v is not None]
    assert m["auc_macro_se"] == pytest.approx(np.sqrt(np.sum(np.square(ses))) / len(ses))


def _tied_table() -> pd.DataFrame:
    # aaa and bbb: same size, same scores; bbb was proposed first (trial_number 0)
    return pd.DataFrame({"trial_id": ["aaa", "bbb", "ccc"], "trial_number": [1, 0, 2],
                         "status": ["completed"] * 3, "n_params": [100, 100, 1000],
                         "best_val_acc": [0.80, 0.80, 0.801],
                         "best_val_loss": [0.6, 0.6, 0.59]})


def test_a_duplicate_point_is_named_the_same_everywhere_and_the_tie_is_said():
    """Two trials with the same size and score: one point on the front; the front, the pick,
    the size answer and the export's selection all name the first proposed (bbb, though aaa
    comes first in the table and by id), and the report's notes and paragraph say aaa ties it."""
    from jetstudy.analysis.pareto import compute_pareto, exact_ties, pick_notes
    from jetstudy.analysis.size_answer import answer_ties, how_big, how_big_paragraph

    t = _tied_table()
    r = compute_pareto(t, "n_params", "val_acc", n_val=1000)
    assert list(r.front["trial_id"]) == ["bbb", "ccc"] and r.pick["trial_id"] == "bbb"
    assert exact_ties(r.points, r.pick, "cost", "score") == ["aaa"]
    assert any("Trial aaa ties trial bbb exactly" in n for n in pick_notes(r))
    answer = how_big(t, "val_acc", True, "n_params")
    assert answer.pick["trial_id"] == "bbb" and answer_ties(answer, "pick") == ["aaa"]
    assert answer_ties(answer, "best") == []
    text = how_big_paragraph(answer, n_val=1000)
    assert "trial bbb (100 parameters)" in text and "Trial aaa ties trial bbb exactly" in text
    reversed_rows = how_big(t.iloc[::-1], "val_acc", True, "n_params")
    assert reversed_rows.pick["trial_id"] == "bbb"
    loss = how_big(t, "val_loss", False, "n_params")  # mode min: ccc alone, no tie to report
    assert loss.pick["trial_id"] == "ccc" and "ties" not in how_big_paragraph(loss, n_val=1000)


def test_the_export_selection_names_the_tie(tmp_path):
    from jetstudy.study.export_meta import _size_answer
    from jetstudy.study.tables import write_parquet

    t = _tied_table().assign(train_loss=[0.5, 0.5, 0.5], val_loss=[0.6, 0.6, 0.59])
    write_parquet(t, tmp_path / "trials.parquet")
    answer, why = _size_answer(tmp_path, "val_acc", "n_params")
    assert answer is not None, why
    assert answer["pick"]["trial_id"] == "bbb" and answer["pick"]["tied_with"] == ["aaa"]
    assert answer["best"]["trial_id"] == "ccc" and answer["best"]["tied_with"] == []


def _ranked_table(acc: list[float], loss: list[float]) -> pd.DataFrame:
    return pd.DataFrame({"trial_id": ["a", "b", "c"], "trial_number": [0, 1, 2],
                         "status": ["completed", "stopped", "failed"], "n_params": [10, 20, 30],
                         "best_val_acc": acc, "best_val_loss": loss,
                         "val_loss_se": [0.004, 0.004, 0.004]})


def test_the_best_trials_lead_over_the_runner_up_is_stated_against_the_noise():
    """'Best trial' named the best but not whether it stands out: the runner-up, the lead with
    its error and its significance, in the metric's own direction (max: val_acc; min:
    val_loss); a failed trial (c, better score) is no runner-up."""
    from jetstudy.analysis.summary import runner_up_line

    t = _ranked_table([0.80, 0.79, 0.90], [0.60, 0.61, 0.50])
    small = runner_up_line(t, "val_acc", True, n_val=1000)
    assert small.startswith("Runner-up: trial b, val_acc 0.790 ± 0.013 against 0.800 ± 0.013")
    assert "leads by 0.010 ± 0.018, within the validation noise (0.6 sigma" in small
    big = runner_up_line(t, "val_acc", True, n_val=100_000)
    assert "leads by 0.0100 ± 0.0018, a significant lead (5.5 sigma)" in big
    unknown = runner_up_line(t, "val_acc", True)  # no validation size: no error, no verdict
    assert "leads by 0.0100;" in unknown and "cannot be said" in unknown
    loss = runner_up_line(t, "val_loss", False)  # mode min: the lower loss leads
    assert "val_loss 0.610 ± 0.004 against 0.600 ± 0.004" in loss
    assert "leads by 0.010 ± 0.006, within the validation noise (1.8 sigma" in loss
    tie = runner_up_line(_ranked_table([0.8, 0.8, 0.8], [0.6] * 3), "val_acc", True, n_val=1000)
    assert "an exact tie; trial a is best by the tie-break" in tie
    assert "one ranked trial" in runner_up_line(t.iloc[:1], "val_acc", True)
    assert runner_up_line(t.iloc[2:], "val_acc", True) is None  # only a failed trial


def test_a_proxy_made_from_the_only_trial_does_not_call_it_good():
    """One stable trial and no Bayes loss: L* is its own best val loss, so 'good' said only
    that it equals itself; with a second trial the best is good against the proxy as before."""
    from jetstudy.analysis.regimes import assess_regimes
    from tests.analysis.test_regimes import _flat, _frames

    alone = assess_regimes(*_frames(_flat("one", 1.2, 1.22)))
    row = alone.table.iloc[0]
    assert row["regime"] == "undetermined" and "L* is this trial's own" in row["reason"]
    assert "only stable trial" in alone.reference.describe()
    two = assess_regimes(*_frames(_flat("one", 0.6, 0.62), _flat("two", 1.2, 1.22)))
    verdicts = two.table.set_index("trial_id")["regime"]
    assert verdicts["one"] == "good" and verdicts["two"] == "underfit"
    overfit = assess_regimes(*_frames(_flat("mem", 0.3, 0.9))).table.iloc[0]
    assert overfit["regime"] == "overfit"  # the gap is no circle: still judged


def test_a_size_answer_with_nothing_smaller_compared_says_so():
    """One completed trial (the other stopped): 'the best is also the smallest within 1%'
    compared it with nothing; a pick smaller than every other trial bounds the size from
    above only."""
    from jetstudy.analysis.pareto import compute_pareto, pick_notes
    from jetstudy.analysis.size_answer import how_big, how_big_paragraph

    t = pd.DataFrame({"trial_id": ["aaa", "bbb"], "trial_number": [0, 1],
                      "status": ["completed", "stopped"], "n_params": [100, 50],
                      "best_val_acc": [0.80, 0.70], "best_val_loss": [0.6, 0.8]})
    alone = "Trial aaa is the only fully trained trial: no other model was compared"
    assert any(alone in n for n in pick_notes(compute_pareto(t, "n_params", "val_acc")))
    assert alone in how_big_paragraph(how_big(t, "val_acc", True, "n_params"))
    both = t.assign(status="completed", n_params=[50, 100], best_val_acc=[0.80, 0.79])
    text = how_big_paragraph(how_big(both, "val_acc", True, "n_params"))
    assert "No fully trained trial is smaller than trial aaa" in text
    bigger_best = both.assign(best_val_acc=[0.799, 0.80])  # pick aaa (smallest), best bbb
    text = how_big_paragraph(how_big(bigger_best, "val_acc", True, "n_params"))
    assert "is trial aaa" in text and "No fully trained trial is smaller than trial aaa" in text
    fine = both.assign(n_params=[100, 50], best_val_acc=[0.80, 0.70])  # smaller one compared
    assert "No fully trained trial is smaller" not in how_big_paragraph(
        how_big(fine, "val_acc", True, "n_params"))


def test_a_runner_up_of_the_same_configuration_is_named_a_repeat():
    from jetstudy.analysis.summary import runner_up_line

    config = {"depth": [2, 2, 3], "widths": ["32-16", "32-16", "64-32-16"], "lr": [1e-3] * 3}
    t = _ranked_table([0.80, 0.79, 0.78], [0.60, 0.61, 0.62]).assign(
        status="completed", **config)
    text = runner_up_line(t, "val_acc", True, n_val=100_000)
    assert "a significant lead (5.5 sigma)" in text
    assert "Trial b repeats trial a's configuration (depth, widths, lr alike)" in text
    other = t.assign(lr=[1e-3, 2e-3, 1e-3])
    assert "repeats" not in runner_up_line(other, "val_acc", True, n_val=100_000)


def test_one_test_jet_has_no_errors_not_zero_errors():
    """A single test jet: every resampling is a copy of it, so the bootstrap said log loss
    ± 0 and model - Bayes ± 0 (fake certainty); now no error (None), the accuracy keeps its
    binomial floor, and a study without any macro AUC counts no 'lost' resamplings."""
    from jetstudy.analysis.intervals import binomial_se
    from jetstudy.analysis.summary import compare_test_metrics

    p = np.array([[0.6, 0.1, 0.1, 0.1, 0.1]])
    out = score_test_split(np.array([0]), p, p, n_boot=10)
    assert out["model"]["log_loss_se"] is None and out["bayes"]["log_loss_se"] is None
    assert out["model"]["accuracy_se"] == pytest.approx(binomial_se(1.0, 1))
    assert all(v is None for k, v in out["model_minus_bayes"].items() if k != "auc_se")
    assert "auc_macro_undefined" not in out["uncertainty"]
    table = compare_test_metrics(out, synthetic=True).set_index("metric")
    assert table.loc["log_loss", "model"] == "0.5108" and table.loc["log_loss", "model - Bayes"] == "0.0000"


def test_importance_of_trials_left_with_one_value_is_refused():
    """Four trials, two without an lr: the two kept had the same loss, and optuna's zeros were
    shared out equally (lr 0.5, depth 0.5): a finding from nothing."""
    from jetstudy.analysis.errors import AnalysisError
    from jetstudy.analysis.importance import hyperparameter_importance

    t = pd.DataFrame({"trial_id": list("abcd"), "status": ["completed"] * 4,
                      "depth": [1, 2, 3, 2], "lr": [1e-3, 1e-2, np.nan, np.nan],
                      "best_val_loss": [0.6, 0.6, 0.9, 0.8]})
    with pytest.raises(AnalysisError, match="same .0.6. for all 2 finished trials with every"):
        hyperparameter_importance(t, None, "val_loss", False, min_trials=2)


def test_a_size_answer_whose_configuration_was_repeated_names_the_spread():
    """Three runs of one configuration: the answer names the luckiest (b, 0.800); the
    paragraph gives the repeats' range and median instead of presenting b's score alone."""
    from jetstudy.analysis.size_answer import how_big, how_big_paragraph

    t = pd.DataFrame({"trial_id": list("abcd"), "trial_number": [0, 1, 2, 3],
                      "status": ["completed"] * 4, "n_params": [100, 100, 100, 1000],
                      "depth": [1, 1, 1, 2], "widths": ["8", "8", "8", "32-16"],
                      "lr": [1e-3] * 4, "best_val_acc": [0.795, 0.80, 0.785, 0.801],
                      "best_val_loss": [0.6, 0.6, 0.61, 0.59]})
    text = how_big_paragraph(how_big(t, "val_acc", True, "n_params"), n_val=1000)
    assert "is trial b (hidden layers 8, 100 parameters)" in text
    assert ("Trial b's configuration was trained 3 times (also trials a, c): val_acc from "
            "0.785 to 0.800, median 0.795") in text
    alone = how_big_paragraph(how_big(t.assign(lr=[1e-3, 1e-3, 2e-3, 1e-3]), "val_acc", True,
                                      "n_params"), n_val=1000)
    assert "trained 2 times (also trial a)" in alone


def test_a_better_trial_that_failed_is_named_beside_the_best():
    """c reached val_acc 0.90 before it failed: never best (its run did not end sound), but
    the report said nothing of it; a lower loss of a failed trial likewise (mode min)."""
    from jetstudy.analysis.summary import runner_up_line

    t = _ranked_table([0.80, 0.79, 0.90], [0.60, 0.61, 0.50])
    # round 6: with its error, as the runner-up's (was a bare 0.9 beside 0.800 ± 0.013)
    assert ("Not ranked, though better: c (failed, val_acc 0.900 ± 0.009); a failed or "
            "interrupted trial is never best.") in runner_up_line(t, "val_acc", True, n_val=1000)
    assert "c (failed, val_loss 0.500 ± 0.004)" in runner_up_line(t, "val_loss", False)
    worse = t.assign(best_val_acc=[0.80, 0.79, 0.70])
    assert "Not ranked" not in runner_up_line(worse, "val_acc", True)
    assert "Not ranked, though better: c" in runner_up_line(t.iloc[[0, 2]], "val_acc", True)


def test_a_loss_at_the_priors_is_printed_to_the_entropys_decimals():
    """'train loss 1.61 is no better than predicting the class priors (H = 1.6094 nats)': the
    loss read 3 figures beside H's 4 decimals, so a loss 0.0004 under H looked equal to it."""
    import math as _math

    from tests.analysis.test_regimes import _judge as judge
    from tests.analysis.test_regimes import _trial as trial

    h = _math.log(5)
    flat = judge(trial("f", [h - 0.0004] * 10, [h - 0.0003] * 10, auc=0.5))
    reason = flat.loc["f", "reason"]
    assert f"{h - 0.0004:.4f}" in reason and "H = 1.6094" in reason, reason


def test_a_signed_difference_keeps_the_zeros_its_rounding_made():
    """'train loss 0.682 is +0.1 (+17%, ...) from L* 0.582' (the demo): an excess of 0.09996
    printed as +0.1, which reads as exact beside +0.298 and +0.0739; it is +0.100."""
    from jetstudy.analysis.intervals import signed
    from jetstudy.analysis.regimes import known_reference
    from tests.analysis.test_regimes import _flat, _judge

    assert signed(0.09996) == "+0.100" and signed(0.1) == "+0.1"
    assert signed(-0.000528) == "-0.000528" and signed(-0.0) == "0"
    ref = known_reference({"prior_entropy": 1.6094, "bayes_val_loss": 0.582,
                           "bayes_val_loss_se": 0.002})
    reason = _judge(_flat("u", 0.68196, 0.684), reference=ref).loc["u", "reason"]
    assert "+0.100 (" in reason and "+0.1 (" not in reason, reason
