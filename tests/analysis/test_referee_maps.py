"""Refereeing the maps, the complexity curve and the importance on thin tables: one trial,
one bin, empty bins, a parameter missing. A figure that cannot be made says why
(AnalysisError naming the column); a trial it cannot place is counted, not hidden."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from jetstudy.analysis.complexity import complexity_curve
from jetstudy.analysis.errors import AnalysisError
from jetstudy.analysis.importance import hyperparameter_importance
from jetstudy.analysis.maps import regime_map


def _tables(regimes: list[str], **columns) -> tuple[pd.DataFrame, pd.DataFrame]:
    n = len(regimes)
    ids = [f"t{i}" for i in range(n)]
    trials = pd.DataFrame({"trial_id": ids, "status": "completed", "depth": [1 + i % 3 for i in range(n)],
                           "width_0": [8 * 2 ** i for i in range(n)],
                           "n_params": [100 * 10 ** i for i in range(n)],
                           "best_val_loss": np.linspace(0.9, 0.6, n), **columns})
    verdicts = pd.DataFrame({"trial_id": ids, "regime": regimes, "judged_on_partial": False,
                             "final_train_loss": 0.6, "final_val_loss": 0.62,
                             "reference_loss": 0.6})
    return trials, verdicts


def test_a_single_trial_has_no_map_and_says_why():
    trials, verdicts = _tables(["good"])
    with pytest.raises(AnalysisError, match="`n_params` does not vary in this study"):
        regime_map(trials, verdicts, "n_params", "depth", "val_loss", False)


def test_a_single_trial_has_a_one_bin_complexity_curve():
    trials, verdicts = _tables(["good"])
    c = complexity_curve(trials, verdicts, min_trials=1)
    assert c.bins["n"].tolist() == [1] and c.reference == 0.6


def test_all_trials_in_one_bin_give_one_cell():
    trials, verdicts = _tables(["good", "overfit", "good"], n_params=[1000, 1100, 1200],
                               depth=[2, 2, 3])
    cells = regime_map(trials, verdicts, "n_params", "depth", "val_loss", False).cells
    assert cells["x"].nunique() == 1 and cells["n_trials"].sum() == 3


def test_empty_bins_between_trials_stay_on_the_axes():
    trials, verdicts = _tables(["underfit", "overfit"], n_params=[100, 200000], depth=[1, 4])
    m = regime_map(trials, verdicts, "n_params", "depth", "val_loss", False)
    assert list(m.cells["y"].cat.categories) == ["1", "2", "3", "4"]
    assert len(m.cells["x"].cat.categories) > 2 and len(m.cells) == 2
    c = complexity_curve(trials, verdicts, min_trials=1)
    assert (c.bins["n"] == 0).any() and c.bins.loc[c.bins["n"] == 0, "val_median"].isna().all()


def test_a_trial_without_a_value_on_an_axis_is_counted_not_hidden():
    trials, verdicts = _tables(["good", "underfit", "overfit"], depth=[1, np.nan, 3])
    m = regime_map(trials, verdicts, "n_params", "depth", "val_loss", False)
    assert m.n_unplaced == 1 and m.cells["n_trials"].sum() == 2


def test_the_only_judged_trial_without_an_axis_value_leaves_no_map():
    """It used to give a map whose every cell was undetermined, the judged trial dropped."""
    trials, verdicts = _tables(["undetermined", "good", "undetermined"], depth=[1, np.nan, 3])
    with pytest.raises(AnalysisError, match="all 2 are undetermined .*1 more trial has no"):
        regime_map(trials, verdicts, "n_params", "depth", "val_loss", False)


@pytest.mark.parametrize("column", ["n_params", "status"])
def test_complexity_without_a_column_names_it(column):
    trials, verdicts = _tables(["good", "overfit", "underfit"])
    with pytest.raises(AnalysisError, match=f"no `{column}` column"):
        complexity_curve(trials.drop(columns=column), verdicts)


def test_complexity_without_any_parameter_count_says_so():
    trials, verdicts = _tables(["good", "overfit", "underfit"])
    with pytest.raises(AnalysisError, match="no trial has a parameter count"):
        complexity_curve(trials.assign(n_params=np.nan), verdicts)


def test_importance_of_a_table_without_widths_uses_the_other_parameters():
    trials, _ = _tables(["good"] * 6, lr=[1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2])
    imp = hyperparameter_importance(trials.drop(columns="width_0"), None, "val_loss", False)
    assert set(imp.table["param"]) == {"depth", "lr"}
    with pytest.raises(AnalysisError, match="no hyperparameter varies"):
        hyperparameter_importance(trials[["trial_id", "status", "best_val_loss"]], None,
                                  "val_loss", False)
