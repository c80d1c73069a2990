"""Jets read more than once: the same jet (all 16 features and the class) in two files, or
twice in one file.

Read together, a repeated jet can land in the training split and in the validation or test
split alike, so the search and the test scores are judged on jets the model trained on (a file
reached through two names, a copy, one table kept as CSV and Parquet, files cut from
overlapping ranges). What happens is ``data.duplicates`` (:data:`POLICIES`):

- ``error`` (the default): a jet in two files stops the study, naming both files; a jet
  repeated inside one file is only a warning (real tables may repeat a few jets).
- ``drop``: every repeat after its first reading is dropped, with a warning that counts them.
- ``keep``: the jets are used as read (a hand-made set that repeats jets on purpose).

>>> blocks = [(x, y), (x, y)]                                       # doctest: +SKIP
>>> keep = repeated_jets(["a.h5", "b.h5"], blocks, "drop")          # doctest: +SKIP
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence

import numpy as np

from jetstudy.trainables.errors import DataError

__all__ = ["POLICIES", "repeated_jets"]

log = logging.getLogger(__name__)

#: Values of ``data.duplicates``.
POLICIES: tuple[str, ...] = ("error", "drop", "keep")

_FIX = ("keep one of them in data.path (a glob or folder may reach one file through a link or "
        "a copy), or set data.duplicates: drop (use each jet once) or keep (use them as read)")


def repeated_jets(sources: Sequence[str], blocks: Sequence[tuple[np.ndarray, np.ndarray]],
                  policy: str = "error") -> list[np.ndarray]:
    """One boolean mask per block: the rows to use. ``blocks`` are each file's ``(x, y)``
    (float32 (N, 16), int64 (N,)), in reading order; a row repeats when an earlier row (of
    any block) has the same 16 feature values and class. Raises :class:`DataError` under
    ``error`` when a jet is in two files."""
    if policy not in POLICIES:
        raise DataError(f"data.duplicates is {policy!r}, but must be one of "
                        f"{', '.join(POLICIES)}; e.g. error")
    sizes = [len(y) for _, y in blocks]
    keep = [np.ones(n, dtype=bool) for n in sizes]
    if sum(sizes) < 2 or policy == "keep":
        return keep
    x = np.concatenate([np.asarray(b[0], dtype=np.float32) for b in blocks]) + np.float32(0.0)
    y = np.concatenate([np.asarray(b[1], dtype=np.int64) for b in blocks])
    owner = np.repeat(np.arange(len(blocks)), sizes)
    first = _first_reading(x, y)  # index of each row's first reading
    repeat = first != np.arange(len(y))
    if not repeat.any():
        return keep
    across = repeat & (owner[first] != owner)
    if across.any() and policy == "error":
        row = int(np.flatnonzero(across)[0])
        a, b = sources[owner[first[row]]], sources[owner[row]]
        n_ab = int(np.sum(across & (owner == owner[row]) & (owner[first] == owner[first[row]])))
        same = " (the same file, reached through a link)" if os.path.realpath(a) == \
            os.path.realpath(b) else ""
        raise DataError(
            f"{b} holds {n_ab} of its {sizes[owner[row]]} jets also in {a}{same} "
            f"({int(across.sum())} jets read twice in all): read together, the same jets land "
            f"in the training and the validation/test splits, so the scores are too good; "
            f"{_FIX}")
    if policy == "drop":
        offsets = np.cumsum([0, *sizes])
        for i in range(len(blocks)):
            keep[i] = ~repeat[offsets[i]:offsets[i + 1]]
        log.warning("data.duplicates: drop: %d repeated jets dropped (%d also in another "
                    "file), %d jets left", int(repeat.sum()), int(across.sum()),
                    int((~repeat).sum()))
        return keep
    for i in np.unique(owner[repeat]):
        n = int(np.sum(repeat & (owner == i)))
        log.warning("%s holds %d jets twice (all 16 features and the class equal): they may "
                    "land in the training and the validation/test splits alike; "
                    "data.duplicates: drop uses each jet once", sources[i], n)
    return keep


def _first_reading(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """For each row, the index of the first row equal to it (itself when it is the first).
    A 64-bit hash of each row finds the candidates quickly; rows are compared exactly."""
    bits = np.ascontiguousarray(np.concatenate(
        [x.view(np.uint32), y.astype(np.uint32)[:, None]], axis=1))
    hashed = np.zeros(len(y), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for column in bits.T:
            hashed = (hashed ^ column.astype(np.uint64)) * np.uint64(0x100000001B3)
            hashed ^= hashed >> np.uint64(29)
    first = np.arange(len(y))
    _, inverse, counts = np.unique(hashed, return_inverse=True, return_counts=True)
    candidates = np.flatnonzero(counts[inverse.ravel()] > 1)
    if candidates.size == 0:
        return first
    rows = bits[candidates].view(np.dtype((np.void, bits.shape[1] * 4)))[:, 0]
    _, first_of_group, group = np.unique(rows, return_index=True, return_inverse=True)
    # np.unique's return_index gives the first occurrence in the candidates' (ascending) order
    first[candidates] = candidates[first_of_group[group.ravel()]]
    return first
