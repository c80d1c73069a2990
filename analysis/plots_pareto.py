"""Drawing the Pareto part: accuracy / AUC against size with the front of fully trained trials, and
a size-aware search's own front. Takes finished results (:mod:`jetstudy.analysis.pareto`) and
an ``ax``; the report's other drawings are :mod:`jetstudy.analysis.plots`."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from jetstudy.analysis.pareto import ParetoResult
from jetstudy.analysis.plots import (_LABELS, LABEL_PT, LEGEND_PT, TITLE_PT, _log_count_axis,
                                     _plain, axis_label, new_figure, short_ids)
from jetstudy.analysis.plots_axes import bounds_of, keep_within
from jetstudy.analysis.plots_legend import place_legend, place_note

__all__ = ["draw_pareto", "draw_search_front", "pareto_figure", "pareto_y_range"]


def _score_label(score: str, test_point: tuple[float, float] | None) -> str:
    """The y label: the trials' validation score, and with the test diamond on the same axis
    'val / test ...' (the label said 'val accuracy' alone under a test-split point)."""
    label = axis_label(score)
    drawn = test_point is not None and all(np.isfinite(test_point))
    if drawn and label.startswith("val "):
        return "val / test " + label[4:] + " (◇ test)"
    return label + (" (◇ test)" if drawn else "")


def draw_pareto(
    result: ParetoResult, ax: Axes, test_point: tuple[float, float] | None = None,
    legend: bool = True, test_label: str = "best model, test split",
) -> None:
    """Fully trained trials (:func:`~jetstudy.analysis.curve_stats.ran_to_the_end`: the legend
    says so, as the notes do) with their noise (error bars), the Pareto front, the smallest model
    within tolerance (named in the panel's title) and the test marker; stopped/running trials
    faded, never on the front. ``legend=False`` leaves the legend to the caller (the figure's
    one legend above all panels, :func:`pareto_figure`)."""
    p, f, pick, partial = result.points, result.front, result.pick, result.partial
    if len(partial):
        ax.scatter(partial["cost"], partial["score"], s=12, facecolors="none",
                   edgecolors="tab:gray", alpha=0.35, lw=0.8,
                   label="stopped / running (partial, not on front)")
    # what the star (the pick) covers is neither drawn nor named: a lone fully trained trial,
    # a front of one point (the pick: the legend named a front line and trials nobody could
    # see under the star)
    alone = pick is not None and len(p) == 1
    if len(p):
        yerr = p["se"].to_numpy() if np.isfinite(p["se"]).any() else None
        label = ("fully trained trials" + (" (± 1 se)" if yerr is not None else "") if not alone
                 else "± 1 se" if yerr is not None else "_nolegend_")
        ax.errorbar(p["cost"], p["score"], yerr=yerr, fmt="o", ms=3, color="tab:gray",
                    ecolor="#bbbbbb", elinewidth=0.8, alpha=0.8, label=label)
    if len(f) > 1 or (len(f) and pick is None):
        ax.step(f["cost"], f["score"], where="post", color="tab:blue", lw=1.5, marker="o", ms=3,
                label="Pareto front (fully trained)")
    if pick is not None:
        best = float(result.best["score"])
        ax.axhline(best * (1 - result.tolerance), color="tab:green", ls=":", lw=1,
                   label=f"within {result.tolerance:.0%} of best")
        ax.scatter([pick["cost"]], [pick["score"]], marker="*", s=160, color="tab:red", zorder=5,
                   label=f"smallest within {result.tolerance:.0%} of best")
        name = _plain(short_ids([pick["trial_id"]], 24)[0])  # a long id stays in its panel
        ax.set_title(f"smallest within {result.tolerance:.0%}: {name}",
                     fontsize=TITLE_PT - 1)
    if test_point is not None and all(np.isfinite(test_point)):
        # hollow: over the star (the pick is the best, its test score near its val score) a
        # filled diamond hid the star the legend named
        ax.scatter([test_point[0]], [test_point[1]], marker="D", s=55, facecolors="none",
                   edgecolors="black", lw=1.6, zorder=6, label=test_label)
    ax.set_xscale("log")
    _log_count_axis(ax.xaxis, pd.concat([p["cost"], partial["cost"]]))
    ax.set_xlabel(_LABELS.get(result.cost, result.cost))
    ax.set_ylabel(_score_label(result.score, test_point))
    lo, hi, hidden = pareto_y_range(result, test_point)
    ax.set_ylim(lo, hi)
    keep_within(ax, bounds_of(result.score))  # an accuracy axis never reads past 1
    if hidden:  # the long bad tail, left below the axis: said, not silently cut
        title = ax.get_title()
        faded = hidden == int((partial["score"].astype(float) < lo).sum()) and len(p)
        below = f"{hidden}{' faded' if faded else ''} trial{'' if hidden == 1 else 's'} below the axis"
        ax.set_title(f"{title}; {below}" if title else below, fontsize=TITLE_PT - 1)
        box = ax.title.get_window_extent(ax.figure.canvas.get_renderer())
        if title and box.width > ax.get_window_extent().width:  # a long trial id: two lines
            ax.set_title(f"{title}\n{below}", fontsize=TITLE_PT - 1)
    ax.grid(alpha=0.3)
    if pick is None:  # where no point is, once the points and limits are drawn
        place_note(ax, "front undetermined:\nno trial ran to completion", fontsize=LABEL_PT,
                   color="#555555")
    if legend:  # last: where no point is, within the score's range (plots_legend)
        place_legend(ax, bounds_of(result.score), fontsize=LEGEND_PT)


#: Candidates (trials that ran to the end) from which a Pareto panel's score axis is set by
#: their region alone, faded trials far below left under it (counted); with fewer, every
#: trial sets it, as there is no front to read.
MIN_FRONT_CANDIDATES = 3


def pareto_y_range(result: ParetoResult, test_point: tuple[float, float] | None = None
                   ) -> tuple[float, float, int]:
    """The score axis of a Pareto panel: (bottom, top, points left below it).

    Always shown: the candidates (trials that ran to the end) down to the 5th percentile of
    their scores, with their whole error bars (the front, the pick, the best and their noise),
    the edge of the tolerance band, the best model's test point and every point above them.
    The faded trials (stopped, running: never on the front) count for that core only where
    fewer than :data:`MIN_FRONT_CANDIDATES` trials ran to the end (no front to read). The rest (a long tail of bad trials, or ASHA's stopped trials far
    below the completed ones, which would flatten the front and its 1% band to a line) is
    shown too unless it would stretch the axis more than threefold; the points then left
    below are counted, for the panel to say so."""
    p, partial = result.points, result.partial
    scores = pd.concat([p["score"], partial["score"]]).astype(float)
    se = p["se"].astype(float).where(np.isfinite(p["se"].astype(float)), 0.0)
    top = float(scores.max())
    if len(p):
        top = max(top, float((p["score"] + se).max()))  # every error bar's upper end
    test = (float(test_point[1]) if test_point is not None and np.isfinite(test_point[1])
            else None)
    if test is not None:
        top = max(top, test)
    core = p["score"].astype(float).dropna()  # the front's region, where there is a front
    core = core if len(core) >= MIN_FRONT_CANDIDATES else scores.dropna()
    floor = float(np.percentile(core, 5))
    if result.pick is not None:  # the band's edge, drawn as a line
        floor = min(floor, float(result.best["score"]) * (1 - result.tolerance))
    span = max(top - floor, 0.02)
    bottom = top - 1.3 * span
    kept = p[p["score"] >= floor]
    if len(kept):  # no error bar of the front's region is cut
        bottom = min(bottom, float((kept["score"] - se[kept.index]).min()) - 0.05 * span)
    if test is not None:
        bottom = min(bottom, test - 0.05 * span)
    lowest = float(min(scores.min(), (p["score"] - se).min() if len(p) else np.inf))
    if top - lowest <= 3 * (top - bottom):
        bottom = min(bottom, lowest - 0.05 * (top - lowest))
    hidden = int((scores < bottom).sum())
    return bottom, top + 0.1 * span, hidden


def draw_search_front(own: pd.DataFrame, ax: Axes, metric: str, cost: str,
                      pick: str | None = None) -> None:
    """A size-aware search's own front (:func:`jetstudy.analysis.pareto.search_front`: ``trial_id,
    status, cost, score, on_front``): every trial tried, the front of the completed ones as a
    line, the answer to "how big" (``pick``) as a star."""
    full = (own["complete"].astype(bool) if "complete" in own  # pareto.search_front's
            else own["status"] == "completed")
    done, rest = own[full], own[~full]
    if len(rest):
        ax.scatter(rest["cost"], rest["score"], s=12, facecolors="none", edgecolors="tab:gray",
                   alpha=0.35, lw=0.8, label="stopped / running (never on the front)")
    ax.scatter(done["cost"], done["score"], s=12, color="tab:gray", label="ran to the end")
    front = done[done["on_front"]].sort_values("cost")
    chosen = own[own["trial_id"] == pick]
    if len(front) > 1 or not set(front["trial_id"]) <= set(chosen["trial_id"]):
        # a front of one point, the pick, lies under its star: neither drawn nor named
        ax.step(front["cost"], front["score"], where="post", color="tab:blue", lw=1.5,
                marker="o", ms=3, label="the search's front")
    if len(chosen):
        ax.scatter(chosen["cost"], chosen["score"], marker="*", s=160, color="tab:red",
                   zorder=5, label=f"how big: {_plain(short_ids([pick], 24)[0])}")
    ax.set_xscale("log")
    _log_count_axis(ax.xaxis, own["cost"])
    ax.set_xlabel(_LABELS.get(cost, cost))
    ax.set_ylabel(axis_label(metric))
    ax.set_title("the search's own objectives", fontsize=TITLE_PT - 1)
    ax.margins(x=0.06, y=0.1)  # the star (s=160) at an extreme stays whole inside the frame
    ax.grid(alpha=0.3)
    # last: where no point is; margins never take an accuracy past 1, a loss below 0
    place_legend(ax, bounds_of(metric), fontsize=LEGEND_PT)


def pareto_figure(
    results: Sequence[ParetoResult], test_points: dict[tuple[str, str], tuple[float, float]],
    own: tuple[pd.DataFrame, str, str, str | None] | None = None,
    test_label: str = "best model, test split",
) -> Figure:
    """One panel per (score, cost) pair: rows are scores, columns costs; ``own`` (the search's
    front table, metric, cost, pick) adds a row with :func:`draw_search_front`; ``test_label``:
    the test diamond's legend entry (the trial it is, where the tables' best has moved on)."""
    scores = list(dict.fromkeys(r.score for r in results))
    costs = list(dict.fromkeys(r.cost for r in results))
    rows = len(scores) + (own is not None)
    shared = len(costs) > 1  # one legend above the panels (a single panel is too narrow)
    height = 3.6 * rows + (0.6 if shared else 0.3)
    fig, axes = new_figure(rows, len(costs), width=5.2 * len(costs), height=height,
                           margins={"left": 0.8 / (5.2 * len(costs)), "bottom": 0.55 / height,
                                    "top": 1 - (0.95 if shared else 0.4) / height,
                                    "wspace": 0.25, "hspace": 0.42})
    for r in results:
        ax = axes[scores.index(r.score), costs.index(r.cost)]
        draw_pareto(r, ax, test_points.get((r.cost, r.score)), legend=not shared,
                    test_label=test_label)
    handles: dict[str, object] = {}  # one legend for every panel, above them: it covers none
    for r in results:
        ax = axes[scores.index(r.score), costs.index(r.cost)]
        for handle, label in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(label, handle)
    if handles and shared:
        fig.legend(list(handles.values()), list(handles), loc="upper center", ncol=3,
                   bbox_to_anchor=(0.5, 1.0), fontsize=LEGEND_PT + 0.5, frameon=False)
    if own is not None:
        draw_search_front(own[0], axes[-1, 0], own[1], own[2], own[3])
    for ax in axes.ravel():
        if not ax.has_data():
            ax.set_axis_off()
    return fig
