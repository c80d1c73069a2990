"""The ROC caption names its axes as drawn: background efficiency on the log (y) axis against
signal efficiency (x), the HEP convention of the figure. It said "signal efficiency vs
background efficiency (log)", which reads as signal on the y axis."""

from __future__ import annotations

from pathlib import Path


def test_the_roc_caption_names_the_axes_as_the_figure_draws_them(
        tmp_path: Path, make_study, write_study) -> None:
    from jetstudy.analysis.plots_roc import roc_figure
    from jetstudy.analysis.roc import roc_points
    from jetstudy.analysis.sections_heldout import roc_part
    from jetstudy.analysis.tables import load_tables

    from tests.analysis.conftest import _predictions, words_only

    fig = roc_figure(roc_points(_predictions(400, 0, False)), {})
    for ax in fig.axes[:5]:  # one panel per class
        assert ax.get_yscale() == "log" and ax.get_xscale() == "linear"
        assert ax.get_ylabel().startswith("background efficiency"), ax.get_ylabel()
        assert ax.get_xlabel().startswith("signal efficiency"), ax.get_xlabel()
    folder = write_study(tmp_path / "s", *make_study(n_trials=4, max_epochs=3))
    caption = roc_part(words_only(load_tables(folder))).caption
    assert "background efficiency (log axis) vs signal efficiency" in caption, caption
