"""Referee round 9 on the report's figures: the parallel-coordinates colour bar and the ROC
panels' x range (pure functions on hand-built tables; no study, no Ray)."""
import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from jetstudy.analysis.parallel import COLOUR_CAP_MIN, colour_range  # noqa: E402


@pytest.mark.parametrize("values", [[0.4, 0.9], [0.3, 0.5, 2.0], [0.1] * 18 + [7.0]])
def test_colour_bar_is_not_capped_for_few_trials(values):
    """A 95th-percentile cap on 2 values put the worse trial past the bar's end (hidden in the
    extension); with fewer than COLOUR_CAP_MIN finite trials the bar spans them all."""
    s = pd.Series(values + [np.nan])
    lo, hi = colour_range(s)
    assert (lo, hi) == (min(values), max(values))
    lo, hi = colour_range(s, maximize=True)
    assert (lo, hi) == (min(values), max(values))


def test_colour_bar_caps_only_with_enough_trials():
    values = pd.Series([0.5] * (COLOUR_CAP_MIN - 1) + [50.0])
    assert colour_range(values)[1] < 50.0


def test_parallel_figure_bar_not_extended_when_uncapped():
    """The bar's triangle says 'values beyond'; none are beyond when nothing was capped."""
    from jetstudy.analysis.parallel import parallel_coordinates
    from jetstudy.analysis.plots_search import parallel_figure

    t = pd.DataFrame({"trial_id": ["a", "b"], "status": ["completed"] * 2,
                      "best_val_loss": [0.4, 0.9], "val_loss": [0.4, 0.9],
                      "depth": [1, 3], "width_0": [8.0, 64.0], "n_params": [100, 10000],
                      "lr": [1e-3, 1e-2]})
    fig = parallel_figure(parallel_coordinates(t))
    bars = [a for a in fig.axes if getattr(a, "_colorbar", None) is not None]
    assert bars and bars[0]._colorbar.extend == "neither"


def test_roc_panel_shows_the_segment_at_signal_efficiency_one():
    """A ROC ends with a vertical segment at signal efficiency 1; xlim (0, 1) drew it on the
    axis spine, hidden. The x range now reaches a little past 1."""
    import matplotlib.pyplot as plt

    from jetstudy.analysis.plots_roc import draw_roc_overview

    eff = np.linspace(0, 1, 21)
    model = pd.DataFrame({"cls": "g", "signal_eff": np.r_[eff, 1.0],
                          "background_eff": np.r_[eff ** 3 + 1e-3, 1.0]})
    fig, ax = plt.subplots()
    draw_roc_overview(model, ax)
    lo, hi = ax.get_xlim()
    assert hi > 1.0 and lo < 0.0
    plt.close(fig)


def test_pareto_y_label_names_the_test_diamond_on_its_axis():
    """The test diamond sits on the same y axis as the trials' validation scores, yet the label
    said 'val accuracy' alone; with the diamond drawn it names both, without it only 'val'."""
    from jetstudy.analysis import plots
    from jetstudy.analysis.pareto import compute_pareto

    trials = pd.DataFrame({"trial_id": ["a", "b", "c"], "status": "completed",
                           "n_params": [200, 2000, 20000], "best_val_acc": [0.70, 0.75, 0.80]})
    res = compute_pareto(trials, "n_params", "val_acc", n_val=20000)
    with_test = plots.pareto_figure([res], {("n_params", res.score): (2e4, 0.79)})
    label = with_test.axes[0].get_ylabel()
    assert "test" in label and "val" in label, label
    without = plots.pareto_figure([res], {})
    assert without.axes[0].get_ylabel() == "val accuracy"


@pytest.mark.parametrize("n_costs", [1, 2])
def test_pareto_y_label_lies_inside_the_figure(n_costs):
    """A left margin of 9% of 5.2 in left 0.47 in for tick labels and the y label: the label
    was drawn at x < 0, cut off the PNG (the report saves without a tight box)."""
    from jetstudy.analysis import plots
    from jetstudy.analysis.pareto import compute_pareto

    trials = pd.DataFrame({"trial_id": ["a", "b", "c"], "status": "completed",
                           "n_params": [200, 2000, 20000], "flops": [400, 4000, 40000],
                           "best_val_acc": [0.70, 0.75, 0.80]})
    res = [compute_pareto(trials, c, "val_acc", n_val=20000)
           for c in ["n_params", "flops"][:n_costs]]
    fig = plots.pareto_figure(res, {("n_params", res[0].score): (2e4, 0.79)})
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    for ax in fig.axes:
        if ax.get_ylabel():
            assert ax.yaxis.label.get_window_extent(renderer).x0 >= 0, ax.get_ylabel()


@pytest.mark.parametrize("n_trials", [10, 24])
def test_parallel_caption_says_the_bar_stops_only_when_it_does(tmp_path, make_study, write_study,
                                                                 n_trials):
    """The colour bar is capped at the 95th percentile only from COLOUR_CAP_MIN trials on, but
    the caption of the demo's 16-trial study said "the colour bar stops at the 95th percentile;
    worse trials take its top colour" of a bar spanning every trial."""
    from jetstudy.analysis.parallel import COLOUR_CAP_MIN
    from jetstudy.analysis.sections import PARTS
    from jetstudy.analysis.tables import load_tables

    from tests.analysis.conftest import words_only

    trials, epochs = make_study(n_trials=n_trials, seed=3, asha=False)
    state = words_only(load_tables(write_study(tmp_path / "s", trials, epochs)))
    part = dict(PARTS)["parallel coordinates"]
    state.attempt("parallel coordinates", lambda: part(state))
    caption = next(s.caption for s in state.sections if s.title == "Parallel coordinates")
    capped = n_trials >= COLOUR_CAP_MIN
    assert ("stops at the 95th percentile" in caption) == capped, caption
    assert ("spans every trial's" in caption) == (not capped), caption
