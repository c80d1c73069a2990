"""The one tie-break of a study: which of two equally good trials comes first.

Ray Tune's trial ids are random (an Optuna search draws a fresh 8-hex id per trial), so a tie
broken by ``trial_id`` names another trial on every rerun of the same study. Every trial has a
stable place instead: the order in which the search proposed it, its Optuna trial number
(``trials.parquet``'s :data:`~jetstudy.trainables.table_schema.TRIAL_ORDER` column, the trial
config's key of the same name). Where one trial is chosen (the best trial of the summary, the
report and ``best/``, hence the export; the Pareto front and the size answer; the history's
first curves; the progress line) an exact tie goes to the lower number, then (tables written
before the column existed, or a trial without a number) to the first ``trial_id``.

>>> import pandas as pd
>>> t = pd.DataFrame({"trial_id": ["b", "a"], "trial_number": [0, 1]})
>>> list(tie_keys(t)["_order"])
[0.0, 1.0]
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from jetstudy.analysis.curve_stats import ran_to_the_end
from jetstudy.trainables.table_schema import TRIAL_ORDER

__all__ = ["TIE_KEYS", "tie_keys", "with_tie_keys", "order_of", "ranked_best", "CONFIG_COLUMNS",
           "repeats_of", "Repeats", "repeat_spread", "listed_ids", "LISTED_IDS"]

#: Trial ids a sentence names before "and N more".
LISTED_IDS = 5


def listed_ids(ids: Sequence[Any], shown: int = LISTED_IDS) -> str:
    """The first ``shown`` of ``ids`` joined by commas, the rest counted: "a, b, c, d, e and 2
    more" (the one wording of every sentence that names a list of trials)."""
    names = [str(i) for i in ids]
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more

#: The trials table's configuration columns: two trials equal on all that the table has are
#: repeats of one configuration (their difference is training noise).
CONFIG_COLUMNS: tuple[str, ...] = ("depth", "widths", "dropout", "l1", "l2", "lr",
                                   "activation", "batch_norm", "batch_size")


def repeats_of(rows: pd.DataFrame, row: pd.Series) -> pd.DataFrame:
    """The other rows of ``rows`` with ``row``'s configuration (equal, as text, in every
    :data:`CONFIG_COLUMNS` both have; none when they share no such column)."""
    shared = [c for c in CONFIG_COLUMNS if c in rows.columns and c in row.index]
    if not shared:
        return rows.iloc[:0]
    same = np.ones(len(rows), dtype=bool)
    for c in shared:
        same &= (rows[c].astype(str) == str(row[c])).to_numpy()
    same &= (rows["trial_id"].astype(str) != str(row["trial_id"])).to_numpy()
    return rows[same]


@dataclass(frozen=True)
class Repeats:
    """A configuration trained more than once: the other trials' ids (first proposed first),
    how many runs in all, and the lowest, highest and median score of all of them."""

    ids: list[str]
    n: int
    low: float
    high: float
    median: float


def repeat_spread(rows: pd.DataFrame, row: pd.Series, score: str,
                  own: Any = None) -> Repeats | None:
    """The spread of ``score`` over ``row``'s configuration's runs among ``rows`` (``row``'s
    own value ``own``, default ``row[score]``), or None when it was trained once: the one
    rule of the Pareto notes and the size answer (a pick is the luckiest of its repeats)."""
    again = repeats_of(rows, row)
    if again.empty:
        return None
    again = with_tie_keys(again).sort_values(list(TIE_KEYS), kind="mergesort")
    values = [float(row[score] if own is None else own), *again[score].astype(float)]
    return Repeats(ids=[str(t) for t in again["trial_id"]], n=len(values), low=min(values),
                   high=max(values), median=float(np.median(values)))


#: The columns :func:`tie_keys` adds, in the order they break ties.
TIE_KEYS: tuple[str, str] = ("_order", "_id")


def order_of(value: Any) -> float:
    """A trial's place from its ``trial_number`` (a config value or a table cell): the number,
    or infinity (after every numbered trial) when it is missing or not a number."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return math.inf
    return number if math.isfinite(number) else math.inf


def tie_keys(trials: pd.DataFrame) -> pd.DataFrame:
    """``_order`` (the trial number as float, infinity where unknown) and ``_id`` (the trial id
    as text, its numbers compared as numbers) of each row of ``trials``, on its index: sort by them after the real keys."""
    if TRIAL_ORDER in trials.columns:
        order = pd.to_numeric(trials[TRIAL_ORDER], errors="coerce").astype(float)
        order = order.where(np.isfinite(order), np.inf)
    else:
        order = pd.Series(np.inf, index=trials.index, dtype=float)
    ids = (trials["trial_id"].astype(str).map(_natural) if "trial_id" in trials.columns
           else pd.Series("", index=trials.index))
    return pd.DataFrame({"_order": order.to_numpy(), "_id": ids.to_numpy()}, index=trials.index)


def _natural(trial_id: str) -> str:
    """A trial id as a sort key whose runs of digits compare as numbers: a hand-made table's
    ids 9 and 10 in that order ('10' < '9' as text); Ray's zero-padded ids keep theirs."""
    return re.sub(r"\d+", lambda m: m.group().zfill(_DIGITS), trial_id)


#: Digits a number in a trial id is padded to for :func:`_natural` (longer ones stay as they are).
_DIGITS = 20


def with_tie_keys(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with the :func:`tie_keys` columns (replaced if there), row by row whatever
    its index (a concatenated table repeats labels)."""
    keys = tie_keys(frame)
    return frame.assign(_order=keys["_order"].to_numpy(), _id=keys["_id"].to_numpy())


def ranked_best(trials: pd.DataFrame, values: pd.Series | np.ndarray,
                maximize: bool) -> np.ndarray:
    """Positions (for ``iloc``) of the rows of ``trials``, best first: by ``values`` (one per
    row, in the metric's direction; filter out non-finite ones before), then a trial that ran
    to the end over one stopped or still running
    (:func:`~jetstudy.analysis.curve_stats.ran_to_the_end`), the smaller model (``n_params``; unknown last), then
    :func:`tie_keys`. The answer does not depend on the order of the rows."""
    n = len(trials)
    sign = -1.0 if maximize else 1.0
    size = (pd.to_numeric(trials["n_params"], errors="coerce").astype(float).fillna(np.inf)
            .to_numpy() if "n_params" in trials.columns else np.full(n, np.inf))
    ties = tie_keys(trials)
    keys = pd.DataFrame({"_value": sign * pd.to_numeric(pd.Series(np.asarray(values)),
                                                        errors="coerce").astype(float).to_numpy(),
                         "_partial": ~ran_to_the_end(trials).to_numpy(dtype=bool),
                         "_size": size, "_order": ties["_order"].to_numpy(),
                         "_id": ties["_id"].to_numpy()})
    ordered = keys.sort_values(["_value", "_partial", "_size", *TIE_KEYS], kind="mergesort")
    return ordered.index.to_numpy()
