"""Jet data for a study: read (see :mod:`jetstudy.trainables.formats`), split, standardise.

The split is deterministic in the seed, so every trial of a study and every later analysis sees
the same train/validation/test jets; the test split is held out from tuning entirely. The
:class:`Standardiser` is fitted on the training split only — fitting it on all jets would leak
test statistics into the model — and is written to ``scaler.json`` so the best model can be
applied to new jets exactly as it was trained.

>>> table = load_jets("data/", max_jets=100_000)                       # doctest: +SKIP
>>> splits = split_jets(table, val_fraction=0.2, test_fraction=0.2, seed=1)  # doctest: +SKIP
>>> splits.summary["n_jets"]                                             # doctest: +SKIP
{'total': 100000, 'train': 60000, 'val': 20000, 'test': 20000}
"""

from __future__ import annotations

import copy
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from jetstudy.trainables.errors import ConfigError, DataError
from jetstudy.trainables.formats import JetTable, load_jets
from jetstudy.trainables.schema import CLASSES, HLF_FEATURES

__all__ = ["JetTable", "load_jets", "Standardiser", "JetSplits", "split_jets"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class Standardiser:
    """Per-feature ``(x - mean) / std``, as the hls4ml MLP expects standardised inputs.

    Saved as ``scaler.json`` (``to_dict``) next to the results so the same scaling can be
    rebuilt (``from_dict``) when the best model is evaluated or deployed.
    """

    features: tuple[str, ...]
    mean: np.ndarray
    std: np.ndarray

    def __post_init__(self) -> None:
        features = tuple(str(f) for f in self.features)
        mean = np.asarray(self.mean, dtype=np.float64)
        std = np.asarray(self.std, dtype=np.float64)
        if mean.shape != (len(features),) or std.shape != (len(features),):
            raise ValueError(
                f"Standardiser needs one mean and one std per feature ({len(features)}), "
                f"got mean {mean.shape} and std {std.shape}"
            )
        if not (np.isfinite(mean).all() and np.isfinite(std).all() and (std > 0).all()):
            raise ValueError("Standardiser mean must be finite and std finite and > 0")
        object.__setattr__(self, "features", features)
        object.__setattr__(self, "mean", mean)
        object.__setattr__(self, "std", std)

    @classmethod
    def fit(cls, x: np.ndarray, features: Sequence[str] = HLF_FEATURES) -> Standardiser:
        """Mean and standard deviation of each column of ``x`` (N, F).

        A constant column gets std 1.0 instead of 0 (no division by zero; it becomes all zeros)
        and a warning, since a feature that never varies cannot help the tagger.
        """
        x = np.asarray(x)
        if x.ndim != 2 or x.shape[1] != len(features):
            raise ValueError(f"fit needs x of shape (N, {len(features)}), got {x.shape}")
        if x.shape[0] == 0:
            raise ValueError("Standardiser.fit needs at least one row")
        mean = x.mean(axis=0, dtype=np.float64)
        std = x.std(axis=0, dtype=np.float64)
        # a spread below float32's smallest normal number (subnormal noise around a constant)
        # is constant too: dividing by it sends every other value to inf
        constant = (np.ptp(x, axis=0) == 0) | (std < np.finfo(np.float32).tiny)
        if constant.any():
            names = [name for name, c in zip(features, constant) if c]
            log.warning(
                "feature(s) %s constant in the training split (or varying by less than "
                "1.2e-38); using std 1.0", ", ".join(names)
            )
            std = np.where(constant, 1.0, std)
        return cls(features=tuple(features), mean=mean, std=std)

    def transform(self, x: np.ndarray) -> np.ndarray:
        """Standardised float32 copy of ``x`` (N, F), the model's input type."""
        x = self._check(x)
        return ((x - self.mean) / self.std).astype(np.float32)

    def inverse_transform(self, x: np.ndarray) -> np.ndarray:
        """Raw feature values (float64) back from standardised ones, e.g. for plots in GeV."""
        x = self._check(x)
        return x * self.std + self.mean

    def _check(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != len(self.features):
            raise ValueError(f"expected x of shape (N, {len(self.features)}), got {x.shape}")
        return x

    def to_dict(self) -> dict[str, list[Any]]:
        """JSON-ready ``{"features", "mean", "std"}``, the ``scaler.json`` layout."""
        return {
            "features": list(self.features),
            "mean": [float(v) for v in self.mean],
            "std": [float(v) for v in self.std],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Standardiser:
        """Rebuild from :meth:`to_dict` output (e.g. a loaded ``scaler.json``), validating it."""
        try:
            return cls(tuple(d["features"]), np.asarray(d["mean"]), np.asarray(d["std"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(
                f"scaler: cannot rebuild the standardiser ({type(exc).__name__}: {exc}); it needs "
                "lists `features`, `mean`, `std` of equal length with std > 0 — re-create "
                "scaler.json by re-running the study"
            ) from exc

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Standardiser):
            return NotImplemented
        return (
            self.features == other.features
            and np.array_equal(self.mean, other.mean)
            and np.array_equal(self.std, other.std)
        )


@dataclass(frozen=True, eq=False)
class JetSplits:
    """Train/validation/test arrays ready for the model, plus what is needed to report them.

    ``x_*`` are standardised float32 (N, 16), ``y_*`` int64 class indices. ``x_val_raw`` and
    ``x_test_raw`` keep the raw validation and test features because the Bayes-optimal
    posterior of synthetic data is defined on raw values. ``summary`` is ``data_summary.json``: jets and class counts per split, sources,
    the synthetic mark, the seed and fractions.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    x_test_raw: np.ndarray
    x_val_raw: np.ndarray
    scaler: Standardiser
    summary: dict[str, Any]
    #: each raw feature's smallest and largest training value, as read (float64); None where
    #: the splits were made otherwise (then taken back from the standardised float32 jets)
    train_range: tuple[np.ndarray, np.ndarray] | None = None


def split_jets(table: JetTable, val_fraction: float, test_fraction: float, seed: int) -> JetSplits:
    """Split ``table`` into stratified train/validation/test sets and standardise them.

    Sizes are exact: ``round(N * test_fraction)`` test jets, ``round(N * val_fraction)``
    validation jets, the rest train; each class is spread over the splits in proportion (within
    one jet). The same table and seed always give the same split, and the test split depends
    only on the seed and ``test_fraction``, so changing ``val_fraction`` never moves jets into or
    out of the test set. The :class:`Standardiser` is fitted on the training split only.

    Raises :class:`DataError` when a split would be empty or lacks a class the jets hold.
    """
    _check_fraction("val_fraction", val_fraction)
    _check_fraction("test_fraction", test_fraction)
    if val_fraction + test_fraction >= 1:
        raise ConfigError(
            f"val_fraction + test_fraction is {val_fraction + test_fraction:g}, but must be < 1 "
            "so jets are left to train on; e.g. val_fraction 0.2 and test_fraction 0.2"
        )
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ConfigError(f"seed is {seed!r}, but must be an integer >= 0; e.g. 1")

    where = _describe_sources(table.sources)
    n = table.n_jets
    n_test = _round_half_up(n * test_fraction)
    n_val = _round_half_up(n * val_fraction)
    sizes = {"train": n - n_test - n_val, "val": n_val, "test": n_test}
    empty = [name for name, size in sizes.items() if size < 1]
    if empty:
        raise DataError(
            f"{where}: {n} jets give an empty {' and '.join(empty)} split "
            f"(val_fraction={val_fraction:g}, test_fraction={test_fraction:g}); load more jets "
            "(raise max_jets) or change the fractions"
        )

    order = _stratified_order(table.y, seed)
    index = {
        "test": order[:n_test],
        "val": order[n_test:n_test + n_val],
        "train": order[n_test + n_val:],
    }
    counts = {name: _class_counts(table.y[idx]) for name, idx in index.items()}
    missing = [c for c, k in counts["train"].items() if k == 0]
    if missing:
        raise DataError(
            f"{where}: the training split has no jets of class {', '.join(missing)} "
            f"(all jets: {table.class_counts()}); add jets of that class or lower "
            "val_fraction/test_fraction"
        )
    _check_val_and_test_classes(where, table, counts, val_fraction, test_fraction)

    x_train_raw = table.x[index["train"]]
    scaler = Standardiser.fit(x_train_raw)
    x_test_raw = table.x[index["test"]]
    summary = {
        "n_jets": {"total": n, **sizes},
        "class_counts": {name: counts[name] for name in ("train", "val", "test")},
        "val_fraction": float(val_fraction),
        "test_fraction": float(test_fraction),
        "seed": int(seed),
        "sources": list(table.sources),
        "synthetic": copy.deepcopy(table.synthetic),
    }
    log.info("split %d jets (seed %d): train %d, val %d, test %d", n, seed, *sizes.values())
    return JetSplits(
        x_train=scaler.transform(x_train_raw),
        y_train=table.y[index["train"]],
        x_val=scaler.transform(table.x[index["val"]]),
        y_val=table.y[index["val"]],
        x_test=scaler.transform(x_test_raw),
        y_test=table.y[index["test"]],
        x_test_raw=x_test_raw,
        x_val_raw=table.x[index["val"]],
        scaler=scaler,
        summary=summary,
        train_range=(x_train_raw.min(axis=0).astype(np.float64),
                     x_train_raw.max(axis=0).astype(np.float64)) if len(x_train_raw) else None,
    )


def _check_val_and_test_classes(where: str, table: JetTable, counts: dict[str, dict[str, int]],
                                val_fraction: float, test_fraction: float) -> None:
    """Every class in the validation and the test split: the search's ``val_auc`` and the test
    split's per-class AUC and ROC curve are undefined (NaN) for a class a split lacks, and a
    class of one or two jets cannot be spread over three splits."""
    splits = {"val": "validation", "test": "test"}
    lacking = {name: [c for c, k in counts[name].items() if k == 0] for name in splits}
    if not any(lacking.values()):
        return
    name = "val" if lacking["val"] else "test"
    classes = lacking[name]
    total = table.class_counts()
    per_class = math.ceil(1 / min(val_fraction, test_fraction))
    raise DataError(
        f"{where}: the {splits[name]} split has no jets of class {', '.join(classes)} "
        f"(all jets: {total}), so its AUC for them would be undefined (NaN); each class needs "
        f"at least about {per_class} jets with val_fraction {val_fraction:g} and "
        f"test_fraction {test_fraction:g}: add jets of class {', '.join(classes)} (or raise "
        "max_jets), or raise the fractions")


def _check_fraction(name: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
        raise ConfigError(f"{name} is {value!r}, but must be a number in (0, 1); e.g. 0.2")


def _round_half_up(value: float) -> int:
    return int(math.floor(value + 0.5))


def _stratified_order(y: np.ndarray, seed: int) -> np.ndarray:
    """A permutation of the jets that interleaves the classes evenly.

    Each jet gets its rank within its class, in a random order, as a quantile in (0, 1); sorting
    by that quantile (random tie-break) means any prefix of the order holds each class in
    proportion, so cutting it into test/val/train stratifies without per-class rounding drift.
    """
    rng = np.random.default_rng(seed)
    quantile = np.empty(len(y), dtype=np.float64)
    for c in range(len(CLASSES)):
        members = np.flatnonzero(y == c)
        if members.size:
            quantile[rng.permutation(members)] = (np.arange(members.size) + 0.5) / members.size
    tie_break = rng.permutation(len(y))
    return np.lexsort((tie_break, quantile))


def _class_counts(y: np.ndarray) -> dict[str, int]:
    counts = np.bincount(y, minlength=len(CLASSES))
    return {name: int(c) for name, c in zip(CLASSES, counts)}


def _describe_sources(sources: Sequence[str]) -> str:
    if not sources:
        return "jets"
    if len(sources) == 1:
        return sources[0]
    return f"{sources[0]} (+{len(sources) - 1} more files)"
