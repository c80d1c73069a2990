"""All drawing of the analysis: functions that take finished results and an ``ax``.

Nothing here computes a result. Figures are built as :class:`matplotlib.figure.Figure` objects
on an Agg canvas, never through ``pyplot``: no global backend is chosen, no figure registry fills
up, and a figure is freed once it is saved. This module and its siblings (``plots_roc``,
``plots_pareto``, ``plots_search``, ``plots_curves``, ``plots_maps``: one per figure family, sharing
this one's sizes and colours;
``plots_legend`` and ``plots_axes``: where legends and notes go, axis ticks and ranges) are the
only modules of ``analysis`` that import matplotlib (and seaborn), so the rest imports
on a machine without a display.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from jetstudy.analysis.complexity import ComplexityCurve, median_lines_join
from jetstudy.analysis.importance import Importance
from jetstudy.analysis.plots_axes import (LOSS, _compact, _log_count_axis,  # noqa: F401
                                          keep_within, loss_range)
from jetstudy.analysis.plots_legend import place_legend
from jetstudy.trainables.schema import CLASSES

__all__ = [
    "REGIME_COLORS", "CLASS_COLORS", "CLASS_MARKERS", "CLASS_STYLES", "OKABE_ITO", "SERIES_MARKERS", "DPI", "MAX_WIDTH_IN", "LABEL_PT", "TICK_PT", "LEGEND_PT", "TITLE_PT",
    "new_figure", "png_bytes", "axis_label", "short_ids", "LEGEND_ID_CHARS", "draw_complexity",
    "draw_importance", "complexity_figure", "importance_figure",
]

#: Drawings that live in their own modules (one per figure family, each under 400 lines),
#: still reachable as ``plots.<name>`` for callers written before the split.
_MOVED: dict[str, str] = {
    **{n: "jetstudy.analysis.plots_pareto"
       for n in ("draw_pareto", "draw_search_front", "pareto_figure")},
    **{n: "jetstudy.analysis.plots_curves"
       for n in ("draw_learning_curves", "learning_curves_figure")},
    **{n: "jetstudy.analysis.plots_roc"
       for n in ("draw_roc", "draw_roc_overview", "roc_figure")},
    **{n: "jetstudy.analysis.plots_maps"
       for n in ("regime_legend_handles", "MAP_LINE_PT", "MIXED_STRIPES", "NO_TRIAL",
                 "_cell_text", "_cell_pt", "_map_axes_height", "draw_regime_map",
                 "MIN_COLUMN_IN", "ROOMY_COLUMN_IN", "_HALF_AXES_IN", "_map_columns",
                 "regime_maps_figure")},
}


def __getattr__(name: str) -> object:
    """``plots.draw_roc`` and the like, from the module that now holds them (PEP 562; a lazy
    import, since those modules import this one)."""
    if name in _MOVED:
        import importlib

        return getattr(importlib.import_module(_MOVED[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

#: The report's PNGs are written at this resolution and shown at their own size (one image
#: pixel per CSS pixel) in a column of ``render.COLUMN_PX`` pixels: a figure no wider than
#: ``MAX_WIDTH_IN`` is never scaled down, so its point sizes are the sizes a reader sees.
DPI = 100
MAX_WIDTH_IN = 12.0
#: Font sizes (pt) at that size: axis labels, tick labels, legends, panel titles.
LABEL_PT, TICK_PT, LEGEND_PT, TITLE_PT = 11.0, 9.5, 8.5, 10.5

#: Colour-blind-safe series colours (Okabe & Ito), for lines and points: every pair stays
#: apart under simulated deuteranopia, protanopia and tritanopia (tests/analysis/
#: test_referee4_report_figures.py). Series also differ in marker or line style, so no
#: figure rests on colour alone.
OKABE_ITO: tuple[str, ...] = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00",
                              "#56B4E9", "#000000")
#: A marker per series, in the order of :data:`OKABE_ITO`.
SERIES_MARKERS: tuple[str, ...] = ("o", "s", "^", "D", "v", "P", "X")

#: Light colours so the black cell annotations stay readable on every regime (Paul Tol's
#: colour-blind-safe "light" scheme; the earlier blue/green/orange/pink came within a few
#: CIELAB units of each other under deuteranopia).
REGIME_COLORS: dict[str, str] = {
    "underfit": "#77AADD", "good": "#BBCC33", "overfit": "#EE8866", "unstable": "#FFAABB",
}
CLASS_COLORS: dict[str, str] = dict(zip(CLASSES, OKABE_ITO[:5]))
#: A marker per class, beside its line style, for panels that draw every class together.
CLASS_MARKERS: dict[str, str] = dict(zip(CLASSES, SERIES_MARKERS[:5]))
#: A line style per class, for panels that draw every class's curve together.
CLASS_STYLES: dict[str, object] = dict(
    zip(CLASSES, ("-", "--", "-.", ":", (0, (5, 1, 1, 1, 1, 1))))
)
_LABELS = {
    "n_params": "trainable parameters", "flops": "FLOPs per jet",
    "multiplications": "multiplications per jet",
    "best_val_acc": "val accuracy", "val_acc": "val accuracy",
    "best_val_auc": "val AUC (macro)", "val_auc": "val AUC (macro)",
    "best_val_loss": "val loss", "val_loss": "val loss",
}


#: The unit of a quantity whose axis needs one (cross-entropy losses are in nats).
_UNITS = {"best_val_loss": "nats", "val_loss": "nats"}


def axis_label(name: str) -> str:
    """An axis's label: the quantity's words and, where it has one, its unit (``val loss
    (nats)``); counts and fractions (parameters, accuracy, AUC) have none."""
    unit = _UNITS.get(name)
    return _LABELS.get(name, name) + (f" ({unit})" if unit else "")


#: Longest trial id a legend shows whole; a longer one keeps its start and end around "…".
LEGEND_ID_CHARS = 16


def short_ids(ids: Sequence[object], width: int = LEGEND_ID_CHARS) -> list[str]:
    """Trial ids as a legend names them: whole up to ``width`` characters, else start…end
    (``best_trial_w…0003_xyz``), widened until the shortened ids are as distinct as the ids
    (a long id pushed the legend out of its panel, over the next one and off the figure)."""
    texts = [str(i) for i in ids]
    for w in range(max(width, 5), max((len(t) for t in texts), default=0) + 1):
        cut = [t if len(t) <= w else f"{t[:(w - 1) // 2]}…{t[-(w - 1 - (w - 1) // 2):]}"
               for t in texts]
        if len(set(cut)) == len(set(texts)):
            return cut
    return texts


def _plain(text: object) -> str:
    """Text shown literally: a ``$`` in a trial id must not switch matplotlib to mathtext."""
    return str(text).replace("$", r"\$")


def new_figure(nrows: int = 1, ncols: int = 1, width: float = 6.4, height: float = 4.0,
               margins: dict[str, float] | None = None, **kw: object) -> tuple[Figure, np.ndarray]:
    """A figure with an Agg canvas and a 2-D array of axes whose labels and ticks have the
    report's readable sizes (:data:`LABEL_PT`, :data:`TICK_PT`).

    Margins are fixed per figure (``margins``, as for ``subplots_adjust``) rather than found by
    constrained layout: that halves the rendering time, which matters on a 1,000-trial study.
    ``width`` is capped at :data:`MAX_WIDTH_IN` so the page never shrinks the figure's fonts.
    """
    fig = Figure(figsize=(min(width, MAX_WIDTH_IN), height))
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols, squeeze=False, **kw)
    for ax in axes.ravel():
        ax.tick_params(labelsize=TICK_PT)
        ax.xaxis.label.set_fontsize(LABEL_PT)
        ax.yaxis.label.set_fontsize(LABEL_PT)
        ax.title.set_fontsize(TITLE_PT)
    fig.subplots_adjust(**{"left": 0.1, "right": 0.97, "bottom": 0.12, "top": 0.92,
                           "wspace": 0.3, "hspace": 0.35, **(margins or {})})
    return fig, axes


def png_bytes(fig: Figure, dpi: int = DPI) -> bytes:
    """The figure as PNG bytes (written to a file and embedded in the HTML by the report)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def draw_complexity(curve: ComplexityCurve, ax_loss: Axes, ax_gap: Axes) -> None:
    """Final train/val loss against parameter count (top) and the val - train gap (bottom).

    Bin medians sit at the median size of the bin's trials; a bin without trials is NaN, so
    the lines break there instead of drawing a median where no trial exists; a bin of one trial
    draws that trial alone (a median of one is the trial itself), the lines broken there too.
    """
    p, b = curve.points, curve.bins
    # a bin of one trial has no median but the trial itself: its medians and its 'lowest'
    # were three markers on that trial's own point; it shows the trial alone (the lines break
    # there, as at a bin without trials), and a line no bin of two draws is not drawn at all
    b = b.where(b["n"] >= 2).assign(n_params=b["n_params"])
    x, bx = p["n_params"], b["n_params"]
    train, val = OKABE_ITO[0], OKABE_ITO[4]  # told apart by marker and line style too
    ax_loss.scatter(x, p["train_loss"], s=12, alpha=0.4, color=train, marker="s",
                    label="train (trial)")
    ax_loss.scatter(x, p["val_loss"], s=12, alpha=0.4, color=val, marker="o", label="val (trial)")
    medians = bool((b["n"] >= 2).any())
    # a line needs two neighbouring bins of two: where no such pair is, each median is a lone
    # marker and its legend entry must not show a line that is drawn nowhere
    joined = median_lines_join(b["n"])
    if medians:
        ax_loss.plot(bx, b["train_median"], "--s" if joined else "s", color=train, ms=4,
                     label="train, median")
        ax_loss.plot(bx, b["val_median"], "-o" if joined else "o", color=val, ms=4,
                     label="val, median")
        ax_loss.plot(b["val_best_n_params"], b["val_best"], ls=":" if joined else "none",
                     color="tab:red", marker="+", ms=8, label="val, lowest in bin (at its trial)")
    if curve.reference is not None:
        ax_loss.axhline(curve.reference, color="black", ls="--", lw=0.9, label="L* (reference)")
    ax_loss.set_xscale("log")
    ax_loss.set_ylabel("cross-entropy loss (nats)")
    ax_loss.grid(alpha=0.3)
    ax_gap.scatter(p["n_params"], p["gap"], s=10, alpha=0.35, color="tab:gray",
                   label="gap (trial)")  # named, as the loss panel's trials are
    if medians:
        ax_gap.plot(b["n_params"], b["gap_median"], "-o" if joined else "o", color="black",
                    ms=4, label="median gap")
    ax_gap.axhline(0, color="black", lw=0.8)
    ax_gap.set_xscale("log")
    _log_count_axis(ax_gap.xaxis, p["n_params"])  # shared with the loss panel
    ax_gap.set_xlabel("trainable parameters")
    ax_gap.set_ylabel("val - train (nats)")
    ax_gap.grid(alpha=0.3)
    # last, once the shared x-range holds both panels' points: legends where no point is
    place_legend(ax_loss, LOSS, fontsize=LEGEND_PT, ncol=2)  # a loss axis never reads below 0
    place_legend(ax_gap, fontsize=LEGEND_PT)


def draw_importance(result: Importance, ax: Axes, labels: dict[str, str] | None = None) -> None:
    """Horizontal bars of each hyperparameter's importance, most important on top."""
    t = result.table.iloc[::-1]
    names = [(labels or {}).get(p, p) for p in t["param"]]
    ax.barh(names, t["importance"], color=OKABE_ITO[0])
    # an importance is a share (the bars sum to 1): the axis never passes 1 (it went to 1.18
    # beside a lone parameter's 1.00), a value near its end printed inside its bar
    top = min(1.0, max(1e-9, float(t["importance"].max())) * 1.18)
    for y, v in enumerate(t["importance"]):
        inside = v > 0.85 * top
        ax.text(v, y, f"{v:.2f} " if inside else f" {v:.2f}", va="center", fontsize=TICK_PT,
                ha="right" if inside else "left", color="white" if inside else "black")
    ax.set_xlim(0, top)
    ax.set_xlabel(f"importance for {_LABELS.get(result.target, result.target)} (sums to 1)")
    ax.grid(alpha=0.3, axis="x")


def complexity_figure(curve: ComplexityCurve) -> Figure:
    """Loss panel above a gap panel, sharing the parameter axis; the title (the curve's note,
    in the study's own words: a patience study's ran off the figure's edges) wrapped."""
    import textwrap

    title = textwrap.wrap(_plain(curve.note), 80)
    height = 6.0 + 0.2 * (len(title) - 1)
    fig, axes = new_figure(2, 1, width=7.0, height=height, sharex=True,
                           gridspec_kw={"height_ratios": [2, 1]},
                           margins={"left": 0.12, "bottom": 0.6 / height,
                                    "top": 1 - (0.36 + 0.2 * (len(title) - 1)) / height,
                                    "hspace": 0.08})
    draw_complexity(curve, axes[0, 0], axes[1, 0])
    axes[0, 0].set_title("\n".join(title), fontsize=TITLE_PT - 1)
    return fig


def importance_figure(result: Importance, labels: dict[str, str] | None = None) -> Figure:
    """Bars, titled with the evaluator that computed them (wrapped: a long evaluator's name ran
    off the figure's right edge)."""
    import textwrap

    from jetstudy.analysis.render import counted

    title = textwrap.wrap(f"{result.evaluator}, {counted(result.n_trials, 'trial')}", 64)
    height = 0.45 * len(result.table) + 1.6 + 0.2 * (len(title) - 1)
    fig, axes = new_figure(1, 1, width=6.4, height=height,
                           margins={"left": 0.2, "right": 0.96, "bottom": 0.7 / height,
                                    "top": 1 - (0.45 + 0.2 * (len(title) - 1)) / height})
    draw_importance(result, axes[0, 0], labels)
    axes[0, 0].set_title(_plain("\n".join(title)), fontsize=TITLE_PT - 1)
    return fig
