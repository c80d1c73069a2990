"""Checks and helpers shared by the readers of both data formats."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from jetstudy.trainables.errors import DataError, listed
from jetstudy.trainables.schema import CLASSES, HLF_FEATURES, LABEL_COLUMNS

__all__ = ["HELP", "FLOAT32_MAX", "FILL_LIMIT", "FLOAT32_TINY", "SENTINEL_SHARE", "finite_features", "features_vary", "suffix", "path_problem",
           "hdf5_outside", "mixed_formats", "extension_fix",
           "one_hot_to_index", "all_classes", "some", "content_problem", "wide_text",
           "url_problem", "near_names"]

log = logging.getLogger(__name__)

#: Where error messages send the user.
HELP = 'see README "Data"'


def suffix(file: str) -> str:
    return os.path.splitext(file)[1].lower()


#: The largest value a float32 feature can hold; the model trains in float32.
FLOAT32_MAX = float(np.finfo(np.float32).max)
#: No jet feature reaches this in any unit (a whole 13 TeV LHC collision is 1.3e13 eV): a value
#: this large is a fill value (1e30, float max) standing for a missing one.
FILL_LIMIT = 1e15
#: float32's smallest normal number: a non-zero value below it becomes a subnormal or 0 in the
#: float32 the model trains in. No jet feature is that small in any unit (a bug upstream).
FLOAT32_TINY = float(np.finfo(np.float32).tiny)
#: A share of one column at one exact negative round value (-1, -9, -99, -999, -10, -100...)
#: at least this large is taken for a "missing" sentinel of a HEP ntuple, and warned.
SENTINEL_SHARE = 0.05


def finite_features(file: str, values: np.ndarray, names: Sequence[str]) -> np.ndarray:
    """The features as float32, refusing NaN and inf, and (named apart, since they are finite)
    values too large for float32 and fill values (:data:`FILL_LIMIT`)."""
    x64 = np.asarray(values, dtype=np.float64)
    nonfinite = ~np.isfinite(x64)
    empty = [name for name, bad in zip(names, nonfinite.all(axis=0)) if bad] \
        if len(x64) > 1 else []
    if empty:  # dropping "those rows" would drop every jet
        raise DataError(
            f"{file}: {', '.join(empty)} {'is' if len(empty) == 1 else 'are'} NaN or inf in "
            f"every one of the {len(x64)} rows (an empty column?); the file lacks that "
            f"feature's values: export it again with the feature filled in ({HELP})")
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
    fill = np.abs(x64) >= FILL_LIMIT
    if fill.any():  # a fill value for a missing one: it would swamp the feature's scaling
        row, col = (int(i[0]) for i in np.nonzero(fill))
        raise DataError(
            f"{file}: values with |x| >= {FILL_LIMIT:.0e}".replace("+", "") + f" in "
            f"{_where(fill, names)}, e.g. "
            f"{names[col]} = {x64[row, col]:g}; no jet feature is that large in any unit (a "
            "whole 13 TeV collision is 1.3e13 eV), so these are fill values for missing ones "
            "(1e30, float max): drop those rows and load again (kept, they would squeeze every "
            "other jet's value of the feature to one number when the features are scaled)")
    tiny = (x64 != 0) & (np.abs(x64) < FLOAT32_TINY)
    if tiny.any():  # cast to float32 they would become subnormals or 0, silently
        row, col = (int(i[0]) for i in np.nonzero(tiny))
        raise DataError(
            f"{file}: non-zero values with |x| < {FLOAT32_TINY:.3g} (float32's smallest normal "
            f"number) in {_where(tiny, names)}, e.g. {names[col]} = {x64[row, col]:g}; in the "
            "float32 the model trains in they would become 0 or lose their digits, and no jet "
            "feature is that small in any unit: check how the column was made (units, a "
            "bug upstream), or set those values to 0 if they mean 0, and load again")
    _warn_sentinels(file, x64, names)
    return x64.astype(np.float32)


def _round_negative(value: float) -> bool:
    """-1, -9, -99, -999..., -10, -100...: the values HEP ntuples use for "missing"."""
    if value >= 0 or value != int(value):
        return False
    digits = str(int(-value))
    return set(digits) == {"9"} or digits == "1" + "0" * (len(digits) - 1)


def _warn_sentinels(file: str, x64: np.ndarray, names: Sequence[str]) -> None:
    """Warn (naming column, value and count) where a share of one column sits at one exact
    negative round value: a sentinel for a missing feature read as if it were measured."""
    if len(x64) < 2:
        return
    for col, name in enumerate(names):
        values, counts = np.unique(x64[:, col][x64[:, col] < 0], return_counts=True)
        for value, count in zip(values.tolist(), counts.tolist()):
            if count >= 2 and count >= SENTINEL_SHARE * len(x64) and _round_negative(value):
                log.warning(
                    "%s: %s = %g in %d of %d rows (%.0f%%): a value that HEP ntuples use for "
                    "a missing one (a sentinel); read as a measured value it distorts the "
                    "feature's scaling and what the tagger learns: drop those rows, or export "
                    "the feature again without the sentinel, if it means 'missing'",
                    file, name, value, count, len(x64), 100 * count / len(x64))


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


def url_problem(path: str | None) -> str | None:
    """Why ``path`` is a URL rather than a path (``https://``, ``s3://``, ``file://``), in
    words ending where the caller's fix begins; None for a path. A URL given as a path was
    "no such file" (data.path) or a local folder called ``s3:`` made beside the user's files
    (storage.results_dir) instead of the bucket they named."""
    import re

    found = re.match(r"\s*([A-Za-z][A-Za-z0-9+.-]*)://", path or "")
    if found is None:
        return None
    scheme = found.group(1).lower()
    if scheme == "file":
        from urllib.parse import unquote, urlsplit

        return (f"a URL (file://); jetstudy takes plain paths: write "
                f"{unquote(urlsplit((path or '').strip()).path)!r}")
    return (f"a URL ({scheme}://); jetstudy reads and writes files on this machine's file "
            f"system (a shared file system mounted on every node works), not URLs")


def near_names(missing: Sequence[str], present: Sequence[str], prefixed: bool) -> str:
    """" (found 'zlog' for zlogz: ...)" for needed names that are absent while a column of a
    close spelling is there (a typo, a name cut short, Format A's names without their ``j_``
    prefix); "" when none is close. ``prefixed``: the names read carry ``j_`` (Format A)."""
    import difflib

    def bare(name: str) -> str:
        return name.strip().lower().removeprefix("j_")

    from jetstudy.trainables.schema import JET_FEATURE_NAMES

    # names read, and Format A's other columns (j_tau1_b1_mmdt is no j_c1_b1_mmdt), are taken
    taken = {*JET_FEATURE_NAMES, *(n[2:] for n in JET_FEATURE_NAMES
                                   if not prefixed or n not in HLF_FEATURES)}
    free = {bare(p): p for p in present if p.strip() not in taken and bare(p) != "class"}
    pairs = []
    for name in missing:
        close = difflib.get_close_matches(bare(name), list(free), n=1, cutoff=0.75)
        if close:
            pairs.append((free.pop(close[0]), name))
    if not pairs:
        return ""
    if prefixed and all(bare(found) == bare(name) for found, name in pairs):
        return (f" (found {', '.join(repr(f) for f, _ in pairs[:3])}"
                f"{', ...' if len(pairs) > 3 else ''} without the j_ prefix: Format A's "
                f"jetFeatureNames carry it; rename {'it' if len(pairs) == 1 else 'them'} to "
                f"{', '.join(n for _, n in pairs[:3])}{', ...' if len(pairs) > 3 else ''})")
    shown = ", ".join(f"{found!r} for {name}" for found, name in pairs[:3])
    return (f" (found {shown}{', ...' if len(pairs) > 3 else ''}: misspelt or cut short? "
            f"rename {'it' if len(pairs) == 1 else 'them'} to the name jetstudy reads)")


#: The fix for data kept outside an HDF5 file.
_COPY = ("rewrite this file with the data itself (in h5py: "
         "`new.create_dataset('{key}', data=old['{key}'][()])`)")


def hdf5_outside(file: str, handle: Any, keys: Sequence[str]) -> None:
    """Refuse ``keys`` of an open HDF5 file whose data lives in another file: an external link,
    a virtual dataset with sources in other files, or raw external storage. The study would read
    (and record as its source) a file data.path does not name, a missing source would read as
    fill values (all-zero labels), and a glob over the folder would read the same jets twice."""
    import h5py

    for key in keys:
        link = handle.get(key, getlink=True)
        if isinstance(link, h5py.ExternalLink):
            raise DataError(
                f"{file}: `{key}` is an external link to {link.filename!r} (dataset "
                f"{link.path!r}), data outside this file; jetstudy reads only the files "
                f"data.path names: put that file in data.path instead, or {_COPY.format(key=key)} "
                f"({HELP})")
        dataset = handle.get(key)
        if not isinstance(dataset, h5py.Dataset):
            continue
        outside = []
        if dataset.is_virtual:
            outside = sorted({s.file_name for s in dataset.virtual_sources()
                              if s.file_name not in (".", "")})
        if outside:
            missing = [name for name in outside if not os.path.exists(
                os.path.join(os.path.dirname(file), name) if not os.path.isabs(name) else name)]
            note = f"; {missing[0]!r} does not exist" if missing else ""
            raise DataError(
                f"{file}: `{key}` is a virtual dataset whose data lives in "
                f"{len(outside)} other file(s) ({', '.join(map(repr, outside[:3]))}"
                f"{', ...' if len(outside) > 3 else ''}){note}; jetstudy reads only the files "
                f"data.path names (a missing source reads as zeros): give the source files in "
                f"data.path instead, or {_COPY.format(key=key)} ({HELP})")
        if dataset.external:
            raise DataError(
                f"{file}: `{key}` keeps its data in external raw file(s) "
                f"({dataset.external[0][0]!r}), outside this file; {_COPY.format(key=key)} "
                f"({HELP})")


def some(files: Sequence[str], kind: str) -> str:
    """"2 tables (a.csv, b.parquet)", "1 HDF5 file (a.h5)"."""
    shown = listed([os.path.basename(f) for f in files], 2)
    return f"{len(files)} {kind}{'s' * (len(files) != 1)} ({shown})"


def mixed_formats(path: str, files: Sequence[str], hdf5: Sequence[str],
                  tables: Sequence[str]) -> None:
    """A glob matching both Format A files and tables: a study reads one format (the same jets
    kept as .h5 and .csv would be read twice, into train and test alike)."""
    h5_files = [f for f in files if suffix(f) in hdf5]
    table_files = [f for f in files if suffix(f) in tables]
    if h5_files and table_files:
        raise DataError(
            f"{path}: matches {some(h5_files, 'HDF5 file')} and "
            f"{some(table_files, 'table')}; a study reads one format (the same jets kept in "
            f"both would be read twice): narrow the pattern, e.g. '*.h5' or '*.csv' ({HELP})")


#: The first bytes of the files a user may hand over under another name.
_MAGIC: tuple[tuple[bytes, str, str], ...] = (
    (b"\x89HDF\r\n\x1a\n", "an HDF5 file", "rename it to .h5, or set data.format: hdf5"),
    (b"PAR1", "a Parquet file", "rename it to .parquet, or set data.format: table"),
    (b"\x1f\x8b", "a gzip-compressed file", "unpack it first (gunzip)"),
    (b"PK\x03\x04", "a zip archive", "unpack it first (unzip)"),
)


def content_problem(file: str, expected: str) -> str:
    """What ``file`` holds when its first bytes say it is not ``expected`` (``"hdf5"``,
    ``"parquet"`` or ``"text"``), with the fix: " (the file is empty: 0 bytes ...)", " (an
    HDF5 file by its first bytes: ...)"; "" when the bytes say nothing more."""
    try:
        with open(file, "rb") as handle:
            head = handle.read(8)
    except OSError:
        return ""
    if not head:
        return " (the file is empty: 0 bytes; copy or download it again)"
    for magic, what, fix in _MAGIC:
        if head.startswith(magic) and expected not in what.lower():
            if what == "a Parquet file" and suffix(file) in (".csv", ".arff"):
                fix = "rename it to .parquet (tables are read by their extension)"
            if what == "a Parquet file" and suffix(file) in (".parquet", ".pq"):
                fix = "set data.format: table, or auto to choose by extension"  # named so
            return f" ({what} by its first bytes: {fix})"
    return ""  # text under an .h5 name: the HDF5 message already names data.format: table


def wide_text(file: str) -> None:
    """Refuse a table saved as UTF-16 or UTF-32 (Excel's "Unicode text", PowerShell's
    redirects): read as UTF-8 it was "not UTF-8 text" with a latin-1 fix that garbles it, or,
    without a byte-order mark, "lacks zlogz, ..." (its names read with a NUL between letters)."""
    import codecs

    try:
        with open(file, "rb") as handle:
            head = handle.read(64)
    except OSError:
        return
    marks = ((codecs.BOM_UTF32_LE, "UTF-32", "utf-32"), (codecs.BOM_UTF32_BE, "UTF-32", "utf-32"),
             (codecs.BOM_UTF16_LE, "UTF-16", "utf-16"), (codecs.BOM_UTF16_BE, "UTF-16", "utf-16"))
    found = next(((name, codec, "its first bytes are a byte-order mark")
                  for mark, name, codec in marks if head.startswith(mark)), None)
    even = head[: len(head) // 2 * 2]
    if found is None and len(even) >= 8:  # 'z\0l\0o\0g\0': every other byte a NUL
        for zeros, codec in ((even[1::2], "utf-16-le"), (even[0::2], "utf-16-be")):
            letters = even[0::2] if codec.endswith("le") else even[1::2]
            if not zeros.strip(b"\0") and letters.isascii() and b"\0" not in letters:
                found = ("UTF-16", codec, "every other byte is a NUL")
    if found is not None:
        name, codec, why = found
        pandas = (f"pandas.read_csv(f, encoding={codec!r}).to_csv(out, index=False), or "
                  if suffix(file) == ".csv" else "")
        raise DataError(
            f"{file}: {name} text ({why}), not UTF-8; jetstudy reads UTF-8 tables: convert it "
            f"({pandas}`iconv -f {codec.upper()} -t UTF-8 {os.path.basename(file)} > "
            f"out{suffix(file)}`), or save it as Parquet ({HELP})")


def extension_fix(file: str, suffix: str) -> str:
    """The fix for a file jetstudy does not read, by what it probably is: compressed, or a text
    file listing data files (its first lines name .h5/.csv/... files)."""
    if suffix in (".gz", ".bz2", ".xz", ".zip", ".zst", ".tgz", ".tar"):
        return f"a compressed file ({suffix}): unpack it first (e.g. gunzip, unzip)"
    try:
        with open(file, encoding="utf-8", errors="replace") as handle:
            lines = [handle.readline().strip() for _ in range(5)]
    except OSError:
        lines = []
    data = (".h5", ".hdf5", ".csv", ".parquet", ".pq", ".arff")
    if any(line.lower().endswith(data) for line in lines):
        return ("a list of files is not read: put the files in one folder and give the folder, "
                "or match them with a glob such as 'data/*.h5'")
    return "rename or convert the file"


def one_hot_to_index(file: str, labels: np.ndarray, undef: np.ndarray | None) -> np.ndarray:
    """Class index from the five one-hot columns; a row that is not exactly one-hot is an error."""
    valid = ((labels == 0) | (labels == 1)).all(axis=1) & (labels.sum(axis=1) == 1)
    if not valid.all():
        bad = np.flatnonzero(~valid)
        first = int(bad[0])
        values = ", ".join(f"{c}={labels[first, i]:g}" for i, c in enumerate(LABEL_COLUMNS))
        n_undef = int(np.sum(undef[bad] == 1)) if undef is not None else 0
        undef_note = f", {n_undef} of them marked j_undef" if n_undef else ""
        near = np.abs(labels[bad] - np.round(labels[bad])) < 1e-2
        fix = ("the labels are near 0 and 1 (soft or stored rounded): round them to exactly 0 "
               "and 1 if they are one-hot" if near.all() and (np.round(labels[bad]).sum(axis=1)
                                                              == 1).all()
               else "drop the other rows")
        raise DataError(
            f"{file}: labels are not one-hot in {len(bad)} of {len(labels)} rows{undef_note} "
            f"(first: row {first}, 0-based: {values}); each jet needs exactly one 1 among "
            f"{', '.join(LABEL_COLUMNS)} — {fix} and load again"
        )
    index = labels.argmax(axis=1).astype(np.int64)
    if undef is not None and (marked := np.flatnonzero(undef != 0)).size:
        first = int(marked[0])  # a class AND "undefined": the file contradicts itself
        log.warning("%s: %d of %d jets are marked j_undef=%g beside their one-hot class (first: "
                    "row %d, 0-based, %s=1); they are read as that class: if j_undef means their "
                    "label is not to be trusted, drop those rows first", file, marked.size,
                    len(labels), undef[first], first, LABEL_COLUMNS[int(index[first])])
    return index


def all_classes(where: str, y: np.ndarray, max_jets: int | None) -> None:
    """The tagger has five outputs, so every class needs jets; name what is missing and found."""
    counts = np.bincount(y, minlength=len(CLASSES))
    if counts.sum() == 0:
        raise DataError(f"{where}: the files hold no jets (0 rows); give files with jets ({HELP})")
    missing = [name for name, c in zip(CLASSES, counts) if c == 0]
    if missing:
        found = ", ".join(f"{name}: {int(c)}" for name, c in zip(CLASSES, counts) if c)
        hint = (
            f", or raise max_jets (reading stopped after {max_jets} jets; files are read in "
            "sorted order)" if max_jets is not None else ""
        )
        raise DataError(
            f"{where}: no jets of class {', '.join(missing)} (found {found}); jetstudy trains a "
            f"tagger of all five classes {', '.join(CLASSES)} — add files that contain them{hint}"
        )
