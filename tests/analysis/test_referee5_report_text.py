"""Referee, round 5 (task G): the report's sentences are true for THIS study, its numbers in
the tables' format and to their errors' digits.

One trial is '1 of the 64 trials ... is', not 'are'; a count in a skipped map's reason is
written as the tables write it (11845, not 11.8k); the Pareto part does not say a file is
missing that is there; a test table without errors does not promise '± 1 standard error';
a regime reason prints L* with the zeros its error keeps (0.600, as the report's
'L* = 0.600 ± 0.006'). Hand-made tables and one small hand-made study folder.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from jetstudy.analysis.errors import AnalysisError
from jetstudy.analysis.maps import regime_map
from jetstudy.analysis.sections import ReportState
from jetstudy.analysis.sections_heldout import heldout_part
from jetstudy.analysis.sections_pareto import pareto_part
from jetstudy.analysis.study_state import study_state
from jetstudy.analysis.tables import load_tables

from tests.analysis.conftest import words_only


@pytest.mark.parametrize("status, stop_reason, verb", [
    ("completed", "max_epochs", "is in the table"),  # ended early: fewer than asked for
    ("running", "", "is in the table so far"),
    ("stopped", "interrupted", "was started"),  # the driver died
])
def test_one_trial_takes_a_singular_verb(status, stop_reason, verb) -> None:
    trials = pd.DataFrame({"trial_id": ["a"], "status": [status], "stop_reason": [stop_reason]})
    text = " ".join(study_state(trials, {"search": {"num_trials": 64}}).lines)
    assert f"1 of the 64 trials asked for (search.num_trials) {verb}" in text, text
    two = pd.concat([trials, trials.assign(trial_id="b")])
    text = " ".join(study_state(two, {"search": {"num_trials": 64}}).lines)
    assert "2 of the 64 trials asked for (search.num_trials) " + verb.replace(
        "is ", "are ").replace("was ", "were ") in text, text


def test_a_map_left_out_names_its_count_as_the_tables_do() -> None:
    """'`n_params` does not vary in this study (all 11.8k)' beside the Best-trial table's
    11845: one format for counts (the tables')."""
    trials = pd.DataFrame({"trial_id": ["a", "b"], "status": ["completed"] * 2,
                           "depth": [1, 2], "width_0": [11.0, 11.0], "width_1": [None, 11.0],
                           "n_params": [11845, 11845], "val_loss": [0.7, 0.65]})
    regimes = pd.DataFrame({"trial_id": ["a", "b"], "regime": ["good", "good"],
                            "judged_on_partial": [False] * 2, "reason": [""] * 2})
    with pytest.raises(AnalysisError, match=r"`n_params` does not vary in this study "
                                            r"\(all 11845\)"):
        regime_map(trials, regimes, "n_params", "depth", "val_loss", False)
    with pytest.raises(AnalysisError, match=r"\(all 11\)"):
        regime_map(trials, regimes, "min_width", "depth", "val_loss", False)


@pytest.fixture(scope="module")
def old_study(tmp_path_factory, make_study, write_study) -> ReportState:
    """A small study whose data_summary.json records no validation size and whose
    test_metrics.json has no errors (an older jetstudy's), L* 0.600 ± 0.006."""
    trials, epochs = make_study(n_trials=8, max_epochs=6, seed=11, asha=False)
    folder = write_study(tmp_path_factory.mktemp("r5") / "old", trials, epochs)
    assert json.loads((folder / "data_summary.json").read_text()) == {"synthetic": True}
    return words_only(load_tables(folder))


def test_pareto_says_what_the_data_summary_lacks_not_that_it_is_missing(old_study) -> None:
    text = " ".join(pareto_part(old_study).lines)
    assert "(data_summary.json does not record it)" in text
    assert "no data_summary.json" not in text


def test_pareto_without_a_data_summary_says_so(old_study, tmp_path: Path) -> None:
    folder = Path(old_study.t.folder)
    copy = tmp_path / "copy"
    copy.mkdir()
    for name in ("trials.parquet", "epochs.parquet", "config.yaml", "reference.json"):
        (copy / name).write_bytes((folder / name).read_bytes())
    text = " ".join(pareto_part(words_only(load_tables(copy))).lines)
    assert "(no data_summary.json)" in text


def test_a_test_table_without_errors_does_not_promise_them(old_study) -> None:
    section = heldout_part(old_study)
    title, table = section.tables[0]
    assert "±" not in " ".join(table.astype(str).to_numpy().ravel())
    assert "standard error" not in title and "no uncertainties" in title


def test_a_regime_reason_prints_l_star_with_the_zeros_its_error_keeps(old_study) -> None:
    """L* 0.600 ± 0.006 (reference.json): the report says 'L* = 0.600 ± 0.006' and each reason
    'from L* 0.600', never 'from L* 0.6' (a trailing-zero strip that changes precision)."""
    assert "0.600 ± 0.006" in old_study.reference.describe()
    reasons = [r for r in old_study.regimes["reason"] if "from L*" in r]
    assert reasons, old_study.regimes["reason"].tolist()
    for reason in reasons:
        assert "from L* 0.600 (" in reason, reason


def _decimals(text: str) -> int:
    return len(text.split(".")[1]) if "." in text else 0


def test_scores_without_errors_share_their_decimals(old_study) -> None:
    """No validation size: the Pareto table printed its score 0.817 beside the best's 0.8243
    (a trailing zero stripped) and best - pick 0.007293 (digits neither score has); the pick
    note the same 0.007293. Now all three to the same decimals."""
    section = pareto_part(old_study)
    table = section.tables[0][1]
    shown = table[table["best - pick"] != "0"]
    assert len(shown), table
    for _, row in shown.iterrows():
        texts = [row["its score"], row["best fully trained"], row["best - pick"]]
        assert "±" not in " ".join(texts)
        assert len({_decimals(t) for t in texts}) == 1, texts
        note = [n for n in section.lines if f"{row['smallest within 1%']} scores " in n
                and n.startswith(row["score"].removeprefix("best_"))]
        for n in note:
            assert f" scores {row['best - pick']} " in n, (n, texts)


@pytest.mark.parametrize("statuses", [
    ("completed", "completed", "stopped"),
    ("completed", "failed", "running"),
    ("stopped", "stopped", "stopped"),
])
def test_the_history_caption_names_only_the_markers_drawn(old_study, statuses) -> None:
    """A study without running or failed trials had 'triangles: running, crosses: failed or
    interrupted' in its history caption: the caption names the markers the figure draws."""
    from jetstudy.analysis.sections_search import history_part

    trials = old_study.t.trials.head(len(statuses)).assign(status=list(statuses))
    state = words_only(old_study.t)
    state.t = type(old_study.t)(**{**vars(old_study.t), "trials": trials})
    caption = history_part(state).caption
    for status, word in (("completed", "filled: completed"), ("stopped", "hollow: stopped"),
                         ("running", "triangles: running"), ("failed", "crosses: failed")):
        assert (word in caption) == (status in statuses), (statuses, caption)


def _with_statuses(state: ReportState, statuses: dict[int, str]) -> ReportState:
    trials = state.t.trials.copy()
    for i, status in statuses.items():
        trials.loc[trials.index[i], "status"] = status
    return words_only(type(state.t)(**{**vars(state.t), "trials": trials}))


@pytest.mark.parametrize("stopped", [{}, {0: "stopped", 1: "stopped", 2: "running"}])
def test_map_and_parallel_captions_name_only_what_is_drawn(old_study, stopped) -> None:
    """A map of complete, determined trials explained '+k undet.', hatched and white cells;
    parallel coordinates without an undetermined trial said they are drawn grey."""
    from jetstudy.analysis.sections import _map_depth_width
    from jetstudy.analysis.sections_search import parallel_part

    state = _with_statuses(old_study, stopped) if stopped else old_study
    found = [regime_map(state.t.trials, state.regimes, x, "depth", state.metric,
                        state.maximize) for x in ("n_params", "min_width")]
    caption = _map_depth_width(state).caption
    cells = [m.cells for m in found]
    assert ("+k undet." in caption) == any((c["n_undetermined"] > 0).any() for c in cells)
    assert ("hatched" in caption) == any(c["partial_only"].any() for c in cells)
    assert ("white:" in caption) == any((c["n_trials"] == 0).any() for c in cells)
    undetermined = (state.regimes["regime"] == "undetermined").any()
    assert undetermined == bool(stopped)  # both kinds of study are checked
    pc_caption = parallel_part(state).caption
    assert ("undetermined trials grey" in pc_caption) == undetermined, pc_caption


def test_one_failed_trial_is_said_in_the_singular() -> None:
    from jetstudy.analysis.history import optimisation_history

    one = pd.DataFrame({"trial_id": ["a"], "status": ["failed"], "stop_reason": ["failed"],
                        "best_val_loss": [float("nan")]})
    (line,) = study_state(one, {"search": {"num_trials": 1}}).lines
    assert line.startswith("The only trial failed, so there is no best model")
    assert "the epochs it recorded before it failed" in line
    with pytest.raises(AnalysisError, match="the only trial has no `val_loss` value"):
        optimisation_history(one, "val_loss", False)


def test_one_trial_left_out_or_undetermined_is_said_in_the_singular(old_study) -> None:
    """'The other 1 trials ... are not drawn', '1 of 8 trials have no value ... and are not
    drawn', '1 of 8 trials are undetermined'."""
    from jetstudy.analysis.sections import _map_depth_width
    from jetstudy.analysis.sections_search import history_part

    trials = old_study.t.trials.copy()
    trials.loc[trials.index[[0, 1]], "status"] = ["failed", "running"]
    trials.loc[trials.index[0], ["best_val_loss", "best_val_acc", "best_val_auc"]] = float("nan")
    state = words_only(type(old_study.t)(**{**vars(old_study.t), "trials": trials}))
    assert (state.regimes["regime"] == "undetermined").sum() == 1
    text = " ".join([*pareto_part(state).lines, *history_part(state).lines,
                     *_map_depth_width(state).lines])
    assert "The other 1 trial (failed, interrupted, or without a score or size) is not drawn" \
        in text, text
    assert "1 of 8 trials has no value (failed before an epoch, or running without one) and " \
        "is not drawn" in text, text
    assert "1 of 8 trials is undetermined" in text, text
    assert "1 trials" not in text


@pytest.mark.parametrize("scheduler, reasons, said", [
    ("fifo", ["time_budget"], "stopped early (time budget): 1"),
    ("asha", ["scheduler", "scheduler"], "stopped early (ASHA): 2"),
    ("asha", ["interrupted"], "stopped early (driver stopped): 1"),
])
def test_the_history_legend_says_what_stopped_the_stopped_trials(old_study, scheduler, reasons,
                                                                said) -> None:
    """A scan without ASHA had its stopped trials (time budget) put down to 'ASHA, time
    budget': the legend names the causes the tables' stop_reason gives."""
    from tests.analysis.conftest import FigureCapture

    from jetstudy.analysis.sections_search import history_part

    trials = old_study.t.trials.copy()
    for i, reason in enumerate(reasons):
        trials.loc[trials.index[i], ["status", "stop_reason"]] = ["stopped", reason]
    config = {**old_study.t.config, "scheduler": {**old_study.t.config["scheduler"],
                                                  "type": scheduler}}
    state = FigureCapture(type(old_study.t)(**{**vars(old_study.t), "trials": trials,
                                               "config": config}), pixels=False)
    history_part(state)
    labels = [t.get_text() for t in state.drawn["history.png"].axes[0].get_legend().get_texts()]
    assert said in labels, labels


def test_a_reason_prints_the_splits_difference_as_the_reference_sentence(make_study) -> None:
    """The report said 'the splits' difference +0.001 ± 0.010' and a reason beside it 'the
    splits' own difference +0.000534 taken out of the gap': one number, to its error's digits."""
    import re

    from jetstudy.analysis.regimes import RegimeThresholds, assess_regimes, known_reference

    ref = known_reference({"prior_entropy": 1.609, "bayes_val_loss": 0.583,
                           "bayes_val_loss_se": 0.008, "bayes_train_loss": 0.58247,
                           "bayes_train_loss_se": 0.005})
    said = re.search(r"splits' difference (\S+) ± (\S+)", ref.describe())
    assert said and said.group(1) == "+0.001", ref.describe()
    trials, epochs = make_study(n_trials=4, max_epochs=6, seed=11, asha=False)
    table = assess_regimes(trials, epochs, RegimeThresholds(), ref).table
    reasons = [r for r in table["reason"] if "own difference" in r]
    assert reasons
    for reason in reasons:
        assert "splits' own difference +0.001 taken out" in reason, reason


def test_a_test_difference_without_errors_keeps_the_values_decimals(old_study) -> None:
    """An older test_metrics.json without errors: 'accuracy 0.8430 | 0.9370 | -0.09400' (a
    difference with digits neither value has); now -0.0940."""
    from jetstudy.analysis.summary import compare_test_metrics

    table = compare_test_metrics(old_study.t.test_metrics, True)
    assert len(table) >= 3
    for _, row in table.iterrows():
        texts = [row["model"], row["Bayes optimal"], row["model - Bayes"]]
        assert "±" not in " ".join(texts)
        assert _decimals(row["model - Bayes"]) == min(map(_decimals, texts[:2])), texts
        diff = float(row["model"]) - float(row["Bayes optimal"])
        assert abs(float(row["model - Bayes"]) - diff) <= 1.01 * 10 ** -_decimals(texts[2]), texts


def test_more_trials_than_num_trials_asks_for_now_is_said_so() -> None:
    """A config lowered after the study ran (200 trials, num_trials 64 now) read '200 of the
    64 trials asked for ... ran'; the count is the table's, with a sentence on the config."""
    import pandas as pd

    from jetstudy.analysis.study_state import study_state

    trials = pd.DataFrame({"trial_id": [f"t{i}" for i in range(5)],
                           "status": ["completed"] * 5, "stop_reason": ["max_epochs"] * 5})
    state = study_state(trials, {"search": {"num_trials": 3}})
    text = " ".join(state.lines)
    assert "5 of the 3" not in text, text
    assert "The study finished: 5 trials ran." in text, text
    assert "more than the 3 search.num_trials asks for now" in text, text
    same = " ".join(study_state(trials, {"search": {"num_trials": 5}}).lines)
    assert same == "The study finished: 5 of the 5 trials asked for (search.num_trials) ran."
