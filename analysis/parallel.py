"""Parallel coordinates of the hyperparameters: every trial as a line across one axis per knob.

The data behind Optuna's ``plot_parallel_coordinate``, computed from the trials table: each
hyperparameter that varies gets an axis (log where the search space is log: sizes, penalties,
learning rate; categorical ones get a tick per value), each trial a line through its values,
scaled to [0, 1] per axis, coloured by its validation loss and, where the regimes are known, by
its regime. A switched-off penalty (0, or NaN in tables that leave it out) has no place on a log
axis; it sits in an "off" slot below the axis (:data:`OFF`). The drawing is
:mod:`jetstudy.analysis.plots_search`.

>>> pc = parallel_coordinates(trials, regimes)        # doctest: +SKIP
>>> [a.column for a in pc.axes], pc.left_out          # doctest: +SKIP
(['depth', 'n_params', 'min_width', 'dropout', 'l1', 'l2', 'lr'], ('activation',))
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from jetstudy.analysis.errors import AnalysisError
from jetstudy.analysis.maps import min_width, score_column

__all__ = ["OFF", "PARAMS", "ParamAxis", "ParallelCoordinates", "param_axis",
           "parallel_coordinates", "colour_range", "colour_capped", "COLOUR_CAP_MIN"]

#: Position of the "off" slot (a switched-off penalty, a missing value), below each axis.
OFF = -0.12

#: column -> (axis label, scale): ``log`` (positive values; 0 and NaN are "off"), ``linear``,
#: ``int`` (linear with integer ticks) or ``category``. Page order, left to right.
PARAMS: dict[str, tuple[str, str]] = {
    "depth": ("hidden layers", "int"),
    "n_params": ("parameters", "log"),
    "min_width": ("narrowest layer", "log"),
    "dropout": ("dropout", "linear"),
    "l1": ("L1", "log"),
    "l2": ("L2", "log"),
    "lr": ("learning rate", "log"),
    "batch_size": ("batch size", "category"),
    "activation": ("activation", "category"),
    "batch_norm": ("batch norm", "category"),
}


@dataclass(frozen=True)
class ParamAxis:
    """One vertical axis: the table ``column``, its ``label``, ``scale`` (see :data:`PARAMS`)
    and ``ticks``: (position in [0, 1] or :data:`OFF`, text) pairs."""

    column: str
    label: str
    scale: str
    ticks: tuple[tuple[float, str], ...]


@dataclass(frozen=True)
class ParallelCoordinates:
    """``lines``: one row per trial, ``trial_id``, ``status``, ``regime`` (None when not
    known), ``colour`` (the validation loss, NaN: none) and one position column per axis,
    sorted worst first so the best lines are drawn on top. ``colour_column``: where ``colour``
    came from; ``left_out``: hyperparameters that did not vary."""

    axes: tuple[ParamAxis, ...]
    lines: pd.DataFrame
    colour_column: str
    left_out: tuple[str, ...]
    #: the colour's direction: True when higher is better (a val_acc or val_auc study)
    maximize: bool = False

    @property
    def has_regimes(self) -> bool:
        """Whether a trial has a regime to colour by: a panel of undetermined trials only
        (every trial stopped at ASHA's first rung) was all grey under 'coloured by regime'."""
        known = self.lines["regime"].dropna()
        return bool((known != "undetermined").any())


def _fmt(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 1000:
        return f"{value / 1e6:.3g}M" if abs(value) >= 1e6 else f"{value / 1e3:.3g}k"
    return f"{value:.3g}" if abs(value) >= 0.01 else f"{value:.0e}"


def _log_ticks(values: list[float], decades: bool) -> list[str]:
    """One notation per log axis: once a tick is below 0.01 (``1e-03``), every tick below 1 is
    written the same way (``1e-02``, not ``0.01`` beside ``1e-03``)."""
    if not any(0 < v < 0.01 for v in values):
        return [_fmt(v) for v in values]
    exact = decades or all(math.isclose(float(f"{v:.0e}"), v) for v in values)
    spec = ".0e" if exact else ".1e"  # a power of ten is 1e-04; 3.2e-03 keeps its figure
    return [format(v, spec) if v < 1 else _fmt(v) for v in values]


#: the least distance, as a fraction of a log axis, of a decade's tick from an end's tick
END_GAP = 0.08


def _log_marks(lo: float, hi: float) -> list[float]:
    """Log10 positions of a log axis's ticks: both ends of its range always (an axis of 8 to
    100 labelled only 10 and 100 showed no label at its bottom) and, where the range holds two
    decades or more, those at least :data:`END_GAP` of the axis from an end; an end on a decade
    is that decade (exactly, for its notation)."""
    if hi <= lo:
        return [lo]
    decades = range(math.ceil(lo - 1e-9), math.floor(hi + 1e-9) + 1)
    snap = [float(k) if abs(k - x) < 1e-9 else x for x in (lo, hi) for k in [round(x)]]
    inner = [float(k) for k in decades  # one decade inside: the ends say enough
             if len(decades) >= 2 and min(k - lo, hi - k) >= END_GAP * (hi - lo)]
    return [snap[0], *inner, snap[1]]


def _category_text(value: object) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return "-"  # missing (a nullable Int64/boolean column holds pd.NA)
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"  # as in config.yaml
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _numeric_axis(column: str, label: str, scale: str, values: pd.Series
                  ) -> tuple[ParamAxis, np.ndarray] | None:
    v = pd.to_numeric(values, errors="coerce").astype(float).to_numpy()
    on = np.isfinite(v) & (v > 0) if scale == "log" else np.isfinite(v)
    states = set(np.unique(v[on]).tolist()) | ({"off"} if (~on).any() else set())
    if len(states) < 2:
        return None
    t = np.log10(np.where(on, v, 1.0)) if scale == "log" else np.where(on, v, 0.0)
    lo, hi = (float(t[on].min()), float(t[on].max())) if on.any() else (0.0, 0.0)
    pos = np.where(on, (t - lo) / (hi - lo) if hi > lo else 0.5, OFF)
    if scale == "log":
        marks = _log_marks(lo, hi)
        texts = _log_ticks([10 ** k for k in marks], all(float(k).is_integer() for k in marks))
        if len(set(texts)) < len(texts):  # near values (11840, 11845) both read 11.8k
            texts = [f"{10 ** k:.6g}" for k in marks]
        ticks = [((k - lo) / (hi - lo) if hi > lo else 0.5, text) for k, text in zip(marks, texts)]
    elif scale == "int":
        ints = sorted({int(round(x)) for x in v[on]})
        step = max(1, math.ceil(len(range(ints[0], ints[-1] + 1)) / 8)) if ints else 1
        marks = list(range(ints[0], ints[-1] + 1, step)) if ints else []
        ticks = [((m - lo) / (hi - lo) if hi > lo else 0.5, str(m)) for m in marks]
    else:
        marks = [float(m) for m in np.linspace(lo, hi, 3)] if hi > lo else [lo]
        texts = [_fmt(m) for m in marks]
        if len({"e" in t for t in texts}) > 1:  # 8e-03 under 0.252: one notation, 0.008
            small = min(abs(m) for m in marks if m)
            texts = [f"{m:.{max(3, -math.floor(math.log10(small)))}f}" for m in marks]
        if len(set(texts)) < len(texts):  # a narrow range (0.2501..0.2503) read 0.25 thrice
            texts = [f"{m:.6g}" for m in marks]
        ticks = [((m - lo) / (hi - lo) if hi > lo else 0.5, t) for m, t in zip(marks, texts)]
    if (~on).any():
        ticks.append((OFF, "off" if scale == "log" else "-"))
    return ParamAxis(column, label, scale, tuple(ticks)), pos


def param_axis(column: str, values: pd.Series) -> tuple[ParamAxis, np.ndarray] | None:
    """The axis of one hyperparameter and each trial's position on it (:data:`OFF` for a
    switched-off or missing value); None when it takes fewer than two distinct values."""
    label, scale = PARAMS.get(column, (column, "category"))
    if scale != "category":
        return _numeric_axis(column, label, scale, values)
    text = values.map(_category_text)
    levels = sorted(set(text), key=lambda s: (s == "-", _sort_key(s)))
    if len(levels) < 2:
        return None
    where = {lvl: i / (len(levels) - 1) for i, lvl in enumerate(levels)}
    ticks = tuple((where[lvl], lvl) for lvl in levels)
    return ParamAxis(column, label, scale, ticks), text.map(where).to_numpy(dtype=float)


def _sort_key(text: str) -> tuple[int, float, str]:
    try:
        return (0, float(text), text)
    except ValueError:
        return (1, 0.0, text)


#: Fewest finite trials for which the colour bar stops at the 95th (5th) percentile: from 20
#: on, the cap leaves at most one trial in 20 past the bar's end; with fewer it would hide real
#: differences (on 2 trials a cap put the worse one in the extension), so the bar spans them all.
COLOUR_CAP_MIN = 20


def colour_capped(colour: pd.Series) -> bool:
    """Whether :func:`colour_range` caps the scale (enough finite trials to cap an outlier)."""
    return int(np.isfinite(colour).sum()) >= COLOUR_CAP_MIN


def colour_range(colour: pd.Series, maximize: bool = False) -> tuple[float, float]:
    """Colour scale of the validation loss: from the lowest to the 95th percentile, so one
    diverged trial does not wash out the differences among the rest (the bar is extended);
    of a score (``maximize``) from the 5th percentile to the highest. With fewer than
    :data:`COLOUR_CAP_MIN` finite trials the scale spans all of them (no cap)."""
    finite = colour[np.isfinite(colour)]
    if finite.empty:
        what = "validation score" if maximize else "validation loss"
        raise AnalysisError(f"no trial has a finite {what} to colour by")
    capped = colour_capped(colour)
    if maximize:
        lo = float(np.percentile(finite, 5)) if capped else float(finite.min())
        hi = float(finite.max())
        return (lo, hi) if hi > lo else (hi - 1e-9, hi)
    lo = float(finite.min())
    hi = float(np.percentile(finite, 95)) if capped else float(finite.max())
    return (lo, hi) if hi > lo else (lo, lo + 1e-9)


def parallel_coordinates(trials: pd.DataFrame, regimes: pd.DataFrame | None = None,
                         metric: str = "val_loss", maximize: bool = False
                         ) -> ParallelCoordinates:
    """Axes for the hyperparameters of :data:`PARAMS` that vary between the trials, and the
    trials' lines, coloured by the study's ``metric`` (``best_<metric>`` when present; the
    validation loss by default), best lines drawn last in the metric's direction.

    ``regimes`` (``trial_id, regime``, :func:`jetstudy.analysis.regimes.assess_regimes`) adds
    each line's regime. Raises :class:`AnalysisError` when no trial has a finite validation
    loss or fewer than two hyperparameters vary (one trial, all alike, or a scan of one knob:
    a line needs two axes).
    """
    colour_column = score_column(trials, metric)
    if colour_column is None:
        what = {"val_loss": "validation loss", "val_acc": "validation accuracy",
                "val_auc": "validation AUC"}.get(metric, metric)
        raise AnalysisError(f"no trial has a {what} to colour by (all failed or none "
                            "finished an epoch)")
    colour = pd.to_numeric(trials[colour_column], errors="coerce").astype(float)
    colour_range(colour, maximize)  # raises when nothing is finite
    table = trials.assign(min_width=min_width(trials)) if any(
        c.startswith("width_") or c == "widths" for c in trials.columns) else trials
    axes, positions, left_out = [], {}, []
    for column in PARAMS:
        if column not in table.columns:
            continue
        found = param_axis(column, table[column])
        if found is None:
            left_out.append(column)
            continue
        axes.append(found[0])
        positions[column] = found[1]
    if not axes:
        why = ("only 1 trial is in the table" if len(trials) == 1 else
               f"no hyperparameter varies between the {len(trials)} trials")
        raise AnalysisError(f"{why}, so there is nothing to compare")
    if len(axes) == 1:  # a line needs two axes: one axis drew no trial at all
        raise AnalysisError(f"only one hyperparameter ({axes[0].label}) varies between the "
                            f"{len(trials)} trials, so there are no lines between axes to "
                            "draw; the optimisation history shows the trials")
    regime = (trials["trial_id"].astype(str).map(regimes.set_index("trial_id")["regime"])
              if regimes is not None else pd.Series(None, index=trials.index, dtype=object))
    lines = pd.DataFrame({"trial_id": trials["trial_id"].astype(str).to_numpy(),
                          "status": trials["status"].astype(str).to_numpy(),
                          "regime": regime.to_numpy(dtype=object), "colour": colour.to_numpy(),
                          **positions})
    goodness = lines["colour"].to_numpy(dtype=float) * (1.0 if maximize else -1.0)
    worst_first = np.where(np.isfinite(goodness), goodness, -np.inf)  # no value first, then worst
    order = np.argsort(worst_first, kind="stable")
    return ParallelCoordinates(tuple(axes), lines.iloc[order].reset_index(drop=True),
                               colour_column, tuple(left_out), maximize)
