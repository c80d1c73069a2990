"""The rows of a study's result tables, checked once for everything downstream: a trials
table's required columns, types, statuses in lower case and one row per trial; an epochs
table's, one row per (trial, epoch) of known trials; the test predictions' labels and
probabilities. :mod:`jetstudy.analysis.tables` finds and reads the files and calls these;
the columns and types come from :mod:`jetstudy.trainables.table_schema`."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from jetstudy.analysis.errors import AnalysisError
from jetstudy.analysis.table_values import check_numbers as _check_numbers
from jetstudy.analysis.table_values import coerce as _coerce
from jetstudy.analysis.table_values import renamed_hint as _renamed_hint
from jetstudy.analysis.table_values import tidy_names as _tidy_names
from jetstudy.trainables.schema import CLASSES
from jetstudy.trainables.table_schema import EPOCHS, TEST_PREDICTIONS, TRIALS, TableSchema

__all__ = ["validate_trials", "validate_epochs", "validate_predictions", "STATUSES",
           "REQUIRED_TRIAL_COLUMNS", "REQUIRED_EPOCH_COLUMNS"]

logger = logging.getLogger("jetstudy.analysis.tables")  # the name its warnings always had

#: Statuses of ``trials.status`` (see the results layout); others are kept but never "finished".
STATUSES: tuple[str, ...] = ("completed", "stopped", "failed", "running", "interrupted")

#: Without these a table is not a jetstudy trials table: every part needs a loss and a size.
REQUIRED_TRIAL_COLUMNS: tuple[str, ...] = TRIALS.required
#: A learning curve needs both losses per epoch.
REQUIRED_EPOCH_COLUMNS: tuple[str, ...] = EPOCHS.required


def validate_trials(df: pd.DataFrame, where: str = "trials table",
                    folder: Path | None = None) -> pd.DataFrame:
    """Check and normalise a trials table; raise :class:`AnalysisError` naming what is wrong
    (``folder``: the study folder it is in, when known, for the fix's command)."""
    df = _tidy_names(df, where)  # ' val_loss' in a hand-edited CSV header is val_loss
    missing = [c for c in REQUIRED_TRIAL_COLUMNS if c not in df.columns]
    if missing:
        raise AnalysisError(
            f"the {where} lacks the columns {', '.join(missing)}"
            f"{_renamed_hint(missing, df.columns)}; a jetstudy trials table has "
            f"at least {', '.join(REQUIRED_TRIAL_COLUMNS)} (see docs/results_layout.md). "
            "Was it written by `jetstudy run`?"
        )
    if df.empty:
        raise AnalysisError(
            f"the {where} has no rows: no trial has reported yet. Wait for the first trial "
            "to finish an epoch, then run the report again"
        )
    df = df.reset_index(drop=True)  # a concatenated table repeats index labels
    out = _coerce(df, TRIALS)
    _check_numbers(df, out, TRIALS, where, folder)
    out = _whole_numbers(out, TRIALS)
    for col in ("trial_id", "status", "error"):
        if col in out.columns:
            out[col] = out[col].str.strip()
    no_id = out["trial_id"].isna() | (out["trial_id"] == "")
    dropped = _not_read(int(no_id.sum()), "the trials table", "without a trial_id",
                        "give each row its trial id")
    out = out[~no_id]
    out["status"] = out["status"].str.lower()
    blank = int((out["status"] == "").sum())
    if blank:  # an empty cell (a hand edit, a CSV round trip), not a status named ''
        logger.warning("%s: %d trial(s) without a status (an empty cell) kept, never counted as "
                       "finished; fill in their status (completed, failed, ...) to count them",
                       where, blank)
    unknown = sorted(set(out["status"]) - set(STATUSES) - {""})
    if unknown:
        logger.warning("%s: unknown statuses %s kept, never counted as finished", where, unknown)
    repeated = int(out["trial_id"].duplicated().sum())
    if repeated:
        logger.warning("%s: duplicate trial ids (a snapshot?); keeping the last row of each", where)
        out = out.drop_duplicates("trial_id", keep="last")
    if out.empty:
        raise AnalysisError(f"the {where} has no row with a trial_id; it cannot be analysed")
    out = out.reset_index(drop=True)
    # load_tables tells the report (StudyTables.dropped): rows left out without a word are a
    # claim the reader cannot check
    out.attrs["dropped"] = dropped + _repeats_words(repeated, "trial id", "trials table",
                                                    "of each id")
    return out


def _not_read(n: int, table: str, what: str, fix: str) -> list[str]:
    """The Outcomes' sentence on ``n`` rows of ``table`` left out for ``what`` (none: none)."""
    if not n:
        return []
    return [f"{table[0].upper()}{table[1:]} has {'1 row' if n == 1 else f'{n} rows'} {what}: "
            f"not read, so every part below leaves {'it' if n == 1 else 'them'} out; {fix}."]


def _repeats_words(n: int, key: str, table: str, kept: str) -> list[str]:
    """The Outcomes' sentence on ``n`` rows dropped as repeats of a ``key`` (none: none)."""
    if not n:
        return []
    rows = "1 row" if n == 1 else f"{n} rows"
    return [f"The {table} repeats a {key} in {rows} (a snapshot written twice, tables joined "
            f"or a hand edit?): only the last row {kept} is read, so {rows} "
            f"{'was' if n == 1 else 'were'} dropped from everything below; remove the repeats "
            "to keep the report's counts checkable."]


def _whole_numbers(out: pd.DataFrame, schema: TableSchema) -> pd.DataFrame:
    """The schema's count columns (epochs, n_params, flops, ...) as pandas' nullable ``Int64``,
    as the writer stores them: a report prints 9096, never 9096.0, and a missing count stays
    missing (``pd.NA``). Runs after :func:`check_numbers`, which refused fractions, negatives
    and infinities, so the rounding changes no value."""
    for col in out.columns:
        column = schema.column(str(col))
        if column is not None and column.dtype == "int":
            out[col] = out[col].round().astype("Int64")
    return out


def validate_epochs(df: pd.DataFrame, trial_ids: pd.Series,
                    folder: Path | None = None) -> pd.DataFrame:
    """Check an epochs table and keep the rows of known trials, one per (trial, epoch)
    (``folder``: the study folder it is in, when known, for the fix's command)."""
    df = _tidy_names(df, "epochs table")
    missing = [c for c in REQUIRED_EPOCH_COLUMNS if c not in df.columns]
    if missing:
        raise AnalysisError(
            f"the epochs table lacks the columns {', '.join(missing)}"
            f"{_renamed_hint(missing, df.columns)} "
            f"(needs {', '.join(REQUIRED_EPOCH_COLUMNS)})"
        )
    df = df.reset_index(drop=True)  # a concatenated table repeats index labels
    out = _coerce(df, EPOCHS)
    _check_numbers(df, out, EPOCHS, "epochs table", folder)
    out = _whole_numbers(out, EPOCHS)
    below = (out["epoch"] < 1).fillna(False).astype(bool)
    if below.any():  # epochs count from 1; 0 or less is a hand edit gone wrong
        at = below.idxmax()
        raise AnalysisError(
            f"the epochs table has epoch = {_plain(df['epoch'][at])!r} for trial "
            f"{df['trial_id'][at]}, "
            "but epochs count from 1; correct or drop that row")
    out["trial_id"] = out["trial_id"].str.strip()  # as validate_trials does
    known = out["trial_id"].isin(set(trial_ids))
    if len(out) and not known.any():  # another study's epochs, or ids written otherwise
        raise AnalysisError(
            f"its trial ids match none of the trials table's (e.g. "
            f"{out['trial_id'].iloc[0]!r} here, {trial_ids.iloc[0]!r} there): the epochs table "
            "of another study? Put the study's own epochs table beside its trials table")
    no_id = out["trial_id"].isna() | (out["trial_id"] == "")
    unknown = sorted(set(out.loc[~known & ~no_id, "trial_id"].astype(str)))
    dropped = _not_read(int(no_id.sum()), "the epochs table", "without a trial_id",
                        "give each row its trial id")
    dropped += _not_read(int((~known & ~no_id).sum()), "the epochs table",
                         f"of {len(unknown)} trial{'s' * (len(unknown) != 1)} the trials table "
                         f"lacks (e.g. {unknown[0] if unknown else ''!r}: an epochs table newer "
                         "than the trials table, a study still running?)",
                         "run the report again once the study has written both")
    dropped += _not_read(int((known & out["epoch"].isna()).sum()), "the epochs table",
                         "without an epoch number", "fill in or drop those rows")
    out = out[known & out["epoch"].notna()]
    if len(df) - len(out):
        logger.info("epochs table: dropped %d rows of trials not in the trials table",
                    len(df) - len(out))
    repeated = int(out.duplicated(["trial_id", "epoch"]).sum())
    out = out.drop_duplicates(["trial_id", "epoch"], keep="last")
    out = out.sort_values(["trial_id", "epoch"]).reset_index(drop=True)
    out.attrs["dropped"] = dropped + _repeats_words(repeated, "(trial, epoch)", "epochs table",
                                                    "of each")  # as validate_trials
    return out


def validate_predictions(df: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in TEST_PREDICTIONS.required if c not in df.columns]
    if missing:
        raise AnalysisError(f"test_predictions lacks the columns {', '.join(missing)}")
    out = df.copy()
    out["label"] = pd.to_numeric(out["label"], errors="coerce")
    bad = ~out["label"].isin(range(len(CLASSES)))
    if bad.all():
        raise AnalysisError(f"test_predictions has no row with a label in 0..{len(CLASSES) - 1}")
    if bad.any():  # dropping them would score the model on part of its test split
        at = bad.idxmax()
        raise AnalysisError(
            f"test_predictions has label = {_plain(df['label'][at])!r} in row {at} "
            f"({int(bad.sum())} rows like it), but labels are class indices "
            f"0..{len(CLASSES) - 1}; restore the file the study wrote (best/ holds the study's "
            "own evaluation: it is not edited by hand)")
    probabilities = [c for c in out.columns if str(c).startswith(("p_", "bayes_"))]
    values = out[probabilities].apply(pd.to_numeric, errors="coerce")
    outside = ~((values >= -1e-6) & (values <= 1 + 1e-6))  # NaN, text, outside 0..1
    if outside.to_numpy().any():
        row, col = (int(i[0]) for i in np.nonzero(outside.to_numpy()))
        raise AnalysisError(
            f"test_predictions has {probabilities[col]} = "
            f"{_plain(df[probabilities[col]].iloc[row])!r} in row {row}, but a probability must "
            "be a number from 0 to 1; restore the file the study wrote (best/ holds the study's "
            "own evaluation: it is not edited by hand)")
    out["label"] = out["label"].astype(int)
    return out.reset_index(drop=True)


def _plain(value: Any) -> Any:
    """A NumPy scalar as the Python value (``7``, not ``np.int64(7)``) for messages."""
    return value.item() if isinstance(value, np.generic) else value
