"""Read one result table file (``.parquet`` or ``.csv``), saying what is wrong with it in the
file's terms: a CSV saved as ``.parquet`` (or the reverse), a Parquet file cut short, an empty
file, a compressed one, a CSV with a column name twice or with semicolons. The columns and
values are checked afterwards (:mod:`jetstudy.analysis.tables`)."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import pandas as pd

from jetstudy.analysis.errors import AnalysisError

__all__ = ["read_table", "check_json_numbers"]

#: Parquet files start and end with these four bytes.
_MAGIC = b"PAR1"
_REEXPORT = "re-export it as .parquet or .csv"


def read_table(path: Path, what: str) -> pd.DataFrame:
    """The table in ``path`` (``what``: "trials table", "epochs table", ...)."""
    suffix = path.suffix.lower()
    if path.is_dir():  # e.g. a Parquet dataset written by Spark or Dask: a folder of parts
        raise AnalysisError(
            f"the {what} {path} is a folder, not a table file; give one .parquet or .csv file "
            f"(a folder of Parquet parts: pandas.read_parquet(folder).to_parquet('{path.name}'))")
    if suffix not in (".parquet", ".csv"):
        packed = suffix in (".gz", ".bz2", ".xz", ".zip", ".zst")
        raise AnalysisError(
            f"the {what} {path} has suffix '{path.suffix}', but must be .parquet or .csv"
            + ("; it is compressed: unpack it first (e.g. gunzip)" if packed else ""))
    _check_content(path, what, suffix)
    try:
        if suffix == ".parquet":
            table = pd.read_parquet(path)
        else:
            _check_csv_header(path, what)
            table = pd.read_csv(path)
            _separator_hint(path, what, table)
    except UnicodeDecodeError as exc:
        raise AnalysisError(
            f"the {what} {path} is not UTF-8 text ({exc.reason} at byte {exc.start}); save it as "
            "UTF-8 CSV (e.g. pandas.read_csv(f, encoding='latin-1').to_csv(out, index=False)) "
            "or as .parquet") from None
    except AnalysisError:
        raise
    except Exception as exc:  # pyarrow and the csv parser raise many types; all mean "unreadable"
        raise AnalysisError(
            f"cannot read the {what} {path}: {type(exc).__name__}: {exc}. If the study is still "
            f"writing it, run the report again; otherwise {_REEXPORT}") from exc
    if isinstance(table.columns, pd.MultiIndex):
        raise AnalysisError(
            f"the {what} {path} has column names on {table.columns.nlevels} levels (e.g. "
            f"{table.columns[0]!r}); a jetstudy table has one name per column: save it with "
            f"df.columns = df.columns.get_level_values(0), or use the study's own table")
    return table


def _check_content(path: Path, what: str, suffix: str) -> None:
    """The bytes against the suffix: an empty file, the other format under this name, a
    Parquet file without its footer (cut short)."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as handle:
            head = handle.read(4096)
            handle.seek(max(size - 4, 0))
            tail = handle.read(4)
    except OSError:
        return  # the reader says why
    if size == 0:
        raise AnalysisError(
            f"the {what} {path} is empty (0 bytes): a failed copy or save; copy it again (a "
            f"study folder keeps each table as .parquet and .csv: the other may be whole)")
    parquet = head.startswith(_MAGIC)
    if suffix == ".csv" and parquet:
        raise AnalysisError(
            f"the {what} {path} is a Parquet file named .csv; rename it to "
            f"{path.with_suffix('.parquet').name}")
    if suffix == ".parquet" and not parquet:
        text = _looks_like_text(head)
        raise AnalysisError(
            f"the {what} {path} is not a Parquet file (it does not start with PAR1)"
            + (f"; it is text, probably a CSV named .parquet: rename it to "
               f"{path.with_suffix('.csv').name}" if text and b"," in head else
               f"; {_REEXPORT}"))
    if suffix == ".parquet" and tail != _MAGIC:
        raise AnalysisError(
            f"the {what} {path} is cut short ({size} bytes, without the Parquet footer): an "
            f"interrupted copy or download; copy it again, or use trials.csv beside it if any")
    if suffix == ".csv" and b"\x00" in head:
        raise AnalysisError(
            f"the {what} {path} is not a text file (it holds NUL bytes): not a CSV table; "
            f"give the study's trials.parquet or trials.csv")


def _looks_like_text(head: bytes) -> bool:
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return b"\x00" not in head


def _check_csv_header(path: Path, what: str) -> None:
    """A column name given twice: pandas renames the second (``val_loss.1``), so one of the two
    would be used without a word."""
    import csv

    with open(path, encoding="utf-8", newline="") as handle:
        names = [name.strip() for name in next(csv.reader(handle), [])]
    twice = sorted({n for n in names if n and names.count(n) > 1})
    if twice:
        raise AnalysisError(
            f"the {what} {path} has the column {twice[0]} {names.count(twice[0])} times, so "
            f"which one to use is ambiguous; keep one column per name")


def _separator_hint(path: Path, what: str, table: pd.DataFrame) -> None:
    """A table saved with ';' (a spreadsheet in a comma-decimal locale) reads as one column:
    say so, rather than "lacks the columns trial_id, status, ..."."""
    if len(table.columns) != 1:
        return
    header = str(table.columns[0])
    for sep, word in ((";", "semicolons"), ("\t", "tabs")):
        if header.count(sep) >= 2:
            raise AnalysisError(
                f"the {what} {path} is one column holding {word} ({header[:50]!r}...); jetstudy "
                f"reads comma-separated CSV: save it again with ',' as separator (e.g. "
                f"pandas.read_csv(f, sep={sep!r}, decimal=',').to_csv(out, index=False)), or "
                f"use the study's .parquet table")


#: The numbers of the study's JSON files (test_metrics.json, reference.json,
#: data_summary.json) by key: what each must be. A key under ``n_jets`` or ``class_counts``
#: is a count.
_FRACTION = re.compile(r"(accuracy|auc(_macro)?|.*_acc)\Z")
_POSITIVE = ("log_loss", "prior_entropy", "bayes_val_loss", "bayes_train_loss")
_COUNTS = ("n_test", "n_classes", "epoch")


def check_json_numbers(name: str, value: Any, path: str = "", count: bool = False) -> None:
    """Raise ``ValueError`` naming the key and value when a number in one of the study's JSON
    files is not what it must be (an accuracy of 2, a negative standard error or count, a
    string where a number goes): a hand edit the report must not show as a result."""
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            check_json_numbers(name, item, where,
                               count or key in ("n_jets", "class_counts") or key in _COUNTS)
        return
    if isinstance(value, list):
        return  # sources, class names: not numbers
    key = path.rsplit(".", 1)[-1]
    wanted = ("a whole number >= 0" if count else
              "a number from 0 to 1" if _FRACTION.match(key) else
              "a number >= 0" if key.endswith("_se") or key in _POSITIVE else None)
    if wanted is None and not any(_FRACTION.match(part) for part in path.split(".")[:-1]):
        return  # not a number this check knows (seed, fractions of the split, names)
    wanted = wanted or "a number from 0 to 1"  # auc.g: a class's AUC
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if value is None or (number and math.isnan(value) and not count):
        return  # unknown (an AUC without a class in the split)
    ok = number and math.isfinite(value) and value >= 0 and (
        not count or float(value).is_integer()) and (
        wanted != "a number from 0 to 1" or value <= 1)
    if not ok:
        raise ValueError(f"{name}: {path} is {value!r}, but must be {wanted} (was the file "
                         f"edited by hand?)")
