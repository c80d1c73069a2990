"""Read the two real formats of the hls4ml LHC jet dataset into one :class:`JetTable`.

Format A is the original HDF5 files (``jets`` + ``jetFeatureNames``), Format B the OpenML table
``hls4ml_lhc_jets_hlf`` kept as CSV, Parquet or ARFF (see ``shared/hls4ml_schema.md``). Both
become the same thing: the 16 high-level features in :data:`~jetstudy.trainables.schema.HLF_FEATURES`
order and a class index in :data:`~jetstudy.trainables.schema.CLASSES` order. Columns are selected *by
name*, because files in the wild order them differently, and every problem a user can fix is
raised as one :class:`~jetstudy.trainables.errors.DataError` naming the file, the problem and the fix.

>>> table = load_jets("data/")                      # doctest: +SKIP
>>> table.x.shape, table.y[:5], table.sources[:1]   # doctest: +SKIP
((880000, 16), array([4, 0, 2, 2, 1]), ('data/jetImage_7_150p_0_10000.h5',))
"""

from __future__ import annotations

import json
import logging
import numbers
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import h5py
import numpy as np

from jetstudy.trainables.datacheck import HELP as _HELP
from jetstudy.trainables.datacheck import all_classes as _all_classes
from jetstudy.trainables.datacheck import content_problem as _content_problem
from jetstudy.trainables.datacheck import features_vary as _features_vary
from jetstudy.trainables.datacheck import finite_features as _finite_features
from jetstudy.trainables.datacheck import hdf5_outside as _hdf5_outside
from jetstudy.trainables.datacheck import one_hot_to_index
from jetstudy.trainables.datafiles import HDF5_SUFFIXES, TABLE_SUFFIXES
from jetstudy.trainables.format_a_names import decode_names as _decode_names
from jetstudy.trainables.format_a_names import key_spelling as _key_spelling
from jetstudy.trainables.format_a_names import name_index as _name_index
from jetstudy.trainables.format_a_names import what_instead as _what_instead
from jetstudy.trainables.datafiles import file_kind as _file_kind
from jetstudy.trainables.datafiles import resolve_files as _resolve_files
from jetstudy.trainables.duplicates import POLICIES as DUPLICATES
from jetstudy.trainables.duplicates import repeated_jets as _repeated_jets
from jetstudy.trainables.errors import DataError, listed
from jetstudy.trainables.format_b import read_table
from jetstudy.trainables.schema import (
    CLASSES,
    HLF_FEATURES,
    LABEL_COLUMNS,
)

__all__ = ["JetTable", "load_jets", "FORMATS", "DUPLICATES", "HDF5_SUFFIXES", "TABLE_SUFFIXES",
           "SYNTHETIC_ATTR"]

log = logging.getLogger(__name__)

#: Values of ``load_jets(fmt=...)``: choose the reader by extension, or force one.
FORMATS: tuple[str, ...] = ("auto", "hdf5", "table")
#: HDF5 file attribute that marks files written by ``jetstudy.trainables.synth`` (a JSON object string).
SYNTHETIC_ATTR = "jetstudy_synthetic"


Mark = dict[str, Any]


@dataclass(frozen=True, eq=False)
class JetTable:
    """Jets as read from disk: raw features and class indices, before any split or scaling.

    Kept apart from the split so one read can serve several seeds, and so the data summary can
    say exactly which files (and whether synthetic ones) a study used.
    """

    #: float32 (N, 16): raw HLF values in ``schema.HLF_FEATURES`` order.
    x: np.ndarray
    #: int64 (N,): class index in ``schema.CLASSES`` order (g, q, W, Z, t).
    y: np.ndarray
    #: The files read, in reading order.
    sources: tuple[str, ...]
    #: The parsed ``jetstudy_synthetic`` attribute when every file carries the same one.
    synthetic: Mark | None = None

    def __post_init__(self) -> None:
        x = np.asarray(self.x, dtype=np.float32)
        y = np.asarray(self.y, dtype=np.int64)
        if x.ndim != 2 or x.shape[1] != len(HLF_FEATURES):
            raise ValueError(f"JetTable.x must have shape (N, {len(HLF_FEATURES)}), got {x.shape}")
        if y.shape != (x.shape[0],):
            raise ValueError(f"JetTable.y must have shape ({x.shape[0]},), got {y.shape}")
        if y.size and (y.min() < 0 or y.max() >= len(CLASSES)):
            raise ValueError(f"JetTable.y must hold class indices 0..{len(CLASSES) - 1}")
        object.__setattr__(self, "x", x)
        object.__setattr__(self, "y", y)
        object.__setattr__(self, "sources", tuple(str(s) for s in self.sources))

    @property
    def n_jets(self) -> int:
        """Number of jets (rows)."""
        return int(self.y.shape[0])

    def class_counts(self) -> dict[str, int]:
        """Jets per class name in ``CLASSES`` order, for summaries and error messages."""
        counts = np.bincount(self.y, minlength=len(CLASSES))
        return {name: int(c) for name, c in zip(CLASSES, counts)}


def load_jets(
    path: str | os.PathLike[str], fmt: str = "auto", max_jets: int | None = None,
    duplicates: str = "error",
) -> JetTable:
    """Read hls4ml jets from one file, a folder or a glob, in either real format.

    ``path`` is one ``.h5``/``.hdf5`` file (Format A), a ``.csv``/``.parquet``/``.arff`` table
    (Format B), a folder (its Format A files sorted by name, or its tables if it has no HDF5
    file), or a glob such as ``"data/*.h5"`` (matches sorted by name). ``fmt`` forces a reader
    (``"hdf5"`` or ``"table"``) instead of choosing by extension. ``max_jets`` stops reading once
    that many jets are read, in file order, so quick runs on the 880k-jet set stay quick.

    Every file is validated (names present, labels one-hot, features finite) before anything is
    trained on it, and the result must hold jets of all five classes: the tagger has five outputs.
    ``duplicates`` (``data.duplicates``: error, drop, keep) says what a jet read twice does
    (:mod:`jetstudy.trainables.duplicates`); a file without jets is left out with a warning.
    """
    if fmt not in FORMATS:
        raise DataError(
            f"{path}: fmt is {fmt!r}, but must be one of 'auto', 'hdf5', 'table'; "
            "use 'auto' to choose the reader by file extension"
        )
    if max_jets is not None and (
        isinstance(max_jets, bool) or not isinstance(max_jets, numbers.Integral) or max_jets < 1
    ):
        raise DataError(
            f"{path}: max_jets is {max_jets!r}, but must be an integer >= 1 or None; e.g. 100000"
        )
    files = _resolve_files(os.fspath(path), fmt)
    kinds = [_file_kind(file, fmt) for file in files]  # fail on a bad extension before reading

    xs, ys, sources, marks = [], [], [], []
    remaining = None if max_jets is None else int(max_jets)
    for file, kind in zip(files, kinds):
        if remaining == 0:
            log.info("max_jets=%d reached; %d files not read", max_jets, len(files) - len(xs))
            break
        x, y, mark = _read_hdf5(file, remaining) if kind == "hdf5" else read_table(file, remaining)
        log.debug("%s: read %d jets", file, len(y))
        xs.append(x)
        ys.append(y)
        sources.append(file)
        marks.append(mark)
        if remaining is not None:
            remaining -= len(y)

    keep = _repeated_jets(sources, list(zip(xs, ys)), duplicates)
    xs = [x[k] for x, k in zip(xs, keep)]
    ys = [y[k] for y, k in zip(ys, keep)]
    _files_without_jets(os.fspath(path), sources, ys, [len(k) for k in keep])
    y = np.concatenate(ys)
    _all_classes(os.fspath(path), y, max_jets if remaining == 0 else None)
    if remaining == 0:
        _cut_balance(os.fspath(path), y, int(max_jets), len(sources), len(files))
    x = np.concatenate(xs)
    _features_vary(os.fspath(path), x)
    table = JetTable(x, y, tuple(sources), _common_synthetic(sources, marks))
    log.info(
        "read %d jets from %d file(s)%s: %s", table.n_jets, len(sources),
        " (synthetic)" if table.synthetic else "", table.class_counts(),
    )
    return table


def _cut_balance(path: str, y: np.ndarray, max_jets: int, n_read: int, n_files: int) -> None:
    """max_jets stops reading in file order: over files that each hold one class (gluons.h5,
    quarks.h5, ...) the jets read are no sample of the data, the last class cut to a few
    (g 1000, q 1000, W 1000, Z 1000, t 200), without a word. Said when a class has less than
    half the jets of another."""
    counts = np.bincount(y, minlength=len(CLASSES))
    if counts.min() * 2 >= counts.max():
        return
    shown = ", ".join(f"{name} {int(c)}" for name, c in zip(CLASSES, counts))
    log.warning("%s: data.max_jets %d read the first jets of %d of %d file(s) (in sorted order), "
                "and their classes are uneven (%s): if the files are sorted by class, these "
                "jets are no sample of them; raise data.max_jets to read every file, or give "
                "files that each mix the classes", path, max_jets, n_read, n_files, shown)


def _files_without_jets(path: str, sources: Sequence[str], ys: Sequence[np.ndarray],
                        read: Sequence[int]) -> None:
    """A file that gives no jets (0 rows, or every jet dropped as a repeat) is left out with a
    warning naming it when other files carry jets; when none does, an error names them."""
    empty = [(s, n) for s, y, n in zip(sources, ys, read) if len(y) == 0]
    if not empty:
        return
    why = {True: "0 rows", False: "every jet also in an earlier file, dropped"}
    if len(empty) == len(sources):
        shown = ", ".join(f"{s} ({why[n == 0]})" for s, n in empty[:3])
        more = f" and {len(empty) - 3} more" if len(empty) > 3 else ""
        raise DataError(f"{path}: no jets to read: {shown}{more}; give files with jets "
                        f"({_HELP})")
    for source, n in empty:
        log.warning("%s holds no jets (%s); it is left out, the study reads the other %d "
                    "file(s) of data.path %s", source, why[n == 0], len(sources) - len(empty),
                    path)


# ---------------------------------------------------------------------------------------------
# Format A: HDF5


def _read_hdf5(file: str, limit: int | None) -> tuple[np.ndarray, np.ndarray, Mark | None]:
    """Read the 16 HLF and the one-hot labels of one Format A file, selecting columns by name."""
    try:
        handle = h5py.File(file, "r")
    except OSError as exc:
        if not os.access(file, os.R_OK):
            raise DataError(f"{file}: permission denied; make the file readable "
                            f"(chmod u+r) or copy it somewhere readable") from None
        if "unable to lock file" in str(exc):  # another program has it open for writing
            raise DataError(
                f"{file}: another program has the file open for writing (HDF5 file lock); "
                "wait until it is written and closed, then run again (on a file system "
                "without locks: HDF5_USE_FILE_LOCKING=FALSE)") from None
        found = _content_problem(file, "hdf5")
        if found:  # empty, or another kind of file under an .h5 name
            raise DataError(f"{file}: cannot be opened as HDF5{found}") from None
        raise DataError(
            f"{file}: cannot be opened as HDF5 ({exc}); check it is a complete hls4ml .h5 file "
            "(re-download it if truncated); if it is a CSV/Parquet/ARFF table (Format B), "
            "set data.format: table"
        ) from exc
    try:
        with handle:
            data, index, mark = _read_datasets(file, handle, limit)
    except OSError as exc:  # a damaged block, or a compression filter h5py does not have
        raise DataError(
            f"{file}: its datasets cannot be read ({exc}); the file is damaged (re-download "
            "it) or compressed with a filter this h5py lacks (rewrite it with gzip or without "
            "compression, e.g. `h5repack -f NONE in.h5 out.h5`)") from None

    x = _finite_features(file, data[:, [index[name] for name in HLF_FEATURES]], HLF_FEATURES)
    labels = data[:, [index[name] for name in LABEL_COLUMNS]]
    undef = data[:, index["j_undef"]] if "j_undef" in index else None
    return x, one_hot_to_index(file, labels, undef), mark


def _read_datasets(file: str, handle: h5py.File, limit: int | None
                   ) -> tuple[np.ndarray, dict[str, int], Mark | None]:
    """The ``jets`` block (first ``limit`` rows), the column index by name and the synthetic
    mark of an open Format A file, after checking its datasets' names, shapes and types."""
    absent = [
        k for k in ("jets", "jetFeatureNames") if not isinstance(handle.get(k), h5py.Dataset)
    ]
    odd = [k for k in absent if k in handle]
    if odd:
        raise DataError(
            f"{file}: `{odd[0]}` is not a dataset ({_what_instead(handle, odd[0])}); "
            f"jetstudy reads Format A files whose `jets` (N, 59) and `jetFeatureNames` are "
            f"datasets — re-create or re-download the file ({_HELP})")
    if absent:
        deeper: list[str] = []  # e.g. /data/jets: a rewritten file that nests the datasets
        handle.visititems(lambda name, item: deeper.append(f"/{name}") if isinstance(
            item, h5py.Dataset) and name.rsplit("/", 1)[-1] in absent else None)
        moved = (f"; found deeper: {', '.join(deeper[:2])} — jetstudy reads them at the top "
                 f"level: move them there (h5py: f.move('{deeper[0][1:]}', "
                 f"'{deeper[0].rsplit('/', 1)[-1]}'))") if deeper else ""
        if not moved and absent == ["jetFeatureNames"]:  # the names kept as an attribute
            owner = next((o for o in ("jets", "") if "jetFeatureNames" in handle[o or "/"].attrs),
                         None)
            moved = "" if owner is None else (
                f"; found as an attribute of {'`jets`' if owner else 'the file'} — jetstudy "
                f"reads it as a dataset: store it as one (h5py: f['jetFeatureNames'] = "
                f"f{'[' + repr(owner) + ']' if owner else ''}.attrs['jetFeatureNames'])")
        if not moved:
            moved = _key_spelling(absent, list(handle.keys()))
        raise DataError(
            f"{file}: no {' or '.join(f'`{k}`' for k in absent)} dataset (keys found: "
            f"{listed(sorted(handle.keys()), 10, total=True) or 'none'}){moved}; jetstudy "
            f"reads Format A files with `jets` (N, 59) and `jetFeatureNames` ({_HELP})"
        )
    _hdf5_outside(file, handle, ("jets", "jetFeatureNames"))
    jets = handle["jets"]
    names = _decode_names(file, handle["jetFeatureNames"][()])
    if jets.dtype.kind not in "fiu":  # strings, a compound table, objects, true/false
        kind = {"S": "strings", "U": "strings", "O": "objects", "V": "records",
                "b": "true/false"}.get(jets.dtype.kind, "values")
        shown = (f"{len(jets.dtype.names)} named fields" if jets.dtype.names
                 else str(jets.dtype))
        raise DataError(
            f"{file}: `jets` holds {kind} ({shown}), not numbers; Format A's `jets` is a "
            "float array (N, 59) with one column per `jetFeatureNames` entry — re-create or "
            f"re-download the file ({_HELP})")
    if jets.shape is None:  # an HDF5 empty (null) dataspace: not even 0 rows
        raise DataError(
            f"{file}: `jets` holds no array at all (an HDF5 empty dataspace, type {jets.dtype}); "
            f"Format A's `jets` is a float array (N, {len(names)}) with one column per "
            f"`jetFeatureNames` entry — re-create or re-download the file ({_HELP})")
    column = jets.ndim == 3 and jets.shape[2] == 1  # (N, 59, 1): column vectors, same table
    if (jets.ndim != 2 and not column) or jets.shape[1] != len(names):
        transposed = jets.ndim == 2 and jets.shape[0] == len(names)  # column-major writers
        raise DataError(
            f"{file}: `jets` has shape {jets.shape} and type {jets.dtype} but "
            f"`jetFeatureNames` has {len(names)} names; `jets` must be numbers (N, "
            f"{len(names)}) with one name per column — " + ("it looks transposed (one row per name, as MATLAB, Julia or "
                               "Fortran write arrays): store its transpose (N, "
                               f"{len(names)})" if transposed else
                               "re-create or re-download the file"))
    index = _name_index(file, names)
    n = jets.shape[0] if limit is None else min(limit, jets.shape[0])
    data = np.asarray(jets[:n, :, 0] if column else jets[:n])  # one read; columns in memory
    mark = _parse_synthetic(file, handle.attrs.get(SYNTHETIC_ATTR))
    return data, index, mark


def _parse_synthetic(file: str, raw: Any) -> Mark | None:
    """The ``jetstudy_synthetic`` attribute as a dict, or None for real files."""
    if raw is None:
        return None
    if isinstance(raw, (bytes, np.bytes_)):
        raw = raw.decode("utf-8", errors="replace")
    try:
        mark = json.loads(str(raw))
    except json.JSONDecodeError:
        mark = None
    if not isinstance(mark, dict):
        log.warning("%s: %s is not a JSON object; treating the file as real", file, SYNTHETIC_ATTR)
        return None
    return mark


def _common_synthetic(sources: Sequence[str], marks: Sequence[Mark | None]) -> Mark | None:
    """One synthetic mark for the whole table, only when every file is from the same run."""
    present = [m for m in marks if m is not None]
    if not present:
        return None
    if len(present) < len(marks):
        real = next(s for s, m in zip(sources, marks) if m is None)
        log.warning(
            "only %d of %d files are jetstudy synthetic (%s is not); treating the data as real, "
            "so no Bayes-optimal reference is computed", len(present), len(marks), real,
        )
        return None
    runs = {repr((m.get("generator"), m.get("version"), m.get("seed"))) for m in present}
    if len(runs) > 1:
        log.warning("synthetic files of different runs %s; treating data as real", sorted(runs))
        return None
    return dict(present[0])

