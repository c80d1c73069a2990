"""The values of a result table, given their types and checked against their meaning: the
schema's type for every known column (a CSV round trip turns ids into ints and bools into
strings), and one error naming the column, the trial and the value for text where a number
goes, a negative or fractional count, an accuracy outside 0..1, a dropout of 2, a true/false
column holding another word. :mod:`jetstudy.analysis.tables` calls these once per table."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from jetstudy.analysis.errors import AnalysisError
from jetstudy.trainables.table_schema import MAX_EPOCHS, TableSchema

__all__ = ["coerce", "check_numbers", "rewrite_command"]


def coerce(df: pd.DataFrame, schema: TableSchema) -> pd.DataFrame:
    """Give every column the schema knows its type, whatever the file format did to it (numbers
    as floats: a missing value is NaN); other columns are kept as they are."""
    out = df.copy()
    for col in out.columns:
        column = schema.column(str(col))
        dtype = column.dtype if column is not None else None
        if dtype == "str":
            out[col] = out[col].map(_text).astype(object)
        elif dtype == "bool":  # numpy bool as pandas reads it, so ``~`` negates (on Python
            flags = out[col].map(_to_bool)  # bools it gave -1, -2); a missing flag stays None
            out[col] = flags.astype(bool) if flags.notna().all() else flags.astype(object)
        elif dtype in ("int", "float"):
            values = out[col].map(lambda v: v.strip() if isinstance(v, str) else v)
            out[col] = pd.to_numeric(values, errors="coerce").astype(float)
    return out


def _text(value: Any) -> str:
    """A text cell as written: a whole number a CSV round trip or a NaN beside it made a float
    (trial id 1.0) is ``"1"``, as in the table that kept it an integer."""
    if _is_missing(value):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def check_numbers(raw: pd.DataFrame, out: pd.DataFrame, schema: TableSchema,
                   where: str, folder: Path | None = None) -> None:
    """A number column holding text (``abc``), or a count (an ``int`` column: parameters,
    FLOPs, depth, epochs, widths) below 0, is a hand edit gone wrong: one error naming the
    column, the trial and the value, rather than a silent NaN or a negative model size.
    ``folder``: the study folder the table is in, when known (the fix's command names it)."""
    for col in out.columns:
        column = schema.column(str(col))
        if column is not None and column.dtype == "bool":
            _check_flags(raw, col, where)
        if column is None or column.dtype not in ("int", "float"):
            continue
        # text, or true/false (a bool column pasted over a number: read as 1.0 and 0.0)
        text = (out[col].isna() & ~raw[col].map(_is_blank)) | raw[col].map(
            lambda v: isinstance(v, (bool, np.bool_)))
        counts = out[col].dropna()
        negative = pd.Series(False, index=out.index)
        if column.dtype == "int":  # below 0, a fraction, or infinite: no count
            negative.loc[counts.index] = (counts < 0) | ~np.isfinite(counts) | (
                np.isfinite(counts) & (counts != np.round(counts)))
        bounds = _BOUNDS.get(next((k for k in _BOUNDS if k.match(str(col))), None))
        if bounds is not None:  # an accuracy of 2, a negative standard error, epoch 10**12
            negative.loc[counts.index] |= (counts < bounds[0]) | (counts > bounds[1])
        bad = text | negative
        if bad.any():
            at = bad.idxmax()
            trial = raw["trial_id"].get(at, "?") if "trial_id" in raw.columns else "?"
            what = (bounds[2] if bounds is not None else "a whole number >= 0 (a count)"
                    if column.dtype == "int" else "a number")
            value = raw[col][at]
            value = value.item() if isinstance(value, np.generic) else value  # not np.float64(.)
            raise AnalysisError(
                f"the {where} has {col} = {value!r} for trial {trial}, but {col} must be "
                f"{what}{f' ({bad.sum()} rows like it)' if bad.sum() > 1 else ''}; correct or "
                "empty that cell (was the table edited by hand?), or rewrite the tables from the "
                f"study's trial folders with {rewrite_command(folder)}")


def rewrite_command(folder: Path | None) -> str:
    """The command that writes a study's tables again from its trial folders: with the study
    ``folder`` known, its parent as ``storage.results_dir`` and its name (the config's own
    ``results_dir`` may be relative to where the study ran, or the study moved since)."""
    if folder is None:
        return "`jetstudy run CONFIG --set storage.name=NAME --resume`"
    place = shlex.join(["--set", f"storage.results_dir={folder.absolute().parent}",
                        "--set", f"storage.name={folder.name}"])
    return f"`jetstudy run CONFIG {place} --resume` (CONFIG: the config it ran with)"


#: Number columns with a range: accuracies and AUCs are fractions, standard errors >= 0,
#: the hyperparameters as the search space allows them.
_BOUNDS: dict[re.Pattern[str], tuple[float, float, str]] = {
    re.compile(r"(best_)?val_(acc|auc)\Z"): (0.0, 1.0, "a number from 0 to 1 (a fraction)"),
    re.compile(r".*_se\Z"): (0.0, np.inf, "a number >= 0 (a standard error)"),
    # a cross-entropy is never negative (inf: a diverged trial, as logged)
    re.compile(r"(best_)?(val|train)_loss(_running)?\Z"): (
        0.0, np.inf, "a number >= 0 (a cross-entropy; inf or empty for a diverged trial)"),
    re.compile(r"dropout\Z"): (0.0, 1.0, "a number from 0 to 1 (a dropout rate)"),
    re.compile(r"(l1|l2|lr|wall_time_s|time_s)\Z"): (0.0, np.inf, "a number >= 0"),
    # no study trains more epochs than scheduler.max_epochs allows
    re.compile(r"(epoch|epochs|max_epochs|best_epoch)\Z"): (
        0.0, MAX_EPOCHS, f"a whole number from 0 to {MAX_EPOCHS:,} (the most epochs a study "
        "trains: scheduler.max_epochs' limit)"),
}

#: How true and false are written in a table (CSV text, spreadsheets).
_FLAGS = {"true": True, "1": True, "yes": True, "1.0": True,
          "false": False, "0": False, "no": False, "0.0": False}


def _check_flags(raw: pd.DataFrame, col: str, where: str) -> None:
    """A true/false column (batch_norm) holding another word: it read as false."""
    odd = raw[col].map(lambda v: isinstance(v, str) and v.strip().lower() not in _FLAGS
                       and not _is_blank(v))
    if odd.any():
        at = odd.idxmax()
        trial = raw["trial_id"].get(at, "?") if "trial_id" in raw.columns else "?"
        raise AnalysisError(
            f"the {where} has {col} = {raw[col][at]!r} for trial {trial}, but {col} must be "
            f"true or false; correct or empty that cell (was the table edited by hand?)")


def _is_blank(value: Any) -> bool:
    """Missing, or text that is empty or spells a missing number (nan, NaN, none, null)."""
    if _is_missing(value):
        return True
    return isinstance(value, str) and value.strip().lower() in ("", "nan", "none", "null", "na",
                                                                "<na>")


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA


def _to_bool(value: Any) -> bool | None:
    if _is_missing(value):
        return None
    if isinstance(value, str):
        return _FLAGS.get(value.strip().lower(), False)
    return bool(value)


def tidy_names(df: pd.DataFrame, where: str) -> pd.DataFrame:
    """Column names without the spaces a hand-edited CSV header puts around them (' val_loss'
    is val_loss, as the data readers take 'zlogz '); two names that become one are refused."""
    names = [c.strip() if isinstance(c, str) else c for c in df.columns]
    if names == list(df.columns):
        return df
    twice = sorted({str(n) for n in names if names.count(n) > 1})
    if twice:
        raise AnalysisError(
            f"the {where} names {twice[0]!r} twice once the spaces around its column names are "
            f"dropped ({', '.join(repr(c) for c in df.columns if str(c).strip() == twice[0])}); "
            "keep one column per name")
    return df.set_axis(names, axis=1)


def renamed_hint(missing: list[str], columns: Any) -> str:
    """`` (is 'valid_loss' val_loss? rename it)`` for a required column renamed by hand: another
    case, spaces for underscores, or a close spelling; "" when no column is close."""
    import difflib

    present = [str(c) for c in columns]
    plain = {c.strip().lower().replace(" ", "_").replace("-", "_"): c for c in present}
    for name in missing:
        found = plain.get(name) or next(iter(difflib.get_close_matches(
            name, present, n=1, cutoff=0.75)), None)
        if found is not None:
            return (f" (is {found!r} the column {name}? jetstudy reads its columns by their "
                    f"exact names: rename it to {name})")
    return ""
