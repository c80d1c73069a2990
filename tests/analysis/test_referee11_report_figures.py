"""Referee round 11 on the report's figures: what a legend names must be seen, and a label must
be read. Hand-built tables, no study, no Ray; the pixel tests render one figure each."""
import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402


def _pixels(fig) -> np.ndarray:
    """The figure as drawn, RGB rows from the top (display y counts from the bottom)."""
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba())[:, :, :3].astype(int)


def _crop(rgb: np.ndarray, box) -> np.ndarray:
    """The pixels inside a display-coordinate box (x0, y0, x1, y1)."""
    h = rgb.shape[0]
    x0, y0, x1, y1 = (int(round(v)) for v in box)
    return rgb[max(h - y1, 0):h - y0, max(x0, 0):x1]


def _history_trials(values: list[float], status: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"trial_id": [f"t{i}" for i in range(len(values))], "status": status,
                         "best_val_loss": values})


@pytest.mark.parametrize("values, status", [
    ([0.73], ["completed"]),  # a one-trial study
    ([np.nan, np.nan, 0.70], ["failed", "failed", "completed"]),  # only the last has a value
])
def test_the_running_best_the_history_names_is_a_line_one_can_see(values, status):
    """A one-trial study's history named a 'best so far' line in its legend that was a single
    point under the trial's marker (a step line ending at the last trial has no length when
    only that trial has a value). The line now runs on to the axis's right edge: the best
    holds until the end of the study."""
    from jetstudy.analysis.history import optimisation_history
    from jetstudy.analysis.plots_search import history_figure

    fig = history_figure(optimisation_history(_history_trials(values, status), "val_loss", False))
    ax = fig.axes[0]
    fig.canvas.draw()
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "best so far (lowest)" in labels, labels
    (line,) = [ln for ln in ax.lines if ln.get_label() == "best so far (lowest)"]
    xy = line.get_transform().transform(line.get_path().vertices)
    marker_px = 2 * np.sqrt(22) * fig.dpi / 72  # the trial's marker (s=22 pt^2), twice over
    assert np.nanmax(xy[:, 0]) - np.nanmin(xy[:, 0]) > marker_px, (xy, marker_px)
    left, right = ax.get_xlim()
    assert line.get_xdata()[-1] <= right  # on to the edge, not past it


def _pareto_trials(costs: list[float], scores: list[float]) -> pd.DataFrame:
    return pd.DataFrame({"trial_id": [f"t{i}" for i in range(len(costs))], "status": "completed",
                         "n_params": costs, "best_val_acc": scores})


@pytest.mark.parametrize("costs, scores", [
    ([14000.0], [0.73]),  # one trial: pick = best = the front = the only point
    ([500.0, 2000.0, 9000.0], [0.80, 0.70, 0.75]),  # the smallest is the best: a front of one
])
def test_the_pareto_legend_names_no_front_hidden_under_the_star(costs, scores):
    """With a front of one point (the pick, under its star) the legend named a 'Pareto front
    (fully trained)' line nobody could see, and with one trial 'fully trained trials' too, the
    only one being under the star. Neither is named (nor drawn) then; the star and the error
    bar that stands out of it are."""
    from jetstudy.analysis.pareto import compute_pareto
    from jetstudy.analysis.plots_pareto import pareto_figure

    res = compute_pareto(_pareto_trials(costs, scores), "n_params", "val_acc", n_val=12000)
    assert len(res.front) == 1 and res.pick is not None
    fig = pareto_figure([res], {})
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert not [x for x in labels if x.startswith("Pareto front")], labels
    assert "smallest within 1% of best" in labels
    if len(costs) == 1:
        assert not [x for x in labels if "trials" in x], labels
        assert "± 1 se" in labels
    else:
        assert "fully trained trials (± 1 se)" in labels


def test_a_front_of_two_points_is_still_drawn_and_named():
    """The other side of the rule above: a front that shows (two points) keeps its line."""
    from jetstudy.analysis.pareto import compute_pareto
    from jetstudy.analysis.plots_pareto import pareto_figure

    res = compute_pareto(_pareto_trials([500.0, 9000.0], [0.70, 0.80]), "n_params", "val_acc",
                         n_val=12000)
    assert len(res.front) == 2
    labels = [t.get_text() for t in pareto_figure([res], {}).axes[0].get_legend().get_texts()]
    assert "Pareto front (fully trained)" in labels


_RED = np.array([214, 39, 40])  # tab:red, the pick's star


def _red(rgb: np.ndarray) -> int:
    return int((np.abs(rgb - _RED).sum(axis=-1) < 60).sum())


def test_the_test_diamond_leaves_the_star_beneath_it_visible():
    """When the pick is the best model, its test score close to its validation score, the
    filled black test diamond was drawn over the red star and hid most of it: both named in the
    legend, one seen. The diamond is hollow now: the star shows through it, the diamond's
    outline over it."""
    from jetstudy.analysis.pareto import compute_pareto
    from jetstudy.analysis.plots_pareto import pareto_figure

    res = compute_pareto(_pareto_trials([500.0, 2000.0, 9000.0], [0.70, 0.74, 0.80]),
                         "n_params", "val_acc", n_val=12000)
    pick = res.pick
    assert str(pick["trial_id"]) == str(res.best["trial_id"])
    fig = pareto_figure([res], {("n_params", res.score): (float(pick["cost"]),
                                                          float(pick["score"]))})
    ax = fig.axes[0]
    fig.canvas.draw()
    x, y = ax.transData.transform((float(pick["cost"]), float(pick["score"])))
    box = (x - 12, y - 12, x + 12, y + 12)
    (diamond,) = [c for c in ax.collections if c.get_label() == "best model, test split"]
    seen = _crop(_pixels(fig), box)
    diamond.set_visible(False)
    star_alone = _crop(_pixels(fig), box)
    assert _red(star_alone) > 40
    assert _red(seen) >= 0.6 * _red(star_alone), (_red(seen), _red(star_alone))
    dark = int((seen.sum(axis=-1) < 150).sum()) - int((star_alone.sum(axis=-1) < 150).sum())
    assert dark > 15  # and the diamond is there to see


def test_parallel_coordinate_tick_labels_are_not_crossed_by_lines(make_study):
    """The axes' tick labels (11.8k, 1.0e-04) sat in a white box of alpha 0.7 over the lines
    arriving from the axis on their left: with 200 trials the lines ran through the digits and
    the labels could not be read. What a label's box shows is now the same whether the lines
    are drawn or not."""
    from matplotlib.collections import LineCollection

    from jetstudy.analysis.parallel import parallel_coordinates
    from jetstudy.analysis.plots_search import parallel_figure

    trials, _ = make_study(n_trials=200, seed=7)
    fig = parallel_figure(parallel_coordinates(trials))
    ax = fig.axes[0]
    with_lines = _pixels(fig)
    renderer = fig.canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for t in ax.texts if t.get_text().strip()]
    assert len(boxes) >= 14
    for c in ax.collections:
        if isinstance(c, LineCollection):
            c.set_visible(False)
    without = _pixels(fig)
    crossed = [i for i, b in enumerate(boxes)
               if not np.array_equal(_crop(with_lines, (b.x0 + 1, b.y0 + 1, b.x1 - 1, b.y1 - 1)),
                                     _crop(without, (b.x0 + 1, b.y0 + 1, b.x1 - 1, b.y1 - 1)))]
    assert not crossed, [ax.texts[i].get_text() for i in crossed]


def test_the_search_front_of_one_point_under_the_star_is_not_named():
    """A size-aware search whose smallest trial is also its best: the search's own front is
    that one trial, the 'how big' star on it, yet the legend named 'the search's front', a
    line nobody could see. It is named only where it shows."""
    import matplotlib.pyplot as plt

    from jetstudy.analysis.pareto import search_front
    from jetstudy.analysis.plots_pareto import draw_search_front

    trials = _pareto_trials([500.0, 2000.0, 9000.0], [0.80, 0.70, 0.75]).assign(
        best_val_loss=[0.60, 0.70, 0.65])
    own = search_front(trials, "val_loss", False, "n_params")
    assert int(own["on_front"].sum()) == 1
    fig, ax = plt.subplots()
    try:
        draw_search_front(own, ax, "best_val_loss", "n_params", pick="t0")
        labels = [t.get_text() for t in ax.get_legend().get_texts()]
        assert "the search's front" not in labels and "how big: t0" in labels, labels
        ax.clear()
        two = search_front(trials.assign(best_val_loss=[0.70, 0.60, 0.65]), "val_loss", False,
                           "n_params")
        draw_search_front(two, ax, "best_val_loss", "n_params", pick="t0")
        assert "the search's front" in [t.get_text() for t in ax.get_legend().get_texts()]
    finally:
        plt.close(fig)


def test_the_published_reference_points_lie_inside_the_roc_axes_of_a_small_test_split():
    """Real data, a test split of 40 jets: each class's curve ended at a background efficiency
    of ~0.03, the axis a little below it, and the published DNN's point at 0.01 (Moreno et al.,
    named in every legend) lay below the axis in every panel: one of its two points shown."""
    from jetstudy.analysis.plots_roc import roc_figure
    from jetstudy.analysis.references import MORENO_DNN
    from jetstudy.analysis.roc import roc_points

    from tests.analysis.conftest import _predictions

    fig = roc_figure(roc_points(_predictions(40, 0, False)), {}, reference=True)
    for ax in fig.axes[:5]:
        (points,) = [c for c in ax.collections if c.get_label() == MORENO_DNN.label]
        lo, hi = ax.get_ylim()
        y = points.get_offsets()[:, 1]
        assert len(y) == 2 and ((y > lo) & (y <= hi)).all(), (ax.get_title(), y, lo)


def test_parallel_coordinates_of_one_varying_knob_are_skipped_with_the_reason(
        tmp_path, make_study, write_study):
    """A scan of the learning rate alone (depth, width, penalties fixed): the parallel
    coordinates had one axis, every trial a one-point 'line' that draws nothing, under the
    caption 'One line per trial (5)': an empty panel with a colour bar. The part is skipped,
    saying why."""
    from jetstudy.analysis.report import write_report

    trials, epochs = make_study(n_trials=5, max_epochs=4, seed=3, asha=False)
    trials = trials.assign(depth=2, widths="32-32", width_0=32.0, width_1=32.0, n_params=1733,
                           flops=3264, dropout=0.1, l1=1e-6, l2=1e-6,
                           lr=[1e-4, 3e-4, 1e-3, 3e-3, 1e-2])
    for k in range(2, 6):
        trials[f"width_{k}"] = np.nan
    folder = write_study(tmp_path / "s", trials, epochs)
    out = write_report(folder, figures=False)
    skipped = dict(out.skipped)
    assert "parallel coordinates" in skipped, out.skipped
    assert "only one hyperparameter (learning rate) varies" in skipped["parallel coordinates"]


def test_a_complexity_curve_of_one_size_is_skipped_with_the_reason(
        tmp_path, make_study, write_study):
    """A one-trial study drew its complexity 'curve': one parameter count, the trial's points
    under the bin medians under the bin's lowest val loss, a legend of six entries of which
    three could be seen and two 'lines' that were points. With one size among the trials
    drawn there is no curve against size: the part is skipped, saying so (as the regime maps
    are)."""
    from jetstudy.analysis.report import write_report

    trials, epochs = make_study(n_trials=1, max_epochs=6, seed=2, asha=False)
    out = write_report(write_study(tmp_path / "s", trials, epochs), figures=False)
    skipped = dict(out.skipped)
    assert "complexity curve" in skipped, out.skipped
    why = skipped["complexity curve"]
    # one trial: named as one, with its size (round 12: it read 'does not vary ... (all N')
    assert f"{int(trials['n_params'].iloc[0])} parameters" in why and "two sizes" in why, why
    assert why.startswith("one trial to draw"), why


def test_the_pareto_caption_of_a_one_point_front_names_no_line(tmp_path, make_study, write_study):
    """The caption said 'points = fully trained trials with 1 se error bars, line = Pareto
    front' under a one-trial study's panels, where the front and the trial are the star (a
    front of one point is neither drawn nor named: the legend test above)."""
    from jetstudy.analysis.sections_pareto import pareto_part
    from jetstudy.analysis.tables import load_tables

    from tests.analysis.conftest import words_only

    trials, epochs = make_study(n_trials=1, max_epochs=6, seed=2, asha=False)
    folder = write_study(tmp_path / "s", trials, epochs)
    (folder / "data_summary.json").write_text('{"synthetic": true, "n_jets": {"val": 12000}}')
    caption = pareto_part(words_only(load_tables(folder))).caption
    assert "line = Pareto front" not in caption and "fully trained trials" not in caption, caption
    assert "error bar = the trial's 1 se" in caption, caption
    assert "star = smallest model within 1% of the best (the whole front)" in caption, caption
    many, many_epochs = make_study(n_trials=40, seed=3)  # fronts of 5 points
    caption = pareto_part(words_only(load_tables(
        write_study(tmp_path / "many", many, many_epochs)))).caption
    assert "line = Pareto front" in caption and "(the whole front)" not in caption, caption
