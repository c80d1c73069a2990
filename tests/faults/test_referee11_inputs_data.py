"""Round 11 referee of the data readers: a Parquet column of lists, records or maps (one value
per jet expected) and an HDF5 key that is a soft link to nothing get one DataError naming the
file, the column or link, and the fix; a soft link to a dataset elsewhere in the file reads
exactly."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from jetstudy.trainables.errors import DataError
from jetstudy.trainables.formats import load_jets
from jetstudy.trainables.schema import (HLF_FEATURES, JET_FEATURE_NAMES, LABEL_COLUMNS,
                                        OPENML_FEATURES)

N = 100
NAMES = list(JET_FEATURE_NAMES)


def _table() -> pa.Table:
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(rng.uniform(0.1, 1.0, (N, 16)), columns=list(OPENML_FEATURES))
    frame["class"] = np.array(list("gqwzt"))[np.arange(N) % 5]
    return pa.Table.from_pandas(frame, preserve_index=False)


def _nested(table: pa.Table, name: str, form: str) -> pa.Array:
    values = table.column(name).to_pylist()
    if form == "list":
        return pa.array([[v] for v in values])
    if form == "struct":
        return pa.array([{"value": v} for v in values])
    return pa.array([[(str(v), 1)] for v in values], pa.map_(pa.string(), pa.int64()))


@pytest.mark.parametrize("column, form, words", [
    ("class", "list", "column class holds list<element: string> values"),
    ("class", "struct", "column class holds struct<value: string> values"),
    ("class", "map", "column class holds map<string, int64"),
    ("zlogz", "list", "column zlogz holds list<element: double> values"),
])
@pytest.mark.parametrize("metadata", [False, True], ids=["plain", "pandas-metadata"])
def test_a_parquet_column_of_lists_or_records_is_one_error(
        column: str, form: str, words: str, metadata: bool, tmp_path: Path) -> None:
    """A ``class`` column holding a one-element list per jet (awkward or Spark exports) stopped
    the study with a raw ``TypeError: unhashable type: 'numpy.ndarray'``, or, under pandas
    metadata naming the column a string, a raw ``ArrowNotImplementedError``; a feature of lists
    said "fix or drop those rows" (every row)."""
    table = _table()
    if not metadata:
        table = table.replace_schema_metadata(None)
    table = table.set_column(table.schema.get_field_index(column), column,
                             _nested(table, column, form))
    path = tmp_path / "jets.parquet"
    pq.write_table(table, path)
    with pytest.raises(DataError) as refused:
        load_jets(path)
    text = str(refused.value)
    assert text.startswith(f"{path}: ") and words in text, text
    one = "one class letter per jet" if column == "class" else "one number per jet"
    assert one in text and "flatten the column" in text, text
    assert "drop those rows" not in text, text


def _write_h5(path: Path, build: object) -> Path:
    with h5py.File(path, "w") as handle:
        build(handle)  # type: ignore[operator]
    return path


def _jets() -> np.ndarray:
    rng = np.random.default_rng(4)
    data = rng.uniform(0.1, 1.0, (N, len(NAMES)))
    data[:, [NAMES.index(c) for c in LABEL_COLUMNS]] = np.eye(5)[np.arange(N) % 5]
    data[:, NAMES.index("j_undef")] = 0
    return data


def _names() -> np.ndarray:
    return np.array([n.encode() for n in NAMES])


def test_a_soft_link_to_nothing_is_named(tmp_path: Path) -> None:
    """`jets` a soft link to a path the file does not hold was "not a dataset (a group, or a
    link to a missing file)": neither."""
    def build(handle: h5py.File) -> None:
        handle["data_jets"] = _jets()
        handle["jetFeatureNames"] = _names()
        handle["jets"] = h5py.SoftLink("/nowhere/jets")
    path = _write_h5(tmp_path / "a.h5", build)
    with pytest.raises(DataError) as refused:
        load_jets(path)
    text = str(refused.value)
    assert "`jets` is not a dataset (a soft link to '/nowhere/jets', which this file does not " \
           "hold)" in text, text
    assert "group" not in text and "missing file" not in text, text


def test_a_named_datatype_is_named(tmp_path: Path) -> None:
    def build(handle: h5py.File) -> None:
        handle["jets"] = np.dtype("<f8")
        handle["jetFeatureNames"] = _names()
    with pytest.raises(DataError, match=r"`jets` is not a dataset \(a named datatype: a type, "
                                        r"no values\)"):
        load_jets(_write_h5(tmp_path / "a.h5", build))


def test_a_soft_link_to_a_dataset_reads_exactly(tmp_path: Path) -> None:
    data = _jets()

    def build(handle: h5py.File) -> None:
        handle.create_group("stored")["jets"] = data
        handle["jetFeatureNames"] = _names()
        handle["jets"] = h5py.SoftLink("/stored/jets")
    table = load_jets(_write_h5(tmp_path / "a.h5", build))
    expected = data[:, [NAMES.index(h) for h in HLF_FEATURES]].astype(np.float32)
    assert np.array_equal(table.x, expected)
    assert np.array_equal(table.y, np.arange(N) % 5)


@pytest.mark.parametrize("cell, words", [
    ("{v:.5f}D+00", "(Fortran's D exponent, '0."),
    ("{v:.3f} GeV", "(a number with a unit, 'GeV', in '0."),
    ("unknown", "no row of it is a number: export"),
])
def test_a_feature_that_is_text_in_every_row_is_not_told_to_drop_rows(
        cell: str, words: str, tmp_path: Path) -> None:
    """A CSV feature written in Fortran's D exponent (0.67327D+00) or with a unit in every row
    said "fix or drop those rows": dropping them drops every jet."""
    frame = _table().to_pandas()
    frame["zlogz"] = [cell.format(v=v) for v in frame["zlogz"]]
    frame.to_csv(tmp_path / "jets.csv", index=False)
    with pytest.raises(DataError) as refused:
        load_jets(tmp_path / "jets.csv")
    text = str(refused.value)
    assert f"column zlogz holds {N} non-numbers" in text and words in text, text
    assert "would drop every jet" in text and "fix or drop" not in text, text


@pytest.mark.parametrize("kind, column, written", [("csv", "class", "class\x00"),
                                                   ("parquet", "zlogz", "zlogz\u200b")])
def test_a_column_name_with_a_hidden_character_is_shown(kind: str, column: str, written: str,
                                                        tmp_path: Path) -> None:
    """A NUL after `class` in a CSV header was "the table has no `class` column (columns:
    ..., class )", and a zero-width space after `zlogz` "lacks zlogz": the name looked right."""
    frame = _table().to_pandas().rename(columns={column: written})
    path = tmp_path / f"jets.{kind}"
    frame.to_csv(path, index=False) if kind == "csv" else frame.to_parquet(path)
    with pytest.raises(DataError) as refused:
        load_jets(path)
    text = str(refused.value)
    assert f"the column name {written!r} holds a control or invisible character beside " \
           f"{column!r}" in text and f"rename the column to {column!r}" in text, text
