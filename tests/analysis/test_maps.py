"""Regime map cells and binning, on small hand-made tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from jetstudy.analysis.errors import AnalysisError
from jetstudy.analysis.maps import bin_values, max_width, min_width, regime_map


def _tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    trials = pd.DataFrame({
        "trial_id": list("abcdef"),
        "depth": [1, 1, 1, 3, 3, 3],
        "width_0": [8, 10, 200, 64, 64, 64], "width_1": [np.nan] * 3 + [16, 16, 200],
        "width_2": [np.nan] * 3 + [16, 16, 16],
        "l1": [0.0, 0.0, 1e-5, 1e-5, 2e-5, 1e-4],
        "best_val_acc": [0.5, 0.55, 0.7, 0.72, 0.74, 0.71],
        "n_params": [100, 150, 4000, 3000, 3100, 20000],
    })
    regimes = pd.DataFrame({
        "trial_id": list("abcdef"),
        "regime": ["underfit", "underfit", "good", "good", "overfit", "undetermined"],
        "judged_on_partial": [False, True, False, True, False, False],
    })
    return trials, regimes


def test_depth_width_cells():
    trials, regimes = _tables()
    m = regime_map(trials, regimes, "max_width", "depth", "val_acc", maximize=True)
    cells = m.cells.set_index(["y", "x"])
    assert list(m.cells["x"].cat.categories) == ["8–16", "16–32", "32–64", "64–128"] + ["128–256"]
    assert list(m.cells["y"].cat.categories) == ["1", "2", "3"]  # depth 2: an empty row
    small = cells.loc[("1", "8–16")]
    assert (small["n_trials"], small["dominant"], small["best"]) == (2, "underfit", 0.55)
    mid = cells.loc[("3", "64–128")]  # d (partial good) and e (full overfit): the full one decides
    assert (mid["n_trials"], mid["n_full"], mid["dominant"]) == (2, 1, "overfit")
    assert mid["best"] == pytest.approx(0.74)
    assert m.cells["n_trials"].sum() == 5  # the undetermined trial f colours nothing ...
    f_cell = cells.loc[("3", "128–256")]  # ... but is counted in its cell
    assert (f_cell["n_trials"], f_cell["n_undetermined"]) == (0, 1) and pd.isna(f_cell["dominant"])
    assert f_cell["best"] == pytest.approx(0.71)


def test_undetermined_trials_never_colour_a_cell():
    """Two ASHA-stopped (undetermined) trials and one good one: the cell is good, 2 undetermined."""
    trials, regimes = _tables()
    regimes["regime"] = ["undetermined", "undetermined", "good", "good", "overfit", "undetermined"]
    trials.loc[2, ["width_0"]] = 9  # c joins a and b in the 8-16 column
    m = regime_map(trials, regimes, "max_width", "depth", "val_acc", maximize=True)
    small = m.cells.set_index(["y", "x"]).loc[("1", "8–16")]
    assert (small["dominant"], small["n_trials"], small["n_undetermined"]) == ("good", 1, 2)


def test_partial_only_cells_are_flagged():
    trials, regimes = _tables()
    regimes["judged_on_partial"] = [True, True, False, False, False, False]
    m = regime_map(trials, regimes, "max_width", "depth", "val_acc", maximize=True)
    small = m.cells.set_index(["y", "x"]).loc[("1", "8–16")]
    assert bool(small["partial_only"]) and small["dominant"] == "underfit"


def test_a_tie_is_mixed_not_the_first_regime_in_order():
    """Round 6: a 1:1 tie was coloured by the REGIMES order (underfit); it is 'mixed' now."""
    trials, regimes = _tables()
    regimes["regime"] = ["overfit", "underfit", "good", "good", "overfit", "undetermined"]
    regimes["judged_on_partial"] = False
    m = regime_map(trials, regimes, "max_width", "depth", "val_acc", maximize=True)
    cell = m.cells.set_index(["y", "x"]).loc[("1", "8–16")]
    assert (cell["dominant"], cell["tied"]) == ("mixed", "1 underfit, 1 overfit")


def test_min_metric_and_off_bin():
    trials, regimes = _tables()
    trials["best_val_loss"] = [1.0, 0.9, 0.7, 0.65, 0.6, 0.66]
    m = regime_map(trials, regimes, "n_params", "l1", "val_loss", maximize=False)
    assert m.cells["y"].cat.categories[0] == "off"
    off = m.cells[m.cells["y"] == "off"]
    assert off["best"].min() == pytest.approx(0.9)


def test_constant_axis_is_refused_with_value():
    trials, regimes = _tables()
    trials["l1"] = 0.0
    with pytest.raises(AnalysisError, match="`l1` does not vary in this study \\(all 0\\)"):
        regime_map(trials, regimes, "n_params", "l1", "val_acc", True)


def test_nothing_judged_is_refused_and_points_to_a_scan():
    trials, regimes = _tables()
    regimes["regime"] = "undetermined"
    with pytest.raises(AnalysisError, match="no trial could be judged yet: all 6 are undetermined"
                       ".*scan study"):
        regime_map(trials, regimes, "max_width", "depth", "val_acc", True)


def test_narrowest_layer_shows_the_bottleneck():
    """A 60-128-2-2 net belongs with the 2-unit nets, not in the 64-128 column."""
    trials = pd.DataFrame({"trial_id": ["neck", "wide", "small"], "depth": [4, 2, 1],
                           "widths": ["60-128-2-2", "100-100", "2"], "n_params": [9000, 12000, 50]})
    regimes = pd.DataFrame({"trial_id": ["neck", "wide", "small"],
                            "regime": ["unstable", "good", "underfit"], "judged_on_partial": False})
    assert min_width(trials).tolist() == [2.0, 100.0, 2.0]
    m = regime_map(trials, regimes, "min_width", "depth", "val_loss", False)
    cells = m.cells.set_index(["y", "x"])
    assert cells.loc[("4", "2–4"), "dominant"] == "unstable"
    assert list(m.cells["y"].cat.categories) == ["1", "2", "3", "4"]
    assert m.x_title == "narrowest hidden layer (units)"


def test_max_width_from_columns_or_string():
    trials, _ = _tables()
    assert max_width(trials).tolist() == [8, 10, 200, 64, 64, 200]
    only_string = pd.DataFrame({"widths": ["64-32-32", "8", "", None]})
    out = max_width(only_string)
    assert out.tolist()[:2] == [64.0, 8.0] and out.isna().tolist()[2:] == [True, True]


def test_bin_values_kinds():
    assert bin_values(pd.Series([0.0, 0.05, 0.5]), "linear").tolist() == ["0–0.1", "0–0.1", "0.4–0.5"]
    log = bin_values(pd.Series([0.0, 1e-7, 5e-4, 1e-3]), "log10")
    assert log.tolist() == ["off", "1e-07–1e-06", "1e-04–1e-03", "1e-04–1e-03"]
    assert bin_values(pd.Series([2.0, 3.0, np.nan]), "category").tolist()[:2] == ["2", "3"]
    assert bin_values(pd.Series([150.0, 4000.0]), "log10half").cat.categories[0] == "100–316"
    with pytest.raises(AnalysisError, match="unknown"):
        bin_values(pd.Series([1.0]), "cubic")
