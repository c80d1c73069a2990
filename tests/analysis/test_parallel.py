"""Parallel-coordinates data on hand-made trials tables: axes, scales, off slots, edge cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from jetstudy.analysis.errors import AnalysisError
from jetstudy.analysis.parallel import OFF, colour_range, param_axis, parallel_coordinates

NAN = float("nan")


def _trials(n: int = 4, **columns: list) -> pd.DataFrame:
    base = {"trial_id": [f"t{i}" for i in range(n)], "status": ["completed"] * n,
            "depth": [1, 2, 3, 2][:n], "width_0": [8.0, 16.0, 64.0, 32.0][:n],
            "width_1": [NAN, 8.0, 4.0, 32.0][:n], "width_2": [NAN, NAN, 16.0, NAN][:n],
            "n_params": [100, 1000, 10000, 3000][:n], "dropout": [0.0, 0.1, 0.2, 0.0][:n],
            "l1": [1e-6, 1e-5, 1e-4, 1e-5][:n], "l2": [1e-5] * n, "lr": [1e-3, 1e-2, 1e-3, 3e-3][:n],
            "activation": ["relu"] * n, "batch_norm": [False] * n,
            "train_loss": [0.7, 0.6, 0.9, 0.65][:n], "val_loss": [0.7, 0.6, 0.9, 0.65][:n],
            "best_val_loss": [0.7, 0.6, 0.9, 0.65][:n]}
    return pd.DataFrame({**base, **columns})


def test_only_what_varies_gets_an_axis_in_page_order():
    pc = parallel_coordinates(_trials())
    assert [a.column for a in pc.axes] == ["depth", "n_params", "min_width", "dropout", "l1",
                                           "lr"]
    assert pc.left_out == ("l2", "activation", "batch_norm")
    assert pc.colour_column == "best_val_loss"


def test_log_axis_positions_and_decade_ticks():
    pc = parallel_coordinates(_trials())
    lines = pc.lines.set_index("trial_id")
    assert lines.loc[["t0", "t1", "t2", "t3"], "n_params"].tolist() == pytest.approx(
        [0.0, 0.5, 1.0, (np.log10(3000) - 2) / 2])
    n_params = next(a for a in pc.axes if a.column == "n_params")
    assert n_params.scale == "log"
    assert n_params.ticks == ((0.0, "100"), (0.5, "1k"), (1.0, "10k"))
    min_width = lines["min_width"]  # narrowest layers 8, 8, 4, 32: log2 spacing on a log axis
    assert min_width.loc["t2"] == 0.0 and min_width.loc["t3"] == 1.0
    assert min_width.loc["t0"] == pytest.approx(1 / 3)


@pytest.mark.parametrize("off", [0.0, NAN])
def test_switched_off_penalty_sits_in_the_off_slot(off):
    pc = parallel_coordinates(_trials(l1=[off, 1e-5, 1e-4, off]))
    l1 = next(a for a in pc.axes if a.column == "l1")
    assert (OFF, "off") in l1.ticks
    lines = pc.lines.set_index("trial_id")["l1"]
    assert lines.loc["t0"] == OFF and lines.loc["t3"] == OFF
    assert lines.loc["t1"] == 0.0 and lines.loc["t2"] == 1.0


def test_a_penalty_on_in_one_trial_and_off_in_the_others_still_varies():
    found = param_axis("l2", pd.Series([0.0, 0.0, 1e-4]))
    assert found is not None
    axis, pos = found
    assert pos.tolist() == [OFF, OFF, 0.5] and axis.ticks == ((0.5, "1e-04"), (OFF, "off"))


def test_linear_int_and_categorical_axes():
    dropout, pos = param_axis("dropout", pd.Series([0.0, 0.25, 0.5]))
    assert dropout.scale == "linear" and pos.tolist() == [0.0, 0.5, 1.0]
    assert [t for _, t in dropout.ticks] == ["0", "0.25", "0.5"]
    depth, pos = param_axis("depth", pd.Series([1, 3, 2]))
    assert [t for _, t in depth.ticks] == ["1", "2", "3"] and pos.tolist() == [0.0, 1.0, 0.5]
    bn, pos = param_axis("batch_norm", pd.Series([True, False, True]))
    assert bn.scale == "category" and bn.ticks == ((0.0, "false"), (1.0, "true"))
    assert pos.tolist() == [1.0, 0.0, 1.0]
    bs, pos = param_axis("batch_size", pd.Series([1024, 256, 4096]))
    assert [t for _, t in bs.ticks] == ["256", "1024", "4096"]  # numbers in numeric order
    assert param_axis("activation", pd.Series(["relu", "relu"])) is None
    nullable, pos = param_axis("batch_size", pd.Series([256, None, 1024], dtype="Int64"))
    assert [t for _, t in nullable.ticks] == ["256", "1024", "-"] and pos.tolist() == [0, 1, 0.5]
    depth, pos = param_axis("depth", pd.Series([1, None, 3], dtype="Int64"))
    assert (OFF, "-") in depth.ticks and pos.tolist() == [0.0, OFF, 1.0]


def test_lines_carry_regimes_and_the_best_trial_is_drawn_last():
    t = _trials(best_val_loss=[0.7, 0.6, NAN, 0.65])
    regimes = pd.DataFrame({"trial_id": ["t0", "t1", "t2", "t3"],
                            "regime": ["good", "overfit", "unstable", "undetermined"]})
    pc = parallel_coordinates(t, regimes)
    assert pc.has_regimes
    assert pc.lines["trial_id"].tolist() == ["t2", "t0", "t3", "t1"]  # no loss, worst .. best
    assert pc.lines.set_index("trial_id").loc["t1", "regime"] == "overfit"
    assert not parallel_coordinates(t).has_regimes


def test_one_trial_has_nothing_to_compare():
    with pytest.raises(AnalysisError, match="only 1 trial is in the table, so there is nothing to compare"):
        parallel_coordinates(_trials(1))


def test_no_finite_loss_is_a_sentence_not_a_crash():
    t = _trials(best_val_loss=[NAN] * 4, val_loss=[NAN] * 4, status=["failed"] * 4)
    with pytest.raises(AnalysisError, match="validation loss to colour by"):
        parallel_coordinates(t)


def test_colour_range_stops_at_the_95th_percentile():
    values = pd.Series([0.5] * 19 + [50.0, NAN])
    lo, hi = colour_range(values)
    assert lo == 0.5 and hi == pytest.approx(np.percentile([0.5] * 19 + [50.0], 95))
    assert hi < 50.0
    lo, hi = colour_range(pd.Series([0.7, 0.7]))
    assert hi > lo  # a single value still gives a usable scale
