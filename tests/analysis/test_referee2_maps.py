"""Refereeing the regime maps, round 2: bins of one value, sizes of many digits, and a study
whose every trial ran to the end yet none could be judged."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from jetstudy.analysis.errors import AnalysisError
from jetstudy.analysis.maps import bin_values, regime_map
from jetstudy.analysis.regimes import classify_regimes

from tests.analysis.test_regimes import BAYES, _frames, _trial


def test_a_linear_axis_of_one_value_is_one_bin_named_by_it():
    """Dropout 0.2 everywhere was binned as '0.2–1.2' (a dropout up to 1.2)."""
    binned = bin_values(pd.Series([0.2, 0.2, np.nan]), "linear")
    assert binned.tolist()[:2] == ["0.2", "0.2"] and pd.isna(binned.iloc[2])
    assert list(binned.cat.categories) == ["0.2"]


def test_sizes_of_many_digits_read_as_sizes():
    """10^12 parameters was the bin '3.16e+05M–1e+06M'."""
    binned = bin_values(pd.Series([100, 1000, 10**12]), "log10half")
    assert binned.iloc[2] == "316G–1T"
    assert bin_values(pd.Series([3e9, 10**16]), "log10").iloc[1] == "1.00e+15–1.00e+16"


def test_switched_off_penalties_get_their_own_bin_on_a_log_axis():
    binned = bin_values(pd.Series([0.0, 1e-5, 1e-3, np.nan]), "log10")
    assert binned.tolist()[:3] == ["off", "1e-05–1e-04", "1e-04–1e-03"]
    assert list(binned.cat.categories)[0] == "off"


def test_a_study_of_two_epoch_runs_is_mapped_and_a_stopped_one_advises_a_scan():
    """Every trial completed its max_epochs 2, below regimes.min_epochs 3: since round 3 each is
    judged as trained (underfit here), so the map has colours; stopped, they advise a scan."""
    t, e = _frames(*(_trial(f"t{i}", [0.9, 0.8], [0.9, 0.81], max_epochs=2, n_params=n)
                     for i, n in enumerate((100, 1000, 10000))))
    t = t.assign(depth=[1, 2, 3])
    regimes = classify_regimes(t, e, None, BAYES)
    m = regime_map(t, regimes, "n_params", "depth", "val_loss", False)
    assert set(m.cells["dominant"].dropna()) == {"underfit"}
    stopped = t.assign(status="stopped", max_epochs=10)
    with pytest.raises(AnalysisError, match="stopped before their curves showed a regime"):
        regime_map(stopped, classify_regimes(stopped, e, None, BAYES), "n_params", "depth",
                   "val_loss", False)


def test_a_trial_listed_twice_is_one_trial_on_maps_and_the_complexity_curve():
    """Hand-made tables are not deduplicated by load_tables: a trial twice in the trials table
    (or the regime table) was counted twice in its cell and drawn twice on the curve."""
    from jetstudy.analysis.complexity import complexity_curve

    trials = pd.DataFrame({"trial_id": ["a", "b", "a"], "status": "completed",
                           "depth": [1, 2, 1], "n_params": [100, 1000, 100],
                           "best_val_loss": [0.9, 0.7, 0.6]})
    regimes = pd.DataFrame({"trial_id": ["a", "b", "b"], "regime": ["good", "overfit", "good"],
                            "judged_on_partial": False, "final_train_loss": [0.6, 0.5, 0.5],
                            "final_val_loss": [0.62, 0.7, 0.7], "reference_loss": 0.6})
    cells = regime_map(trials, regimes, "n_params", "depth", "val_loss", False).cells
    assert cells["n_trials"].sum() == 2
    assert cells.set_index("y").loc["1", "best"] == 0.6  # a's last row
    assert cells.set_index("y").loc["2", "dominant"] == "good"  # b's last verdict
    curve = complexity_curve(trials, regimes, min_trials=1)
    assert sorted(curve.points["trial_id"]) == ["a", "b"]


def test_a_study_of_unstable_trials_is_told_so_not_to_wait():
    """'no judged trial ... yet' read as if waiting would help; every trial was unstable."""
    from jetstudy.analysis.complexity import complexity_curve

    trials = pd.DataFrame({"trial_id": ["a", "b"], "status": "completed", "n_params": [10, 20]})
    regimes = pd.DataFrame({"trial_id": ["a", "b"], "regime": "unstable",
                            "final_train_loss": 1.61, "final_val_loss": 1.61,
                            "reference_loss": np.nan})
    with pytest.raises(AnalysisError, match="every one of the 2 trials is unstable"):
        complexity_curve(trials, regimes)
