"""Drawing of the search views Optuna users look for first: optimisation history and parallel
coordinates. Like :mod:`jetstudy.analysis.plots`, these take finished results
(:mod:`jetstudy.analysis.history`, :mod:`jetstudy.analysis.parallel`) and an ``ax``; nothing here
computes a result.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.collections import LineCollection
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from jetstudy.analysis.history import HistoryPanel
from jetstudy.analysis.parallel import OFF, ParallelCoordinates, colour_capped, colour_range
from jetstudy.analysis.plots import (_LABELS, LABEL_PT, LEGEND_PT, MAX_WIDTH_IN, TICK_PT,
                                     TITLE_PT, _log_count_axis, axis_label, new_figure)
from jetstudy.analysis.plots_axes import bounds_of
from jetstudy.analysis.plots_legend import place_legend

__all__ = ["REGIME_LINE_COLORS", "REGIME_LINE_STYLES", "draw_history", "draw_parallel", "history_figure",
           "parallel_figure"]

#: Darker relatives of :data:`~jetstudy.analysis.plots.REGIME_COLORS`, for thin lines.
#: Okabe-Ito hues (colour-blind safe, :data:`~jetstudy.analysis.plots.OKABE_ITO`); each regime
#: also has its line style (:data:`REGIME_LINE_STYLES`).
REGIME_LINE_COLORS: dict[str, str] = {
    "underfit": "#0072B2", "good": "#009E73", "overfit": "#D55E00", "unstable": "#CC79A7",
    "undetermined": "#c2c2c2",
}
REGIME_LINE_STYLES: dict[str, object] = {
    "underfit": "--", "good": "-", "overfit": "-.", "unstable": ":", "undetermined": "-",
}
#: the default causes in the stopped trials' legend entry, replaced by ``stopped_by``
_STOPPED_BY = "ASHA, time budget"
#: status -> (marker, filled, colour, legend label); other statuses use the last entry
_STATUS_STYLE = {
    "completed": ("o", True, "#0072B2", "completed (ran to the end)"),
    "stopped": ("o", False, "#666666", "stopped early (ASHA, time budget)"),  # see stopped_by
    "running": ("^", False, "#009E73", "still running"),
    "other": ("x", True, "#D55E00", "failed / interrupted"),
}


def draw_history(panel: HistoryPanel, ax: Axes, stopped_by: str = "ASHA, time budget") -> None:
    """The objective per trial number, completed and stopped trials told apart, and for the
    search metric the running best as a step line; ``stopped_by``: what stopped this study's
    stopped trials, for their legend entry (the tables' stop_reason)."""
    p = panel.points
    finite = p[np.isfinite(p["value"])]
    for status, (marker, filled, colour, label) in _STATUS_STYLE.items():
        known = [s for s in _STATUS_STYLE if s != "other"]
        part = finite[finite["status"] == status] if status != "other" else finite[
            ~finite["status"].isin(known)]
        if part.empty:
            continue
        style = ({"color": colour} if marker == "x" else
                 {"facecolors": colour if filled else "none", "edgecolors": colour})
        ax.scatter(part["number"], part["value"], s=22, marker=marker, lw=1.0, zorder=3,
                   label=f"{label.replace(_STOPPED_BY, stopped_by)}: {len(part)}", **style)
    if panel.running_best and p["best_so_far"].notna().any():
        word = "highest" if panel.maximize else "lowest"
        # on to the axis's right edge (the best holds until the end): a step ending at the
        # last trial was a lone point under its marker when only the last trial (or the one
        # trial of the study) had a value, the legend naming a line nobody could see
        x = np.append(p["number"].to_numpy(dtype=float), len(p) - 0.5)
        y = np.append(p["best_so_far"].to_numpy(dtype=float), p["best_so_far"].iloc[-1])
        ax.step(x, y, where="post", color="black", lw=1.6, label=f"best so far ({word})",
                zorder=2)  # under the markers it joins
    if panel.log_y:  # plain labels, sizes and losses alike (a loss read '6x10^-1', '10^0')
        ax.set_yscale("log")
        _log_count_axis(ax.yaxis, finite["value"])
    ax.set_xlabel("trial number (the order the study started them)")
    ax.set_ylabel(axis_label(panel.objective))
    ax.set_xlim(-0.5, max(len(p) - 0.5, 0.5))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))  # no 0.5, 1.5
    ax.grid(alpha=0.3)
    # last: where no point is; an accuracy axis never reads past 1
    place_legend(ax, bounds_of(panel.objective), fontsize=LEGEND_PT)


def history_figure(panels: Sequence[HistoryPanel],
                   stopped_by: str = "ASHA, time budget") -> Figure:
    """One panel per objective, stacked so they share the trial axis (``stopped_by``: see
    :func:`draw_history`)."""
    height = 3.8 * len(panels) + 0.4
    fig, axes = new_figure(len(panels), 1, width=9.0, height=height,
                           margins={"left": 0.1, "right": 0.97, "bottom": 0.6 / height,
                                    "top": 1 - 0.35 / height, "hspace": 0.4})
    for panel, ax in zip(panels, axes[:, 0]):
        draw_history(panel, ax, stopped_by)
    if len(panels) > 1:
        axes[1, 0].set_title(f"second objective: {_LABELS.get(panels[1].objective, '')} "
                             "(no running best: its trade-off is the Pareto front)",
                             fontsize=TITLE_PT - 0.5)
    return fig


def _line_style(n: int) -> dict[str, float]:
    """Thinner, fainter lines the more trials there are, so 1,000 lines still show where they
    crowd instead of one solid block."""
    return {"lw": 1.2 if n <= 100 else 0.8 if n <= 300 else 0.5,
            "alpha": 0.85 if n <= 100 else 0.6 if n <= 300 else 0.35}


def _segments(pc: ParallelCoordinates) -> np.ndarray:
    """(trials, axes, 2) polyline vertices: x = axis index, y = position on it."""
    ys = pc.lines[[a.column for a in pc.axes]].to_numpy(dtype=float)
    xs = np.broadcast_to(np.arange(len(pc.axes), dtype=float), ys.shape)
    return np.stack([xs, ys], axis=-1)


def _axes_frame(pc: ParallelCoordinates, ax: Axes) -> None:
    """The vertical axes with their ticks (off slot below) and names underneath."""
    n = len(pc.axes)
    for i, a in enumerate(pc.axes):
        ax.plot([i, i], [0, 1], color="#444444", lw=1.0, zorder=1)
        for pos, text in a.ticks:
            ax.plot([i - 0.03, i], [pos, pos], color="#444444", lw=0.8, zorder=1)
            # an opaque box: through a box of alpha 0.7 the lines crossing a label (every
            # line arriving from the axis on its left) made its digits unreadable; what the
            # box covers is the approach to the axis, not where a line meets it
            ax.text(i - 0.05, pos, text, ha="right", va="center", fontsize=TICK_PT - 0.5,
                    color="#222222" if pos != OFF else "#8a4b00", zorder=6,
                    bbox={"facecolor": "white", "edgecolor": "none", "alpha": 1.0, "pad": 0.8})
    ax.set_xticks(range(n), [a.label for a in pc.axes], fontsize=LABEL_PT)
    ax.set_yticks([])
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    ax.set_xlim(-0.45, n - 0.7)
    ax.set_ylim(OFF - 0.07, 1.05)


def draw_parallel(pc: ParallelCoordinates, ax: Axes, by: str = "loss") -> ScalarMappable | None:
    """Every trial as a polyline; ``by="loss"`` colours by validation loss (returns the
    mappable for a colour bar; grey: no loss), ``by="regime"`` by regime, undetermined
    underneath."""
    segments = _segments(pc)
    if by == "regime":
        regime = pc.lines["regime"].fillna("undetermined").astype(str)
        order = np.argsort(regime.to_numpy() != "undetermined", kind="stable")
        colours = [REGIME_LINE_COLORS.get(r, "#c2c2c2") for r in regime.iloc[order]]
        styles = [REGIME_LINE_STYLES.get(r, "-") for r in regime.iloc[order]]
        ax.add_collection(LineCollection(segments[order], colors=colours, linestyles=styles,
                                         zorder=2, **_line_style(len(segments))))
        shown = [r for r in REGIME_LINE_COLORS if (regime == r).any()]
        ax.legend([Line2D([], [], color=REGIME_LINE_COLORS[r], ls=REGIME_LINE_STYLES[r], lw=2)
                   for r in shown],
                  [f"{r}: {int((regime == r).sum())}" for r in shown], fontsize=LEGEND_PT,
                  loc="upper left", bbox_to_anchor=(1.0, 1.0), title="regime",
                  title_fontsize=LEGEND_PT)
        _axes_frame(pc, ax)
        return None
    lo, hi = colour_range(pc.lines["colour"], pc.maximize)
    # the best trials take the same (dark) end of the map whichever the direction
    mappable = ScalarMappable(Normalize(lo, hi), "viridis_r" if pc.maximize else "viridis")
    colour = pc.lines["colour"].to_numpy(dtype=float)
    colours = [mappable.to_rgba(c) if np.isfinite(c) else (0.8, 0.8, 0.8, 1.0) for c in colour]
    ax.add_collection(LineCollection(segments, colors=colours, zorder=2,
                                     **_line_style(len(segments))))
    _axes_frame(pc, ax)
    return mappable


def parallel_figure(pc: ParallelCoordinates) -> Figure:
    """The lines coloured by validation loss (with a colour bar) and, where regimes are known,
    a second panel coloured by regime."""
    rows = 2 if pc.has_regimes else 1
    width = min(MAX_WIDTH_IN, 1.3 * len(pc.axes) + 3.2)
    height = 4.2 * rows + 0.3
    fig, axes = new_figure(rows, 1, width=width, height=height,
                           margins={"left": 0.9 / width, "right": 1 - 1.9 / width,
                                    "bottom": 0.55 / height, "top": 1 - 0.4 / height,
                                    "hspace": 0.3})
    mappable = draw_parallel(pc, axes[0, 0], "loss")
    label = axis_label(pc.colour_column)
    box = axes[0, 0].get_position()  # a bar beside the panel, not carved out of it: the panels align
    bar = fig.colorbar(mappable, cax=fig.add_axes((box.x1 + 0.25 / width, box.y0, 0.16 / width,
                                                   box.height)),
                       extend=("min" if pc.maximize else "max")
                       if colour_capped(pc.lines["colour"]) else "neither")
    better = f"{'higher' if pc.maximize else 'lower'} is better"
    # "val loss (nats)" -> "val loss (nats; lower is better)": one pair of brackets
    bar.set_label(f"{label[:-1]}; {better})" if label.endswith(")") else f"{label} ({better})",
                  fontsize=LABEL_PT)
    bar.ax.tick_params(labelsize=TICK_PT)
    axes[0, 0].set_title(f"coloured by {label}; best trials on top", fontsize=TITLE_PT)
    if rows == 2:
        draw_parallel(pc, axes[1, 0], "regime")
        axes[1, 0].set_title("coloured by regime, a line style each (see 'Regime rules')",
                             fontsize=TITLE_PT)
    return fig
