"""Refereeing the verdicts, round 4: regimes.csv says exactly what each reason says (the judged
losses, the absolute gap, the L* compared with and its split), and the maps show the configured
range."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from jetstudy.analysis.regimes import known_reference
from tests.analysis.test_regimes import _flat, _judge, _trial

LN5 = math.log(5)
#: the demo's reference: L* of the validation jets 0.583, of the training jets 0.5821
DEMO = known_reference({"prior_entropy": LN5, "bayes_val_loss": 0.583,
                        "bayes_val_loss_se": 0.002, "bayes_train_loss": 0.5821,
                        "bayes_train_loss_se": 0.001})

_NUMBER = re.compile(r"[+-]?(?:\d+\.\d+|\d+)(?:e[+-]?\d+)?")
_LOSS_COLUMNS = ("judged_train_loss", "judged_val_loss", "gap_abs", "judged_reference_loss",
                 "excess_abs", "split_offset", "epochs_judged", "final_train_loss",
                 "final_val_loss", "min_val_loss")


def _unit(number: float) -> float:
    """The last printed digit's place of a number as ``repr`` shows it (0.015: 0.001)."""
    text = repr(abs(float(number)))
    return 10.0 ** -(len(text.split(".")[1].rstrip("0")) if "." in text else 0)


def _shown(value: float, token: str) -> bool:
    """``value`` is the reason's ``token`` up to the rounding of both (a column rounded to its
    error, 0.165, and a reason's percent of the unrounded 0.1652, 17%, are the same number)."""
    if not np.isfinite(value):
        return False
    places = token.lstrip("+-").split("e")[0]
    token_unit = 10.0 ** -len(places.split(".")[1]) if "." in places else 1.0
    if "e" in token:
        token_unit *= 10.0 ** int(token.split("e")[1])
    return abs(abs(value) - abs(float(token))) <= (token_unit + _unit(value)) / 2 * (1 + 1e-9)


def _numbers_found(row) -> list[str]:
    """The reason's numbers that none of the row's columns holds (epochs and thresholds aside)."""
    missing = []
    reason = row["reason"]
    for m in _NUMBER.finditer(reason):
        token, after, before = m.group(), reason[m.end():m.end() + 7], reason[:m.start()]
        if before.endswith(("epoch ", "within ", "(z = ", "more than ")) or after.startswith(
                " epoch"):
            continue  # an epoch number or a threshold, not a measured number
        if after.startswith("%"):
            ok = any(_shown(100 * row[c], token) for c in ("gap", "excess"))
        elif after.startswith(" sigma"):
            ok = any(_shown(row[c], token) for c in ("gap_sigma", "excess_sigma"))
        else:
            ok = any(_shown(row[c], token) for c in _LOSS_COLUMNS)
        if not ok:
            missing.append(token)
    return missing


def test_every_number_of_a_reason_is_in_its_row():
    """The demo's row: min_val_loss (a running median) beside a lower final loss, a relative
    gap beside the absolute one the reason prints, L* of the training jets (0.5821) where
    reference_loss is the validation jets' (0.583): the row now holds what the reason says."""
    r = _judge(_flat("demo", 0.6631, 0.6737, train_se=0.0011, val_se=0.0021),
               _flat("over", 0.60, 0.70),
               _flat("under", 0.80, 0.81),
               _trial("above", [0.9] * 7 + [0.75] * 3, [0.9] * 7 + [0.66] * 3),
               reference=DEMO)
    assert r["regime"].to_dict() == {"demo": "good", "over": "overfit", "under": "underfit",
                                     "above": "good"}
    for tid, row in r.iterrows():
        assert _numbers_found(row) == [], (tid, row["reason"], row.to_dict())
    demo = r.loc["demo"]
    assert demo["judged_reference_loss"] == 0.5821 and demo["judged_reference_split"] == "train"
    assert demo["reference_loss"] == 0.583
    assert demo["gap_abs"] == pytest.approx(0.6737 - 0.6631 - 0.0009, abs=1e-4)
    assert demo["split_offset"] == 0.0009
    assert "+0.0097" in demo["reason"] and "L* 0.5821" in demo["reason"]
    # the bias of a train loss above its val loss is read from the val loss, against the
    # validation jets' L*
    assert r.loc["above", "judged_reference_split"] == "val"
    assert r.loc["above", "judged_reference_loss"] == 0.583
    # an overfit decided by the gap compared with no L*
    assert np.isnan(r.loc["over", "judged_reference_loss"])
    assert r.loc["over", "judged_reference_split"] == ""


def test_good_and_proxy_rows_hold_their_reasons_numbers():
    r = _judge(_flat("good", 0.603, 0.611), _flat("other", 0.75, 0.76),
               _trial("cut", [1.2, 0.95, 0.9], [1.2, 0.97, 0.93], status="stopped"),
               reference=None)
    assert r.loc["good", "regime"] == "good"
    assert r.loc["cut", "regime"] == "undetermined" and "gap" in r.loc["cut", "reason"]
    for tid, row in r.iterrows():
        assert _numbers_found(row) == [], (tid, row["reason"])
    # the proxy L* is the best trial's validation loss
    assert r.loc["other", "judged_reference_split"] == "val"


def test_the_regime_table_has_the_schemas_columns_in_its_order():
    from jetstudy.analysis.regimes import classify_regimes
    from jetstudy.trainables.table_schema import REGIMES
    from tests.analysis.test_regimes import _frames
    table = classify_regimes(*_frames(_flat("a", 0.62, 0.63)), reference=DEMO)
    assert list(table.columns) == list(REGIMES.names)


# --- regime maps span the configured range ------------------------------------------------------

def _map_tables():
    import pandas as pd
    trials = pd.DataFrame({"trial_id": list("abcd"), "status": ["completed"] * 4,
                           "depth": [1, 2, 3, 4], "width_0": [16, 32, 64, 32],
                           "width_1": [np.nan, 32, 32, 32], "width_2": [np.nan, np.nan, 16, 16],
                           "width_3": [np.nan, np.nan, np.nan, 32],
                           "n_params": [300, 1500, 3000, 4000], "val_loss": [0.7, 0.65, 0.64, 0.66]})
    regimes = pd.DataFrame({"trial_id": list("abcd"), "regime": ["underfit", "good", "good",
                                                                   "overfit"],
                            "judged_on_partial": [False] * 4, "reason": [""] * 4})
    return trials, regimes


def test_a_map_shows_the_configured_depths_and_marks_the_untried_ones():
    """space.depth [1, 6] with trials at depths 1-4: rows 5 and 6 are on the map, empty, and
    named untried; "no overfit at depth 6" can no longer be read from a map that never showed
    depth 6. Widths 8-256: the narrow and wide bins no trial reached are named too."""
    from jetstudy.analysis.maps import configured_ranges, regime_map
    trials, regimes = _map_tables()
    ranges = configured_ranges({"space": {"depth": [1, 6], "width": [8, 256]}})
    assert ranges == {"depth": (1.0, 6.0), "min_width": (8.0, 256.0), "max_width": (8.0, 256.0)}
    m = regime_map(trials, regimes, "min_width", "depth", "val_loss", False, ranges)
    assert list(m.cells["y"].cat.categories) == ["1", "2", "3", "4", "5", "6"]
    assert list(m.cells["x"].cat.categories)[0] == "8–16"
    assert list(m.cells["x"].cat.categories)[-1] == "128–256"
    assert m.untried["depth"] == ["5", "6"]
    assert "8–16" in m.untried["min_width"] and "128–256" in m.untried["min_width"]
    lines = m.range_lines()
    assert any("configured 1–6 (space.depth)" in line and "5, 6" in line for line in lines)
    # no config (an old study): the observed range, nothing called untried
    plain = regime_map(trials, regimes, "min_width", "depth", "val_loss", False)
    assert list(plain.cells["y"].cat.categories) == ["1", "2", "3", "4"]
    assert plain.range_lines() == [] and plain.untried == {}
    # every depth tried: said so
    full = regime_map(trials, regimes, "n_params", "depth", "val_loss", False,
                      {"depth": (1, 4)})
    assert full.untried == {"depth": []} and "every bin tried" in full.range_lines()[0]


def test_a_malformed_configured_range_falls_back_to_the_observed_one():
    from jetstudy.analysis.maps import configured_ranges
    assert configured_ranges(None) == {}
    assert configured_ranges({"space": {"depth": "deep", "width": [0, 64]}}) == {}
    assert configured_ranges({"space": {"depth": [6, 1]}}) == {}
    assert configured_ranges({"space": [1, 2]}) == {}


def test_the_reports_depth_map_names_the_configured_range(tmp_path, make_study, write_study):
    """The report's depth x width part states space.depth and the depths no trial tried."""
    from jetstudy.analysis.tables import load_tables
    from tests.analysis.test_referee2_report import _config, _text, build_report
    trials, epochs = make_study(n_trials=8, seed=3, asha=False)
    top = int(trials["depth"].max())
    folder = write_study(tmp_path / "s", trials, epochs,
                         config=_config(space={"depth": [1, top + 2]}))
    state = build_report(load_tables(folder), ("regime map (depth x width)",))
    text = _text(state, "Regime map: depth x width")
    assert f"configured 1–{top + 2} (space.depth)" in text, text
    assert f"{top + 1}, {top + 2}." in text, text


# --- identical curves: the proxy L* names the first proposed trial, whatever the row order ------

@pytest.mark.parametrize("rows", [("a", "b"), ("b", "a")])
def test_identical_curves_give_the_proxy_to_the_first_proposed_trial(rows):
    """Two trials with the same curve (a rerun's twin, a grid point twice): L* is their common
    best val loss, and the trial the report names as the proxy is the one the search proposed
    first (trial_number), not the first row or the first random trial id."""
    import pandas as pd
    from jetstudy.analysis.regimes import assess_regimes
    from tests.analysis.test_regimes import _frames
    made = {tid: _flat(tid, 0.62, 0.63) for tid in ("a", "b")}
    trials, epochs = _frames(*(made[t] for t in rows))
    trials["trial_number"] = trials["trial_id"].map({"b": 0, "a": 1})
    v = assess_regimes(trials, epochs)
    assert v.reference.proxy_trial == "b"
    assert v.table.set_index("trial_id")["regime"].to_dict() == {"a": "good", "b": "good"}
    assert isinstance(v.table, pd.DataFrame)


@pytest.mark.parametrize("rows", [("a", "b"), ("b", "a")])
def test_an_l_star_above_every_loss_names_the_first_proposed_of_equal_trials(rows):
    """A user's L* 0.80 above every trial's loss (all at 0.62, identical curves): no verdict
    of good (undetermined, L* is no lower bound), and the trial named is the first proposed."""
    from jetstudy.analysis.regimes import Reference, assess_regimes
    from tests.analysis.test_regimes import _frames
    made = {tid: _flat(tid, 0.62, 0.63) for tid in ("a", "b")}
    trials, epochs = _frames(*(made[t] for t in rows))
    trials["trial_number"] = trials["trial_id"].map({"b": 0, "a": 1})
    v = assess_regimes(trials, epochs, reference=Reference(loss=0.80, se=0.001, source="user"))
    assert v.reference.contradicted_by[0] == "b"
    assert set(v.table["regime"]) == {"undetermined"}
    assert all("L* is no lower bound (trial b" in r for r in v.table["reason"])


def test_the_complexity_curve_draws_the_losses_the_verdicts_judged():
    """A last-epoch spike (val 0.9 after 0.63, 0.63) is no verdict (median of the last 3):
    the complexity curve's point sits at the judged 0.63, where the rule saw it, not at 0.9."""
    from jetstudy.analysis.complexity import complexity_curve
    from jetstudy.analysis.regimes import classify_regimes
    from tests.analysis.test_regimes import _frames, _settled
    spike = _trial("spike", _settled(1.4, 0.62), _settled(1.4, 0.63)[:-1] + [0.9])
    trials, epochs = _frames(spike, _flat("b", 0.61, 0.62), _flat("c", 0.60, 0.61))
    trials["n_params"] = [1000, 5000, 20000]
    regimes = classify_regimes(trials, epochs, reference=DEMO)
    assert regimes.set_index("trial_id").loc["spike", "final_val_loss"] == 0.9
    curve = complexity_curve(trials, regimes).points.set_index("trial_id")
    assert curve.loc["spike", "val_loss"] == pytest.approx(0.63)
    assert curve.loc["spike", "gap"] == pytest.approx(0.01)
    # an older regimes.csv without the judged columns: the last epoch's, as before
    old = regimes.drop(columns=["judged_train_loss", "judged_val_loss"])
    assert complexity_curve(trials, old).points.set_index("trial_id").loc[
        "spike", "val_loss"] == 0.9


def test_the_rise_rules_numbers_are_in_its_row():
    """Overfit by the rise rule: the minimum, its epoch and both ends of both running medians
    are columns; the rise and the fall the reason prints are their differences."""
    train = [1.2, 1.1, 1.0, 0.95, 0.9, 0.86, 0.83, 0.8, 0.78, 0.76]
    val = [1.0, 0.8, 0.65, 0.62, 0.62, 0.64, 0.68, 0.72, 0.75, 0.77]
    r = _judge(_trial("rise", train, val, train_se=0.002, val_se=0.003), reference=None)
    row = r.loc["rise"]
    assert row["regime"] == "overfit" and "rose" in row["reason"], row["reason"]
    m = re.search(r"rose ([+-][\d.]+) .* from its minimum ([\d.]+) at epoch (\d+) while train "
                  r"loss fell ([+-][\d.]+)", row["reason"])
    assert m, row["reason"]
    assert _shown(row["min_val_loss"], m.group(2)) and int(m.group(3)) == row["min_val_epoch"]
    assert _shown(row["smoothed_final_val_loss"] - row["min_val_loss"], m.group(1))
    assert _shown(row["train_loss_at_min_val"] - row["smoothed_final_train_loss"], m.group(4))
    assert row["min_val_loss"] <= row["smoothed_final_val_loss"]


def test_l_star_has_the_same_digits_in_the_reason_the_table_and_the_report():
    """L* 0.58312 ± 0.004: the report's sentence says 0.583 ± 0.004, so the reason says L*
    0.583 (not 0.5831) and regimes.csv holds 0.583 in both L* columns."""
    from jetstudy.analysis.regimes import assess_regimes
    from tests.analysis.test_regimes import _frames
    ref = known_reference({"prior_entropy": LN5, "bayes_val_loss": 0.58312,
                           "bayes_val_loss_se": 0.004})
    v = assess_regimes(*_frames(_flat("a", 0.62, 0.63), _flat("u", 0.80, 0.81)), reference=ref)
    assert "0.583 ± 0.004" in v.reference.describe()
    for _, row in v.table.iterrows():
        assert "L* 0.583 (bayes)" in row["reason"], row["reason"]
        assert row["judged_reference_loss"] == row["reference_loss"] == 0.583
        assert _numbers_found(row) == [], row["reason"]


def test_a_regularisation_map_spans_the_configured_strengths():
    """space.l2 [0, 1e-3] (off, or drawn from [1e-6, 1e-3]) with trials only at 1e-5..1e-4:
    the bins down to 1e-6 and up to 1e-3 are on the map and named untried; dropout [0, 0.5]
    with trials at 0.1-0.2 likewise."""
    from jetstudy.analysis.maps import configured_ranges, regime_map
    trials, regimes = _map_tables()
    trials["l2"] = [1e-5, 2e-5, 5e-5, 1e-4 * 0.9]
    trials["dropout"] = [0.1, 0.12, 0.2, 0.15]
    ranges = configured_ranges({"space": {"l2": [0, 1e-3], "dropout": [0.0, 0.5]}})
    assert ranges == {"l2": (1e-6, 1e-3), "dropout": (0.0, 0.5)}
    m = regime_map(trials, regimes, "n_params", "l2", "val_loss", False, ranges)
    bins = list(m.cells["y"].cat.categories)
    assert bins[0].startswith("1e-06") and bins[-1].endswith("1e-03"), bins
    assert m.untried["l2"] == [bins[0], bins[-1]]
    d = regime_map(trials, regimes, "n_params", "dropout", "val_loss", False, ranges)
    assert list(d.cells["y"].cat.categories)[-1].endswith("0.5")
    assert "0.3–0.4" in d.untried["dropout"] and "0–0.1" in d.untried["dropout"]
    assert configured_ranges({"space": {"l1": [0, 0]}}) == {}


# --- importance of a metric that never changed -------------------------------------------------

def test_importance_of_a_metric_that_never_changed_is_no_finding():
    """Every finished trial at accuracy 0.75 (an inf is no value): equal shares of 25% each
    would read as 'all four matter equally'; there is nothing to explain."""
    import pandas as pd
    from jetstudy.analysis.errors import AnalysisError
    from jetstudy.analysis.importance import hyperparameter_importance
    rng = np.random.default_rng(0)
    n = 6
    trials = pd.DataFrame({"trial_id": [f"t{i}" for i in range(n)], "status": "completed",
                           "depth": [1, 2, 3, 4, 5, 2], "width_0": rng.integers(8, 256, n) * 1.0,
                           "lr": 10 ** rng.uniform(-4, -2, n), "best_val_acc": [0.75] * 5 + [np.inf]})
    with pytest.raises(AnalysisError, match=r"`best_val_acc` is the same \(0.75\) for all 5"):
        hyperparameter_importance(trials, None, "val_acc", True)



def test_the_drawn_map_marks_the_untried_rows_and_columns():
    """The figure writes 'not tried' in every cell of an untried depth or width bin (round 5:
    and in every other cell without a trial, test_referee5_report_figures.py)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from jetstudy.analysis.maps import regime_map
    from jetstudy.analysis.plots import draw_regime_map
    trials, regimes = _map_tables()
    m = regime_map(trials, regimes, "n_params", "depth", "val_loss", False, {"depth": (1, 6)})
    fig, ax = plt.subplots()
    try:
        draw_regime_map(m, ax)
        marked = {t.get_position() for t in ax.texts if t.get_text() == "not tried"}
    finally:
        plt.close(fig)
    assert m.untried["depth"] == ["5", "6"]
    n_x = len(m.cells["x"].cat.categories)
    assert {(i + 0.5, j + 0.5) for i in range(n_x) for j in (0.0, 1.0)} <= marked  # rows 6, 5
