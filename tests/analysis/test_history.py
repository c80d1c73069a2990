"""Optimisation history data on hand-made trials tables: order, running best, what counts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from jetstudy.analysis.errors import AnalysisError
from jetstudy.analysis.history import history_points, optimisation_history, wants_log

NAN = float("nan")


def _trials(values: list[float], statuses: list[str], **extra: list) -> pd.DataFrame:
    n = len(values)
    return pd.DataFrame({"trial_id": [f"t{i}" for i in range(n)], "status": statuses,
                         "n_params": [100.0] * n, "train_loss": values, "val_loss": values,
                         "best_val_loss": values, **extra})


def test_running_best_in_trial_order_counts_what_best_trial_counts():
    t = _trials([NAN, 0.9, 1.2, 0.3, 0.7, 0.5, 0.4],
                ["failed", "stopped", "completed", "failed", "completed", "running", "interrupted"])
    p = history_points(t, "best_val_loss", maximize=False)
    assert p["number"].tolist() == list(range(7))
    assert p["trial_id"].tolist() == [f"t{i}" for i in range(7)]
    # the failed trial's 0.3 and the interrupted 0.4 are drawn but never the best
    assert p["scored"].tolist() == [False, True, True, False, True, True, False]
    np.testing.assert_array_equal(p["best_so_far"], [NAN, 0.9, 0.9, 0.9, 0.7, 0.5, 0.5])


def test_maximised_metric_keeps_the_highest():
    t = _trials([0.5, 0.8, 0.6], ["completed"] * 3, val_acc=[0.5, 0.8, 0.6],
                best_val_acc=[0.5, 0.8, 0.6])
    panels = optimisation_history(t, "val_acc", maximize=True)
    assert panels[0].objective == "best_val_acc" and panels[0].maximize
    assert panels[0].points["best_so_far"].tolist() == [0.5, 0.8, 0.8]


def test_one_trial_is_a_history_of_one_point():
    (panel,) = optimisation_history(_trials([0.8], ["completed"]), "val_loss", False)
    assert panel.points["best_so_far"].tolist() == [0.8] and not panel.log_y
    assert panel.n_without_value == 0


@pytest.mark.parametrize("statuses", [["failed"] * 3, ["running"] * 3])
def test_no_value_anywhere_is_a_sentence_not_a_crash(statuses):
    with pytest.raises(AnalysisError, match="none of the 3 trials has a `val_loss` value"):
        optimisation_history(_trials([NAN] * 3, statuses), "val_loss", False)


def test_falls_back_to_the_last_epoch_column_without_best_columns():
    t = _trials([0.9, 0.6], ["completed"] * 2).drop(columns="best_val_loss")
    (panel,) = optimisation_history(t, "val_loss", False)
    assert panel.objective == "val_loss" and panel.points["best_so_far"].tolist() == [0.9, 0.6]


def test_two_objectives_get_a_size_panel_without_a_running_best():
    t = _trials([0.9, 0.6, 0.7], ["completed", "stopped", "completed"],
                flops=[200, 20000, 2000])
    metric, size = optimisation_history(t, "val_loss", False, size="multiplications")
    assert metric.running_best and not size.running_best
    assert size.objective == "multiplications"
    assert size.points["value"].tolist() == [100, 10000, 1000]  # flops / 2
    assert size.log_y and not metric.log_y
    with pytest.raises(AnalysisError, match="no `n_layers` column"):
        optimisation_history(t, "val_loss", False, size="n_layers")


def test_values_not_drawn_are_counted():
    (panel,) = optimisation_history(_trials([0.9, NAN, NAN], ["completed", "failed", "running"]),
                                    "val_loss", False)
    assert panel.n_without_value == 2


@pytest.mark.parametrize("values, log", [
    ([0.6, 0.7, 5.9], False),        # under a decade
    ([0.6, 0.7, 40.0], True),        # a diverged loss
    ([0.6, NAN, 40.0], True),        # NaNs ignored
    ([-1.0, 0.5, 40.0], False),      # not all positive
    ([NAN, NAN], False),
])
def test_log_axis_only_for_positive_values_over_a_decade(values, log):
    assert wants_log(pd.Series(values)) is log
