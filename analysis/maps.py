"""Regime maps: which regime dominates each region of the hyperparameter space.

A map is a table of cells (one per pair of bins of two hyperparameters) with the count of each
regime, the dominant regime among the *determined* trials, how many trials in the cell were
``undetermined`` (stopped before their curves showed a regime) and the best search metric;
``plots_maps.draw_regime_map`` colours it. Bins are chosen for the quantity: depth is a category
(every depth between the smallest and the largest, so an empty depth stays a visible row),
widths and parameter counts are log-spaced (they span decades), L1/L2 strengths log-spaced with
a separate "off" bin for 0, dropout linear. Architecture maps bin by parameter count and by the
*narrowest* layer: the widest would put a 60-128-2-2 net, whose 2-unit bottleneck decides what
it can learn, among the 64-128 nets.

>>> cells = regime_map(trials, regimes, "min_width", "depth", "val_loss", False)  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from jetstudy.analysis.curve_stats import ran_to_the_end
from jetstudy.analysis.errors import AnalysisError
from jetstudy.analysis.regimes import REGIMES
from jetstudy.analysis.render import counted

__all__ = ["MIXED", "tied_regimes", "RegimeMap", "max_width", "min_width", "bin_values", "regime_map", "MAP_AXES",
           "score_column", "configured_ranges"]

logger = logging.getLogger(__name__)

#: Map axes: trials column -> (axis title, binning). ``min_width`` and ``max_width`` are derived
#: by :func:`min_width` and :func:`max_width`.
MAP_AXES: dict[str, tuple[str, str]] = {
    "depth": ("hidden layers", "category"),
    "min_width": ("narrowest hidden layer (units)", "log2"),
    "max_width": ("widest hidden layer (units)", "log2"),
    "n_params": ("trainable parameters", "log10half"),
    "l1": ("L1 strength", "log10"),
    "l2": ("L2 strength", "log10"),
    "dropout": ("dropout", "linear"),
}

_JUDGED = [r for r in REGIMES if r != "undetermined"]
#: axes whose values are counts, written as the tables write them (11845, never 11.8k)
_COUNT_AXES = frozenset({"depth", "min_width", "max_width", "n_params", "flops"})

#: Map axis -> the study config's ``space`` key whose ``[lo, hi]`` is the axis's configured range.
_SPACE_KEYS: dict[str, str] = {"depth": "depth", "min_width": "width", "max_width": "width",
                               "l1": "l1", "l2": "l2", "dropout": "dropout"}


def configured_ranges(config: Mapping[str, Any] | None) -> dict[str, tuple[float, float]]:
    """The configured ``[lo, hi]`` of each map axis that the study's ``space`` sets (depth, the
    widths, L1, L2, dropout): a map shows that range whole, so a depth never tried is a visible
    empty row, not a row that is not there. An L1/L2 ``[0, x]`` is drawn from ``[x/1000, x]``
    (or off), so its span starts at x/1000; a range of ``[0, 0]`` (switched off) and a missing
    or malformed entry give none (the observed range)."""
    space = (config or {}).get("space") if isinstance(config, Mapping) else None
    out: dict[str, tuple[float, float]] = {}
    if not isinstance(space, Mapping):
        return out
    for axis, key in _SPACE_KEYS.items():
        value = space.get(key)
        try:
            lo, hi = (float(v) for v in value)  # type: ignore[union-attr]
        except (TypeError, ValueError):
            continue
        if not (np.isfinite(lo) and np.isfinite(hi) and 0 <= lo <= hi and hi > 0):
            continue
        if axis in ("l1", "l2") and lo == 0:  # off, or log-uniform from x/1000 (study.space)
            lo = hi / 1000
        if lo > 0 or axis == "dropout":
            out[axis] = (lo, hi)
    return out


@dataclass(frozen=True)
class RegimeMap:
    """Cells of one map. ``cells`` has ``x, y`` (ordered categoricals holding every bin, so empty
    bins still get a row/column), ``n_trials`` (determined trials), ``n_<regime>`` per regime
    (``n_undetermined`` too), ``n_full`` (determined on a complete curve), ``dominant`` (NaN
    where every trial is undetermined; :data:`MIXED` for a tie, its regimes and counts in
    ``tied_names``, their counts as text in ``tied``), ``counts`` (every determined regime's
    count as the cell's label prints it, ``2 good, 1 overfit``; empty when unanimous; where
    complete curves decide, the partial ones apart: ``1 good, 2 overfit (p)``),
    ``partial_only`` (the colour rests only on trials
    judged on incomplete curves: overfit or unstable before the end) and ``best`` (best
    ``metric`` of any trial in the cell; NaN if none has it). ``n_unplaced``: trials without
    a value on an axis, left off the map."""

    x: str
    y: str
    x_title: str
    y_title: str
    metric: str
    maximize: bool
    cells: pd.DataFrame
    #: trials left off the map for lack of a value on an axis (NaN depth, no widths)
    n_unplaced: int = 0
    #: axis -> the configured ``[lo, hi]`` the map's bins span (:func:`configured_ranges`)
    configured: dict[str, tuple[float, float]] = field(default_factory=dict)
    #: axis -> its bins (rows/columns) that no trial of the map reached: untried, not empty
    #: of a regime
    untried: dict[str, list[str]] = field(default_factory=dict)
    #: trials (among ``n_unplaced``) whose count axis (parameters, a width, depth) is 0 or
    #: below: a damaged or hand-edited row, never an "off" bin as a strength of 0 is
    unsized: tuple[str, ...] = ()

    def range_lines(self) -> list[str]:
        """What a reader needs to read an empty row or column: per axis with a configured
        range, that range and which of its bins no trial tried (none for an axis without)."""
        parts = []
        for axis, title in ((self.x, self.x_title), (self.y, self.y_title)):
            if axis not in self.configured:
                continue
            lo, hi = self.configured[axis]
            missing = self.untried.get(axis, [])
            # these bins' cells, and any bin pair no trial drew, read 'not tried' (grey)
            tried = (f"bins no trial reached (whole rows or columns of grey 'not tried' "
                     f"cells): {', '.join(missing)}" if missing
                     else "every bin tried")
            parts.append(f"{title[0].upper()}{title[1:]}: configured {_fmt(lo)}–{_fmt(hi)} "
                         f"(space.{_SPACE_KEYS.get(axis, axis)}), {tried}.")
        return parts


def _layer_widths(trials: pd.DataFrame, reduce: str) -> pd.Series:
    """``reduce`` (``min`` or ``max``) over the hidden layers, from ``width_*`` columns or else
    the ``widths`` string."""
    cols = [c for c in trials.columns if c.startswith("width_")]
    if cols:
        return getattr(trials[cols], reduce)(axis=1, skipna=True)
    if "widths" in trials.columns:
        pick = min if reduce == "min" else max

        def parse(s: str) -> float:
            try:
                return float(pick(int(w) for w in str(s).split("-") if w.strip()))
            except ValueError:
                return np.nan
        return trials["widths"].map(parse).astype(float)
    raise AnalysisError("the trials table has neither width_* columns nor widths; no width map")


def max_width(trials: pd.DataFrame) -> pd.Series:
    """Widest hidden layer per trial (``width_*`` columns, else the ``widths`` string)."""
    return _layer_widths(trials, "max")


def min_width(trials: pd.DataFrame) -> pd.Series:
    """Narrowest hidden layer per trial: the bottleneck that bounds what the net can pass on
    (a 60-128-2-2 net is a 2-unit net), whatever the other layers are."""
    return _layer_widths(trials, "min")


def score_column(trials: pd.DataFrame, metric: str) -> str | None:
    """``best_<metric>`` (the value the search kept) when present, else ``<metric>``, else None."""
    for col in (f"best_{metric}", metric):
        if col in trials.columns and trials[col].notna().any():
            return col
    return None


def _fmt(v: float) -> str:
    if v == 0:
        return "0"
    for scale, unit in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(v) >= scale:  # 10^12 parameters: 1T (was 1e+06M)
            return f"{v / scale:.3g}{unit}" if abs(v) < 1e15 else f"{v:.2e}"
    return f"{v:.3g}" if abs(v) >= 0.01 else f"{v:.0e}"


def _fmt_sci(v: float) -> str:
    """A bin edge below 1 in e-notation (``1e-03``, ``3.16e-03``), for an axis whose small
    edges need it: ``1e-03–1e-02``, never ``1e-03–0.01`` (two notations on one axis)."""
    if v == 0 or abs(v) >= 1:
        return _fmt(v)
    mantissa, exponent = f"{v:.2e}".split("e")
    return f"{mantissa.rstrip('0').rstrip('.')}e{exponent}"


def _round_edges(lo: float, hi: float, n: int = 5) -> np.ndarray:
    """About ``n`` equal bins from ``lo`` to ``hi`` with round steps (1, 2, 2.5 or 5 x 10^k)."""
    if hi <= lo:
        return np.array([lo, lo + 1.0])
    raw = (hi - lo) / n
    scale = 10 ** math.floor(math.log10(raw))
    step = next(m * scale for m in (1, 2, 2.5, 5, 10) if m * scale >= raw * (1 - 1e-9))
    start = math.floor(lo / step + 1e-9) * step
    count = max(1, math.ceil((hi - start) / step - 1e-9))
    edges = start + step * np.arange(count + 1)
    if edges[-1] <= hi:  # hi exactly on an edge: the last bin includes it
        edges[-1] = hi
    return np.round(edges, 12)


def bin_values(values: pd.Series, kind: str,
               span: tuple[float, float] | None = None) -> pd.Series:
    """Ordered categorical bin labels for ``values``; NaN stays NaN.

    ``kind`` is ``category`` (each integer from the smallest to the largest its own bin),
    ``log2``/``log10``/``log10half`` (edges
    at powers of 2, 10 or sqrt(10); 0 gets an ``off`` bin) or ``linear`` (about 5 bins with round
    edges, e.g. 0, 0.1, ..., 0.5). ``span`` (the configured ``[lo, hi]``) widens the bins to
    cover it, so values never drawn still have their (empty) bin.
    """
    v = pd.to_numeric(values, errors="coerce").astype(float)
    finite = v[np.isfinite(v)]
    if finite.empty:
        return pd.Series(pd.Categorical([None] * len(v)), index=v.index)
    lo, hi = float(finite.min()), float(finite.max())
    if span is not None:
        lo, hi = min(lo, float(span[0])), max(hi, float(span[1]))
    if kind == "category":  # every integer in the range: an empty depth is a visible row
        levels = range(int(round(lo)), int(round(hi)) + 1)
        labels = v.map(lambda x: str(int(round(x))) if np.isfinite(x) else None)
        categories = [str(x) for x in levels]
        return pd.Series(pd.Categorical(labels, categories=categories, ordered=True), index=v.index)
    if kind == "linear" and finite.nunique() == 1 and span is None:  # one value, one bin
        only = _fmt(float(finite.iloc[0]))          # (was 0.2–1.2: a dropout up to 1.2)
        labels = v.map(lambda x: only if np.isfinite(x) else None)
        return pd.Series(pd.Categorical(labels, categories=[only], ordered=True), index=v.index)
    if kind == "linear":
        edges = _round_edges(lo, hi)
    elif kind in ("log2", "log10", "log10half"):
        base = {"log2": 2.0, "log10": 10.0, "log10half": math.sqrt(10.0)}[kind]
        pos = finite[finite > 0]
        if pos.empty:
            edges = np.array([])
        else:
            low = min(pos.min(), lo) if lo > 0 else pos.min()
            k0 = math.floor(math.log(low, base) + 1e-9)
            k1 = max(math.ceil(math.log(max(pos.max(), hi), base) - 1e-9), k0 + 1)
            edges = base ** np.arange(k0, k1 + 1, dtype=float)
    else:
        raise AnalysisError(f"bin kind {kind!r} is unknown; use category, log2, log10 or linear")
    fmt = _fmt_sci if any(0 < abs(e) < 0.01 for e in edges) else _fmt  # one notation an axis
    names = [f"{fmt(a)}–{fmt(b)}" for a, b in zip(edges[:-1], edges[1:])]
    has_off = kind != "linear" and bool((finite <= 0).any())
    categories = (["off"] if has_off else []) + names

    def label(x: float) -> str | None:
        if not np.isfinite(x):
            return None
        if x <= 0 and has_off:
            return "off"
        i = int(np.clip(np.searchsorted(edges, x, side="right") - 1, 0, len(names) - 1))
        return names[i]

    binned = pd.Categorical(v.map(label), categories=categories, ordered=True)
    return pd.Series(binned, index=v.index)


def _regime_counts(df: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    counts = pd.crosstab([df["x"], df["y"]], df["regime"]) if len(df) else pd.DataFrame()
    counts = counts.reindex(columns=list(REGIMES), fill_value=0)
    counts.columns = names
    return counts


def _none_judged(df: pd.DataFrame, regimes: pd.DataFrame, x: str, y: str, unplaced: int) -> str:
    """Why no placed trial is judged: stopped early (a search), or ran to the end and is still
    undetermined (a zig-zag, an L* that is no lower bound): then 'a scan trains every configuration to the end' is no fix."""
    missing = (f" ({counted(unplaced, 'more trial')} {'has' if unplaced == 1 else 'have'} no "
               f"`{x}` or `{y}` value)" if unplaced else "")
    one = len(df) == 1  # "the only trial is", never "all 1 are"
    all_are = "the only trial is" if one else f"all {len(df)} are"
    done = ran_to_the_end(df)  # completed, or every epoch trained (regimes.csv's complete)
    if done.any():
        reasons = (regimes.drop_duplicates("trial_id", keep="last").set_index("trial_id")
                   ["reason"] if "reason" in regimes else None)
        example = ""
        if reasons is not None:
            first = df.loc[done, "trial_id"].iloc[0]
            example = f"; e.g. trial {first}: {reasons.get(first, '')}"
        n_done = int(done.sum())
        ran = ("though it ran to the end" if one else
               f"{n_done} of them though {'it' if n_done == 1 else 'they'} ran to the end")
        return (f"no trial could be judged: {all_are} undetermined{missing}, {ran} (see "
                f"{'its reason' if n_done == 1 else 'their reasons'} in regimes.csv{example})")
    # a trial still running is no trial stopped early: waiting, not a scan, judges it
    running = int((df["status"].astype(str) == "running").sum()) if "status" in df else 0
    if running == len(df):
        still = ("still running, its curve too short so far to show a regime" if one
                 else "still running, their curves too short so far to show a regime")
        return (f"no trial could be judged yet: {all_are} undetermined ({still}){missing}; "
                "report again after more epochs or when the study ends")
    stopped = ("stopped before its curve showed a regime" if one
               else "stopped before their curves showed a regime")
    if running:
        n_stop = len(df) - running
        stopped = (f"{running} still running, {n_stop} "
                   + ("stopped before its curve showed a regime" if n_stop == 1
                      else "stopped before their curves showed a regime"))
    return (f"no trial could be judged yet: {all_are} undetermined ({stopped}){missing}. A scan "
            "study (search.sampler: grid or sobol) trains every configuration to the end and "
            "maps the regimes")


#: A cell whose deciding trials tie between regimes (1 good, 1 underfit): its own colour in the
#: map, never the tied regime listed first in :data:`~jetstudy.analysis.regimes.REGIMES`.
MIXED = "mixed"


def _dominant(votes: np.ndarray) -> str | None:
    """The regime with the most votes; :data:`MIXED` when two or more share the most; None
    without a vote."""
    top = votes.max()
    if top <= 0:
        return None
    leaders = np.flatnonzero(votes == top)
    return _JUDGED[leaders[0]] if len(leaders) == 1 else MIXED


def _tied_names(votes: np.ndarray) -> tuple[str, ...]:
    """The regimes a :data:`MIXED` cell's deciding trials tie between, in
    :data:`~jetstudy.analysis.regimes.REGIMES` order; empty for a cell with one dominant
    regime (or none)."""
    top = votes.max()
    leaders = np.flatnonzero(votes == top) if top > 0 else []
    return tuple(_JUDGED[i] for i in leaders) if len(leaders) > 1 else ()


def _count_words(votes: np.ndarray, regimes: tuple[str, ...] | None = None) -> str:
    """``1 underfit, 1 good``: the counts of ``regimes`` (default: every regime with a vote),
    for display only; empty when one regime holds every vote (a unanimous cell)."""
    held = [i for i, v in enumerate(votes) if v > 0]
    if regimes is None and len(held) < 2:
        return ""
    names = regimes if regimes is not None else tuple(_JUDGED[i] for i in held)
    return ", ".join(f"{int(votes[_JUDGED.index(r)])} {r}" for r in names)


#: The mark of a count of trials judged on partial curves, in a cell whose complete ones decide.
PARTIAL_MARK = "(p)"


def _held_words(every: np.ndarray, deciding: np.ndarray, has_full: bool) -> str:
    """A cell's counts as its label prints them: :func:`_count_words` of every determined
    trial; where complete curves decide and partial ones differ from them, the deciding
    counts first, then the partial ones marked :data:`PARTIAL_MARK` (``1 good, 2 overfit (p)``).
    """
    partial = every - deciding
    if not has_full or not partial.any():
        return _count_words(every)
    full = [f"{int(v)} {r}" for r, v in zip(_JUDGED, deciding) if v > 0]
    return ", ".join(full + [f"{int(v)} {r} {PARTIAL_MARK}" for r, v in zip(_JUDGED, partial)
                             if v > 0])


def tied_regimes(tied: Any) -> list[str]:
    """The regimes of a :data:`MIXED` cell: its ``tied_names`` (a tuple) as a list; a
    ``tied`` text of an older caller (``1 underfit, 1 good``) is read for its names."""
    if isinstance(tied, (tuple, list)):
        return list(tied)
    return [part.split(" ", 1)[1] for part in str(tied).split(", ") if " " in part]


def regime_map(
    trials: pd.DataFrame, regimes: pd.DataFrame, x: str, y: str, metric: str, maximize: bool,
    configured: Mapping[str, tuple[float, float]] | None = None,
) -> RegimeMap:
    """Cells of the ``x`` by ``y`` map.

    A cell's colour (``dominant``) is the most frequent regime among its determined trials,
    those judged on complete curves deciding where there are any;
    a tie between regimes is :data:`MIXED` (``dominant``), its tied regimes in ``tied_names``
    and their counts in ``tied`` (``1 underfit, 1 good``; empty otherwise): the first in
    :data:`~jetstudy.analysis.regimes.REGIMES` would colour the cell by one of two equal
    verdicts, beside a best value that may be the other's. ``undetermined`` trials never colour a
    cell; they are counted (``n_undetermined``). Raises :class:`AnalysisError` when an axis is
    missing or constant (a hyperparameter switched off in the study says nothing about
    regimes) or when no trial is determined. ``configured`` (:func:`configured_ranges`) makes
    an axis span its configured range: bins no trial reached are listed in ``untried``.
    """
    spans = {a: tuple(configured[a]) for a in (x, y) if configured and a in configured}
    df = trials.drop_duplicates("trial_id", keep="last").copy()  # listed twice: its last row
    regimes = regimes.drop_duplicates("trial_id", keep="last")
    for derived, compute in (("max_width", max_width), ("min_width", min_width)):
        if derived in (x, y):
            df[derived] = compute(df)
    for axis in (x, y):
        if axis not in df.columns:
            raise AnalysisError(f"the trials table has no `{axis}` column")
        values = df[axis].dropna()
        if values.nunique() < 2:
            first = float(values.iloc[0]) if len(values) else math.nan
            shown = ("missing" if not len(values) else str(int(first))  # a count as the tables
                     if first.is_integer() and axis in _COUNT_AXES else _fmt(first))
            raise AnalysisError(f"`{axis}` does not vary in this study (all {shown})")
    df = df.merge(regimes[["trial_id", "regime", "judged_on_partial"]], on="trial_id")
    # a count of 0 or below (a model has a weight, a layer a unit) is no value: binned, it
    # went to the "off" bin of an L1/L2 strength of 0, a column "off" on the parameter axis
    bad = np.zeros(len(df), dtype=bool)
    for axis in {x, y} & _COUNT_AXES:
        count = pd.to_numeric(df[axis], errors="coerce").astype(float)
        bad |= (count <= 0).to_numpy()
        df[axis] = count.where(count > 0)
    unsized = tuple(str(t) for t in df.loc[bad, "trial_id"])
    df["x"] = bin_values(df[x], MAP_AXES.get(x, (x, "linear"))[1], spans.get(x))
    df["y"] = bin_values(df[y], MAP_AXES.get(y, (y, "linear"))[1], spans.get(y))
    placed = df["x"].notna() & df["y"].notna()
    unplaced = int((~placed).sum())
    if unplaced:  # a trial without a value on an axis has no cell (counted, not hidden)
        logger.info("regime map %s x %s: %d trial(s) without a value on an axis left out",
                    x, y, unplaced)
        df = df[placed]
    determined = df["regime"] != "undetermined"
    if not determined.any():
        raise AnalysisError(_none_judged(df, regimes, x, y, unplaced))
    score = score_column(df, metric)
    # the cell's best counts the trials 'Best trial' counts (pareto.SCORED_STATUSES): a failed
    # or interrupted trial's early value would read as a best model the report never names
    scored = (df["status"].isin(("completed", "stopped", "running")) if "status" in df
              else pd.Series(True, index=df.index))
    value = pd.to_numeric(df[score], errors="coerce").astype(float) if score else None
    # an infinite score is no best (as in 'Best trial': NaN and inf never win)
    df["score"] = value.where(scored & np.isfinite(value)) if score else np.nan
    names = [f"n_{r}" for r in REGIMES]
    counts = _regime_counts(df, names)
    full = _regime_counts(df[determined & ~df["judged_on_partial"].astype(bool)], names)
    full = full.reindex(counts.index, fill_value=0)
    grouped = df.groupby(["x", "y"], observed=True)["score"]
    best = grouped.max() if maximize else grouped.min()
    cells = counts.join(best.rename("best"))
    judged = [f"n_{r}" for r in _JUDGED]
    cells["n_trials"] = counts[judged].sum(axis=1)
    cells["n_full"] = full[judged].sum(axis=1)
    cells = cells[cells["n_trials"] + cells["n_undetermined"] > 0]
    # complete curves decide where there are any: a trial caught overfitting after two epochs
    # says less about where the cell's models end up
    has_full = cells[["n_full"]].to_numpy() > 0
    votes = np.where(has_full, full.loc[cells.index, judged].to_numpy(),
                     cells[judged].to_numpy())
    cells["dominant"] = [_dominant(v) for v in votes]
    cells["tied_names"] = [_tied_names(v) for v in votes]  # the names the stripes are drawn in
    cells["tied"] = [_count_words(v, n) if n else "" for v, n in zip(votes, cells["tied_names"])]
    # what the cell holds, whenever its determined trials are not unanimous (2 good, 1 overfit
    # printed only n=3 under a good colour); its label prints this. Where complete curves decide,
    # the trials judged on partial ones are marked '(p)': a cell coloured overfit above '2 good,
    # 1 overfit', or striped good/underfit above '1 underfit, 1 good, 1 overfit', read wrong
    cells["counts"] = [_held_words(a, v, bool(h)) for a, v, h
                       in zip(cells[judged].to_numpy(), votes, has_full[:, 0])]
    cells["partial_only"] = (cells["n_full"] == 0) & (cells["n_trials"] > 0)
    cells = cells.reset_index()
    cells["x"] = pd.Categorical(cells["x"], categories=df["x"].cat.categories, ordered=True)
    cells["y"] = pd.Categorical(cells["y"], categories=df["y"].cat.categories, ordered=True)
    x_title, y_title = MAP_AXES.get(x, (x, ""))[0], MAP_AXES.get(y, (y, ""))[0]
    untried = {a: [str(b) for b in df[k].cat.categories if not (df[k] == b).any()]
               for a, k in ((x, "x"), (y, "y")) if a in spans}
    return RegimeMap(x=x, y=y, x_title=x_title, y_title=y_title, metric=score or metric,
                     maximize=maximize, cells=cells, n_unplaced=unplaced,
                     configured=dict(spans), untried=untried, unsized=unsized)
