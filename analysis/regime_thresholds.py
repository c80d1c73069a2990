"""The thresholds of the regime rules (:mod:`jetstudy.analysis.regimes`): their values, the
reason for each default, and the values each may take.

The config's ``regimes`` section (``jetstudy.study.config.RegimesConfig``) sets them with the
same names, defaults and limits; a bad value is refused by name.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from jetstudy.analysis.errors import AnalysisError

__all__ = ["RegimeThresholds"]


def _limit(lo: float, hi: float | None = None, lo_open: bool = False, integer: bool = False
           ) -> dict[str, Any]:
    return {"lo": lo, "hi": hi, "lo_open": lo_open, "integer": integer}


@dataclass(frozen=True)
class RegimeThresholds:
    """Thresholds of the regime rules (:mod:`jetstudy.analysis.regimes`); the config's
    ``regimes`` section (``jetstudy.study.config.RegimesConfig``) sets them with the same
    names and defaults.

    >>> RegimeThresholds(z=5).z
    5
    """

    #: Significance in standard errors: 3 lets ~1 noise gap in 700 through.
    z: float = 3.0
    #: ... and a gap must exceed this fraction of the training loss: any fitted model ends
    #: ~k_eff/n above its training loss, significantly on enough jets (regularised 3x128 nets
    #: on 36k synthetic jets: 4-6%, 3-4 sigma, val loss still falling), which is no
    #: memorisation worth the name; an unregularised 4x256 net ends 38% above.
    gap_floor: float = 0.08
    #: Without standard errors (old tables) a gap counts above this fraction, as it used to.
    gap_without_se: float = 0.15
    #: Overfit when the (smoothed) val loss ends this fraction above its minimum ...
    overfit_rise: float = 0.05
    #: ... while the (smoothed) train loss fell at least this fraction after that minimum;
    #: without it a rising val loss is an optimiser problem, not memorisation.
    train_still_falling: float = 0.02
    #: Good within this fraction above L*: a regularised 3x128 net trained on 36k synthetic
    #: jets ends ~12% above the Bayes loss of its training jets; a 1x2 net 100% above, the
    #: best of a short ASHA demo ~20% above.
    underfit_tolerance: float = 0.15
    #: Unstable when the train loss is within this fraction of the prior entropy (or above).
    prior_margin: float = 0.01
    #: Unstable when the macro val AUC is at most this (0.5 = no separation at all).
    auc_floor: float = 0.55
    #: A curve shorter than this shows no trend (the rise rule needs it); a stopped one no
    #: regime (except unstable / a gap); a complete shorter run is judged on its final losses.
    min_epochs: int = 3

    def __post_init__(self) -> None:
        for f in fields(self):
            value, lim = getattr(self, f.name), _LIMITS[f.name]
            ok = isinstance(value, int) if lim["integer"] else isinstance(value, (int, float))
            ok = ok and not isinstance(value, bool) and math.isfinite(value)
            ok = ok and value >= lim["lo"] and not (lim["lo_open"] and value == lim["lo"])
            ok = ok and (lim["hi"] is None or value <= lim["hi"])
            if not ok:
                kind = "an integer" if lim["integer"] else "a number"
                bound = f"{'>' if lim['lo_open'] else '>='} {lim['lo']:g}"
                if lim["hi"] is not None:
                    bound += f" and <= {lim['hi']:g}"
                raise AnalysisError(f"`{f.name}` is {value!r}, but must be {kind} {bound}; "
                                    f"the default is {f.default!r}")

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any] | None) -> RegimeThresholds:
        """From the config's ``regimes`` section; fields it does not know (``reference_loss``)
        are not thresholds and are skipped."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in (values or {}).items() if k in names and v is not None})


#: Allowed values per threshold (``jetstudy.study.config.RegimesConfig`` declares the same for the YAML).
_LIMITS: dict[str, dict[str, Any]] = {
    "z": _limit(0.0, lo_open=True), "gap_floor": _limit(0.0, 1.0),
    "gap_without_se": _limit(0.0, 10.0, lo_open=True),
    "overfit_rise": _limit(0.0, 10.0, lo_open=True), "train_still_falling": _limit(0.0, 1.0),
    "underfit_tolerance": _limit(0.0, 10.0), "prior_margin": _limit(0.0, 0.5),
    "auc_floor": _limit(0.5, 1.0), "min_epochs": _limit(2, integer=True),
}
