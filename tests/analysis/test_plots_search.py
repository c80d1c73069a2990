"""The search views draw what their data says: the running best, statuses, one line a trial."""

from __future__ import annotations

import numpy as np
import pandas as pd

from jetstudy.analysis import plots
from jetstudy.analysis.history import optimisation_history
from jetstudy.analysis.parallel import parallel_coordinates
from jetstudy.analysis.plots_search import draw_history, draw_parallel, parallel_figure

NAN = float("nan")


def _trials() -> pd.DataFrame:
    losses = [0.9, 45.0, 0.6, NAN, 0.7]
    return pd.DataFrame({
        "trial_id": list("abcde"), "status": ["completed", "stopped", "completed", "failed",
                                              "running"],
        "depth": [1, 2, 3, 1, 2], "n_params": [100, 1000, 5000, 300, 800],
        "l1": [0.0, 1e-5, 1e-4, NAN, 1e-6], "lr": [1e-3, 1e-2, 3e-3, 1e-3, 1e-2],
        "train_loss": losses, "val_loss": losses, "best_val_loss": losses})


def test_history_draws_the_running_best_and_tells_statuses_apart():
    (panel,) = optimisation_history(_trials(), "val_loss", False)
    fig, axes = plots.new_figure()
    ax = axes[0, 0]
    draw_history(panel, ax)
    (step,) = ax.lines
    x, y = step.get_data()
    # on to the axis's right edge, 4.5: the best holds until the end
    assert list(x) == [0, 1, 2, 3, 4, 4.5] and list(y) == [0.9, 0.9, 0.6, 0.6, 0.6, 0.6]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["completed (ran to the end): 2", "stopped early (ASHA, time budget): 1",
                      "still running: 1", "best so far (lowest)"]
    assert ax.get_yscale() == "log"  # the diverged 45 beside 0.6
    hollow = ax.collections[1]
    assert hollow.get_facecolors().size == 0  # stopped: hollow markers
    assert plots.png_bytes(fig).startswith(b"\x89PNG")


def test_parallel_draws_one_line_per_trial_with_a_colour_bar_and_regimes():
    regimes = pd.DataFrame({"trial_id": list("abcde"),
                            "regime": ["good", "unstable", "overfit", "unstable",
                                       "undetermined"]})
    pc = parallel_coordinates(_trials(), regimes)
    fig = parallel_figure(pc)
    top, bottom, bar = fig.axes
    assert len(top.collections[0].get_segments()) == 5
    assert bar.get_ylabel() == "val loss (nats; lower is better)"
    assert [t.get_text() for t in top.get_xticklabels()] == ["hidden layers", "parameters", "L1",
                                                              "learning rate"]
    legend = [t.get_text() for t in bottom.get_legend().get_texts()]
    assert legend == ["good: 1", "overfit: 1", "unstable: 2", "undetermined: 1"]
    colours = top.collections[0].get_colors()
    grey = np.array([0.8, 0.8, 0.8])
    assert np.allclose(colours[0][:3], grey)  # the failed trial, no loss: grey, drawn first
    assert plots.png_bytes(fig).startswith(b"\x89PNG")


def test_parallel_without_regimes_is_one_panel():
    pc = parallel_coordinates(_trials())
    fig = parallel_figure(pc)
    assert len(fig.axes) == 2  # the lines and the colour bar
    fig2, axes = plots.new_figure()
    assert draw_parallel(pc, axes[0, 0], "regime") is None
