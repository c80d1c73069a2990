"""Drawing the regime maps: a heatmap per pair of axes (depth x size, size x each
regularisation), coloured by each cell's dominant regime, striped where its deciding trials
tie, hatched where only incomplete curves judged it, annotated with the cell's best score and
its counts; the maps two to a row under one regime legend. Split from
:mod:`jetstudy.analysis.plots` (still reachable there as ``plots.draw_regime_map``,
``plots.regime_maps_figure`` and the rest) to keep that module a readable size; takes finished
:class:`~jetstudy.analysis.maps.RegimeMap` results and an ``ax``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle

from jetstudy.analysis.maps import MIXED, RegimeMap, tied_regimes
from jetstudy.analysis.plots import (_LABELS, LABEL_PT, LEGEND_PT, MAX_WIDTH_IN, REGIME_COLORS,
                                     TICK_PT, TITLE_PT, new_figure)
from jetstudy.analysis.plots_legend import fit_cell_texts

__all__ = ["regime_legend_handles", "MAP_LINE_PT", "MIXED_STRIPES", "NO_TRIAL",
           "draw_regime_map", "MIN_COLUMN_IN", "ROOMY_COLUMN_IN", "regime_maps_figure"]


def regime_legend_handles(present: Sequence[str], partial: bool,
                          undetermined: bool = False) -> list[Patch]:
    """Legend patches for the regimes shown, the hatch marking cells judged only on incomplete
    curves, and the white of cells whose trials are all undetermined."""
    handles = [Patch(facecolor=REGIME_COLORS[r], label=r) for r in REGIME_COLORS if r in present]
    if partial:
        handles.append(Patch(facecolor="white", edgecolor="#555555", hatch="///",
                             label="judged on incomplete curves only"))
    if undetermined:
        handles.append(Patch(facecolor="white", edgecolor="#555555",
                             label="undetermined trials only"))
    if MIXED in present:  # a tie: striped in the tied regimes' colours, counts printed
        handles.append(Patch(facecolor="white", edgecolor="#555555", hatch="||",
                             label="mixed: a tie (striped)"))
    return handles


#: The width (pt) of the white lines between a regime map's cells.
MAP_LINE_PT = 0.5
#: The fewest stripes of a mixed (tied) regime-map cell, its tied regimes' colours in turn.
MIXED_STRIPES = 6


#: The text of a regime-map cell without a trial (grey), whether its whole row or column went
#: untried or only that pair of bins.
NO_TRIAL = "not tried"


def _cell_text(c: pd.Series, decimals: int | None = None) -> str:
    """Best metric (to ``decimals``, the Best-trial table's digits; 3 when None), determined
    trials and, if any, how many were undetermined."""
    best = f"{c['best']:.{3 if decimals is None else decimals}f}\n" if np.isfinite(c["best"]) else ""
    undetermined = int(c["n_undetermined"])
    held = c.get("counts") or c.get("tied")  # every regime's count unless unanimous
    tied = "\n" + str(held).replace(", ", "\n") if held else ""
    return (f"{best}n={int(c['n_trials'])}" + tied
            + (f"\n+{undetermined} undet." if undetermined else ""))


def _cell_pt(n_cells: int) -> float:
    """A regime map's cell text size: smaller as the map has more cells."""
    return 8 if n_cells <= 36 else 7 if n_cells <= 56 else 6


def _map_axes_height(m: RegimeMap, decimals: int | None) -> float:
    """The height (inches) a map's axes need to hold its tallest cell text at its size (a cell
    listing every regime's count of 300 trials was shrunk to 5 pt in a fixed-height map)."""
    rows = len(m.cells["y"].cat.categories)
    size = _cell_pt(rows * len(m.cells["x"].cat.categories))
    lines = max((_cell_text(c, decimals).count("\n") + 1 for _, c in m.cells.iterrows()),
                default=1)
    return rows * (lines * size * 1.25 / 72 + 0.06)


def draw_regime_map(result: RegimeMap, ax: Axes, decimals: int | None = None) -> None:
    """Heatmap of the dominant regime per cell among its determined trials, annotated with the
    best metric, the determined trial count and the undetermined count (``+k undet.``).

    Cells whose regime rests only on trials judged on incomplete curves are hatched; a cell of
    undetermined trials only stays white with its count.
    """
    import seaborn as sns

    judged = list(REGIME_COLORS)
    cells = result.cells
    x_levels = list(cells["x"].cat.categories)
    y_levels = list(cells["y"].cat.categories)[::-1]  # small values at the bottom
    code = pd.DataFrame(np.nan, index=y_levels, columns=x_levels)
    text = pd.DataFrame("", index=y_levels, columns=x_levels)
    for _, c in cells.iterrows():
        if isinstance(c["dominant"], str) and c["dominant"] != MIXED:
            code.loc[c["y"], c["x"]] = judged.index(c["dominant"])
        text.loc[c["y"], c["x"]] = _cell_text(c, decimals)
    size = _cell_pt(len(x_levels) * len(y_levels))
    sns.heatmap(code, mask=code.isna(), cmap=ListedColormap([REGIME_COLORS[r] for r in judged]),
                vmin=-0.5, vmax=len(judged) - 0.5, annot=text.to_numpy(), fmt="", cbar=False,
                linewidths=MAP_LINE_PT, linecolor="white", annot_kws={"fontsize": size, "color": "black"},
                ax=ax)
    # the cells seaborn left out (masked): undetermined only (white, grey text) and mixed
    # (stripes of the tied regimes, black text)
    for _, c in cells[~cells["dominant"].isin(judged)].iterrows():
        x0, y0 = x_levels.index(c["x"]), y_levels.index(c["y"])
        mixed = c["dominant"] == MIXED
        tied = tied_regimes(c["tied_names"]) if mixed else ()
        # stripes, not halves (two halves read as two cells, one merging with a neighbour
        # of its colour): at least MIXED_STRIPES bands, the tied regimes in turn
        bands = [*tied] * max(2, math.ceil(MIXED_STRIPES / max(len(tied), 1))) if tied else []
        for i, regime in enumerate(bands):
            ax.add_patch(Rectangle((x0 + i / len(bands), y0), 1 / len(bands), 1,
                                   facecolor=REGIME_COLORS[regime], edgecolor="none"))
        if bands:  # the white cell border seaborn drew, which the stripes covered
            ax.add_patch(Rectangle((x0, y0), 1, 1, fill=False, edgecolor="white",
                                   lw=MAP_LINE_PT))
        if not mixed:
            ax.add_patch(Rectangle((x0, y0), 1, 1, facecolor="white", edgecolor="none"))
        ax.text(x0 + 0.5, y0 + 0.5, _cell_text(c, decimals), ha="center", va="center",
                fontsize=size, color="black" if mixed else "#555555")
    for _, c in cells[cells["partial_only"]].iterrows():
        ax.add_patch(Rectangle((x_levels.index(c["x"]), y_levels.index(c["y"])), 1, 1, fill=False,
                               hatch="///", edgecolor="#9a9a9a", lw=0))
    # every cell without a trial says so, in the same words: one of a row or column that no
    # trial reached (maps.untried) and a depth/width pair no trial drew inside the tried range
    occupied = set(zip(cells["x"].astype(str), cells["y"].astype(str)))
    for x0, xl in enumerate(x_levels):
        for y0, yl in enumerate(y_levels):
            if (str(xl), str(yl)) not in occupied:
                ax.text(x0 + 0.5, y0 + 0.5, NO_TRIAL, ha="center", va="center",
                        fontsize=size - 1, color="#8a8a8a")
    ax.set_facecolor("#f4f4f4")
    ax.set_xlabel(result.x_title)
    ax.set_ylabel(result.y_title)
    ax.tick_params(axis="x", labelsize=TICK_PT - 0.5)
    # a bin on two level lines ("31.6k–" over "100k"): long bins never run together (rotated
    # ones did, their boxes overlapping the next one's)
    ax.set_xticks([i + 0.5 for i in range(len(x_levels))],
                  [str(x).replace("–", "–\n", 1) for x in x_levels], rotation=0, ha="center")
    ax.tick_params(axis="y", labelrotation=0, labelsize=TICK_PT - 0.5)
    ax.xaxis.label.set_fontsize(LABEL_PT)
    ax.yaxis.label.set_fontsize(LABEL_PT)
    word = "highest" if result.maximize else "lowest"
    ax.set_title(f"cells: {word} {_LABELS.get(result.metric, result.metric)} / trials",
                 fontsize=TITLE_PT - 1)
    fit_cell_texts(ax)  # a tie's many lines stay inside their cell


#: The least width (inches) of a regime map's column beside another map: its bin label
#: ("31.6k–" over "100k") and its cells' texts stay apart from the next column's (ten bins fit
#: half the report's width; thirteen, of a study spanning six decades, ran together).
MIN_COLUMN_IN = 0.4
#: A column's width (inches) in a map that has a row of its own.
ROOMY_COLUMN_IN = 0.62
#: The width (inches) of a map's axes when two share a row (5.6 in of figure each).
_HALF_AXES_IN = 4.25


def _map_columns(m: RegimeMap) -> int:
    """A map's number of columns (bins of its x axis)."""
    return len(m.cells["x"].cat.categories)


def regime_maps_figure(maps: Sequence[RegimeMap], decimals: int | None = None) -> Figure:
    """Maps two to a row under one regime legend (three in a row would not fit the report's
    column at readable sizes), one to a row where a map has more columns than half the column
    holds apart (:data:`MIN_COLUMN_IN`); ``decimals``: of the cells' best scores (3 when None)."""
    n = len(maps)
    columns = max(_map_columns(m) for m in maps)
    alone = columns * MIN_COLUMN_IN > _HALF_AXES_IN
    ncols = 1 if alone else min(2, n)
    nrows = math.ceil(n / ncols)
    # 3.35 in of axes a row, more where the cells' texts need it to stay readable
    row = max([3.35, *(_map_axes_height(m, decimals) for m in maps)]) + 1.25
    width = 5.6 * ncols + 0.6
    if alone:  # a row of its own, its columns roomy (the page's width at most)
        width = min(MAX_WIDTH_IN, max(width, (columns * ROOMY_COLUMN_IN + 1.25) / 0.98))
    height = row * nrows + 0.5
    fig, axes = new_figure(nrows, ncols, width=width, height=height,
                           margins={"left": 1.25 / width, "right": 0.98, "bottom": 1.0 / height,
                                    "top": 1 - 0.75 / height, "wspace": 0.42, "hspace": 0.5})
    flat = list(axes.ravel())
    for m, ax in zip(maps, flat):
        draw_regime_map(m, ax, decimals)
    for ax in flat[n:]:
        ax.set_axis_off()
    present = {r for m in maps for r in m.cells["dominant"] if isinstance(r, str)}
    # a mixed cell's stripes are in its tied regimes' colours: each needs its legend entry
    present |= {r for m in maps for t in m.cells.get("tied_names", ()) for r in tied_regimes(t)}
    partial = any(m.cells["partial_only"].any() for m in maps)
    undetermined = any((m.cells["n_trials"] == 0).any() for m in maps)
    handles = regime_legend_handles(sorted(present), partial, undetermined)
    # one map's width holds three entries a row (six ran off both edges)
    fig.legend(handles=handles, loc="upper center", ncol=6 if width >= 11 else 3,
               fontsize=LEGEND_PT + 0.5, frameon=False)
    return fig
