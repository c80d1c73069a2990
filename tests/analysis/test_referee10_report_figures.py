"""Referee round 10 on the report's figures, read at study shapes the earlier rounds did not
draw (long trial ids, ties in a regime map, per-trial points in a second panel): hand-built
tables, no study, no Ray."""
import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402



def _long_id_curves(make_study):
    """The learning curves of an 8-trial study whose trial ids are 80 characters long (a user's
    naming scheme): the best panel's curves start above its axis, so it carries a note."""
    from jetstudy.analysis import curves, regimes

    trials, epochs = make_study(n_trials=8, seed=6, asha=False)
    long = {old: "trial_" + "x" * 70 + f"_{i}" for i, old in enumerate(trials["trial_id"])}
    trials["trial_id"] = trials["trial_id"].map(long)
    epochs["trial_id"] = epochs["trial_id"].map(long)
    verdicts = regimes.assess_regimes(trials, epochs).table
    return curves.select_learning_curves(trials, verdicts, epochs, "val_loss", False)


def test_a_note_in_a_learning_curve_panel_stays_inside_it(make_study):
    """With the middle spots covered by curves and legend, the 'k loss values above the axis'
    note went to the spot at 0.7 of the panel's width and ran past its right edge (its last
    word across the frame, towards the next panel); a note now takes only a spot inside."""
    from jetstudy.analysis.plots_curves import learning_curves_figure

    fig = learning_curves_figure(_long_id_curves(make_study), reference=0.60)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    notes = 0
    for ax in fig.axes:
        frame = ax.get_window_extent(renderer)
        for text in ax.texts:
            if "above the axis" in text.get_text():
                notes += 1
                box = text.get_window_extent(renderer)
                assert frame.x0 - 0.5 <= box.x0 and box.x1 <= frame.x1 + 0.5, (
                    text.get_text(), box, frame)
                assert frame.y0 - 0.5 <= box.y0 and box.y1 <= frame.y1 + 0.5
    said = notes + sum("above the axis" in ax.get_title() for ax in fig.axes)
    assert said >= 1  # the note is still said: in its panel, or in the panel's title


def test_every_series_of_the_complexity_figure_is_named(make_study, tmp_path, write_study):
    """The gap panel drew each trial's gap as a grey dot that neither its legend (only 'median
    gap') nor the caption ('lower panel: the generalisation gap val - train') named, while the
    loss panel's trial dots had their entries; every drawn series now has its legend entry and
    the caption says what the gap panel's dots and line are."""
    from jetstudy.analysis.sections import PARTS
    from jetstudy.analysis.tables import load_tables

    from tests.analysis.conftest import FigureCapture

    trials, epochs = make_study(n_trials=16, seed=9, asha=False)
    state = FigureCapture(load_tables(write_study(tmp_path / "s", trials, epochs)), pixels=False)
    state.attempt("complexity curve", lambda: dict(PARTS)["complexity curve"](state))
    fig = state.drawn["complexity.png"]
    for ax in fig.axes:
        named = {t.get_text() for t in ax.get_legend().get_texts()}
        drawn = [a for a in [*ax.collections, *ax.lines]
                 if a.get_visible() and len(np.ravel(a.get_offsets() if hasattr(a, "get_offsets")
                                                    else a.get_xdata())) > 0]
        for artist in drawn:
            label = artist.get_label()
            flat = hasattr(artist, "get_ydata") and len(set(np.ravel(artist.get_ydata()))) == 1
            if label.startswith("_") and flat:
                continue  # the gap panel's zero line (axhline), explained by its axis
            assert label in named, (ax.get_ylabel(), label, named)
    caption = next(s.caption for s in state.sections if s.title == "Complexity curve")
    assert "grey dots" in caption and "median" in caption.split("lower panel")[1], caption


def test_a_mixed_map_cell_is_striped_inside_its_white_border():
    """A tie between underfit and good was drawn as two solid halves over the cell's white
    border, the legend saying 'striped': beside a good cell its good half merged with that
    cell (a cell and a half of green, then a sliver of blue), read as two cells. It is now
    striped (the tied colours in turn, two bands each at least) inside its white border."""
    import matplotlib.colors as mcolors
    from matplotlib.patches import Rectangle

    from jetstudy.analysis import plots
    from jetstudy.analysis.maps import regime_map

    trials = pd.DataFrame({"trial_id": list("abcd"), "depth": [1, 1, 1, 2],
                           "width_0": [8.0, 9.0, 20.0, 64.0],
                           "width_1": [np.nan, np.nan, np.nan, 64.0], "status": "completed",
                           "best_val_loss": [0.70, 0.60, 0.58, 0.57]})
    verdicts = pd.DataFrame({"trial_id": list("abcd"),
                             "regime": ["underfit", "good", "good", "good"],
                             "judged_on_partial": False})
    m = regime_map(trials, verdicts, "min_width", "depth", "val_loss", False)
    fig = plots.regime_maps_figure([m])
    ax = fig.axes[0]
    x0 = list(m.cells["x"].cat.categories).index("8–16")
    inside = [p for p in ax.patches if isinstance(p, Rectangle)
              and x0 - 1e-9 <= p.get_x() and p.get_x() + p.get_width() <= x0 + 1 + 1e-9]
    stripes = sorted((p for p in inside if p.get_fill()), key=lambda p: p.get_x())
    colours = [mcolors.to_hex(p.get_facecolor()) for p in stripes]
    tied = {mcolors.to_hex(plots.REGIME_COLORS[r]) for r in ("underfit", "good")}
    assert set(colours) == tied and all(colours.count(c) >= 2 for c in tied), colours
    assert all(a != b for a, b in zip(colours, colours[1:])), colours  # in turn: stripes
    border = [p for p in inside if not p.get_fill() and p.get_width() == 1
              and mcolors.to_hex(p.get_edgecolor()) == "#ffffff"]
    assert border and border[0].get_linewidth() > 0


def _stopped_at_first_rung(make_study):
    """12 trials, every one stopped by ASHA after its first epoch (a search cut short)."""
    trials, epochs = make_study(n_trials=12, seed=4)
    epochs = epochs[epochs["epoch"] == 1]
    first = epochs.set_index("trial_id")
    trials = trials.assign(status="stopped", stop_reason="scheduler", error="", epochs=1,
                           best_epoch=1)
    for col in ("train_loss", "val_loss", "val_acc", "val_auc"):
        trials[col] = trials["trial_id"].map(first[col])
    for col in ("val_loss", "val_acc", "val_auc"):
        trials[f"best_{col}"] = trials[col]
    return trials, epochs


def test_parallel_coordinates_draw_no_regime_panel_of_undetermined_trials_only(
        make_study, tmp_path, write_study):
    """With every trial stopped at the first rung (all undetermined), the figure still drew a
    second panel 'coloured by regime' of grey lines only, the caption saying 'bottom, coloured
    by regime (each with its line style)': a panel that shows no regime. It is left out."""
    from jetstudy.analysis.sections import PARTS
    from jetstudy.analysis.tables import load_tables

    from tests.analysis.conftest import FigureCapture

    trials, epochs = _stopped_at_first_rung(make_study)
    state = FigureCapture(load_tables(write_study(tmp_path / "s", trials, epochs)), pixels=False)
    assert set(state.regimes["regime"]) == {"undetermined"}
    state.attempt("parallel coordinates", lambda: dict(PARTS)["parallel coordinates"](state))
    fig = state.drawn["parallel_coordinates.png"]
    titles = [ax.get_title() for ax in fig.axes]
    assert not any("regime" in t for t in titles), titles
    caption = next(s.caption for s in state.sections if s.title == "Parallel coordinates")
    assert "coloured by regime" not in caption, caption
