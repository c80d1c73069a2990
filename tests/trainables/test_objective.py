"""The one rule for "better" (``jetstudy.trainables.objective``) and everything that asks it: the
trial loop, the tables, the progress line, the report's best trial and the config."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from jetstudy.analysis.summary import best_trial
from jetstudy.analysis.tables import _METRICS
from jetstudy.study import config as study_config
from jetstudy.study.progress import ProgressCounts
from jetstudy.study.tables import epochs_frame, trial_row
from jetstudy.trainables.loop import is_better
from jetstudy.trainables.objective import METRIC_MODES, Objective, is_finite_number

NAN, INF = math.nan, math.inf


def test_directions_of_the_search_metrics() -> None:
    assert METRIC_MODES == {"val_loss": "min", "val_acc": "max", "val_auc": "max"}
    assert study_config.METRIC_MODES is METRIC_MODES  # re-exported, not copied
    assert _METRICS == {"val_loss": False, "val_acc": True, "val_auc": True}
    loss, acc = Objective.of("val_loss"), Objective.of("val_acc")
    assert (loss.sign, loss.worst, loss.maximize) == (1.0, INF, False)
    assert (acc.sign, acc.worst, acc.maximize) == (-1.0, -INF, True)


@pytest.mark.parametrize(("mode", "value", "best", "expected"), [
    ("min", 0.5, 0.6, True), ("min", 0.6, 0.5, False), ("min", 0.5, 0.5, False),
    ("max", 0.6, 0.5, True), ("max", 0.5, 0.6, False), ("max", 0.5, 0.5, False),
    ("min", 0.5, None, True), ("min", 0.5, NAN, True), ("min", 0.5, INF, True),
    ("max", 0.5, -INF, True), ("min", NAN, 0.5, False), ("min", INF, None, False),
    ("max", None, 0.5, False), ("min", np.float32(0.1), 0.2, True), ("min", True, None, False),
    ("min", pd.NA, None, False), ("min", "0.1", None, False),
])
def test_better(mode: str, value: object, best: object, expected: bool) -> None:
    assert Objective("m", mode).better(value, best) is expected
    if isinstance(value, float) and (best is None or isinstance(best, float)):
        assert is_better(value, best, mode) is expected  # the loop's name for the same rule


def test_best_index_skips_non_finite_values_and_keeps_the_first_tie() -> None:
    loss, acc = Objective.of("val_loss"), Objective.of("val_acc")
    assert loss.best_index([NAN, 0.4, 0.3, 0.3, INF]) == 2
    assert acc.best_index(pd.Series([0.5, NAN, 0.9, 0.9], index=[7, 8, 9, 10])) == 9
    assert loss.best_index([NAN, None]) is None and loss.best_index([]) is None
    assert loss.best_value([NAN, 0.4, 0.3]) == 0.3 and acc.best_value([0.2, 0.7]) == 0.7
    assert acc.best_value([NAN]) is None


def test_a_bad_mode_or_unknown_metric_is_refused() -> None:
    with pytest.raises(ValueError, match="mode of objective 'x' is 'up'.*'min' or 'max'"):
        Objective("x", "up")
    with pytest.raises(ValueError, match="metric 'loss' has no known direction"):
        Objective.of("loss")
    assert not is_finite_number(None) and is_finite_number(3)


def test_only_real_finite_scalars_are_values() -> None:
    import numpy as np

    assert is_finite_number(np.float32(0.5)) and is_finite_number(np.int64(3))
    assert is_finite_number(np.array(0.5))  # a 0-d array is a scalar
    for bad in (np.bool_(True), True, np.float32("nan"), float("-inf"), np.array([0.5]), "0.5",
                1 + 2j):
        assert not is_finite_number(bad), bad
    assert Objective.of("val_loss").best_index([np.bool_(False), 0.7]) == 1


def test_tables_progress_and_report_agree_on_the_best() -> None:
    rows = [{"trial_id": "t", "epoch": e, "train_loss": 1.0, "train_loss_running": 1.0,
             "val_loss": v, "val_acc": a, "val_auc": 0.9, "n_params": 10, "time_s": float(e)}
            for e, v, a in [(1, NAN, 0.3), (2, 0.5, 0.6), (3, 0.5, 0.8), (4, 0.7, 0.8)]]
    frame = epochs_frame(rows)
    params = {"depth": 1, "width_0": 8}
    kw = dict(status="completed", error="", max_epochs=4, max_depth=1, batch_size=64)
    by_loss = trial_row("t", params, frame, metric="val_loss", mode="min", **kw)
    by_acc = trial_row("t", params, frame, metric="val_acc", mode="max", **kw)
    assert by_loss["best_epoch"] == 2 and by_acc["best_epoch"] == 3  # first of the ties
    assert math.isnan(by_loss["train_loss_se"])  # records from before the SE: unknown

    counts = ProgressCounts(total=3, metric="val_loss", mode="min")
    for value, trial in [(NAN, "a"), (0.6, "b"), (True, "c"), (0.4, "d"), (0.4, "e")]:
        counts.offer(value, trial)
    assert (counts.best, counts.best_trial) == (0.4, "d")

    trials = pd.DataFrame({"trial_id": ["a", "b", "c", "d"],
                           "status": ["completed", "stopped", "failed", "completed"],
                           "val_acc": [0.7, 0.9, 0.99, 0.9], "best_val_acc": [0.7, 0.9, 0.99, 0.9],
                           "val_loss": [0.5, 0.4, 0.1, 0.4], "best_val_loss": [0.5, 0.4, 0.1, 0.4]})
    # b and d tie: the completed d wins (summary.best_trial's stated tie-break, not row order)
    assert best_trial(trials, "val_acc", maximize=True)["trial_id"] == "d"
    assert best_trial(trials, "val_loss", maximize=False)["trial_id"] == "d"
    assert best_trial(trials[trials["trial_id"] != "d"], "val_acc", True)["trial_id"] == "b"
