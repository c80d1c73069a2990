"""Legends that never cover data: :func:`place_legend` puts an axes' legend where no drawn
point or line passes, found in display coordinates, instead of matplotlib's ``loc="best"``
(which only *minimises* the overlap, and with ``framealpha`` hides the points it covers).

Order of tries: the usual corners and edges inside the axes; then headroom (the y-range is
extended so every point lies below a legend in the upper right); then, for a legend taller
than half the axes, outside on the right. :func:`covered_points` is the check itself, used by
the tests on every figure.
"""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.collections import Collection, LineCollection
from matplotlib.legend import Legend
from matplotlib.text import Text
from matplotlib.transforms import Bbox

__all__ = ["place_legend", "place_note", "drawn_points", "covered_points"]

#: Where a legend is tried, in order (inside the axes).
LOCATIONS: tuple[str, ...] = ("upper right", "upper left", "lower right", "lower left",
                              "center right", "center left", "upper center", "lower center")
#: Gap kept between a legend's frame and the nearest point, in display pixels.
PAD_PX = 4.0
#: Points sampled along a line at most this far apart (pixels), so a segment crossing a legend
#: counts although both its ends lie outside.
STEP_PX = 4.0


def _densify(xy: np.ndarray) -> np.ndarray:
    """The vertices of the polyline ``xy`` (display coords) and points along its segments at
    most :data:`STEP_PX` apart; a segment with a non-finite end is not drawn, so not sampled."""
    xy = np.asarray(xy, dtype=float).reshape(-1, 2)
    finite = np.isfinite(xy).all(axis=1)
    if len(xy) < 2:
        return xy[finite]
    d = np.diff(xy, axis=0)
    drawn = finite[:-1] & finite[1:]
    d, start = d[drawn], xy[:-1][drawn]
    n = np.clip(np.ceil(np.hypot(d[:, 0], d[:, 1]) / STEP_PX), 1, 2000).astype(int)
    seg = np.repeat(np.arange(len(d)), n)
    t = (np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n) + 1) / np.repeat(n, n)
    return np.concatenate([xy[finite], start[seg] + d[seg] * t[:, None]])


def _collection_points(c: Collection) -> list[np.ndarray]:
    if isinstance(c, LineCollection):  # error bars, parallel-coordinate lines
        transform = c.get_transform()
        return [_densify(transform.transform(np.asarray(s, dtype=float)))
                for s in c.get_segments() if len(s)]
    offsets = np.asarray(c.get_offsets(), dtype=float)
    if not offsets.size:
        return []
    return [c.get_offset_transform().transform(offsets)]


def drawn_points(ax: Axes) -> np.ndarray:
    """Every point and line sample drawn in ``ax`` that is visible inside its frame, in display
    pixels (n x 2): scatter offsets, error bars, lines (steps as drawn) with their markers."""
    parts: list[np.ndarray] = []
    for line in ax.lines:
        if line.get_visible():
            path = line.get_path()  # with its draw style (steps) applied
            parts.append(_densify(line.get_transform().transform(path.vertices)))
    for c in ax.collections:
        if c.get_visible():
            parts.extend(_collection_points(c))
    if not parts:
        return np.empty((0, 2))
    xy = np.concatenate([p.reshape(-1, 2) for p in parts])
    xy = xy[np.isfinite(xy).all(axis=1)]
    frame = ax.get_window_extent()
    inside = ((xy[:, 0] >= frame.x0) & (xy[:, 0] <= frame.x1)
              & (xy[:, 1] >= frame.y0) & (xy[:, 1] <= frame.y1))
    return xy[inside]


def covered_points(legend: Legend, points: np.ndarray, pad: float = 0.0) -> int:
    """How many of ``points`` (display pixels) lie under ``legend``'s frame (grown by ``pad``)."""
    box = legend.get_window_extent().padded(pad)
    return int(((points[:, 0] >= box.x0) & (points[:, 0] <= box.x1)
                & (points[:, 1] >= box.y0) & (points[:, 1] <= box.y1)).sum())


def _headroom(ax: Axes, box: Bbox) -> bool:
    """Extend the y-range upwards so every drawn point lies below ``box`` (a legend in the
    upper right); False when the legend is too tall for that to leave a readable plot."""
    frame = ax.get_window_extent()
    share = (box.height + 2 * PAD_PX) / frame.height
    if share > 0.5:
        return False
    scale = ax.yaxis.get_transform()  # limits in the scale's linear space (log or linear)
    lo, hi = scale.transform(np.array([[v] for v in ax.get_ylim()])).ravel()
    new_hi = lo + (hi - lo) / (1 - share)
    ax.set_ylim(*scale.inverted().transform(np.array([[lo], [new_hi]])).ravel())
    return True


def place_legend(ax: Axes, **kw: object) -> Legend | None:
    """``ax.legend(**kw)`` at the first place where it covers no drawn point (see the module
    doc); None when ``ax`` has nothing labelled. ``kw`` must not give ``loc``."""
    handles, _ = ax.get_legend_handles_labels()
    if not handles:
        return None
    ax.get_xlim(), ax.get_ylim()  # settle autoscaling before reading positions
    points = drawn_points(ax)
    for loc in LOCATIONS:
        legend = ax.legend(loc=loc, **kw)
        if covered_points(legend, points, PAD_PX) == 0:
            return legend
    legend = ax.legend(loc="upper right", **kw)
    if _headroom(ax, legend.get_window_extent()):
        return legend
    return ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, **kw)


#: Spots (axes fractions) tried in turn for a note written inside a panel: the middle first.
NOTE_SPOTS: tuple[tuple[float, float], ...] = (
    (0.5, 0.5), (0.5, 0.8), (0.5, 0.2), (0.3, 0.5), (0.7, 0.5), (0.3, 0.8), (0.7, 0.8),
    (0.3, 0.2), (0.7, 0.2), (0.5, 0.93), (0.5, 0.07))


def place_note(ax: Axes, text: str, **kw: object) -> Text:
    """``ax.text`` of ``text`` centred at the first of :data:`NOTE_SPOTS` where its box covers
    no drawn point (a note in the middle of a panel sat on its points); the middle when none
    is free. Call once the panel's points and limits are drawn."""
    ax.get_xlim(), ax.get_ylim()  # settle autoscaling before reading positions
    points = drawn_points(ax)
    note = ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", **kw)
    renderer = ax.figure.canvas.get_renderer()
    for spot in NOTE_SPOTS:
        note.set_position(spot)
        box = note.get_window_extent(renderer).padded(PAD_PX)
        if not ((points[:, 0] >= box.x0) & (points[:, 0] <= box.x1)
                & (points[:, 1] >= box.y0) & (points[:, 1] <= box.y1)).any():
            return note
    note.set_position((0.5, 0.5))
    return note
