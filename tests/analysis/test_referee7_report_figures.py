"""Referee, round 7 (task G): every caption and title names only what this study has, every axis
of the parallel coordinates shows its range's ends.

The complexity figure's title said trials "ran to the end (max_epochs or their patience)" in an
ASHA study, where no patience applies; the parallel-coordinates' log axis of the narrowest layer
(8 to 100) was labelled only at 10 and 100, nothing at its bottom. Hand-made tables only.
"""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest

from jetstudy.analysis import plots
from jetstudy.analysis.parallel import OFF, parallel_coordinates
from jetstudy.analysis.plots_search import parallel_figure
from jetstudy.analysis.sections import ReportState, _rules
from jetstudy.analysis.sections_curves import complexity_of, complexity_part
from jetstudy.analysis.tables import load_tables
from tests.analysis.conftest import CONFIG


def _state(tmp_path, make_study, write_study, scheduler: dict | None) -> ReportState:
    trials, epochs = make_study(n_trials=8, max_epochs=6, seed=3, asha=False)
    config = copy.deepcopy(CONFIG)
    if scheduler is not None:
        config["scheduler"] = scheduler
    folder = write_study(tmp_path / "study", trials, epochs, config=config)
    return ReportState(load_tables(folder))


@pytest.mark.parametrize("scheduler, says, never", [
    ({"type": "asha", "max_epochs": 6, "grace_period": 2, "reduction_factor": 3},
     "(max_epochs = 6, ASHA's max_t, past every rung)", "patience"),
    ({"type": "fifo", "max_epochs": 6}, "(max_epochs = 6)", "patience"),
    ({"type": "patience", "max_epochs": 6, "patience": 2},
     "(max_epochs = 6 or their patience (2 epochs without a better val_loss))", "ASHA"),
])
def test_complexity_title_and_caption_name_only_this_studys_scheduler(
        tmp_path, make_study, write_study, scheduler, says, never) -> None:
    r = _state(tmp_path, make_study, write_study, scheduler)
    curve = complexity_of(r)
    fig = plots.complexity_figure(curve)
    title = fig.axes[0].get_title()
    assert says in title and never not in title, title
    section = complexity_part(r)
    assert says in section.caption and never not in section.caption
    rules = " ".join(_rules(r))
    assert never not in rules.split("Complete:")[1].split(";")[0], rules


def test_rules_and_importance_name_no_asha_in_a_fifo_study(tmp_path, make_study,
                                                            write_study) -> None:
    r = _state(tmp_path, make_study, write_study, {"type": "fifo", "max_epochs": 6})
    text = " ".join(_rules(r))
    assert "ASHA" not in text and "stopped by the time budget" in text, text
    assert "Complete: status completed (ran to max_epochs = 6)" in text


def _drawn_ticks(ax, i: int) -> list[tuple[float, str]]:
    """The tick labels drawn left of the parallel axis ``i``: (position, text)."""
    return sorted((t.get_position()[1], t.get_text()) for t in ax.texts
                  if abs(t.get_position()[0] - (i - 0.05)) < 1e-9)


@pytest.mark.parametrize("widths", [[8, 16, 100, 30], [8, 128, 20, 40], [3, 9, 11, 5]])
def test_every_parallel_axis_labels_both_ends_of_its_range(widths) -> None:
    """Narrowest layers 8..100: ticks at 10 and 100 only, the bottom (8) unlabelled. Now each
    numeric axis has a label at 0 and at 1 (its range's ends), none overlapping another."""
    n = len(widths)
    trials = pd.DataFrame({
        "trial_id": [f"t{i}" for i in range(n)], "status": ["completed"] * n,
        "depth": [1] * n, "width_0": [float(w) for w in widths],
        "n_params": [16 * w + w * 5 + 5 + w for w in widths],
        "lr": [1.5e-3, 2e-2, 4e-3, 9e-3], "l2": [0.0, 1e-5, 3e-5, 2e-4],
        "best_val_loss": [0.7, 0.6, 0.9, 0.65]})
    pc = parallel_coordinates(trials)
    fig = parallel_figure(pc)
    ax = fig.axes[0]
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    for i, a in enumerate(pc.axes):
        ticks = [p for p, _ in _drawn_ticks(ax, i) if p != OFF]
        assert ticks and min(ticks) == pytest.approx(0.0) and max(ticks) == pytest.approx(1.0), \
            (a.column, a.ticks)
        boxes = [t.get_window_extent(renderer) for t in ax.texts
                 if abs(t.get_position()[0] - (i - 0.05)) < 1e-9]
        for j, b in enumerate(boxes):
            for c in boxes[j + 1:]:
                assert not b.overlaps(c), (a.column, a.ticks)
    # the ends are the data's: the lowest width's label reads that width
    width_axis = next(a for a in pc.axes if a.column == "min_width")
    assert width_axis.ticks[0][1] == f"{min(widths):g}"
    assert width_axis.ticks[-1][1] == f"{max(widths):g}"
    assert np.isfinite([p for p, _ in width_axis.ticks]).all()
