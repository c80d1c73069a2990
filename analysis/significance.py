"""When a loss difference is a verdict: beyond ``z`` standard errors **and** a relative floor
(:mod:`jetstudy.analysis.regimes` explains why both). One place for the test and its words, so
every rule (gap, rise, bias, an L* that is no bound) reads noise the same way.

>>> from jetstudy.analysis.regime_thresholds import RegimeThresholds
>>> judge_diff(0.1, 0.6, 0.01 ** 2, RegimeThresholds(), 0.08, 0.15).text
'+0.1 (+17%, +10.0 sigma)'
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from jetstudy.analysis.intervals import percent, signed, unsigned_zero
from jetstudy.analysis.regime_thresholds import RegimeThresholds

__all__ = ["Judged", "judge_diff", "in_sigmas", "beyond", "below", "sigma_decimals"]


@dataclass(frozen=True)
class Judged:
    """A difference judged: ``significant`` and the words for the reason."""

    significant: bool
    text: str
    sigma: float


def judge_diff(diff: float, base: float, se2: float, t: RegimeThresholds, floor: float,
               floor_without_se: float) -> Judged:
    """Is ``diff`` (a loss difference) beyond ``z`` standard errors and ``floor`` x ``base``?

    Standard errors of 0 (every jet with the same loss) are no noise: the floor alone decides,
    not the looser ``floor_without_se`` of tables without errors. A base of 0 (a zero loss)
    makes any non-zero difference infinitely large in relative terms, and none zero."""
    rel = diff / base if base > 0 else (0.0 if diff == 0 else math.copysign(np.inf, diff))
    shown = _beside(rel, floor) if np.isfinite(rel) else "of a zero loss"
    if np.isfinite(se2) and se2 >= 0:
        sigma = in_sigmas(diff, se2)
        ok = beyond(sigma, t.z) and beyond(rel, floor)
        noise = (f"{signed(sigma, f'+.{sigma_decimals(sigma, t.z)}f')} sigma" if se2 > 0
                 else "no spread: se 0")
        return Judged(ok, f"{signed(diff)} ({shown}, {noise})", sigma)
    return Judged(beyond(rel, floor_without_se), f"{signed(diff)} ({shown})", np.nan)


def _beside(rel: float, floor: float) -> str:
    """``rel`` in percent (:func:`percent`), with as many more decimals as it takes not to read
    as the ``floor`` it was compared with: a gap of 7.7% under gap_floor 8% printed '+8%' and
    was called no gap; now '+7.7%' (8.3% above it: '+8.3%')."""
    shown = percent(rel)
    if not (np.isfinite(floor) and floor > 0) or math.isclose(abs(rel), floor, rel_tol=1e-9):
        return shown  # no floor, or at it: the value is the floor
    for decimals in range(1, 5):
        if abs(float(shown.strip("+-%"))) != round(floor * 100, decimals - 1):
            break
        shown = unsigned_zero(f"{rel * 100:+.{decimals}f}%")
    return shown


def sigma_decimals(sigma: float, z: float) -> int:
    """Decimals for ``sigma`` beside the ``z`` it was compared with: 1, or as many more as it
    takes not to read as ``z`` (3.04 sigma printed '+3.0 sigma' in an overfit reason, and
    2.96 the same in a good one); a value at ``z`` itself keeps 1."""
    if not (np.isfinite(sigma) and np.isfinite(z)) or math.isclose(abs(sigma), z, rel_tol=1e-9):
        return 1
    for decimals in range(1, 5):
        if round(abs(sigma), decimals) != round(z, decimals):
            return decimals
    return 4


def beyond(value: float, limit: float) -> bool:
    """``value > limit``, where a value equal to the limit up to floating-point rounding is not
    beyond it: a gap of exactly ``gap_floor`` (0.648 - 0.6 = 0.048000000000000043, 8.000000000000007%
    of 0.6) is at the threshold, and "beyond" must not depend on the last bit.

    >>> beyond((0.648 - 0.6) / 0.6, 0.08), beyond(0.0801, 0.08)
    (False, True)
    """
    return bool(value > limit and not math.isclose(value, limit, rel_tol=1e-9, abs_tol=1e-12))


def below(value: Any, limit: Any) -> Any:
    """``value < limit``, where a value equal to the limit up to floating-point rounding is not
    below it (elementwise for arrays): a lead of exactly 2 standard errors is not "within the
    noise (< 2 sigma)" whichever way its last bit falls (0.57 - 0.56 over hypot(0.003, 0.004)
    is 1.99999999999998, 0.61 - 0.60 over the same 2.0000000000000018: one verdict for both).

    >>> bool(below(0.57 - 0.56, 2 * 0.005)), bool(below(0.0099, 2 * 0.005))
    (False, True)
    """
    close = np.isclose(value, limit, rtol=1e-9, atol=1e-12)
    out = np.less(value, limit) & ~close
    return bool(out) if np.ndim(out) == 0 else out


def in_sigmas(diff: float, se2: float) -> float:
    """``diff`` in standard errors; with errors of 0, infinite (0 for no difference)."""
    if se2 > 0:
        return diff / math.sqrt(se2)
    return 0.0 if diff == 0 else math.copysign(np.inf, diff)
