"""The designed set of configurations a *scan* trains: a grid or a Sobol design.

A scan answers "where does this network underfit, fit well, overfit, and how does
regularisation move that boundary?", so its axes are capacity and regularisation only:

- ``depth`` (hidden layers) and ``width`` (units of every hidden layer: a scan's models are
  uniform, ``width_i = width``), from ``space.depth`` and ``space.width``;
- each of ``dropout``, ``l1``, ``l2`` whose range is not a single value (at most two);
- everything else (``lr``, ``activations``, ``batch_norm``) is a single value
  (:func:`jetstudy.study.config` checks this).

Grid (``search.sampler: grid``): ``search.grid_levels`` levels per axis, chosen as

- depth: every integer of the range when it has at most that many, else evenly spaced integers;
- width: log-spaced integers (e.g. ``[4, 256]``, 4 levels: 4, 16, 64, 256);
- L1/L2 ``[low, high]`` with ``low > 0``: log-spaced; dropout ``[low, high]``: evenly spaced;
- a ``[0, x]`` range (the term may be off): 0 (off) plus ``levels - 1`` on-values, log-spaced
  in ``[x/1000, x]`` for L1/L2, and for dropout the evenly spaced ``linspace(0, x, levels)``.

The grid is every combination: its size is the product of the axes' level counts, and that is
the study's ``search.num_trials``.

Sobol (``search.sampler: sobol``): the first ``search.num_trials`` *distinct* configurations
(integer rounding and off-switches map several points to one; repeats are skipped) of a
scrambled Sobol sequence (``scipy.stats.qmc.Sobol``, seeded by ``search.seed``) over the unit cube, one
coordinate ``u`` per axis, mapped as the search draws them: depth uniform over the integers,
width log-uniform over ``[low - 0.5, high + 0.5]`` then rounded (Optuna's log integer), a ``[low, high]`` range log-uniform (L1/L2) or uniform (dropout), a ``[0, x]``
range off for ``u < 1/2`` and otherwise drawn from its on-range (:data:`ON_RANGE`) with
``2u - 1``.

Every design point is one Optuna trial (enqueued, :func:`jetstudy.study.searcher.make_searcher`) and one
Ray Tune trial, so a scan uses the same machinery as a search (packs, resume, tables).
"""

from __future__ import annotations

import itertools
import math
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # study.config imports this module
    from jetstudy.study.config import SpaceConfig

__all__ = ["REGULARISERS", "ON_RANGE", "on_range", "is_switchable", "scan_axes",
           "axis_levels", "grid_design", "sobol_design", "scan_design", "grid_size",
           "to_config"]

#: The regularisation knobs a scan may vary (and the search may switch off with ``[0, x]``).
REGULARISERS: tuple[str, ...] = ("dropout", "l1", "l2")
#: ``[0, x]``: "off, or on with a value in [x * lo, x * hi]"; L1/L2 on a log scale, dropout linear
ON_RANGE: dict[str, tuple[float, float, bool]] = {
    "l1": (1e-3, 1.0, True), "l2": (1e-3, 1.0, True), "dropout": (0.1, 1.0, False)}


def is_switchable(name: str, bounds: tuple[float, float]) -> bool:
    """A ``[0, x]`` range with ``x > 0`` of L1, L2 or dropout: the term may be switched off."""
    return name in ON_RANGE and bounds[0] == 0 and bounds[1] > 0


def on_range(name: str, bounds: tuple[float, float]) -> tuple[float, float, bool]:
    """``(low, high, log)`` of the values a switchable ``[0, x]`` range takes when on."""
    lo, hi, log = ON_RANGE[name]
    # 12 digits: 0.4 * 0.1 is 0.04, not 0.04000000000000001 (Optuna's recorded bound, and the
    # range an enqueued 0.04 must lie in)
    return float(f"{bounds[1] * lo:.12g}"), float(f"{bounds[1] * hi:.12g}"), log


def _log_scale(name: str) -> bool:
    return name in ("l1", "l2", "lr", "width")


def scan_axes(space: SpaceConfig) -> list[str]:
    """The axes a scan varies, in order: depth, width, then the varying regularisers."""
    axes = [name for name in ("depth", "width") if getattr(space, name)[0] != getattr(space, name)[1]]
    return axes + [n for n in REGULARISERS if getattr(space, n)[0] != getattr(space, n)[1]]


def _tidy(value: float, low: float | None = None, high: float | None = None) -> float:
    """Three significant digits: grid values read well in tables and on map axes. With
    bounds, a value that rounding pushed outside ``[low, high]`` is the bound itself (an
    ``l2: [1.23456e-5, 1e-3]`` grid starts at 1.23456e-5, not at 1.23e-5, below the range)."""
    tidy = float(f"{value:.3g}")
    if low is not None and tidy < low:
        return float(low)
    if high is not None and tidy > high:
        return float(high)
    return tidy


def axis_levels(space: SpaceConfig, name: str, levels: int) -> list[Any]:
    """The grid levels of one axis (see the module docstring)."""
    low, high = getattr(space, name)
    if low == high:
        return [low]
    if name == "depth":
        if high - low + 1 <= levels:
            return list(range(low, high + 1))
        return sorted({int(round(v)) for v in np.linspace(low, high, levels)})
    if name == "width":
        return sorted({int(round(v)) for v in np.geomspace(low, high, levels)})
    if is_switchable(name, (low, high)):
        if name == "dropout":
            return [_tidy(v, 0.0, high) for v in np.linspace(0.0, high, levels)]
        on_lo, on_hi, _ = on_range(name, (low, high))
        on = [on_hi] if levels == 2 else [_tidy(v, on_lo, on_hi)
                                          for v in np.geomspace(on_lo, on_hi, levels - 1)]
        return [0.0, *on]
    spaced = np.geomspace(low, high, levels) if _log_scale(name) else np.linspace(low, high, levels)
    return [_tidy(v, low, high) for v in spaced]


def grid_size(space: SpaceConfig, levels: int) -> int:
    """How many configurations the grid has: the product of the axes' level counts."""
    return math.prod(len(axis_levels(space, name, levels)) for name in scan_axes(space))


def grid_design(space: SpaceConfig, levels: int) -> list[dict[str, Any]]:
    """Every combination of the axes' levels, depth slowest (a plain nested loop)."""
    axes = scan_axes(space)
    values = [axis_levels(space, a, levels) for a in axes]
    return [dict(zip(axes, combo)) for combo in itertools.product(*values)]


def _from_unit(space: SpaceConfig, name: str, u: float) -> Any:
    low, high = getattr(space, name)
    if name == "depth":
        return min(high, low + int(u * (high - low + 1)))
    if name == "width":
        # Optuna's log integer: half a step beyond each end, so the edge widths get a whole
        # share (optuna._transform), then rounded
        lo, hi = math.log(low - 0.5), math.log(high + 0.5)
        return min(high, max(low, int(round(math.exp(lo + u * (hi - lo))))))
    log = _log_scale(name)
    if is_switchable(name, (low, high)):
        if u < 0.5:
            return 0.0
        low, high, log = on_range(name, (low, high))
        u = 2 * u - 1
    value = math.exp(math.log(low) + u * math.log(high / low)) if log else low + u * (high - low)
    return _tidy(value, low, high)


#: A Sobol scan looks this many times ``num_trials`` points deep for distinct configurations.
SOBOL_DEPTH = 64


def sobol_design(space: SpaceConfig, n: int, seed: int) -> list[dict[str, Any]]:
    """The first ``n`` *distinct* configurations of a scrambled, seeded Sobol sequence over the
    scan's axes (integer depth and width, and an off-switch, map different points to the same
    configuration: a 64-point scan over depth [1, 3], width [4, 64], l2 [0, 1e-3] would train 3
    configurations twice). The sequence is prefix-stable, so a larger ``n`` extends the design.
    A ValueError when the space holds fewer than ``n`` configurations (only integer axes)."""
    from scipy.stats import qmc

    axes = scan_axes(space)
    if not axes:
        if n > 1:
            raise ValueError(f"the scan has no axis (space.depth, space.width and the "
                             f"regularisers are single values), so it holds 1 configuration, "
                             f"not {n}")
        return [{}]
    # a power of two keeps Sobol's balance (and scipy quiet)
    unit = qmc.Sobol(d=len(axes), scramble=True, seed=seed).random_base2(
        max(0, math.ceil(math.log2(max(1, n) * SOBOL_DEPTH))))
    points: list[dict[str, Any]] = []
    seen: set[tuple] = set()
    for row in unit:
        point = {a: _from_unit(space, a, float(u)) for a, u in zip(axes, row)}
        key = tuple(point.values())
        if key not in seen:
            seen.add(key)
            points.append(point)
            if len(points) == n:
                return points
    raise ValueError(f"the scan's space holds only {len(points)} distinct configurations "
                     f"({' x '.join(axes)}), fewer than {n}")


def scan_design(space: SpaceConfig, sampler: str, n: int, levels: int,
                seed: int) -> list[dict[str, Any]]:
    """The scan's design points (Optuna parameters: ``depth``, ``width`` and regularisers)."""
    if sampler == "grid":
        return grid_design(space, levels)
    if sampler == "sobol":
        return sobol_design(space, n, seed)
    raise ValueError(f"{sampler!r} is not a scan sampler (grid, sobol)")


def to_config(space: SpaceConfig, point: dict[str, Any]) -> dict[str, Any]:
    """A design point as a full trial config: one ``width_i`` per layer, constants filled in."""
    depth = int(point.get("depth", space.depth[0]))
    width = int(point.get("width", space.width[0]))
    config: dict[str, Any] = {"depth": depth, **{f"width_{i}": width for i in range(depth)}}
    for name in (*REGULARISERS, "lr"):
        config[name] = float(point.get(name, getattr(space, name)[0]))
    config["activation"] = space.activations[0]
    config["batch_norm"] = space.batch_norm[0]
    return config
