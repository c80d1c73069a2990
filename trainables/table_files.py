"""Format B's files as pandas frames: a CSV, Parquet or ARFF table read with the columns
jetstudy uses (the 16 features, ``class``, the one-hot labels), every file-level problem one
DataError naming the file and the fix (a header of semicolons or numbers, a row cut short, a
decimal comma, a column of lists, a name given twice). What the columns mean is
:mod:`jetstudy.trainables.format_b`'s."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Any

import pandas as pd

from jetstudy.trainables.csv_rows import without_implicit_index
from jetstudy.trainables.datacheck import HELP as _HELP
from jetstudy.trainables.datacheck import content_problem
from jetstudy.trainables.errors import DataError
from jetstudy.trainables.schema import HLF_FEATURES, LABEL_COLUMNS, OPENML_FEATURES

log = logging.getLogger(__name__)

__all__ = ["read_csv", "read_parquet", "read_arff", "wanted"]


def wanted(name: str) -> bool:
    name = str(name).strip()
    return (name in OPENML_FEATURES or name in HLF_FEATURES or name.lower() == "class"
            or name in LABEL_COLUMNS or name == "j_undef")


def _raw_header(file: str) -> list[str]:
    """The CSV's first (non-comment) row as written: pandas renames a repeated name
    (``zlogz``, ``zlogz.1``), which would hide a duplicated column."""
    import csv

    with open(file, encoding="utf-8", errors="replace", newline="") as handle:
        for line in handle:
            line = line.split("#", 1)[0]
            if line.strip():
                return [c.strip() for c in next(csv.reader([line]))]
    return []


def _separator_hint(file: str, header: Sequence[str]) -> None:
    """A CSV written with ``;`` or tabs reads as one column: say so, not "lacks zlogz"."""
    if len(header) != 1:
        return
    for sep, word in ((";", "semicolons"), ("\t", "tabs"), ("|", "'|'")):
        if header[0].count(sep) >= 2:
            raise DataError(
                f"{file}: the header is one column holding {word} ({header[0][:60]!r}); "
                f"jetstudy reads comma-separated CSV: re-export it with ',' as separator "
                f"(e.g. pandas.read_csv(f, sep={sep!r}).to_csv(out, index=False), adding "
                "decimal=',' if numbers are written like 1,5), or save it as Parquet")


def read_csv(file: str, limit: int | None) -> tuple[pd.DataFrame, list[str]]:
    try:
        header = [str(c) for c in pd.read_csv(file, nrows=0, comment="#",
                                              skipinitialspace=True).columns]
        _excel_separator_line(file)
        _separator_hint(file, header)
        _no_header(file, header)
        _check_unique(file, _raw_header(file))
        # every column read, then the wanted ones picked: with usecols, pandas silently drops
        # the extra values of a row longer than the header (a decimal comma: 0,5)
        frame = without_implicit_index(file, pd.read_csv(
            file, nrows=limit, comment="#", skipinitialspace=True), limit, comment="#",
            skipinitialspace=True)
        if limit is None or len(frame) < limit:
            _cut_short(file, frame)
        _short_rows(file, frame, list(frame.columns), "the header names", limit, skip=0,
                    header=True, quotechar='"', comment="#")
        frame = frame[[c for c in frame.columns if wanted(c)]]
    except UnicodeDecodeError as exc:
        found = content_problem(file, "text")
        if found:
            raise DataError(f"{file}: not a CSV table{found}") from None
        raise DataError(
            f"{file}: not UTF-8 text ({exc.reason} at byte {exc.start}); save the table as "
            "UTF-8 CSV (e.g. pandas.read_csv(f, encoding='latin-1').to_csv(out, index=False)), "
            "or as Parquet; if it is not a table at all, give the right file") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, OSError) as exc:
        raise DataError(f"{file}: cannot be read as CSV ({_csv_problem(exc)}); jetstudy "
                        f"expects a header row with the 16 feature names and `class` "
                        f"({_HELP})") from None
    return frame, header


def _excel_separator_line(file: str) -> None:
    """Excel's ``sep=,`` first line (written to tell Excel the separator) was read as a header
    of two names, and every row "15 values more than the header's 2 names ... a decimal
    comma?"; name the line and the fix."""
    with open(file, encoding="utf-8-sig", errors="replace", newline="") as handle:
        first = handle.readline().strip()
    found = re.fullmatch(r"(?i)sep=(.)", first)
    if found is None:
        return
    other = ("" if found.group(1) == "," else
             f", and re-export it with ',' as separator (pandas.read_csv(f, sep={found.group(1)!r}, "
             f"skiprows=1).to_csv(out, index=False))")
    raise DataError(
        f"{file}: the first line, {first!r}, is Excel's separator line, not the header row "
        f"naming the columns; delete that line (e.g. `sed -i 1d {file}`){other}, so the "
        f"header comes first ({_HELP})")


def _no_header(file: str, header: Sequence[str]) -> None:
    """A CSV written without its header row (``to_csv(header=False)``, ``np.savetxt``): the
    first jet's values are read as the names, so say that, not "lacks zlogz, c1_b0_mmdt, ...".
    (pandas names a repeated value ``0.5.1``: the part before the suffix is the value.)"""
    def number(name: str) -> bool:
        try:
            float(re.sub(r"\.\d+$", "", name) if name.count(".") > 1 else name)
            return True
        except ValueError:
            return False
    if len(header) >= 2 and sum(map(number, header)) >= len(header) - 1:
        raise DataError(
            f"{file}: the first row holds numbers ({', '.join(header[:3])}, ...), not column "
            f"names: the table has no header row; add one naming each column (the 16 features "
            f"as zlogz, c1_b0_mmdt, ..., and class), e.g. pandas.read_csv(f, header=None, "
            f"names=[...]).to_csv(out, index=False) ({_HELP})")


def _cut_short(file: str, frame: pd.DataFrame) -> None:
    """A CSV whose last line ends without a newline and lacks values is cut off (still being
    written, a broken copy): its last value may be cut too, so say so rather than "NaN in row
    N" or "class has 1 empty rows"."""
    with open(file, "rb") as handle:
        handle.seek(0, 2)
        if handle.tell() == 0:
            return
        handle.seek(-1, 2)
        ends_in_newline = handle.read(1) in (b"\n", b"\r")
    if not ends_in_newline and len(frame) and bool(frame.iloc[-1].isna().any()):
        raise DataError(
            f"{file}: the last line (row {len(frame) - 1}, 0-based) is cut short, without its "
            "last values and its newline: the file is incomplete (still being written, or a "
            "broken copy); wait for it to be written, or copy it again")


def _short_rows(file: str, frame: pd.DataFrame, columns: Sequence[Any], header_says: str,
                limit: int | None, *, skip: int, header: bool, quotechar: str,
                comment: str) -> None:
    """A row with fewer values than the header: pandas fills its last columns with NaN, so the
    refusal named the next column's "non-number" (the class letter moved left) or "class has 1
    empty rows". Only when the last column holds an empty cell (every short row leaves it
    empty) are the lines counted, to name the row, its count and the header's. A row that
    stops after the last column jetstudy reads (an unused ``notes`` column left off) is kept."""
    if len(frame) and bool(frame.iloc[:, -1].isna().any()):
        _scan_short(file, columns, header_says, limit, skip=skip, header=header,
                    quotechar=quotechar, comment=comment)


def _scan_short(file: str, columns: Sequence[Any], header_says: str, limit: int | None, *,
                skip: int, header: bool, quotechar: str, comment: str) -> None:
    """The first row (within ``limit``) with fewer values than the columns jetstudy reads
    need, refused naming its line; nothing when there is none."""
    used = [i for i, c in enumerate(columns) if wanted(str(c))]
    if not used:
        return
    import csv

    expected, needed, row = len(columns), used[-1] + 1, -1
    lines: list[tuple[int, str]] = []  # the physical lines of the record being read

    def content(handle: Any) -> Any:
        for number, line in enumerate(handle, start=1):
            text = line.split(comment, 1)[0] if number > skip else ""
            if text.strip():
                lines.append((number, line))
                yield text

    with open(file, encoding="utf-8", errors="replace", newline="") as handle:
        # one reader over the file: a quoted value may hold a line break (a notes column)
        for values in csv.reader(content(handle), quotechar=quotechar, skipinitialspace=True):
            number, text, last = lines[0][0], lines[0][1].strip(), lines[-1][1]
            lines.clear()
            if header:  # the CSV's header row
                header = False
                continue
            row += 1
            if limit is not None and row >= limit:
                return
            if len(values) < needed and text.lower().startswith(
                    ("@relation", "@attribute", "@data")):
                raise DataError(
                    f"{file}: line {number} ({text[:60]!r}) is an ARFF header line "
                    f"among the @data rows: two ARFF files joined (e.g. `cat a.arff b.arff`)? "
                    f"Keep one header: drop the second file's lines from its @relation to its "
                    f"@data, or export the jets as one table")
            if len(values) < needed:
                cut = (" and no newline: the file is incomplete (still being written, or a "
                       "broken copy); wait for it to be written, or copy it again"
                       if not last.endswith(("\n", "\r")) else
                       ": a value is missing (a cut or hand-edited line); fix or drop that line")
                raise DataError(
                    f"{file}: line {number} (row {row}, 0-based) has {len(values)} values "
                    f"where {header_says} {expected}{cut}")


def _csv_problem(exc: BaseException) -> str:
    """pandas' complaint in the table's terms: "Expected 17 fields in line 6, saw 19" is a row
    longer than the header."""
    import re

    text = " ".join(str(exc).split())
    found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", text)
    if found:
        names, line, values = found.groups()
        return (f"line {line} has {values} values but the header {names} names: an unquoted "
                f"comma (a decimal comma such as 0,5?); fix or drop that line, or quote its "
                f"values")
    return text[:200]


def read_parquet(file: str, limit: int | None) -> tuple[pd.DataFrame, list[str]]:
    import pyarrow.parquet as pq  # only needed for Parquet input

    try:
        header = list(pq.read_schema(file).names)
        _check_unique(file, header)
        table = pq.read_table(file, columns=[c for c in header if wanted(c)])
        _nested_columns(file, table.schema)
        frame = (table if limit is None else table.slice(0, limit)).to_pandas()
    # pyarrow's ArrowInvalid is a ValueError, its ArrowNotImplementedError (a column pandas
    # cannot take, e.g. under pandas metadata of another type) a NotImplementedError
    except (OSError, ValueError, NotImplementedError) as exc:
        found = content_problem(file, "parquet")
        if found:  # empty, or another kind of file under a .parquet name
            raise DataError(f"{file}: cannot be read as Parquet{found}") from None
        raise DataError(
            f"{file}: cannot be read as Parquet ({' '.join(str(exc).split())[:200]}); check "
            "the file is complete, or export the table again"
        ) from None
    return frame, header


def _nested_columns(file: str, schema: Any) -> None:
    """A column of lists, records or maps (``list<string>``: awkward or Spark exports keep a
    one-element list per jet) is not one value per jet: a ``class`` of lists stopped the
    study with a raw TypeError (unhashable array), features said "drop those rows" (every
    row)."""
    import pyarrow as pa

    for field in schema:
        if pa.types.is_nested(field.type):
            name = str(field.name).strip()
            one = "class letter" if name.lower() == "class" else "number"
            raise DataError(
                f"{file}: column {name} holds {field.type} values (a list, record or map in "
                f"each row), not one {one} per jet; Format B keeps one value per cell: flatten "
                f"the column and save the table again (e.g. pandas: df[{name!r}] = "
                f"df[{name!r}].str[0] for one-element lists) ({_HELP})")


def read_arff(file: str, limit: int | None) -> tuple[pd.DataFrame, list[str]]:
    """Dense ARFF as OpenML exports it: ``@attribute`` lines, then ``@data`` CSV rows."""
    names: list[str] = []
    data_line = None
    try:
        with open(file, encoding="utf-8", errors="replace") as handle:
            for number, line in enumerate(handle):
                text = line.strip()
                if data_line is not None and text and not text.startswith("%"):
                    if text.startswith("{"):
                        raise DataError(
                            f"{file}: sparse ARFF rows are not supported; export the table as "
                            "dense ARFF, CSV or Parquet"
                        )
                    break
                if text.lower().startswith("@attribute"):
                    names.append(_attribute_name(file, number, text))
                elif text.lower().startswith("@data"):
                    data_line = number
        if names:
            _check_unique(file, names)
        if data_line is None or not names:
            raise DataError(
                f"{file}: not an ARFF file (no @attribute and @data header); export the table as "
                "ARFF, CSV or Parquet"
            )
        frame = _arff_rows(file, data_line, names, limit)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, OSError, ValueError,
            IndexError) as exc:
        raise DataError(
            f"{file}: cannot be read as ARFF ({_arff_problem(exc, len(names))}); export the "
            "table as CSV or Parquet"
        ) from None
    return frame, names


def _attribute_name(file: str, number: int, text: str) -> str:
    """The name of an ``@attribute`` line (quoted or bare)."""
    rest = text[len("@attribute"):].strip()
    if rest[:1] in ("'", '"'):
        end = rest.find(rest[0], 1)
        if end > 1:
            return rest[1:end]
    elif rest and not rest.startswith(("{", "%")):
        return rest.split()[0]
    raise DataError(
        f"{file}: line {number + 1} ({text[:60]!r}) is an @attribute without a (well-quoted) "
        "name; each needs a name and a type, e.g. `@attribute zlogz numeric`, or export the "
        "table as CSV or Parquet")


_ARFF_HEADER = "the @attribute header declares"
#: An ARFF instance weight, Weka's ``{0.5}`` after a row's last value.
_WEIGHT = re.compile(r"\{\s*[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?\s*\}")


def _arff_rows(file: str, data_line: int, names: list[str], limit: int | None
               ) -> pd.DataFrame:
    """The @data rows, every value read, then the wanted columns picked: with names and
    usecols, pandas took a row with one value too many (a decimal comma) as index + shifted
    values, without a word. A weight after a row (``,{0.5}``, Weka writes it on rows whose
    weight is not 1) is dropped, said once: every jet counts once."""
    def read(columns: int | None) -> pd.DataFrame:
        try:
            return pd.read_csv(file, skiprows=data_line + 1, header=None, nrows=limit,
                               names=None if columns is None else range(columns),
                               comment="%", quotechar="'", skipinitialspace=True,
                               na_values=["?"])
        except pd.errors.EmptyDataError:  # a header and no rows
            return pd.DataFrame(columns=names)

    try:
        frame = read(None)
    except pd.errors.ParserError as exc:  # a weighted row after unweighted ones?
        found = re.search(r"Expected (\d+) fields in line \d+, saw (\d+)", " ".join(
            str(exc).split()))
        if not found or (int(found[1]), int(found[2])) != (len(names), len(names) + 1):
            # the first row's count is pandas' expectation: a first row one value short
            # made the next, whole row 'one value too many'
            _scan_short(file, names, _ARFF_HEADER, limit, skip=data_line + 1, header=False,
                        quotechar="'", comment="%")
            raise
        frame = read(len(names) + 1)
        if _weights(frame, names) is None:
            raise exc from None
    if frame.shape[1] == len(names) + 1:
        weighted = _weights(frame, names)
        if weighted is not None:
            log.warning("%s: %d @data rows carry an ARFF instance weight (%s); jetstudy "
                        "ignores weights: every jet counts once", file, weighted[0],
                        weighted[1])
            frame = frame.iloc[:, :len(names)]
    if frame.shape[1] != len(names):
        raise ValueError(f"Too many columns specified: expected {len(names)} and found "
                         f"{frame.shape[1]}")
    _short_rows(file, frame, names, _ARFF_HEADER, limit,
                skip=data_line + 1, header=False, quotechar="'", comment="%")
    frame.columns = names
    return frame[[n for n in names if wanted(n)]]


def _weights(frame: pd.DataFrame, names: list[str]) -> tuple[int, str] | None:
    """How many rows carry a weight in ``frame``'s column after the attributes, and the
    first, when every value there is a weight (``{0.5}``) or none; None otherwise."""
    given = frame.iloc[:, len(names)].dropna()
    if given.empty or not all(isinstance(v, str) and _WEIGHT.fullmatch(v.strip())
                              for v in given):
        return None
    return len(given), str(given.iloc[0]).strip()


def _arff_problem(exc: BaseException, n_names: int) -> str:
    """pandas' complaint about the @data rows, in the ARFF's terms."""
    text = str(exc)
    import re

    found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", " ".join(text.split()))
    if found:  # a row longer than the first
        expected, line, values = found.groups()
        return (f"line {line} has {values} values but the @data rows before it {expected}: an "
                f"unquoted comma (a decimal comma such as 0,5?); fix or drop that line")
    if "Too many columns specified" in text:
        found = text.rsplit("found", 1)[-1].strip()
        return (f"the @data rows have {found} values but the header declares {n_names} "
                "@attribute columns")
    if isinstance(exc, IndexError) or not text:
        return "the @data rows do not match the @attribute header"
    return text.splitlines()[0][:200]


def _check_unique(file: str, columns: Sequence[str]) -> None:
    """Each feature and the class once, under one name: a repeated column (or ``zlogz`` beside
    ``j_zlogz``) is ambiguous, as in HDF5 (``jetstudy.trainables.format_a_names.name_index``)."""
    twice = []
    for bare, prefixed in zip(OPENML_FEATURES, HLF_FEATURES):
        found = [c for c in columns if c.strip() in (bare, prefixed)]
        if len(found) > 1:
            twice.append(f"{bare} ({len(found)} columns: {', '.join(found)})")
    found = [c for c in columns if c.strip().lower() == "class"]
    if len(found) > 1:
        twice.append(f"class ({len(found)} columns: {', '.join(found)})")
    twice += [f"{label} ({n} columns)" for label in LABEL_COLUMNS
              if (n := sum(c.strip() == label for c in columns)) > 1]
    if twice:
        raise DataError(
            f"{file}: the table has {'; '.join(twice)}, so which one to use is ambiguous; keep "
            "one column per feature (and one `class`) and load again")
