"""Axis helpers of the report's figures: log axes of counts (parameters, FLOPs) that always
carry at least two readable labels, and the loss axis of the learning curves. Split from
:mod:`jetstudy.analysis.plots` (still reachable there) to keep that module a readable size.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.ticker import FuncFormatter, Locator, MaxNLocator, NullLocator

__all__ = ["loss_range", "loss_axis_is_log", "plain_log_axis", "bounds_of", "keep_within", "LOSS",
           "FRACTION", "COUNT"]

#: Physical ranges of the plotted quantities (lowest, highest; None: unbounded): no axis and no
#: room made for a legend passes them (an accuracy axis to 1.03, a loss axis from -0.04 read
#: as values that cannot be).
LOSS: tuple[float | None, float | None] = (0.0, None)
FRACTION: tuple[float | None, float | None] = (0.0, 1.0)  # accuracy, AUC, efficiency
COUNT: tuple[float | None, float | None] = (0.0, None)


def bounds_of(name: str) -> tuple[float | None, float | None]:
    """The physical range of the quantity named ``name`` (a table column: ``best_val_acc``,
    ``val_loss``, ``n_params``, ...); (None, None) for one without (a loss gap)."""
    text = str(name).lower()
    if "loss" in text:
        return LOSS
    if "acc" in text or "auc" in text or "eff" in text:
        return FRACTION
    if text in ("n_params", "flops", "multiplications") or text.startswith("n_"):
        return COUNT
    return (None, None)


def keep_within(ax: object, bounds: tuple[float | None, float | None]) -> None:
    """Clip ``ax``'s y-range (settled as drawn) to ``bounds``; a point at the bound sits on
    the frame's edge rather than the axis reading past it."""
    lo, hi = ax.get_ylim()  # type: ignore[attr-defined]
    low, high = bounds
    new_lo = max(lo, low) if low is not None else lo
    new_hi = min(hi, high) if high is not None else hi
    if (new_lo, new_hi) != (lo, hi) and new_lo < new_hi:
        ax.set_ylim(new_lo, new_hi)  # type: ignore[attr-defined]


def _compact(value: float, _pos: object = None) -> str:
    """Tick label for counts: 200, 5k, 1.2M."""
    if value >= 1e6:
        return f"{value / 1e6:g}M"
    if value >= 1e3:
        return f"{value / 1e3:g}k"
    return f"{value:g}"


class _CountLogLocator(Locator):
    """Major ticks of a log count axis, chosen for the range the axis shows when drawn: the
    coarsest of powers of ten, 1-2-5 and 1-1.5-2-3-5-7 that puts three ticks inside; where even
    the finest puts fewer than two inside (a range narrower than about a fifth of a decade:
    100..120 showed '100' alone), evenly spaced plain numbers, so every log axis has at least
    two labels."""

    def __call__(self) -> Sequence[float]:
        vmin, vmax = self.axis.get_view_interval()  # type: ignore[union-attr]
        return self.tick_values(vmin, vmax)

    def tick_values(self, vmin: float, vmax: float) -> Sequence[float]:
        lo, hi = sorted((float(vmin), float(vmax)))
        if not (np.isfinite(lo) and np.isfinite(hi)) or hi <= 0:
            return []
        lo = lo if lo > 0 else hi / 10
        step = max(1, math.ceil(math.log10(hi / lo) / 8))  # at most ~8 decades labelled
        decades = range(math.floor(math.log10(lo)) - 1, math.ceil(math.log10(hi)) + 2)
        found: list[float] = []
        for subs in ((1.0,), (1.0, 2.0, 5.0), (1.0, 1.5, 2.0, 3.0, 5.0, 7.0)):  # coarse first
            found = [s * 10.0 ** k for k in decades[::step if subs == (1.0,) else 1]
                     for s in subs]
            if sum(lo <= t <= hi for t in found) >= 3:
                return found
        if sum(lo <= t <= hi for t in found) >= 2:
            return found
        linear = MaxNLocator(nbins=3, steps=[1, 2, 2.5, 5, 10]).tick_values(lo, hi)
        return [t for t in linear if t > 0]


def plain_log_axis(axis: object) -> None:
    """Label a log ``axis`` in plain numbers (0.5, 1, 2, 5, 10, 2k; :class:`_CountLogLocator`,
    :func:`_compact`), at least two of them, without minor ticks: matplotlib's own labels read
    '6x10^-1' beside '10^0' and '2x10^0' on a loss axis of one decade."""
    axis.set_major_locator(_CountLogLocator())  # type: ignore[attr-defined]
    axis.set_major_formatter(FuncFormatter(_compact))  # type: ignore[attr-defined]
    axis.set_minor_locator(NullLocator())  # type: ignore[attr-defined]


def _log_count_axis(axis: object, values: pd.Series) -> None:
    """Log axis for parameter/FLOP counts with a few plain labels (2k, 5k, 10k), never fewer
    than two (:class:`_CountLogLocator`), and no minor ticks: matplotlib's "3x10^3 4x10^3" minor
    labels collide, and minor ticks are slow to draw. The ticks follow the range the axis
    shows; ``values`` all of one size (a one-trial study) get a range from half to twice it,
    centred on them (a log axis stretched it over the decade above, the point at its edge)."""
    v = pd.to_numeric(pd.Series(values), errors="coerce").astype(float)
    v = v[np.isfinite(v) & (v > 0)]
    if len(v) and v.max() <= v.min() * 1.05:
        owner = axis.axes  # type: ignore[attr-defined]
        limits = (float(v.min()) / 2, float(v.max()) * 2)
        (owner.set_xlim if axis is owner.xaxis else owner.set_ylim)(*limits)
    plain_log_axis(axis)


def loss_range(losses: np.ndarray, reference: float | None = None) -> tuple[float, float]:
    """The loss axis's span (before margins): from the lowest loss (or L*) to the highest, so
    every point of every curve shows; only where the highest would stretch the span more than
    twofold over the 95th percentile (a diverging curve, flattening all the others) up to that
    percentile. (The 95th percentile always cut the first, high epochs of ordinary curves, and
    L* below them, added after the top was fixed, pinned a curve at 1.61 to the frame's top.)"""
    finite = np.asarray(losses, dtype=float)
    finite = finite[np.isfinite(finite)]
    if not finite.size:
        lo, hi = 0.0, 1.0
    else:
        lo, p95, hi = (float(v) for v in np.percentile(finite, [0, 95, 100]))
        if reference is not None and np.isfinite(reference):
            lo = min(lo, float(reference))
        if hi - lo > 2 * (p95 - lo) + 1e-12:
            hi = p95
    return lo, hi


#: A loss panel whose highest loss is at least this many times its median loss is drawn on a
#: log axis (a diverging trial's loss to 1e5 left every other epoch flat at 0 on a linear one).
LOSS_LOG_SPAN = 10.0


def loss_axis_is_log(losses: np.ndarray, lo: float, hi: float) -> bool:
    """Whether a loss axis from ``lo`` to ``hi`` (:func:`loss_range`'s) is drawn log: all of
    it positive and its top at least :data:`LOSS_LOG_SPAN` times the losses' median, i.e. the
    high end spans decades (a curve diverging over many epochs). A memorising trial's training
    loss falling towards 0 keeps the linear axis: there the median sits near the top."""
    finite = np.asarray(losses, dtype=float)
    finite = finite[np.isfinite(finite)]
    if not finite.size or lo <= 0:
        return False
    return bool(hi >= LOSS_LOG_SPAN * float(np.median(finite)))
