"""What the report says about evidence it lacks: ``best/`` evaluated at another epoch than the
table's best (tables newer than the evaluation, e.g. after a resumed study), and trials a
regime map left off for lack of a value on an axis."""

from __future__ import annotations

import json

import pytest

from jetstudy.analysis.report import build_report
from jetstudy.analysis.summary import best_trial
from jetstudy.analysis.tables import load_tables


def _test_lines(folder) -> str:
    state = build_report(load_tables(folder), figures=False)  # reads the words only
    (section,) = [s for s in state.sections if s.title.lower().startswith("test")]
    return " ".join(section.lines)


@pytest.mark.parametrize("shift, warned", [(0, False), (-1, True)])
def test_an_evaluation_of_another_epoch_is_named(tmp_path, make_study, write_study, shift,
                                                  warned) -> None:
    trials, epochs = make_study(n_trials=8, seed=3)
    folder = write_study(tmp_path / "s", trials, epochs)
    best = best_trial(trials, "val_loss", False)
    metrics_path = folder / "best" / "test_metrics.json"
    metrics = json.loads(metrics_path.read_text())
    assert metrics["trial_id"] == best["trial_id"]
    metrics["epoch"] = int(best["best_epoch"]) + shift
    metrics_path.write_text(json.dumps(metrics))
    text = _test_lines(folder)
    assert ("the table's best epoch of that trial is" in text) == warned, text


def test_a_map_names_the_trials_it_left_off(tmp_path, make_study, write_study) -> None:
    trials, epochs = make_study(n_trials=12, seed=4)
    trials = trials.astype({"depth": "float64"})
    trials.loc[trials.index[0], "depth"] = float("nan")
    folder = write_study(tmp_path / "s", trials, epochs)
    state = build_report(load_tables(folder), figures=False)  # reads the words only
    (section,) = [s for s in state.sections if s.title == "Regime map: depth x width"]
    assert any("1 trial(s) without a value on an axis are left off" in line
               for line in section.lines), section.lines
