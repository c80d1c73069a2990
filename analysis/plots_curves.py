"""Drawing the learning curves: train and val loss per epoch of a few trials per group (the
best, then each regime), with L* and the count of loss values a diverging curve leaves above
the axis. Split from :mod:`jetstudy.analysis.plots` (still reachable there as
``plots.draw_learning_curves`` and ``plots.learning_curves_figure``) to keep that module a
readable size; takes finished tables and an ``ax``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from jetstudy.analysis.curves import joins
from jetstudy.analysis.plots import (LABEL_PT, LEGEND_PT, OKABE_ITO, REGIME_COLORS,
                                     SERIES_MARKERS, TICK_PT, TITLE_PT, _plain, new_figure,
                                     short_ids)
from jetstudy.analysis.plots_axes import LOSS, loss_axis_is_log, loss_range, plain_log_axis
from jetstudy.analysis.plots_legend import place_legend, place_note

__all__ = ["draw_learning_curves", "learning_curves_figure"]


def draw_learning_curves(curves: pd.DataFrame, group: str, ax: Axes,
                         reference: float | None = None) -> None:
    """Train (dashed) and val (solid) loss per epoch of the trials of one ``group``, and the
    regime rules' reference loss L* (dotted) when given; on a log axis where the losses' top
    spans decades above their median (plots_axes.loss_axis_is_log)."""
    part = curves[curves["group"] == group]
    colors, markers = OKABE_ITO[:5], SERIES_MARKERS[:5]  # a trial: its colour and marker
    finite = part[["train_loss", "val_loss"]].to_numpy().ravel()
    finite = finite[np.isfinite(finite)]
    lo, hi = loss_range(finite, reference)
    log = loss_axis_is_log(finite, lo, hi)  # a curve diverging by decades: every epoch shows

    def below_top(share: float) -> float:  # ``share`` of the span under the top, as drawn
        if log:
            return float(10 ** (math.log10(top) - share * math.log10(top / lo)))
        return top - share * (top - lo)

    top = hi * (hi / lo) ** 0.15 if log else hi + 0.15 * (hi - lo + 1e-9)
    groups = list(part.groupby("trial_id", sort=False))
    # a running trial's curve ends where it has got to, not where it stopped: said in its entry
    names = [name + (" (running)" if _running(c) else "")
             for name, (_, c) in zip(short_ids([tid for tid, _ in groups]), groups)]
    for i, ((tid, c), name) in enumerate(zip(groups, names)):
        color = colors[i % len(colors)]
        # a curve of one finite epoch is its marker alone, and so is its legend entry (a line
        # there named a line drawn nowhere)
        ax.plot(c["epoch"], c["val_loss"], ls="-" if joins(c["val_loss"]) else "none",
                color=color, marker=markers[i % len(markers)], ms=4, label=_plain(name))
        ax.plot(c["epoch"], c["train_loss"], ls="--" if joins(c["train_loss"]) else "none",
                color=color, lw=1,  # hollow: a lone epoch shows (a line would not)
                marker=markers[i % len(markers)], ms=3.5, mfc="none")
        bad = c[~np.isfinite(c["train_loss"]) | ~np.isfinite(c["val_loss"])]
        if len(bad):  # a NaN draws nothing, so mark where the curve broke off
            y = below_top(0.04 + 0.06 * i)  # stagger so markers at one epoch stay apart
            ax.plot(bad["epoch"].iloc[:1], [y], marker="x", ms=9, mew=2, color=color, ls="none")
    if reference is not None and np.isfinite(reference):
        ax.axhline(reference, color="black", ls=":", lw=1, label="L*")
    if log:  # plain labels (0.5, 1, 10, 1k, 100k): '100000' pushed the axis title off
        ax.set_yscale("log")
        plain_log_axis(ax.yaxis)
        ax.set_ylim(lo / (hi / lo) ** 0.05, top)
    else:
        ax.set_ylim(max(lo - 0.05 * (hi - lo + 1e-9), 0.0), top)  # a loss never reads below 0
    ax.set_title(group, color="black" if group == "best" else "#444444",
                 backgroundcolor=REGIME_COLORS.get(group, "white"), fontsize=TITLE_PT)
    ax.set_xlabel("epoch")
    epochs = pd.to_numeric(part["epoch"], errors="coerce").dropna()
    if len(epochs) and epochs.max() - epochs.min() < 2:  # one or two epochs: whole ticks only
        ax.set_xlim(float(epochs.min()) - 0.5, float(epochs.max()) + 0.5)  # (was 0.945, 0.96)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))  # even 1 epoch
    lines = any(joins(c[col]) for _, c in groups for col in ("train_loss", "val_loss"))
    ax.set_ylabel("loss in nats (solid: val, dashed: train)" if lines
                  else "loss in nats (filled: val, hollow: train)", fontsize=LABEL_PT - 1)
    broke = not np.isfinite(part[["train_loss", "val_loss"]].to_numpy()).all()
    if group == "unstable" and broke:  # a net collapsed to the priors has finite losses
        ax.set_xlabel("epoch (x: loss became NaN/inf)")
    ax.grid(alpha=0.3)
    _legend_and_note(ax, finite)


def _running(c: pd.DataFrame) -> bool:
    """Whether a trial's curve is of a trial still running (its ``status`` column, where the
    table has one)."""
    return "status" in c.columns and bool((c["status"].astype(str) == "running").any())


def _above_words(ax: Axes, losses: np.ndarray) -> str:
    above = int((losses > ax.get_ylim()[1]).sum())  # the top as drawn, room for a legend made
    return f"{above} loss value{'' if above == 1 else 's'} above the axis" if above else ""


def _legend_and_note(ax: Axes, losses: np.ndarray) -> None:
    """The learning curves' legend, then the count of loss values above the axis (a diverging
    curve's epochs: said, not silently cut) where it covers no point and no legend; with no
    such spot, in the panel's title instead (a note over the legend was unreadable)."""
    place_legend(ax, LOSS, fontsize=LEGEND_PT, title="trial", title_fontsize=LEGEND_PT)
    words = _above_words(ax, losses)
    if words and place_note(ax, words, fallback=False, fontsize=TICK_PT - 0.5,
                            color="#555555") is None:
        ax.title.set_text(f"{ax.get_title()} ({words})")  # keeps the group's colours
        ax.title.set_fontsize(TITLE_PT - 1.5)  # a narrow panel of three still holds it


def learning_curves_figure(curves: pd.DataFrame, reference: float | None = None) -> Figure:
    """One panel per group (best first), three to a row; ``reference``: L* in every panel."""
    groups = list(dict.fromkeys(curves["group"]))
    ncols = min(3, len(groups))
    nrows = math.ceil(len(groups) / ncols)
    height = 3.6 * nrows
    fig, axes = new_figure(nrows, ncols, width=3.95 * ncols, height=height,
                           margins={"left": 0.75 / (3.95 * ncols), "right": 0.98,
                                    "bottom": 0.5 / height, "top": 1 - 0.3 / height,
                                    "hspace": 0.45})
    flat = list(axes.ravel())
    for group, ax in zip(groups, flat):
        draw_learning_curves(curves, group, ax, reference)
    for ax in flat[len(groups):]:
        ax.set_axis_off()
    return fig
