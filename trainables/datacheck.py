"""Checks and helpers shared by the readers of both data formats."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from jetstudy.trainables.errors import DataError
from jetstudy.trainables.schema import HLF_FEATURES

__all__ = ["HELP", "FLOAT32_MAX", "finite_features", "features_vary", "suffix", "path_problem"]

#: Where error messages send the user.
HELP = 'see README "Data"'


def suffix(file: str) -> str:
    return os.path.splitext(file)[1].lower()


#: The largest value a float32 feature can hold; the model trains in float32.
FLOAT32_MAX = float(np.finfo(np.float32).max)


def finite_features(file: str, values: np.ndarray, names: Sequence[str]) -> np.ndarray:
    """The features as float32, refusing NaN and inf, and (named apart, since they are finite)
    values too large for float32."""
    x64 = np.asarray(values, dtype=np.float64)
    nonfinite = ~np.isfinite(x64)
    if nonfinite.any():
        raise DataError(
            f"{file}: NaN or inf values in {_where(nonfinite, names)}; drop those rows (keep "
            "rows where all 16 features are finite) and load again")
    huge = np.abs(x64) > FLOAT32_MAX
    if huge.any():
        row, col = (int(i[0]) for i in np.nonzero(huge))
        raise DataError(
            f"{file}: values too large for float32 (|x| > {FLOAT32_MAX:.3g}) in "
            f"{_where(huge, names)}, e.g. {names[col]} = {x64[row, col]:g}; no jet feature is "
            "that large: check the column's units or drop those rows, and load again")
    return x64.astype(np.float32)


def features_vary(where: str, x: np.ndarray) -> None:
    """Jets whose 16 features are all constant carry nothing to learn from (placeholder or
    zero-filled columns); one constant feature is only a warning (``Standardiser.fit``)."""
    if len(x) > 1 and bool((np.ptp(x, axis=0) == 0).all()):
        raise DataError(
            f"{where}: all {x.shape[1]} features are constant over the {len(x)} jets read (e.g. "
            f"{HLF_FEATURES[0]} = {x[0, 0]:g} in every jet), so there is nothing to learn from; "
            f"check the files hold real feature values, not placeholders ({HELP})")


def _where(bad: np.ndarray, names: Sequence[str]) -> str:
    """"3 of 100 rows (first: row 7, 0-based): j_zlogz in 2 rows, j_mass_mmdt in 1 row"."""
    rows = np.flatnonzero(bad.any(axis=1))
    per_column = bad.sum(axis=0).tolist()
    parts = [f"{name} in {n} row{'s' * (n != 1)}" for name, n in zip(names, per_column) if n]
    return (f"{len(rows)} of {len(bad)} rows (first: row {int(rows[0])}, 0-based): "
            f"{', '.join(parts)}")


def path_problem(path: str) -> str:
    """Why ``path`` cannot be opened, in words: no such file, a link loop, a broken link,
    permission denied (``os.path.exists`` says False for all of them)."""
    import errno

    try:
        os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "a symbolic link loop (a link that leads back to itself); fix or remove the link"
        if exc.errno in (errno.EACCES, errno.EPERM):
            return "permission denied; check the file's (and its folders') permissions"
        if exc.errno == errno.ENAMETOOLONG:
            return "a path too long for the file system"
        if os.path.islink(path):
            return (f"a broken symbolic link (to {os.readlink(path)!r}, which does not exist); "
                    "fix or remove the link")
        if exc.errno == errno.ENOTDIR:
            return "no such file or folder (a part of the path is a file, not a folder)"
        return "no such file or folder"
    except ValueError:  # a NUL in the path
        return "not a valid path (it holds a NUL character)"
    return "not readable"
