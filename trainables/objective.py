"""Which value of a search metric is better: the one rule, torch-free.

The trial loop, the pack, the result tables, the live progress line and the analysis all ask
"is this epoch (trial) better than that one?". They ask :class:`Objective`, so the direction
of each metric (:data:`METRIC_MODES`) and the handling of missing or non-finite values live in
one place: a finite value beats a missing, NaN or infinite one; ties keep the earlier value.

>>> loss = Objective.of("val_loss")
>>> loss.better(0.5, 0.6), loss.better(0.5, None), loss.better(float("nan"), 0.6)
(True, True, False)
>>> Objective.of("val_acc").best_index([0.7, float("nan"), 0.8, 0.8])
2
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable

__all__ = ["METRIC_MODES", "MODES", "Objective", "is_finite_number"]

#: Search metrics and whether lower (``min``) or higher (``max``) is better.
METRIC_MODES: dict[str, str] = {"val_loss": "min", "val_acc": "max", "val_auc": "max"}
#: The two directions.
MODES: tuple[str, ...] = ("min", "max")


def is_finite_number(value: Any) -> bool:
    """A real, finite number (bools, numpy's too, None, NaN, infinities, pandas' NA, strings
    and arrays are not)."""
    if value is None or isinstance(value, (bool, str, bytes)):
        return False
    if getattr(value, "ndim", 0) or getattr(getattr(value, "dtype", None), "kind", "") == "b":
        return False  # an array (even of one value) or a numpy bool is no metric value
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


@dataclass(frozen=True)
class Objective:
    """A metric ``name`` and its direction ``mode`` (``min`` or ``max``)."""

    name: str
    mode: str

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode of objective {self.name!r} is {self.mode!r}, but must be "
                             f"'min' or 'max'")

    @classmethod
    def of(cls, name: str) -> "Objective":
        """The objective of a known search metric (:data:`METRIC_MODES`)."""
        if name not in METRIC_MODES:
            raise ValueError(f"metric {name!r} has no known direction; use one of "
                             f"{', '.join(METRIC_MODES)}")
        return cls(name, METRIC_MODES[name])

    @property
    def maximize(self) -> bool:
        return self.mode == "max"

    @property
    def sign(self) -> float:
        """``+1`` (min) or ``-1`` (max): ``sign * value`` is lower-is-better."""
        return -1.0 if self.maximize else 1.0

    @property
    def worst(self) -> float:
        """A value every finite value beats (``+inf`` for min, ``-inf`` for max)."""
        return -math.inf if self.maximize else math.inf

    def better(self, value: Any, best: Any) -> bool:
        """``value`` strictly beats ``best``; a finite value beats a missing or non-finite
        ``best``, and a non-finite ``value`` beats nothing."""
        if not is_finite_number(value):
            return False
        if not is_finite_number(best):
            return True
        return float(value) < float(best) if self.mode == "min" else float(value) > float(best)

    def best_index(self, values: Iterable[Any]) -> Any:
        """The index (a pandas Series' label, else the position) of the best finite value,
        the first one on ties; ``None`` when no value is finite."""
        items = values.items() if hasattr(values, "items") else enumerate(values)
        best_key, best = None, None
        for key, value in items:
            if self.better(value, best):
                best_key, best = key, value
        return best_key

    def best_value(self, values: Iterable[Any]) -> float | None:
        """The best finite value, or ``None``."""
        finite = [float(v) for v in values if is_finite_number(v)]
        if not finite:
            return None
        return max(finite) if self.maximize else min(finite)
