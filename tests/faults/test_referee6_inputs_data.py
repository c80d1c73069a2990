"""Referee round 6, data at the edges the schema allows: a class column of names written out
(gluon, quark, top) was told 'numeric codes are ambiguous'; a folder holding HDF5 files and
tables said only 'ignoring 1 tables' (which, and how to read them instead?). Pinned as read
correctly: ARFF header and value variants (quoted names, REAL/real, quoted letters, a string
class, tabs and spaces, CRLF, % comments between rows), a categorical class column in Parquet,
a CSV with a byte-order mark and a file of 0 jets beside others."""

from __future__ import annotations

import logging
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest

from jetstudy.trainables.errors import DataError
from jetstudy.trainables.formats import load_jets
from jetstudy.trainables.schema import OPENML_FEATURES
from tests.faults.test_referee_data import NAMES, _jets

_BASE = _jets(100)
_LETTERS = np.array(list("gqwzt"))[_BASE[:, 16:21].argmax(1)]
_COUNTS = {"g": 20, "q": 20, "W": 20, "Z": 20, "t": 20}


def _frame() -> pd.DataFrame:
    frame = pd.DataFrame(_BASE[:, :16], columns=OPENML_FEATURES)
    frame["class"] = _LETTERS
    return frame


def test_class_names_written_out_name_the_letters(tmp_path: Path) -> None:
    frame = _frame()
    frame["class"] = frame["class"].map({"g": "gluon", "q": "quark", "w": "W", "z": "Z",
                                         "t": "top"})
    frame.to_csv(tmp_path / "words.csv", index=False)
    with pytest.raises(DataError) as caught:
        load_jets(tmp_path / "words.csv")
    error = str(caught.value)
    assert "'gluon' (20 rows)" in error and "gluon -> g" in error and "top -> t" in error, error
    assert "numeric codes" not in error, error


def test_numeric_class_codes_still_say_they_are_ambiguous(tmp_path: Path) -> None:
    frame = _frame()
    frame["class"] = _BASE[:, 16:21].argmax(1)
    frame.to_csv(tmp_path / "codes.csv", index=False)
    with pytest.raises(DataError, match="numeric codes are ambiguous"):
        load_jets(tmp_path / "codes.csv")


def test_a_folder_mixing_formats_names_what_it_ignores(tmp_path: Path, caplog) -> None:
    with h5py.File(tmp_path / "a.h5", "w") as handle:
        handle["jets"] = _BASE
        handle["jetFeatureNames"] = np.array([n.encode() for n in NAMES])
    _frame().iloc[:10].to_csv(tmp_path / "notes.csv", index=False)
    with caplog.at_level(logging.WARNING):
        table = load_jets(tmp_path)
    assert table.n_jets == 100 and table.sources == (str(tmp_path / "a.h5"),)
    assert "1 table (notes.csv)" in caplog.text and "data.format: table" in caplog.text


def _arff(path: Path, attribute, row, tail: str = "") -> Path:
    lines = (["@relation jets"] + [attribute(n, False) for n in OPENML_FEATURES]
             + [attribute("class", True), "@data"]
             + [row(",".join(f"{v:.9g}" for v in r[:16]), c) for r, c in zip(_BASE, _LETTERS)])
    path.write_text("\n".join(lines) + "\n" + tail)
    return path


@pytest.mark.parametrize("attribute, row", [
    (lambda n, c: f"@attribute '{n}' " + ("{g,q,t,w,z}" if c else "numeric"),
     lambda v, c: f"{v},{c}"),
    (lambda n, c: f'@ATTRIBUTE "{n}" ' + ("{g,q,t,w,z}" if c else "REAL"),
     lambda v, c: f"{v},{c}"),
    (lambda n, c: f"@attribute {n} " + ("{'g','q','t','w','z'}" if c else "real"),
     lambda v, c: f"{v},'{c}'"),
    (lambda n, c: f"@attribute {n} " + ("string" if c else "real"), lambda v, c: f'{v},"{c}"'),
    (lambda n, c: f"@attribute\t{n}\t" + ("{g, q, t, w, z}" if c else "numeric"),
     lambda v, c: f"{v.replace(',', ', ')}, {c}"),
    (lambda n, c: f"@attribute {n} " + ("{g,q,t,w,z}" if c else "numeric"),
     lambda v, c: f"{v},{c}\r\n% a comment\n"),
], ids=["quoted-names", "upper-REAL-dq", "quoted-letters", "string-class", "tabs-spaces",
        "crlf-comments"])
def test_arff_variants_read_the_same_numbers(tmp_path: Path, attribute, row) -> None:
    table = load_jets(_arff(tmp_path / "jets.arff", attribute, row))
    assert table.class_counts() == _COUNTS
    assert np.allclose(table.x, _BASE[:, :16].astype(np.float32), rtol=1e-6, atol=0)


def test_a_categorical_class_column_and_a_bom_csv_are_read(tmp_path: Path) -> None:
    frame = _frame()
    frame["class"] = frame["class"].str.upper().astype("category")
    frame.to_parquet(tmp_path / "cat.parquet")
    (tmp_path / "bom.csv").write_text(_frame().to_csv(index=False), encoding="utf-8-sig")
    for name in ("cat.parquet", "bom.csv"):
        table = load_jets(tmp_path / name)
        assert table.class_counts() == _COUNTS, name
        assert np.array_equal(table.x, _BASE[:, :16].astype(np.float32)), name


def _hdf5_bytes(tmp_path: Path) -> bytes:
    with h5py.File(tmp_path / "real.h5", "w") as handle:
        handle["jets"] = _BASE
        handle["jetFeatureNames"] = np.array([n.encode() for n in NAMES])
    return (tmp_path / "real.h5").read_bytes()


@pytest.mark.parametrize("name, content, words", [
    ("empty.h5", lambda p: b"", "the file is empty: 0 bytes"),
    ("empty.parquet", lambda p: b"", "the file is empty: 0 bytes"),
    ("jets.parquet", _hdf5_bytes, "an HDF5 file by its first bytes: rename it to .h5"),
    ("jets.csv", _hdf5_bytes, "an HDF5 file by its first bytes: rename it to .h5"),
    ("jets.h5", lambda p: (_frame().to_parquet(p / "t.parquet"),
                           (p / "t.parquet").read_bytes())[1], "a Parquet file by its first"),
    ("jets.csv", lambda p: (_frame().to_parquet(p / "t.parquet"),
                            (p / "t.parquet").read_bytes())[1], "rename it to .parquet (tables"),
])
def test_a_file_named_as_another_kind_says_what_it_is(tmp_path: Path, name: str, content,
                                                       words: str) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / name).write_bytes(content(tmp_path))
    with pytest.raises(DataError) as caught:
        load_jets(tmp_path / "in" / name)
    error = str(caught.value)
    assert error.startswith(str(tmp_path / "in" / name)) and words in error, error


def test_class_and_one_hot_columns_must_agree(tmp_path: Path) -> None:
    frame = _frame()
    for i, label in enumerate(("j_g", "j_q", "j_w", "j_z", "j_t")):
        frame[label] = _BASE[:, 16 + i]
    frame.to_csv(tmp_path / "both.csv", index=False)
    table = load_jets(tmp_path / "both.csv")  # the two forms agree: read as either
    assert table.class_counts() == _COUNTS
    frame.loc[3, ["j_g", "j_q", "j_w", "j_z", "j_t"]] = [1.0, 0.0, 0.0, 0.0, 0.0]
    frame.to_csv(tmp_path / "both.csv", index=False)
    with pytest.raises(DataError) as caught:
        load_jets(tmp_path / "both.csv")
    error = str(caught.value)
    assert "disagree in 1 of 100 rows" in error and "row 3" in error, error
    assert "class says Z, the one-hot columns g" in error, error


@pytest.mark.parametrize("owner", ["jets", "/"])
def test_feature_names_kept_as_an_attribute_say_where_they_are(tmp_path: Path,
                                                               owner: str) -> None:
    with h5py.File(tmp_path / "attr.h5", "w") as handle:
        handle["jets"] = _BASE
        handle[owner].attrs["jetFeatureNames"] = np.array([n.encode() for n in NAMES])
    with pytest.raises(DataError) as caught:
        load_jets(tmp_path / "attr.h5")
    error = str(caught.value)
    where = "`jets`" if owner == "jets" else "the file"
    assert f"found as an attribute of {where}" in error and "store it as one" in error, error
