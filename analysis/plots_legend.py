"""Legends that never cover data: :func:`place_legend` puts an axes' legend where no drawn
point or line passes, found in display coordinates, instead of matplotlib's ``loc="best"``
(which only *minimises* the overlap, and with ``framealpha`` hides the points it covers).

Order of tries: the usual corners and edges inside the axes (covering no point and no text
already in the panel, such as a note); then headroom (the y-range is extended so every point
lies below a legend in an upper corner, :data:`ROOM_MADE`) where that keeps the axis inside
the quantity's physical range (``bounds``: an efficiency or accuracy axis never passes 1);
then footroom (the same, downwards, legend in a lower corner) within that range; then all of
that again with a long legend in two columns, and with room of up to 70% of the height instead
of 50%; last, outside on the right (which in a grid of panels covers the next one).
:func:`covered_points` is the check itself, used by the tests on every figure.
"""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.collections import Collection, LineCollection
from matplotlib.legend import Legend
from matplotlib.text import Text
from matplotlib.transforms import Bbox

from jetstudy.analysis.plots_axes import keep_within

__all__ = ["place_legend", "place_note", "drawn_points", "covered_points", "fit_cell_texts"]

#: Where a legend is tried, in order (inside the axes).
LOCATIONS: tuple[str, ...] = ("upper right", "upper left", "lower right", "lower left",
                              "center right", "center left", "upper center", "lower center")
#: Where a legend is tried once room is made for it above (True) or below (False) the points:
#: a line leaving the frame through the top (a diverging curve's last epoch, on the right)
#: crosses a legend in the upper right however much room is made, not one in the upper left.
ROOM_MADE: tuple[tuple[str, bool], ...] = (
    ("upper right", True), ("upper left", True), ("upper center", True),
    ("lower right", False), ("lower left", False), ("lower center", False))
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


def _texts(ax: Axes) -> list[Bbox]:
    """Window boxes of the visible, non-empty texts written inside ``ax`` (notes, labels)."""
    renderer = ax.figure.canvas.get_renderer()
    return [t.get_window_extent(renderer).padded(PAD_PX) for t in ax.texts
            if t.get_visible() and t.get_text().strip()]


def _covers_text(box: Bbox, texts: list[Bbox]) -> bool:
    return any(box.overlaps(t) for t in texts)


def _extend(ax: Axes, box: Bbox, up: bool, bounds: tuple[float | None, float | None],
            most: float = 0.5) -> bool:
    """Extend the y-range upwards (``up``: a legend in the upper right) or downwards (lower
    right) so every drawn point lies clear of ``box``; False, leaving the range as it was, when
    the legend takes more than ``most`` of the height (too little would be left for the plot)
    or the new end would pass the quantity's physical bound (``bounds``: lowest, highest;
    None: unbounded)."""
    frame = ax.get_window_extent()
    share = (box.height + 2 * PAD_PX) / frame.height
    if share > most:
        return False
    scale = ax.yaxis.get_transform()  # limits in the scale's linear space (log or linear)
    lo, hi = scale.transform(np.array([[v] for v in ax.get_ylim()])).ravel()
    if up:
        lo, hi = lo, lo + (hi - lo) / (1 - share)
    else:
        lo, hi = hi - (hi - lo) / (1 - share), hi
    new_lo, new_hi = scale.inverted().transform(np.array([[lo], [hi]])).ravel()
    low, high = bounds
    if not (np.isfinite(new_lo) and np.isfinite(new_hi)):
        return False
    if (high is not None and new_hi > high * (1 + 1e-9) + 1e-12) or (
            low is not None and new_lo < low - 1e-12):
        return False
    ax.set_ylim(new_lo, new_hi)
    return True


def place_legend(ax: Axes, bounds: tuple[float | None, float | None] = (None, None),
                 **kw: object) -> Legend | None:
    """``ax.legend(**kw)`` at the first place where it covers no drawn point and no text (see
    the module doc); None when ``ax`` has nothing labelled. ``bounds``: the y quantity's
    physical range (lowest, highest; None: unbounded), which making room for the legend never
    passes (an efficiency axis raised to 10^2 read as an efficiency above 1). ``kw`` must not
    give ``loc``. The y-range as drawn is first clipped to ``bounds`` (plots_axes.keep_within:
    margins never take an accuracy past 1 or a loss below 0), legend or not."""
    ax.get_xlim()  # settle autoscaling before reading positions
    keep_within(ax, bounds)
    handles, _ = ax.get_legend_handles_labels()
    if not handles:
        return None
    tries = [kw]
    if len(handles) >= 4 and "ncol" not in kw:  # a long legend in two columns: half as tall
        tries.append({**kw, "ncol": 2})
    for most in (0.5, 0.7):  # the share of the axes' height a legend may take when room is made
        for options in tries:
            # the spots inside the axes do not depend on ``most``: tried in the first round only
            legend = _placed(ax, bounds, most, options, inside=most == 0.5)
            if legend is not None:
                return legend
    return ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, **kw)


def _clear(ax: Axes, legend: Legend) -> bool:
    return (covered_points(legend, drawn_points(ax), PAD_PX) == 0
            and not _covers_text(legend.get_window_extent(), _texts(ax)))


def _placed(ax: Axes, bounds: tuple[float | None, float | None], most: float,
            kw: dict, inside: bool = True) -> Legend | None:
    """The legend at the first of :data:`LOCATIONS` (when ``inside``) where it is clear of
    points and texts, else in the room made for it (:data:`ROOM_MADE`, taking at most ``most``
    of the height); None, the y-range as it was, when neither works."""
    points, texts = drawn_points(ax), _texts(ax)
    for loc in LOCATIONS if inside else ():
        legend = ax.legend(loc=loc, **kw)
        box = legend.get_window_extent()
        if covered_points(legend, points, PAD_PX) == 0 and not _covers_text(box, texts):
            return legend
    limits = ax.get_ylim()
    for loc, up in ROOM_MADE:
        legend = ax.legend(loc=loc, **kw)
        if _extend(ax, legend.get_window_extent(), up, bounds, most):
            if _clear(ax, legend):
                return legend
            ax.set_ylim(*limits)  # a line or note sat where the room was made: undo, try on
    return None


#: Spots (axes fractions) tried in turn for a note written inside a panel: the middle first.
NOTE_SPOTS: tuple[tuple[float, float], ...] = (
    (0.5, 0.5), (0.5, 0.8), (0.5, 0.2), (0.3, 0.5), (0.7, 0.5), (0.3, 0.8), (0.7, 0.8),
    (0.3, 0.2), (0.7, 0.2), (0.5, 0.93), (0.5, 0.07))


def _within(box: Bbox, frame: Bbox) -> bool:
    """Whether ``box`` lies inside ``frame`` (display pixels, half a pixel's slack)."""
    return (box.x0 >= frame.x0 - 0.5 and box.x1 <= frame.x1 + 0.5
            and box.y0 >= frame.y0 - 0.5 and box.y1 <= frame.y1 + 0.5)


def place_note(ax: Axes, text: str, fallback: bool = True, **kw: object) -> Text | None:
    """``ax.text`` of ``text`` centred at the first of :data:`NOTE_SPOTS` where its box lies
    inside the panel and covers no drawn point, no other text and no legend already placed (a
    note in the middle of a panel sat on its points; one at 0.7 crossed the panel's right
    edge). When none is free: with ``fallback``, the first spot clear of text (the
    middle if none), else no note (None) for the caller to say it elsewhere. Call once the
    panel's points and limits are drawn."""
    ax.get_xlim(), ax.get_ylim()  # settle autoscaling before reading positions
    points = drawn_points(ax)
    note = ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", **kw)
    renderer = ax.figure.canvas.get_renderer()
    legend = ax.get_legend()
    taken = [legend.get_window_extent(renderer)] if legend is not None else []
    taken += [t.get_window_extent(renderer) for t in ax.texts
              if t is not note and t.get_visible() and t.get_text().strip()]
    frame = ax.get_window_extent(renderer)
    clear_of_text = []
    for spot in NOTE_SPOTS:
        note.set_position(spot)
        box = note.get_window_extent(renderer).padded(PAD_PX)
        if _covers_text(box, taken) or not _within(note.get_window_extent(renderer), frame):
            continue  # a spot off-centre put a long note across the panel's edge
        if not ((points[:, 0] >= box.x0) & (points[:, 0] <= box.x1)
                & (points[:, 1] >= box.y0) & (points[:, 1] <= box.y1)).any():
            return note
        clear_of_text.append(spot)
    if not fallback:
        note.remove()
        return None
    note.set_position(clear_of_text[0] if clear_of_text else (0.5, 0.5))
    return note


#: Smallest font (pt) a cell's text is shrunk to.
MIN_CELL_PT = 5.0


def fit_cell_texts(ax: Axes) -> None:
    """Shrink each text written at a cell centre of a heatmap (data coordinates, cells one
    unit wide and high) until it fits inside its cell, down to :data:`MIN_CELL_PT`: a cell of
    many lines (a tie's counts and the undetermined ones) ran over the cells above and below
    and the panel's title."""
    renderer = ax.figure.canvas.get_renderer()
    for text in ax.texts:
        if text.get_transform() != ax.transData or not text.get_text().strip():
            continue
        x, y = text.get_position()
        corners = ax.transData.transform([(x - 0.5, y - 0.5), (x + 0.5, y + 0.5)])
        cell = Bbox([corners.min(axis=0), corners.max(axis=0)]).padded(-1.5)
        size = float(text.get_fontsize())
        box = text.get_window_extent(renderer)
        while size > MIN_CELL_PT and (box.width > cell.width or box.height > cell.height):
            size = max(MIN_CELL_PT, size - 0.5)
            text.set_fontsize(size)
            box = text.get_window_extent(renderer)
