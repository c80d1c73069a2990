"""Round 10 referee of the data readers: valid real-format files in every form a real file may
take (dtypes, byte order, HDF5 filters, column order, label forms) read exactly; odd ones get
one DataError naming the file, the problem and the fix."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest

from jetstudy.trainables.errors import DataError
from jetstudy.trainables.formats import load_jets
from jetstudy.trainables.schema import (HLF_FEATURES, JET_FEATURE_NAMES, LABEL_COLUMNS,
                                        OPENML_FEATURES)

NAMES = list(JET_FEATURE_NAMES)
N = 100


def _jets(seed: int = 0) -> np.ndarray:
    """(N, 59) Format A rows: features in (0.1, 1), multiplicity whole, one-hot labels."""
    rng = np.random.default_rng(seed)
    data = rng.uniform(0.1, 1.0, size=(N, len(NAMES)))
    data[:, NAMES.index("j_multiplicity")] = rng.integers(5, 100, N)
    data[:, [NAMES.index(c) for c in LABEL_COLUMNS]] = np.eye(5)[np.arange(N) % 5]
    data[:, NAMES.index("j_undef")] = 0
    return data


def _write(path: Path, data: np.ndarray, names: list[str] = NAMES, **options: object) -> Path:
    with h5py.File(path, "w") as handle:
        handle.create_dataset("jets", data=data, **options)
        handle.create_dataset("jetFeatureNames", data=np.array([n.encode() for n in names]))
    return path


def _expected(data: np.ndarray) -> np.ndarray:
    return np.asarray(data, dtype=np.float64)[:, [NAMES.index(h) for h in HLF_FEATURES]] \
        .astype(np.float32)


@pytest.mark.parametrize("dtype", ["<f4", ">f4", ">f8", "<f2", "<i4", ">u2"])
def test_every_numeric_dtype_and_byte_order_reads_exactly(dtype: str, tmp_path: Path) -> None:
    data = _jets()
    if np.dtype(dtype).kind in "iu":
        data = np.round(data * 100)
        data[:, [NAMES.index(c) for c in LABEL_COLUMNS]] /= 100
    stored = data.astype(dtype)
    table = load_jets(_write(tmp_path / "a.h5", stored))
    assert np.array_equal(table.x, _expected(stored))
    assert np.array_equal(table.y, np.arange(N) % 5)


@pytest.mark.parametrize("options", [
    {"compression": "gzip", "chunks": (16, 59), "shuffle": True, "fletcher32": True},
    {"compression": "lzf", "chunks": True},
])
def test_chunked_and_compressed_files_read_exactly(options: dict, tmp_path: Path) -> None:
    data = _jets()
    assert np.array_equal(load_jets(_write(tmp_path / "a.h5", data, **options)).x,
                          _expected(data))


def test_files_with_their_columns_in_another_order_read_exactly(tmp_path: Path) -> None:
    data = _jets()
    order = list(np.random.default_rng(1).permutation(len(NAMES)))
    _write(tmp_path / "a.h5", data[:50])
    _write(tmp_path / "b.h5", data[50:][:, order], [NAMES[i] for i in order])
    table = load_jets(tmp_path)
    assert np.array_equal(table.x, _expected(data))
    assert np.array_equal(table.y, np.arange(N) % 5)


def test_one_class_absent_from_one_file_is_fine_when_the_files_hold_all(tmp_path: Path) -> None:
    data = _jets()
    top = data[:, NAMES.index("j_t")] == 1
    _write(tmp_path / "a.h5", data[~top])
    _write(tmp_path / "b.h5", data[top])
    assert np.bincount(load_jets(tmp_path).y).tolist() == [N // 5] * 5


@pytest.mark.parametrize("row, words", [
    ([1, 1, 0, 0, 0], "j_g=1, j_q=1"), ([0, 0, 0, 0, 0], "j_g=0, j_q=0, j_w=0, j_z=0, j_t=0"),
    ([0.5, 0.5, 0, 0, 0], "j_g=0.5, j_q=0.5"), ([np.nan, 1, 0, 0, 0], "j_g=nan"),
])
def test_labels_not_one_hot_name_the_row(row: list, words: str, tmp_path: Path) -> None:
    data = _jets()
    data[3, [NAMES.index(c) for c in LABEL_COLUMNS]] = row
    with pytest.raises(DataError) as caught:
        load_jets(_write(tmp_path / "a.h5", data))
    assert "labels are not one-hot in 1 of 100 rows (first: row 3" in str(caught.value)
    assert words in str(caught.value)


def test_feature_names_of_one_value_or_none_are_said_so(tmp_path: Path) -> None:
    """jetFeatureNames stored as one string (f['jetFeatureNames'] = b'j_pt') or as an HDF5
    empty dataspace read as '1 names' and told the user `jets` must be (N, 1): wrong fix."""
    for raw, words in ((b"j_pt", "holds one value (b'j_pt')"),
                       (h5py.Empty("S10"), "holds no value (an HDF5 empty dataspace)")):
        with h5py.File(tmp_path / "a.h5", "w") as handle:
            handle["jets"] = _jets()
            handle.create_dataset("jetFeatureNames", data=raw)
        with pytest.raises(DataError) as caught:
            load_jets(tmp_path / "a.h5")
        message = str(caught.value)
        assert f"jetFeatureNames {words}, not a list of names" in message, message
        assert "(N, 1)" not in message and "re-create or re-download" in message


def test_jets_of_an_empty_dataspace_are_said_so(tmp_path: Path) -> None:
    """`jets` as h5py.Empty read as 'has shape None'."""
    with h5py.File(tmp_path / "a.h5", "w") as handle:
        handle.create_dataset("jets", data=h5py.Empty("f8"))
        handle.create_dataset("jetFeatureNames", data=np.array([n.encode() for n in NAMES]))
    with pytest.raises(DataError) as caught:
        load_jets(tmp_path / "a.h5")
    assert "`jets` holds no array at all (an HDF5 empty dataspace" in str(caught.value)
    assert "shape None" not in str(caught.value)


def _table() -> pd.DataFrame:
    rng = np.random.default_rng(2)
    frame = pd.DataFrame(rng.uniform(0.1, 1.0, (N, 16)), columns=list(OPENML_FEATURES))
    frame["class"] = np.array(list("gqwzt"))[np.arange(N) % 5]
    return frame


@pytest.mark.parametrize("form", ["float16", "Int64", "category", "bytes", "upper",
                                  "bool one-hot"])
def test_parquet_column_types_read_exactly(form: str, tmp_path: Path) -> None:
    frame = _table()
    if form == "float16":
        frame["zlogz"] = frame["zlogz"].astype(np.float16)
    elif form == "Int64":
        frame["multiplicity"] = pd.array(np.arange(N) + 5, dtype="Int64")
    elif form == "category":
        frame["class"] = frame["class"].astype("category")
    elif form == "bytes":
        frame["class"] = [c.encode() for c in frame["class"]]
    elif form == "upper":
        frame["class"] = frame["class"].str.upper()
    else:
        for label, letter in zip(LABEL_COLUMNS, "gqwzt"):
            frame[label] = _table()["class"] == letter
        frame = frame.drop(columns="class")
    frame.to_parquet(tmp_path / "t.parquet")
    table = load_jets(tmp_path / "t.parquet")
    assert np.array_equal(table.x, frame[list(OPENML_FEATURES)].to_numpy(np.float64)
                          .astype(np.float32))
    assert np.array_equal(table.y, np.arange(N) % 5)  # g q W Z t, not alphabetical


def test_macos_twins_and_hidden_files_in_a_folder_are_left_out_and_named(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A folder copied from a Mac to a USB or network drive holds '._a.h5' beside 'a.h5' (the
    AppleDouble twin, not HDF5): the folder read it and stopped with "cannot be opened as HDF5
    ... re-download it", while the glob 'data/*.h5' skipped it. Hidden files are left out of a
    folder as of a glob, with a warning naming them."""
    data = _jets()
    _write(tmp_path / "a.h5", data)
    (tmp_path / "._a.h5").write_bytes(b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        ")
    with caplog.at_level("WARNING"):
        table = load_jets(tmp_path)
    assert table.sources == (str(tmp_path / "a.h5"),)
    assert np.array_equal(table.x, _expected(data))
    warned = " ".join(r.getMessage() for r in caplog.records)
    assert "left out ._a.h5, hidden" in warned and "dot_clean" in warned, warned
    assert load_jets(str(tmp_path / "*.h5")).sources == table.sources  # the glob agrees


@pytest.mark.parametrize("true, false", [("true", "false"), ("1.0", "0.0"), ("yes", "no")])
def test_one_hot_label_columns_written_as_words(true: str, false: str, tmp_path: Path) -> None:
    """A table with the one-hot columns j_g .. j_t as true/false (pandas' to_csv of booleans)
    reads exactly; as yes/no the message said "the 16 features must be numbers" of a label
    column, and "fix or drop those rows" (every row): it now names the label columns' rule."""
    frame = _table()
    letters = frame.pop("class")
    for label, letter in zip(LABEL_COLUMNS, "gqwzt"):
        frame[label] = np.where(letters == letter, true, false)
    frame.to_csv(tmp_path / "t.csv", index=False)
    if true == "yes":
        with pytest.raises(DataError) as caught:
            load_jets(tmp_path / "t.csv")
        message = str(caught.value)
        assert "column j_g holds 100 non-numbers (first: row 0, 0-based: 'yes')" in message
        assert "the 16 features" not in message and "write them as 0 and 1" in message
        assert "one-hot label columns j_g, j_q, j_w, j_z, j_t" in message, message
        return
    assert np.array_equal(load_jets(tmp_path / "t.csv").y, np.arange(N) % 5)


def test_a_csv_without_its_header_row_is_said_so(tmp_path: Path) -> None:
    """to_csv(header=False) or np.savetxt: the first jet's values became the column names and
    the message listed all 16 features as missing, not why."""
    frame = _table()
    frame.to_csv(tmp_path / "t.csv", index=False, header=False)
    with pytest.raises(DataError) as caught:
        load_jets(tmp_path / "t.csv")
    message = str(caught.value)
    assert f"the first row holds numbers ({float(frame.iloc[0, 0])!r}" in message, message
    assert "the table has no header row; add one" in message and "lacks" not in message
    frame.to_csv(tmp_path / "t.csv", index=False)  # with its header: read exactly
    assert np.array_equal(load_jets(tmp_path / "t.csv").y, np.arange(N) % 5)
