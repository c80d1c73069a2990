"""Every trial of the tables has its ``trial_number``, and the tables are in that order.

``trial_number`` (:data:`~jetstudy.trainables.table_schema.TRIAL_ORDER`) is the trial's
Optuna number, which the searcher puts in each configuration it proposes. Trials started
before that key existed (an older study resumed with this version) have none in their config;
they get it here when the tables are built:

1. from the study's Optuna journal (``optuna.journal``), whose trials carry Ray Tune's
   ``trial_id`` as a user attribute: the very number Optuna gave the trial;
2. else (a journal without the attribute, or none) the smallest numbers no other trial of
   the table holds, in the order Ray Tune created the trials: the counter that begins each
   trial's ``experiment_tag`` in Tune's experiment state (``ray/experiment_state-*.json``),
   which is the order of proposal. Tune's own list of trials (and so the rows of a table
   written before ``trial_number``) is in no such order: it changes as Tune saves its state.
   Rows Tune's state does not name come after, in the table's order. Such trials were all
   started before any numbered one, so they keep their place before them.

Numbers are unique within a table. :func:`in_trial_order` then sorts ``trials`` by
``trial_number`` and ``epochs`` by (``trial_number``, ``epoch``), stably, so a reader (and a
rerun's comparison) sees the trials in the order the search proposed them.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from jetstudy.trainables.table_schema import TRIAL_ORDER
from jetstudy.trainables.plain_read import read_plain

__all__ = ["numbers_from_journal", "creation_counter", "tune_creation_order", "number_unnumbered",
           "in_trial_order"]

logger = logging.getLogger(__name__)


def numbers_from_journal(study_folder: Path) -> dict[str, int]:
    """Ray Tune trial id -> Optuna number, from the study's Optuna journal (the latest trial
    holding an id wins: a resumed driver that adopts a lost trial moves its id). Empty when
    there is no journal or it cannot be read."""
    from jetstudy.study.optuna_files import OPTUNA_JOURNAL, OPTUNA_STUDY_NAME, optuna_storage

    if not (Path(study_folder) / OPTUNA_JOURNAL).is_file():
        return {}
    try:
        import optuna

        study = optuna.load_study(study_name=OPTUNA_STUDY_NAME,
                                  storage=optuna_storage(Path(study_folder)))
        found: dict[str, int] = {}
        for frozen in study.get_trials(deepcopy=False):
            trial_id = frozen.user_attrs.get("trial_id")
            if isinstance(trial_id, str) and trial_id:
                found[trial_id] = int(frozen.number)
        return found
    except Exception as exc:  # noqa: BLE001 - a damaged journal: fall back to Tune's order
        logger.warning("cannot read trial numbers from %s (%s: %s); trials without one are "
                       "numbered in the order Ray Tune started them", study_folder,
                       type(exc).__name__, exc)
        return {}


def creation_counter(experiment_tag: Any) -> int | None:
    """The counter Ray Tune created a trial with: the number that begins its
    ``experiment_tag`` (``3_depth=2,...``; 1 for the first trial proposed); None without one."""
    import re

    counter = re.match(r"(\d+)_", str(experiment_tag or ""))
    return int(counter.group(1)) if counter else None


def tune_creation_order(study_folder: Path) -> dict[str, int]:
    """Ray Tune trial id -> the counter Tune created it with (the number that begins its
    ``experiment_tag``, 1 for the first trial proposed), from the experiment state files of
    the study's ``ray/`` folder (the latest file naming a trial wins). Empty when there are
    none or they cannot be read."""
    import json

    found: dict[str, int] = {}
    for state in sorted((Path(study_folder) / "ray").glob("experiment_state-*.json")):
        try:
            entries = json.loads(read_plain(state)).get("trial_data", [])
            for entry in entries:
                trial = json.loads(entry[0]) if isinstance(entry[0], str) else entry[0]
                counter = creation_counter(trial.get("experiment_tag"))
                if counter is not None and trial.get("trial_id"):
                    found[str(trial["trial_id"])] = counter
        except (OSError, ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
            logger.warning("cannot read Ray Tune's trial order from %s (%s: %s)", state,
                           type(exc).__name__, exc)
    return found


def number_unnumbered(trials: pd.DataFrame, study_folder: Path | None = None) -> pd.DataFrame:
    """``trials`` with a ``trial_number`` in every row (module docstring: the journal's,
    else the smallest free numbers in the order Tune created the trials, then in the rows'
    order). A table whose rows all have one is
    returned as it is; the journal is read only when some row lacks one.

    A number two rows share (a trial folder of a driver that died before Tune's first
    snapshot: its Optuna journal was set aside and the search numbered afresh) stays with the
    row the journal gives it to; the other rows are numbered as missing ones."""
    if trials.empty:
        return trials
    numbers = (pd.to_numeric(trials[TRIAL_ORDER], errors="coerce")
               if TRIAL_ORDER in trials.columns else pd.Series(np.nan, index=trials.index))
    missing = numbers.isna().to_numpy()
    shared = (numbers.duplicated(keep=False) & numbers.notna()).to_numpy()
    if not missing.any() and not shared.any():
        return trials
    known = numbers_from_journal(study_folder) if study_folder is not None else {}
    ids = trials["trial_id"].astype(str).to_list()
    values = [None if m or (s and known.get(i) != int(v)) else int(v)
              for v, m, s, i in zip(numbers.to_numpy(), missing, shared, ids)]
    taken = {v for v in values if v is not None}
    for i, trial_id in enumerate(ids):
        if values[i] is None and known.get(trial_id) is not None and known[trial_id] not in taken:
            values[i] = known[trial_id]
            taken.add(values[i])
    free = (n for n in range(len(values) + len(taken) + 1) if n not in taken)
    left = [i for i in range(len(values)) if values[i] is None]
    if left and study_folder is not None:  # in the order Tune created them, not its list's
        created = tune_creation_order(study_folder)
        left.sort(key=lambda i: created.get(ids[i], float("inf")))  # stable: rows' order
    for i in left:
        values[i] = next(free)
    out = trials.copy()
    out[TRIAL_ORDER] = pd.array(values, dtype="Int64")
    return out


def in_trial_order(trials: pd.DataFrame,
                   epochs: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``trials`` sorted by ``trial_number`` (missing last; stable) and ``epochs`` by its
    trial's place there, then ``epoch`` (stable), both with a fresh 0..n-1 index."""
    if TRIAL_ORDER in trials.columns and len(trials):
        key = pd.to_numeric(trials[TRIAL_ORDER], errors="coerce").astype(float).fillna(np.inf)
        order = np.argsort(key.to_numpy(), kind="stable")
        trials = trials.iloc[order].reset_index(drop=True)
    if len(epochs) and "trial_id" in epochs.columns:
        place = {t: i for i, t in enumerate(trials["trial_id"].astype(str))} if len(trials) \
            else {}
        rank = epochs["trial_id"].astype(str).map(place).astype(float).fillna(np.inf)
        epoch = (pd.to_numeric(epochs["epoch"], errors="coerce").astype(float).fillna(np.inf)
                 if "epoch" in epochs.columns else pd.Series(0.0, index=epochs.index))
        keys = pd.DataFrame({"r": rank.to_numpy(), "e": epoch.to_numpy()})
        order = keys.sort_values(["r", "e"], kind="mergesort").index.to_numpy()
        epochs = epochs.iloc[order].reset_index(drop=True)
    return trials, epochs
