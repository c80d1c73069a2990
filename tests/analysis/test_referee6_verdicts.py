"""Referee round 6 (verdicts): epochs counted one way, running medians by epoch number, mixed
regime-map cells, one digits rule for scores side by side, ties in pareto.csv."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from jetstudy.analysis import pareto, size_answer
from jetstudy.analysis.curve_stats import curve_summary
from jetstudy.analysis.intervals import equal_digits
from jetstudy.analysis.regimes import assess_regimes


def _log(epochs: list[int], val: list[float], train: list[float] | None = None) -> pd.DataFrame:
    n = len(epochs)
    return pd.DataFrame({
        "trial_id": "a", "epoch": epochs, "train_loss": train or [0.6] * n,
        "train_loss_running": np.nan, "val_loss": val, "val_acc": 0.7, "val_auc": 0.9,
        "train_loss_se": 0.004, "val_loss_se": 0.004, "n_params": 100,
        "time_s": np.arange(1, n + 1, dtype=float)})


def _row(log: pd.DataFrame, **kw) -> dict:
    from jetstudy.study.tables import trial_row

    return trial_row("a", {"depth": 1, "width_0": 8}, log, status=kw.get("status", "completed"),
                     error="", max_epochs=kw.get("max_epochs", 5), max_depth=1,
                     metric="val_loss", mode="min", batch_size=64)


def test_epochs_is_the_last_epoch_number_and_every_consumer_agrees():
    """A log with a gap (1, 2, 5) recorded epochs 3 while the curve's rules counted 5: without
    the epochs table the same trial read 'stopped after 3 of 5 epochs' (undetermined), with it
    complete. A resumed log that repeats an epoch counted it twice."""
    log = _log([1, 2, 5], [0.70, 0.66, 0.64])
    row = _row(log)
    assert row["epochs"] == 5 and row["best_epoch"] == 5
    assert _row(_log([1, 2, 2, 3], [0.7, 0.66, 0.66, 0.64]))["epochs"] == 3
    assert _row(log.iloc[:0])["epochs"] == 0
    trials = pd.DataFrame([{**row, "status": "stopped", "stop_reason": "scheduler"}])
    with_curve = assess_regimes(trials, log).table.iloc[0]
    table_only = assess_regimes(trials, None).table.iloc[0]
    assert with_curve["epochs_judged"] == table_only["epochs_judged"] == 5
    assert bool(with_curve["complete"]) and bool(table_only["complete"])
    assert curve_summary(trials, None)["n_epochs"].iloc[0] == 5


def test_the_running_median_takes_epochs_by_number_not_rows():
    """Epochs 4-9 missing from the log: a 3-row window put epoch 10 into epoch 3's median
    (0.8, not 0.7), moving the curve's minimum."""
    log = _log([1, 2, 3, 10, 11, 12], [1.0, 0.9, 0.5, 0.8, 0.85, 0.9])
    s = curve_summary(pd.DataFrame({"trial_id": ["a"], "epochs": [12]}), log).iloc[0]
    assert s["min_val"] == pytest.approx(0.7) and s["min_val_epoch"] == 3
    assert s["smooth_final_val"] == pytest.approx(0.875)
    assert s["val"] == pytest.approx(0.85)  # the last 3 epochs by number: 10, 11, 12


def test_a_zig_zag_is_read_only_over_consecutive_epochs():
    """Seven rows alternating high/low but with a gap (1-4, 10-12): the steps across the gap
    are no epoch-to-epoch zig-zag; the same seven epochs in a row are."""
    values = [0.6, 0.8] * 3 + [0.6]
    gapped = curve_summary(pd.DataFrame({"trial_id": ["a"], "epochs": [12]}),
                           _log([1, 2, 3, 4, 10, 11, 12], values)).iloc[0]
    assert np.isnan(gapped["swing_val"])
    whole = curve_summary(pd.DataFrame({"trial_id": ["a"], "epochs": [7]}),
                          _log(list(range(1, 8)), values)).iloc[0]
    assert whole["swing_val"] == pytest.approx(0.2)


def _map_tables(regimes: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    trials = pd.DataFrame({"trial_id": list("abcd"), "depth": [1, 1, 2, 2],
                           "width_0": [8, 9, 64, 64], "width_1": [np.nan, np.nan, 64, 64],
                           "status": "completed", "best_val_loss": [0.70, 0.60, 0.55, 0.56]})
    verdicts = pd.DataFrame({"trial_id": list("abcd"), "regime": regimes,
                             "judged_on_partial": False})
    return trials, verdicts


def test_a_tied_cell_is_mixed_with_its_counts_and_drawn_as_such():
    """a underfit, b good in one cell: it was coloured underfit (the first of REGIMES) while
    its printed lowest loss 0.60 is the good trial's; now 'mixed', its counts named."""
    from jetstudy.analysis import plots
    from jetstudy.analysis.maps import MIXED, regime_map

    trials, verdicts = _map_tables(["underfit", "good", "good", "good"])
    m = regime_map(trials, verdicts, "min_width", "depth", "val_loss", False)
    cells = m.cells.set_index(["y", "x"])
    tied = cells.loc[("1", "8–16")]
    assert tied["dominant"] == MIXED and tied["tied"] == "1 underfit, 1 good"
    assert tied["best"] == pytest.approx(0.60)
    clear = cells.loc[("2", "32–64")]
    assert clear["dominant"] == "good" and clear["tied"] == ""
    fig = plots.regime_maps_figure([m])
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert any(label.startswith("mixed") for label in labels)
    assert {"underfit", "good"} <= set(labels)  # the stripes' colours are explained
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert any("1 underfit\n1 good" in t for t in texts)


def _tied_table() -> pd.DataFrame:
    # aaa and bbb: same size, same scores; bbb was proposed first (trial_number 0)
    return pd.DataFrame({"trial_id": ["aaa", "bbb", "ccc", "ddd"], "trial_number": [1, 0, 2, 3],
                         "status": ["completed"] * 3 + ["stopped"], "n_params": [100, 100, 1000, 100],
                         "flops": [200, 200, 2000, 200],
                         "best_val_acc": [0.80, 0.80, 0.801, 0.80],
                         "best_val_loss": [0.6, 0.6, 0.59, 0.6],
                         "train_loss": 0.5, "val_loss": [0.6, 0.6, 0.59, 0.6]})


def test_pareto_csv_names_the_ties_the_notes_answer_and_export_name(tmp_path):
    from jetstudy.analysis.sections_pareto import pareto_table
    from jetstudy.study.export_meta import _size_answer
    from jetstudy.study.tables import write_parquet

    t = _tied_table()
    result = pareto.compute_pareto(t, "n_params", "val_acc", n_val=1000)
    table = pareto_table([result]).set_index("trial_id")
    assert table.loc["bbb", "tied_with"] == "aaa" and table.loc["aaa", "tied_with"] == "bbb"
    assert table.loc["ccc", "tied_with"] == "" and table.loc["ddd", "tied_with"] == ""
    assert bool(table.loc["bbb", "on_front"]) and not bool(table.loc["aaa", "on_front"])
    assert bool(table.loc["bbb", "smallest_within_tolerance"])
    assert any("Trial aaa ties trial bbb exactly" in n for n in pareto.pick_notes(result))
    answer = size_answer.how_big(t, "val_acc", True, "n_params")
    assert answer.pick["trial_id"] == "bbb"
    assert size_answer.answer_ties(answer, "pick") == table.loc["bbb", "tied_with"].split(";")
    write_parquet(t, tmp_path / "trials.parquet")
    export, why = _size_answer(tmp_path, "val_acc", "n_params")
    assert export is not None, why
    assert export["pick"]["trial_id"] == "bbb" and export["pick"]["tied_with"] == ["aaa"]
    own = pareto.search_front(t, "val_acc", True, "n_params")
    own_table = pareto_table([], own, ("best_val_acc", "n_params")).set_index("trial_id")
    assert own_table.loc["bbb", "tied_with"] == "aaa" and own_table.loc["ddd", "tied_with"] == ""


def test_scores_without_errors_share_one_digits_rule():
    """pick_notes computed '4 figures of the larger score' beside size_answer._digits: one
    helper (intervals.equal_digits) now serves both."""
    t = pd.DataFrame({"trial_id": ["a", "b"], "trial_number": [0, 1], "status": "completed",
                      "n_params": [100, 1000], "best_val_acc": [0.817, 0.8243]})
    result = pareto.compute_pareto(t, "n_params", "val_acc")  # no n_val: errors unknown
    pick_t, best_t, gap_t = equal_digits(0.817, 0.8243, float(result.gap))
    assert (pick_t, best_t, gap_t) == ("0.8170", "0.8243", "0.0073")
    assert any(f"scores {gap_t} below the best" in n for n in pareto.pick_notes(result))
    assert size_answer._digits is equal_digits


def test_the_collected_status_counts_epochs_by_their_last_number(tmp_path):
    """A log 1, 2, 3, 5 of a max_epochs-5 study was 4 rows: 'stopped' (and its stop reason a
    rung's) though its last epoch is the budget's; now completed, max_epochs, epochs 5."""
    import json

    from jetstudy.study.collect import build_tables
    from jetstudy.study.config import from_dict

    folder = tmp_path / "trials" / "gap"
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps({"depth": 1, "width_0": 8, "lr": 1e-3}))
    lines = [json.dumps({"epoch": e, "train_loss": 0.7, "val_loss": 0.7 + 0.01 * e,
                         "val_acc": 0.6, "val_auc": 0.8, "n_params": 100, "time_s": float(e),
                         "flops": 200}) for e in (1, 2, 3, 5)]
    (folder / "epochs.jsonl").write_text("\n".join(lines) + "\n")
    cfg = from_dict({"scheduler": {"max_epochs": 5, "grace_period": 1, "reduction_factor": 3}})
    trials, epochs = build_tables({"gap": ({"depth": 1, "width_0": 8, "lr": 1e-3}, "", "")}, cfg,
                                  str(tmp_path / "trials"))
    row = trials.iloc[0]
    assert (row["status"], row["stop_reason"], int(row["epochs"])) == ("completed", "max_epochs", 5)
    assert len(epochs) == 4


def _one(status: str, epochs: int, **kw) -> pd.DataFrame:
    row = {"trial_id": "a", "trial_number": 0, "status": status, "stop_reason": "", "error": "",
           "depth": 1, "widths": "8", "width_0": 8.0, "n_params": 800, "epochs": epochs,
           "max_epochs": np.nan, "train_loss": 0.65, "val_loss": 0.7, "val_acc": 0.7,
           "val_auc": 0.9, "train_loss_se": 0.004, "val_loss_se": 0.004, "best_val_loss": 0.7,
           "best_val_acc": 0.7, "best_epoch": epochs}
    return pd.DataFrame([{**row, **kw}])


def test_sentences_about_one_trial_or_one_epoch_are_singular():
    """'failed after 1 epochs', 'all 1 are undetermined ... 1 more have', 'every one of the 1
    trials is unstable', '1 trial that ran to the end (... their patience)'."""
    from jetstudy.analysis.complexity import complexity_curve
    from jetstudy.analysis.errors import AnalysisError
    from jetstudy.analysis.maps import _none_judged

    reason = assess_regimes(_one("failed", 1)).table["reason"].iloc[0]
    assert "failed after 1 epoch:" in reason
    assert "1 epoch so far" in assess_regimes(_one("running", 1)).table["reason"].iloc[0]
    assert "after 2 epochs" in assess_regimes(_one("stopped", 2)).table["reason"].iloc[0]
    df = pd.DataFrame({"trial_id": ["a"], "status": ["stopped"]})
    words = _none_judged(df, pd.DataFrame({"trial_id": ["a"], "reason": ["r"]}), "x", "y", 1)
    assert "the only trial is undetermined (stopped before its curve" in words
    assert "(1 more trial has no `x` or `y` value)" in words
    done = _none_judged(df.assign(status="completed"), pd.DataFrame(
        {"trial_id": ["a"], "reason": ["r"]}), "x", "y", 0)
    assert "the only trial is undetermined, though it ran to the end (see its reason" in done
    judged = pd.DataFrame({"trial_id": ["a"], "regime": ["good"], "judged_train_loss": [0.6],
                           "judged_val_loss": [0.62], "reference_loss": [0.6]})
    trials = pd.DataFrame({"trial_id": ["a"], "status": ["completed"], "n_params": [800]})
    assert complexity_curve(trials, judged).note == (
        "1 trial that ran to the end (max_epochs or its patience)")
    with pytest.raises(AnalysisError, match="the only trial is unstable .* the reason in"):
        complexity_curve(trials, judged.assign(regime="unstable"))


def test_a_runner_up_line_between_partial_scores_says_so():
    """Two ASHA-stopped trials (1 and 2 of 5 epochs): the lead compared models at different
    stages of training, unsaid; a completed best against a stopped runner-up names the one."""
    from jetstudy.analysis.summary import runner_up_line

    t = pd.DataFrame({"trial_id": ["a", "b"], "trial_number": [0, 1], "status": "stopped",
                      "epochs": [1, 2], "max_epochs": 5, "n_params": [10, 20],
                      "best_val_acc": [0.70, 0.72]})
    both = runner_up_line(t, "val_acc", True, n_val=1000)
    assert ("Trial b was stopped after 2 of 5 epochs and trial a was stopped after 1 of 5 "
            "epochs: their scores are of models still learning") in both
    one = runner_up_line(t.assign(status=["stopped", "completed"]), "val_acc", True, n_val=1000)
    assert "Trial a was stopped after 1 of 5 epochs: its score is of a model still" in one
    done = runner_up_line(t.assign(status="completed"), "val_acc", True, n_val=1000)
    assert "still learning" not in done


def test_a_size_answer_without_errors_says_the_noise_is_unknown():
    """A pick 1/10 the best's size, 0.001 below it, no validation size: the paragraph read as
    settled; now it says the comparison cannot be held against the noise (and not when it can)."""
    t = pd.DataFrame({"trial_id": ["a", "b"], "trial_number": [0, 1], "status": "completed",
                      "n_params": [100, 1000], "best_val_acc": [0.800, 0.801]})
    answer = size_answer.how_big(t, "val_acc", True, "n_params")
    assert answer.pick["trial_id"] == "a" and answer.best["trial_id"] == "b"
    text = size_answer.how_big_paragraph(answer)
    assert "The val_acc error is unknown (no validation-set size" in text
    assert "error is unknown" not in size_answer.how_big_paragraph(answer, n_val=1000)
    lone = size_answer.how_big(t.iloc[:1], "val_acc", True, "n_params")
    assert "error is unknown" not in size_answer.how_big_paragraph(lone)


def test_the_rise_rule_needs_logged_epochs_not_only_trained_ones():
    """A 10-epoch run logged at epochs 1 and 10 only: the val loss 'rose from its minimum at
    epoch 1' read two points as a trend (overfit); the same rise over a full log is overfit."""
    def table(epochs: list[int], val: list[float], train: list[float]) -> tuple:
        log = _log(epochs, val, train).assign(train_loss_se=0.002, val_loss_se=0.002)
        row = {**_row(log, max_epochs=10), "max_epochs": 10}
        return pd.DataFrame([row]), log

    two = assess_regimes(*table([1, 10], [0.60, 0.66], [0.65, 0.62])).table.iloc[0]
    assert two["regime"] != "overfit" and "rose" not in two["reason"]
    assert (two["epochs_judged"], two["epochs_logged"]) == (10, 2)
    full = assess_regimes(*table(list(range(1, 11)), [0.60] * 4 + [0.62, 0.64, 0.66] * 2,
                                 list(np.linspace(0.65, 0.62, 10)))).table.iloc[0]
    assert full["regime"] == "overfit" and "rose" in full["reason"]
    assert pd.isna(assess_regimes(table([1, 10], [0.6, 0.66], [0.65, 0.62])[0]).table[
        "epochs_logged"].iloc[0])


def test_a_pareto_pick_trained_more_than_once_gives_its_repeats_spread():
    """Three runs of one configuration (0.80, 0.78, 0.76) and a bigger model: the front named
    the luckiest run as the pick without saying the same configuration also scored 0.76."""
    t = pd.DataFrame({"trial_id": ["r1", "r2", "r3", "big"], "trial_number": [0, 1, 2, 3],
                      "status": "completed", "n_params": [100, 100, 100, 1000],
                      "depth": [1, 1, 1, 2], "widths": ["8", "8", "8", "32-16"],
                      "lr": [1e-3, 1e-3, 1e-3, 1e-3], "best_val_acc": [0.76, 0.80, 0.78, 0.801]})
    result = pareto.compute_pareto(t, "n_params", "val_acc", n_val=1000)
    assert result.pick["trial_id"] == "r2"
    note = [n for n in pareto.pick_notes(result) if "configuration was trained" in n]
    assert note == ["val_acc vs n_params: trial r2's configuration was trained 3 times (also trials r1, r3): "
                    "val_acc from 0.760 to 0.800, median 0.780; the pick is the best of its "
                    "repeats, so expect about the median."]
    alone = pareto.compute_pareto(t.iloc[1:], "n_params", "val_acc", n_val=1000)
    assert "r1" not in " ".join(pareto.pick_notes(alone))


def test_one_running_trial_is_said_in_the_singular():
    from jetstudy.analysis.study_state import study_state

    t = pd.DataFrame({"trial_id": ["a", "b"], "status": ["completed", "running"],
                      "stop_reason": ["max_epochs", ""]})
    (line,) = study_state(t, {"search": {"num_trials": 4}}).lines
    assert line.startswith("1 trial is still running") and "its curve is judged as it stands" in line
    two = study_state(t.assign(status="running"), None).lines[0]
    assert "their curves are judged as they stand" in two


def test_a_better_failed_trial_is_named_with_its_error():
    from jetstudy.analysis.summary import runner_up_line

    t = pd.DataFrame({"trial_id": ["a", "b", "c"], "trial_number": [0, 1, 2],
                      "status": ["completed", "completed", "interrupted"],
                      "n_params": [10, 20, 30], "best_val_auc": [0.90, 0.89, 0.95]})
    line = runner_up_line(t, "val_auc", True, n_val=1000, class_counts=[200] * 5)
    assert "Not ranked, though better: c (interrupted, val_auc 0.950 ± 0.005)" in line
    assert "c (interrupted, val_auc 0.9500)" in runner_up_line(t, "val_auc", True)


def test_a_curve_row_without_an_epoch_number_is_left_out_not_a_crash():
    """A hand-made epochs table (nullable Int64) with an empty epoch cell crashed the
    epoch-number windows (float() of NA); the row has no place on the curve."""
    log = _log([1, 2, 3, 4], [0.72, 0.70, 0.69, 0.68]).assign(
        epoch=pd.array([1, 2, None, 4], dtype="Int64"))
    trials = pd.DataFrame([{**_row(log.iloc[[0, 1, 3]], max_epochs=4), "max_epochs": 4}])
    row = assess_regimes(trials, log).table.iloc[0]
    assert (row["epochs_judged"], row["epochs_logged"]) == (4, 3)


def test_a_gap_just_under_its_floor_is_not_printed_as_the_floor():
    """val 0.70 against train 0.65: a 7.7% gap (8.8 sigma) under gap_floor 8% was printed
    '+8%' in a 'good' reason, reading as a gap at the floor called no gap."""
    from jetstudy.analysis.regime_thresholds import RegimeThresholds
    from jetstudy.analysis.significance import judge_diff

    t = RegimeThresholds()
    assert "(+7.7%, +8.8 sigma)" in judge_diff(0.05, 0.65, 2 * 0.004 ** 2, t, 0.08, 0.15).text
    assert "(+8.3%," in judge_diff(0.054, 0.65, 2 * 0.004 ** 2, t, 0.08, 0.15).text
    assert "(+17%," in judge_diff(0.1, 0.6, 2 * 0.004 ** 2, t, 0.08, 0.15).text  # far: as before
    row = {**_row(_log([1, 2, 3], [0.70] * 3, [0.65] * 3)), "max_epochs": 3}
    reason = assess_regimes(pd.DataFrame([row]), _log([1, 2, 3], [0.70] * 3, [0.65] * 3)).table
    assert "gap +0.0500 (+7.7%" in reason["reason"].iloc[0]
