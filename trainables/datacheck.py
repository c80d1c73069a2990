"""Checks and helpers shared by the readers of both data formats."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from trainables.errors import DataError

__all__ = ["HELP", "finite_features", "suffix"]

#: Where error messages send the user.
HELP = 'see README "Data"'


def suffix(file: str) -> str:
    return os.path.splitext(file)[1].lower()


def finite_features(file: str, values: np.ndarray, names: Sequence[str]) -> np.ndarray:
    """The features as float32, refusing NaN and inf (and values too large for float32)."""
    x = np.asarray(values, dtype=np.float64).astype(np.float32)
    bad = ~np.isfinite(x)
    if bad.any():
        rows = np.flatnonzero(bad.any(axis=1))
        per_column = bad.sum(axis=0).tolist()
        parts = [f"{name} in {n} row{'s' * (n != 1)}" for name, n in zip(names, per_column) if n]
        raise DataError(
            f"{file}: NaN or inf values in {len(rows)} of {len(x)} rows (first: row "
            f"{int(rows[0])}, 0-based): {', '.join(parts)}; drop those rows (keep rows where all "
            "16 features are finite) and load again"
        )
    return x
