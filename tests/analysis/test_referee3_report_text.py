"""Referee, round 3 (task G): the report's sentences and tables for unusual studies. A single
trial is "1 trial" run "1 at a time"; a study whose trials were all interrupted says once why
there is no Pareto front; a size-aware search's own front prints each score with its error,
to the digits of that error, as the rest of the Pareto part does. Hand-made study folders."""

from __future__ import annotations

import copy
import json
import re
from types import SimpleNamespace

from jetstudy.analysis.intervals import binomial_se, format_error
from jetstudy.analysis.sections_pareto import pareto_part
from jetstudy.analysis.sections_search import kind_lines
from jetstudy.analysis.tables import load_tables
from tests.analysis.conftest import CONFIG, words_only


def test_one_trial_is_one_trial_run_one_at_a_time(tmp_path) -> None:
    config = copy.deepcopy(CONFIG)
    config["search"].update(num_trials=1, max_concurrent=2, sampler="random")
    (line,) = kind_lines(SimpleNamespace(config=config, folder=tmp_path))
    assert line.startswith("Kind: search, Optuna random sampling, 1 trial, 1 at a time, "), line
    config["search"].update(num_trials=1, sampler="grid")
    (line,) = kind_lines(SimpleNamespace(config=config, folder=tmp_path))
    assert " of 1 configuration, " in line, line


def test_all_interrupted_study_says_once_why_there_is_no_front(tmp_path, make_study,
                                                                write_study) -> None:
    trials, epochs = make_study(n_trials=3, max_epochs=4)
    trials["status"] = "interrupted"
    state = words_only(load_tables(write_study(tmp_path / "s", trials, epochs)))
    state.attempt("Pareto front", lambda: pareto_part(state))
    (why,) = [w for part, w in state.skipped if part == "Pareto front"]
    assert why == ("no finished trial has a score to place: of the 3 trials, none is completed, "
                   "stopped or running (3 interrupted)")
    assert "pareto.csv" not in state.files


def test_size_aware_search_front_prints_scores_with_their_errors(tmp_path, make_study,
                                                                  write_study) -> None:
    trials, epochs = make_study(n_trials=8, max_epochs=4, seed=5)
    config = copy.deepcopy(CONFIG)
    config["search"].update(objectives=["val_acc", "n_params"], metric="val_acc")
    folder = write_study(tmp_path / "mo", trials, epochs, config=config)
    n_val = 400
    (folder / "data_summary.json").write_text(json.dumps({
        "synthetic": True, "n_jets": {"train": 1200, "val": n_val, "test": 400}}))
    state = words_only(load_tables(folder))
    section = pareto_part(state)
    (own,) = [df for caption, df in section.tables if caption.startswith("the search's own")]
    by_id = trials.set_index("trial_id")
    for tid, shown in zip(own["trial_id"], own["val_acc"]):
        acc = float(by_id.loc[tid, "best_val_acc"])
        assert shown == format_error(acc, binomial_se(acc, n_val)), (tid, shown)
        assert re.fullmatch(r"0\.\d+ ± 0\.\d+", shown)
    assert "pareto.csv" in state.files
    csv = state.files["pareto.csv"].decode()
    assert csv.splitlines()[0].startswith("panel,score,cost,trial_id,status,")
    assert sum(line.startswith("search objectives,") for line in csv.splitlines()) == len(own)


def test_complexity_note_of_a_lone_completed_trial_says_it_ran_to_the_end() -> None:
    import pandas as pd

    from jetstudy.analysis.complexity import complexity_curve

    trials = pd.DataFrame({"trial_id": ["a"], "status": ["completed"], "n_params": [1910]})
    regimes = pd.DataFrame({"trial_id": ["a"], "regime": ["underfit"],
                            "final_train_loss": [1.57], "final_val_loss": [1.571]})
    # it ran to the end: not "too few ran to the end", and one trial is "1 trial"
    assert complexity_curve(trials, regimes).note == ("1 trial that ran to the end "
                                                      "(max_epochs or its patience)")
    two = pd.DataFrame({"trial_id": ["a", "b"], "status": ["completed", "stopped"],
                        "n_params": [1910, 500]})
    regs = pd.concat([regimes, regimes.assign(trial_id="b", regime="overfit")])
    assert complexity_curve(two, regs).note == ("all 2 judged trials with finite losses (too "
                                                "few ran to the end: 1, fewer than 3)")


def test_pareto_caption_names_only_what_is_drawn(tmp_path, make_study, write_study) -> None:
    import shutil

    trials, epochs = make_study(n_trials=10, max_epochs=6, seed=2, running=3)
    folder = write_study(tmp_path / "live", trials, epochs)
    shutil.rmtree(folder / "best")  # a running study: no test evaluation yet
    state = words_only(load_tables(folder))
    caption = pareto_part(state).caption
    assert "diamond" not in caption  # no test point is drawn
    assert "error bars" not in caption  # no validation size: no error bars drawn
    assert "hollow = stopped/running" in caption
    # each panel's front is one point, the pick: no line drawn, the star is the whole front
    # (test_referee11_report_figures); a front of two or more is named a line
    assert "line = Pareto front" not in caption and "(the whole front)" in caption
    # stopped before their last epoch (one that trained all of max_epochs is a full run,
    # a candidate whatever its status)
    stopped = trials.assign(status=trials["status"].replace("completed", "stopped"),
                            epochs=trials["epochs"].clip(upper=5))
    state = words_only(load_tables(write_study(tmp_path / "stopped", stopped, epochs)))
    caption = pareto_part(state).caption
    assert "Pareto front" not in caption and "star" not in caption  # front undetermined
    assert "diamond = best model on test" in caption


def test_no_reference_loss_no_l_star_line_in_the_captions(tmp_path, make_study,
                                                           write_study) -> None:
    from jetstudy.analysis.sections import PARTS

    trials, epochs = make_study(n_trials=6, max_epochs=4, seed=1)
    loss_columns = ["train_loss", "val_loss", "best_val_loss", "train_loss_running"]
    trials[loss_columns] += 1.2  # every trial at or above ln 5: no proxy L* either
    epochs[["train_loss", "val_loss", "train_loss_running"]] += 1.2
    folder = write_study(tmp_path / "real", trials, epochs, synthetic=False)
    state = words_only(load_tables(folder))
    assert state.reference.loss is None
    caption = dict(PARTS)["learning curves"](state).caption
    assert "no L* line: no reference loss is known" in caption and "dotted: L*" not in caption


def test_roc_legend_auc_without_a_usable_error_keeps_three_decimals() -> None:
    import numpy as np
    import pandas as pd

    from jetstudy.analysis import plots
    from jetstudy.analysis.plots_roc import draw_roc

    model = pd.DataFrame({"cls": "W", "signal_eff": [0.0, 0.5, 1.0],
                          "background_eff": [0.001, 0.05, 1.0]})
    for se, shown in ((float("nan"), "0.900"), (0.0, "0.900"), (None, "0.900"),
                      (0.0123, "0.900 ± 0.012")):
        fig, axes = plots.new_figure()
        draw_roc(model, "W", axes[0, 0], auc=0.9, auc_se=se)
        assert axes[0, 0].lines[0].get_label() == f"model (AUC {shown})", se
    fig, axes = plots.new_figure()
    draw_roc(model, "W", axes[0, 0], auc=np.nan, auc_se=np.nan)
    assert axes[0, 0].lines[0].get_label() == "model (AUC undefined)"


def test_reference_sentence_prints_the_training_bayes_loss_and_offset_to_their_errors() -> None:
    from jetstudy.analysis.reference_loss import Reference

    ref = Reference(loss=0.594, se=0.028, source="bayes", train_loss=0.5731, train_se=0.017)
    text = ref.describe()
    assert "validation loss 0.594 ± 0.028 of the synthetic jets" in text
    # was 'is 0.5731' and '+0.0209': more figures than L*'s own error allows
    assert "On the training jets the Bayes loss is 0.573 ± 0.017:" in text
    assert "the splits' difference +0.021 ± 0.033 is taken out" in text
    no_train_se = Reference(loss=0.57, se=0.04, source="bayes", train_loss=0.6023)
    text = no_train_se.describe()
    assert "Bayes loss is 0.60:" in text and "difference -0.03 ± 0.04 is" in text


def test_complexity_skip_of_a_finished_study_counts_its_regimes_and_does_not_say_yet() -> None:
    import pandas as pd
    import pytest

    from jetstudy.analysis.complexity import complexity_curve
    from jetstudy.analysis.errors import AnalysisError

    trials = pd.DataFrame({"trial_id": list("abc"), "status": ["completed", "completed",
                                                               "stopped"],
                           "n_params": [100, 200, 300]})
    regimes = pd.DataFrame({"trial_id": list("abc"),
                            "regime": ["unstable", "unstable", "undetermined"],
                            "final_train_loss": [1.6, 1.62, 1.5],
                            "final_val_loss": [1.6, 1.62, 1.5]})
    with pytest.raises(AnalysisError) as err:
        complexity_curve(trials, regimes)
    assert "yet" not in str(err.value)  # the study is over: waiting will not help
    assert "here: 2 unstable, 1 undetermined" in str(err.value)
    with pytest.raises(AnalysisError, match="finite train and val losses yet"):
        complexity_curve(trials.assign(status="running"), regimes)
