"""Format B: the OpenML table ``hls4ml_lhc_jets_hlf`` as CSV, Parquet or ARFF.

The 16 features (with or without the ``j_`` prefix) and a ``class`` column of ``g, q, t, w, z``,
mapped to the Format A class order g, q, W, Z, t (not alphabetical); or, for Format A's columns
saved as a table, its one-hot labels ``j_g j_q j_w j_z j_t`` (checked as in HDF5). The files
themselves (CSV, Parquet, ARFF: header, rows, types) are read by
:mod:`jetstudy.trainables.table_files`; this module says what their columns mean.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from jetstudy.trainables.datacheck import HELP as _HELP
from jetstudy.trainables.datacheck import finite_features as _finite_features
from jetstudy.trainables.datacheck import near_names as _near_names
from jetstudy.trainables.datacheck import one_hot_to_index
from jetstudy.trainables.datacheck import suffix as _suffix
from jetstudy.trainables.datacheck import wide_text as _wide_text
from jetstudy.trainables.errors import DataError
from jetstudy.trainables.schema import (CLASSES, HLF_FEATURES, LABEL_COLUMNS, OPENML_CLASS_TO_INDEX,
                                       OPENML_FEATURES)
from jetstudy.trainables.table_files import read_arff, read_csv, read_parquet, wanted

__all__ = ["read_table"]

_LETTERS = ", ".join(OPENML_CLASS_TO_INDEX)  # "g, q, w, z, t"


def read_table(file: str, limit: int | None) -> tuple[np.ndarray, np.ndarray, None]:
    """Read the 16 features and the ``class`` letters of one Format B table."""
    readers = {".csv": read_csv, ".arff": read_arff}
    if _suffix(file) in readers:
        _wide_text(file)
    frame, columns = readers.get(_suffix(file), read_parquet)(file, limit)
    # a name with spaces around it (`zlogz `, from a hand-edited header) is still the name
    frame.columns = [str(c).strip() for c in frame.columns]
    columns = [str(c).strip() for c in columns]
    _hidden_characters(file, columns)
    features = _table_feature_columns(file, columns)
    classes = [c for c in columns if c.strip().lower() == "class"]
    one_hot = all(c in columns for c in LABEL_COLUMNS)
    if not classes and not one_hot:
        named = [c for c in columns if c.lower() in ("label", "labels", "target", "y", "classes",
                                                     "truth", "jet_class", "type")]
        rename = (f" ({named[0]!r} looks like it: rename it to `class` if it holds the letters)"
                  if named else "")
        raise DataError(
            f"{file}: the table has no `class` column{rename} (columns: "
            f"{', '.join(columns[:20])}); "
            f"Format B needs `class` with the letters {_LETTERS}, or the one-hot columns "
            f"{', '.join(LABEL_COLUMNS)} of Format A ({_HELP})"
        )
    x = _finite_features(file, _numeric(file, frame, features), features)
    if not classes:  # Format A's columns saved as a table: the one-hot labels, by name
        return x, _one_hot_classes(file, frame), None
    y = _letters_to_index(file, classes[0], frame[classes[0]])
    if one_hot:  # both label forms: they must say the same, or which one is right is unknown
        _labels_agree(file, classes[0], y, _one_hot_classes(file, frame))
    return x, y, None


def _hidden_characters(file: str, columns: Sequence[str]) -> None:
    """A column name that is a wanted one but for a control or invisible character
    (``class\\x00``: a NUL from a damaged copy or a C writer; a zero-width space pasted into
    a header) printed as the name itself in "the table has no `class` column (columns: ...,
    class)"; name it with the character shown."""
    import unicodedata

    for name in columns:
        bare = "".join(c for c in name if unicodedata.category(c) not in ("Cc", "Cf")).strip()
        if bare != name and wanted(bare) and not wanted(name):
            raise DataError(
                f"{file}: the column name {name!r} holds a control or invisible character beside "
                f"{bare!r} (a damaged copy, or a writer that kept a NUL); rename the column "
                f"to {bare!r} (or export the table again), and check the file's other values "
                f"({_HELP})")


def _one_hot_classes(file: str, frame: pd.DataFrame) -> np.ndarray:
    """The class index of each row from the one-hot ``j_g .. j_t`` columns (and ``j_undef``
    where the table has it), as Format A's labels are read."""
    undef = _numeric(file, frame, ["j_undef"])[:, 0] if "j_undef" in frame else None
    return one_hot_to_index(file, _numeric(file, frame, LABEL_COLUMNS), undef)


def _labels_agree(file: str, column: str, y: np.ndarray, other: np.ndarray) -> None:
    """A table with a ``class`` column and the one-hot ``j_g .. j_t`` columns: the class read
    from each (``y``, ``other``) must be the same for every jet."""
    differ = np.flatnonzero(other != y)
    if differ.size:
        row = int(differ[0])
        raise DataError(
            f"{file}: the `{column}` column and the one-hot columns {', '.join(LABEL_COLUMNS)} "
            f"disagree in {differ.size} of {len(y)} rows (first: row {row}, 0-based: "
            f"{column} says {CLASSES[y[row]]}, the one-hot columns {CLASSES[other[row]]}); "
            f"keep one label form (drop the other columns), or fix the rows")


def _table_feature_columns(file: str, columns: Sequence[str]) -> list[str]:
    """The 16 feature columns, by OpenML name (``zlogz``) or HDF5 name (``j_zlogz``)."""
    chosen, missing = [], []
    for bare, prefixed in zip(OPENML_FEATURES, HLF_FEATURES):
        if bare in columns or prefixed in columns:
            chosen.append(bare if bare in columns else prefixed)
        else:
            missing.append(bare)
    if missing:
        lower = {c.strip().lower(): c for c in columns}
        cased = [lower[n] for n in missing if n in lower] + [
            lower[f"j_{n}"] for n in missing if n not in lower and f"j_{n}" in lower]
        hint = (f" (names are case-sensitive: found {', '.join(map(repr, cased[:3]))}"
                f"{', ...' if len(cased) > 3 else ''}; rename them in lower case)" if cased else
                _near_names(missing, columns, prefixed=False))
        if {"trial_id", "val_loss"} <= set(columns):  # trials/epochs.parquet of a study
            hint = (" (it is a jetstudy results table, with trial_id and val_loss: a study's "
                    "output, not jets; give the data files, or `jetstudy report` for results)")
        raise DataError(
            f"{file}: the table lacks {', '.join(missing)}{hint}; jetstudy needs the 16 "
            "high-level features by name (OpenML names like `zlogz`, or with the `j_` prefix) "
            f"and a `class` column ({_HELP})"
        )
    return chosen


def _numeric(file: str, frame: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
    dated = [c for c in columns if frame[c].dtype.kind in "mM"]
    if dated:  # dates convert to nanosecond counts without complaint
        raise DataError(f"{file}: column {dated[0]} holds dates or durations "
                        f"({frame[dated[0]].dtype}), not numbers; the 16 features must be "
                        f"numbers — export the table again with its feature values")
    flags = [c for c in columns if frame[c].dtype.kind == "b" and c not in LABEL_COLUMNS]
    if flags:  # true/false convert to 1.0/0.0 without complaint
        raise DataError(f"{file}: column {flags[0]} holds true/false, not numbers; the 16 "
                        f"features must be numbers — export the table again with its "
                        f"feature values")
    try:
        return frame[list(columns)].to_numpy(dtype=np.float64)
    except (ValueError, TypeError):
        pass
    for column in columns:
        converted = pd.to_numeric(frame[column], errors="coerce")
        bad = np.flatnonzero(converted.isna().to_numpy() & frame[column].notna().to_numpy())
        if bad.size:
            first = frame[column].iloc[bad[0]]
            _repeated_header(file, frame, column, bad)
            comma = isinstance(first, str) and re.fullmatch(r"\s*[-+]?\d*,\d+\s*", first)
            fix = ("a decimal comma: export the table with '.' as the decimal separator (pandas: "
                   "read_csv(..., decimal=',') then to_csv)" if comma else "fix or drop those rows")
            if not comma and bad.size == int(frame[column].notna().sum()):  # every row
                fix = (f"no row of it is a number{_number_form(first)}: export the column "
                       f"again as plain numbers (dropping those rows would drop every jet)")
            rule = "the 16 features must be numbers"
            if column in LABEL_COLUMNS or column == "j_undef":  # a label, not a feature
                rule = (f"the one-hot label columns {', '.join(LABEL_COLUMNS)} (and j_undef) "
                        f"hold 0 and 1 (or true and false)")
                fix = "write them as 0 and 1" if not comma else fix
            raise DataError(
                f"{file}: column {column} holds {bad.size} non-numbers (first: row {int(bad[0])}, "
                f"0-based: {_shown(first)}); {rule} — {fix}"
            )
    raise DataError(f"{file}: the feature columns cannot be read as numbers; check their types")


def _repeated_header(file: str, frame: pd.DataFrame, column: str, bad: np.ndarray) -> None:
    """Tables joined with their header rows (``cat a.csv b.csv``) hold the header again as a
    row: 'column zlogz holds 1 non-numbers ('zlogz')' named the symptom; name the cause."""
    names = {column, column.removeprefix("j_"), f"j_{column.removeprefix('j_')}"}
    cells = frame[column].iloc[bad]
    repeats = np.flatnonzero(cells.map(lambda v: isinstance(v, str) and v.strip() in names))
    if not repeats.size or repeats[0] != 0:
        return
    rows = bad[repeats]
    more = f" (and {rows.size - 1} more row{'s' * (rows.size > 2)})" if rows.size > 1 else ""
    raise DataError(
        f"{file}: row {int(rows[0])} (0-based){more} repeats the header ({column} holds "
        f"{cells.iloc[0].strip()!r}): tables joined with their header rows (e.g. `cat a.csv "
        f"b.csv`)? Drop the repeated header lines (pandas: df = df[df[{column!r}] != "
        f"{column!r}]), or join the tables without them (tail -n +2 b.csv >> a.csv)")


def _number_form(value: Any) -> str:
    """" (Fortran's D exponent ...)" or " (a unit ...)" for a cell that is a number written
    so that no reader takes it; "" otherwise."""
    text = value.strip() if isinstance(value, str) else ""
    number = r"[-+]?(?:\d+\.?\d*|\.\d+)"
    if re.fullmatch(rf"{number}[dD][-+]?\d+", text):
        return (f" (Fortran's D exponent, {text!r}: readers take E, "
                f"{text.replace('D', 'E').replace('d', 'e')!r})")
    unit = re.fullmatch(rf"{number}(?:[eE][-+]?\d+)?\s*([A-Za-z%]+)", text)
    if unit:
        return f" (a number with a unit, {unit.group(1)!r}, in {text!r}: write the bare number)"
    return ""


def _shown(value: Any) -> str:
    """``value``'s repr for a message, cut short past 80 characters: a cell holding a pasted
    page must not flood the terminal."""
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:60]}... ({len(str(value))} characters)"


def _letters_to_index(file: str, column: str, values: pd.Series) -> np.ndarray:
    """Map OpenML letters (str or bytes, any case) to the HDF5 class order, not alphabetical."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    lookup = np.zeros(len(uniques), dtype=np.int64)
    unknown: list[str] = []
    for i, value in enumerate(uniques):
        index = OPENML_CLASS_TO_INDEX.get(_normalise_letter(value))
        if index is None:
            shown = value.item() if isinstance(value, np.generic) else value  # not np.int64(0)
            unknown.append(f"{_shown(shown)} ({int(np.sum(codes == i))} rows)")
        else:
            lookup[i] = index
    n_empty = int(np.sum(codes < 0))
    if unknown or n_empty:
        problems = [f"values not among {_LETTERS}: {', '.join(unknown[:10])}"] if unknown else []
        problems += [f"{len(unknown) - 10} more unknown values"] if len(unknown) > 10 else []
        problems += [f"{n_empty} empty rows"] if n_empty else []
        raise DataError(
            f"{file}: column {column} has {'; '.join(problems)}; use the OpenML letters "
            f"{_LETTERS} (any case){_class_names_hint(uniques, lookup, codes)}"
        )
    return lookup[codes]


#: Class names written out, as other exports of the dataset spell them.
_CLASS_NAMES = {"gluon": "g", "quark": "q", "light quark": "q", "top": "t", "top quark": "t",
                "w boson": "w", "z boson": "z"}


def _class_names_hint(uniques: Any, lookup: np.ndarray, codes: np.ndarray) -> str:
    """Why the values are not letters: class names written out (gluon, top: map them to the
    letters), or numeric codes (ambiguous: an alphabetical encoder gives t=2, w=3, z=4)."""
    unknown = [_normalise_letter(v) for i, v in enumerate(uniques)
               if OPENML_CLASS_TO_INDEX.get(_normalise_letter(v)) is None]
    named = [(word, _CLASS_NAMES[word]) for word in unknown if word in _CLASS_NAMES]
    if named:
        pairs = ", ".join(f"{word} -> {letter}" for word, letter in named)
        return (f" — these are class names written out: map them to the letters ({pairs}; "
                f"e.g. df['class'] = df['class'].str.lower().replace({dict(named)!r}))")
    if any(re.fullmatch(r"[-+]?\d+(\.\d*)?", word) for word in unknown):
        return " — numeric codes are ambiguous: an alphabetical encoder gives t=2, w=3, z=4"
    return ""


def _normalise_letter(value: Any) -> str:
    """``b'W'``, ``"b'W'"`` (bytes written out as text), ``'W'`` and ``"w"`` all become ``"w"``."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    text = str(value).strip()
    if len(text) >= 3 and text[0] in "bB" and text[1] in "'\"" and text[-1] == text[1]:
        text = text[2:-1]
    return text.strip().strip("'\"").strip().lower()
