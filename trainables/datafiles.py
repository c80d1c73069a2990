"""Which files a ``data.path`` (a file, a folder or a glob) names, and which reader each
needs: the first step of :func:`jetstudy.trainables.formats.load_jets`, kept apart from the
readers. A path that names no data file says why (a glob matching only folders, data files
one level deeper, a broken link) and how to fix it."""

from __future__ import annotations

import glob
import logging
import os
from collections.abc import Sequence

from jetstudy.trainables.datacheck import HELP as _HELP
from jetstudy.trainables.datacheck import extension_fix as _extension_fix
from jetstudy.trainables.datacheck import mixed_formats as _mixed_formats
from jetstudy.trainables.datacheck import path_problem as _path_problem
from jetstudy.trainables.datacheck import some as _some
from jetstudy.trainables.datacheck import suffix as _suffix
from jetstudy.trainables.datacheck import url_problem as _url_problem
from jetstudy.trainables.errors import DataError, listed

__all__ = ["HDF5_SUFFIXES", "TABLE_SUFFIXES", "resolve_files", "file_kind"]

log = logging.getLogger(__name__)

#: File extensions of Format A (the original HDF5 files).
HDF5_SUFFIXES: tuple[str, ...] = (".h5", ".hdf5")
#: File extensions of Format B (the OpenML table).
TABLE_SUFFIXES: tuple[str, ...] = (".csv", ".parquet", ".pq", ".arff")


def resolve_files(path: str, fmt: str) -> list[str]:
    """Turn a file, folder or glob into the sorted list of files to read."""
    expanded = os.path.expanduser(path)
    url = None if os.path.exists(expanded) else _url_problem(path)
    if url is not None:  # before the glob: a URL's '?' is no pattern
        fix = "" if url.startswith("a URL (file://)") else (
            "; download the files first (`jetstudy fetch hls4ml` for the dataset) and give "
            "their local path")
        raise DataError(f"{path}: {url}{fix} ({_HELP})")
    if not os.path.exists(expanded) and any(ch in expanded for ch in "*?["):
        found = sorted(glob.glob(expanded, recursive=True))  # data/**/*.h5: every depth
        _refuse_dangling(path, found)
        matches = [p for p in found if os.path.isfile(p)]
        if not matches:
            start = "" if os.path.isabs(expanded) else \
                f" (relative paths start from {os.getcwd()})"
            folders = [os.path.basename(p.rstrip(os.sep)) for p in found if os.path.isdir(p)]
            only = (f"it matches only folders ({', '.join(folders[:3])}"
                    f"{', ...' if len(folders) > 3 else ''})" if folders else "")
            deeper = _deeper([_glob_base(expanded)])
            only = f"{only or 'nothing matches'}{deeper}; " if only or deeper else ""
            raise DataError(
                f"{path}: no files match this pattern{start}; {only}check the folder and the "
                "pattern, e.g. 'data/*.h5'"
            )
        _refuse_study_outputs(path, matches)
        if fmt == "auto":
            _mixed_formats(path, matches, HDF5_SUFFIXES, TABLE_SUFFIXES)
            _others_matched(path, matches)
        return matches
    if os.path.isdir(expanded):
        entries = sorted(os.listdir(expanded))
        _refuse_dangling(path, [os.path.join(expanded, e) for e in entries])
        files = [p for p in (os.path.join(expanded, e) for e in entries) if os.path.isfile(p)]
        files = _without_hidden(path, files)
        hdf5 = [f for f in files if _suffix(f) in HDF5_SUFFIXES]
        tables = [f for f in files if _suffix(f) in TABLE_SUFFIXES]
        chosen = {"hdf5": hdf5, "table": tables, "auto": hdf5 or tables}[fmt]
        other = {"hdf5": (tables, "table", "table"), "table": (hdf5, "HDF5 file", "hdf5")}.get(
            fmt, ((), "", ""))
        if not chosen and other[0]:  # the files are there, in the format not asked for
            raise DataError(
                f"{path}: data.format is {fmt}, and the folder holds no such files but "
                f"{_some(other[0], other[1])}; set data.format: {other[2]} (or auto, to choose "
                f"by extension) ({_HELP})")
        if not chosen:
            suffixes = {"hdf5": HDF5_SUFFIXES, "table": TABLE_SUFFIXES}.get(
                fmt, HDF5_SUFFIXES + TABLE_SUFFIXES
            )
            found = listed(entries)
            raise DataError(
                f"{path}: folder has no {'/'.join(suffixes)} files (found: {found or 'nothing'})"
                f"{_deeper([expanded])}; put the hls4ml .h5 files (Format A) or the OpenML "
                f".csv/.parquet table (Format B) there, or give a file ({_HELP})"
            )
        _refuse_study_outputs(path, chosen)
        if fmt == "auto" and hdf5 and tables:  # one format per study, as for a glob
            log.warning("%s: the folder holds %s and %s; a study reads one format, so it reads "
                        "the HDF5 files and ignores the tables (data.format: table reads the "
                        "tables instead; move out what is not jets)", path,
                        _some(hdf5, "HDF5 file"), _some(tables, "table"))
        return chosen
    if not os.path.exists(expanded):
        spaces = (f" (its name {path!r} starts or ends with a space: remove it)"
                  if path != path.strip() else _near_name(path, expanded))
        raise DataError(
            f"{path}: {_path_problem(expanded)}{spaces}; check the path "
            f"(relative paths start from {os.getcwd()})"
        )
    if not os.path.isfile(expanded):  # a FIFO or device: reading it could wait for ever
        raise DataError(f"{path}: not a regular file (a pipe, socket or device); give the data "
                        f"file itself, a folder or a glob ({_HELP})")
    _refuse_study_outputs(path, [expanded])
    return [expanded]


def _without_hidden(path: str, files: Sequence[str]) -> list[str]:
    """A folder's files less its hidden ones (``._jets.h5``: the metadata twin macOS writes
    beside each file copied to a USB or network drive; ``.x.h5``), as a glob ``data/*.h5`` and
    ``ls`` leave them out: read, the twin stopped the study as a damaged HDF5 file. Hidden data
    files are named in a warning."""
    hidden = [f for f in files if os.path.basename(f).startswith(".")]
    data = [f for f in hidden if _suffix(f) in HDF5_SUFFIXES + TABLE_SUFFIXES]
    if data:
        apple = [f for f in data if os.path.basename(f).startswith("._")]
        log.warning("%s: left out %s, hidden (the name starts with '.')%s; a study reads a "
                    "folder's visible files, as 'ls' and a glob such as data/*.h5 list them: "
                    "rename a hidden file to read it", path, listed(
                        [os.path.basename(f) for f in data], 3, total=True),
                    " - macOS writes '._' twins beside files copied to other drives: delete "
                    "them (dot_clean, or find DIR -name '._*' -delete)" if apple else "")
    return [f for f in files if f not in hidden]


def _near_name(path: str, expanded: str) -> str:
    """" (did you mean jets.h5?)" for a missing data path whose folder holds a file of that
    name in another case (JETS.h5; Linux names are case-sensitive), with a data suffix it
    lacks (jets: jets.h5), or close to it; " (several paths: ...)" for paths joined by commas."""
    import difflib

    parts = [p.strip() for p in path.split(",")]
    if len(parts) > 1 and all(os.path.exists(os.path.expanduser(p)) for p in parts if p):
        return (" (several paths joined by ',': data.path is one file, folder or glob; put "
                "the files in one folder and give the folder, or match them with a glob such "
                "as 'data/*.h5')")
    folder, name = os.path.split(expanded)
    try:
        entries = [e for e in os.listdir(folder or ".")
                   if _suffix(e) in HDF5_SUFFIXES + TABLE_SUFFIXES
                   or os.path.isdir(os.path.join(folder or ".", e))]
    except OSError:
        return ""
    if not name:
        return ""
    same_case = [e for e in entries if e.lower() == name.lower()]
    with_suffix = [e for e in entries if os.path.splitext(e)[0] == name]
    close = same_case or with_suffix or difflib.get_close_matches(name, entries, n=1, cutoff=0.8)
    if not close:
        return ""
    meant = os.path.join(os.path.dirname(path), close[0])
    why = " Names are case-sensitive" if same_case else ""
    return f" (did you mean {meant!r}?{why})"


#: The marks jetstudy writes into the output folders it creates: a study folder
#: (jetstudy.study.paths.STUDY_MARK), an export (study.export.MANIFEST), a report
#: (analysis.report_folder.MANIFEST); spelled out here, as this layer imports neither package.
#: Fetched data folders carry other marks and read as data; a study's synthetic jets
#: (``<study>/data``, study.prepare.SYNTHETIC_RECORD) are jets, found before the study's mark.
_OUTPUT_MARKS: dict[str, str] = {".jetstudy-synthetic.json": "jets",
                                 ".jetstudy-study": "study", ".jetstudy-export.json": "export",
                                 ".jetstudy-report": "report"}


def _refuse_study_outputs(path: str, files: Sequence[str]) -> None:
    """A data path reaching into a study, export or report folder (``data/**/*.parquet`` with
    results under data/) would read jetstudy's own outputs (trials, epochs, predictions,
    exported files) as jets, whatever their format: one error naming the file and the folder."""
    seen: dict[str, str | None] = {}

    def output_of(file: str) -> tuple[str, str] | None:
        folder = os.path.dirname(os.path.abspath(file))
        while True:
            if folder not in seen:
                seen[folder] = next((what for mark, what in _OUTPUT_MARKS.items()
                                     if os.path.lexists(os.path.join(folder, mark))), None)
            if seen[folder] == "jets":  # a study's synthetic jets (<study>/data): data
                return None
            if seen[folder] is not None:
                return folder, seen[folder]
            parent = os.path.dirname(folder)
            if parent == folder:
                return None
            folder = parent

    for file in files:
        found = output_of(file)
        if found is not None:
            raise DataError(
                f"{path}: it reaches {file}, inside the jetstudy {found[1]} folder {found[0]} "
                "(jetstudy's own output, not jets); narrow data.path to the data files (e.g. "
                "'data/*.parquet' rather than 'data/**/*.parquet'), or keep storage.results_dir "
                "outside the data folder")


def _others_matched(path: str, matches: Sequence[str]) -> None:
    """A glob such as ``data/*`` matching data files and others (a README, notes): the others
    would stop the study as "unknown extension", which does not say the pattern is too wide."""
    known = HDF5_SUFFIXES + TABLE_SUFFIXES
    data = [m for m in matches if _suffix(m) in known]
    packed = [m for m in matches if _suffix(os.path.splitext(m)[0]) in known]  # x.csv.gz
    others = [os.path.basename(m) for m in matches if m not in data]
    if data and others and not packed:  # a packed data file: its reader says to unpack it
        shown = listed(others, 3)
        raise DataError(
            f"{path}: matches {len(others)} file(s) that are no data ({shown}) beside "
            f"{len(data)} data file(s); narrow the pattern to the data files, e.g. "
            f"'{os.path.join(os.path.dirname(path), '*' + _suffix(data[0]))}' ({_HELP})")


def _deeper(folders: Sequence[str]) -> str:
    """", and data files lie deeper: give 'data/**/*.h5'" when folders among ``folders`` hold
    data files further down (a glob or folder reads one level only)."""
    visited = 0
    for folder in (f for f in folders if os.path.isdir(f)):
        for root, _, names in os.walk(folder):
            visited += 1
            if visited > 200:  # a look, not a search of the disk
                return ""
            for suffixes in (HDF5_SUFFIXES, TABLE_SUFFIXES):
                hit = next((n for n in sorted(names) if _suffix(n) in suffixes
                            and not n.startswith(".")), None)  # hidden: never read
                if hit is not None:
                    where = os.path.relpath(os.path.join(root, hit), folder)
                    glob_here = os.path.join(folder.rstrip(os.sep), "**", f"*{_suffix(hit)}")
                    return (f", and data files lie deeper (e.g. {where} in {folder}): a glob "
                            f"or folder reads one level; give '{glob_here}' for every depth")
    return ""


def _glob_base(pattern: str) -> str:
    """The folder a glob starts from: ``data`` for ``data/*/`` or ``data/**/x*.h5``."""
    parts = pattern.split(os.sep)
    fixed = [p for p in parts[:next((i for i, p in enumerate(parts) if any(
        ch in p for ch in "*?[")), len(parts))]]
    return os.sep.join(fixed) or ("." if not pattern.startswith(os.sep) else os.sep)


def _refuse_dangling(path: str, candidates: Sequence[str]) -> None:
    """A data file among ``candidates`` that cannot be read (a broken link, a link loop) is an
    error, not silently left out: the study would train on part of the user's data."""
    for candidate in candidates:
        if _suffix(candidate) in HDF5_SUFFIXES + TABLE_SUFFIXES and os.path.islink(candidate) \
                and not os.path.exists(candidate):
            raise DataError(f"{candidate} (in data.path {path}) cannot be read: "
                            f"{_path_problem(candidate)}")


def file_kind(file: str, fmt: str) -> str:
    """``"hdf5"`` or ``"table"`` for one file: forced by ``fmt`` or chosen by extension."""
    suffix = _suffix(file)
    if fmt == "hdf5" or (fmt == "auto" and suffix in HDF5_SUFFIXES):
        return "hdf5"
    if suffix in TABLE_SUFFIXES:
        return "table"
    allowed = TABLE_SUFFIXES if fmt == "table" else HDF5_SUFFIXES + TABLE_SUFFIXES
    if fmt == "table" and suffix in HDF5_SUFFIXES:
        raise DataError(
            f"{file}: unknown table extension {suffix!r}: an HDF5 file (Format A), but "
            f"data.format is table (Format B: "
            f"{', '.join(TABLE_SUFFIXES)}); set data.format: hdf5, or auto to choose by "
            f"extension ({_HELP})")
    raise DataError(
        f"{file}: unknown {'table ' if fmt == 'table' else ''}extension {suffix or '(none)'!r}; "
        f"jetstudy reads {', '.join(allowed)} — {_extension_fix(file, suffix)} ({_HELP})"
    )
