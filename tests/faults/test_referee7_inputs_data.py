"""Referee round 7, data files: a data.path that names nothing said only "no such file or
folder" where the folder holds the file in another case (JETS.h5 for jets.h5), the file
without its suffix (jets for jets.h5), a near-miss (jest.h5), or where two existing files were
joined by a comma. The real schema at its edges (the 16 features in another order, an extra
column, float16/float64/int features, one-hot in a table) is read to the numbers."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest

from jetstudy.trainables.datafiles import resolve_files
from jetstudy.trainables.errors import DataError
from jetstudy.trainables.formats import load_jets
from jetstudy.trainables.schema import (HLF_FEATURES, JET_FEATURE_NAMES, LABEL_COLUMNS,
                                        OPENML_FEATURES)

_RNG = np.random.default_rng(7)
N = 25
X = _RNG.uniform(0.01, 1.0, (N, 16)).round(3)
X[:, 15] = _RNG.integers(5, 100, N)
Y = np.arange(N) % 5


def _missing(tmp_path: Path, given: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DataError) as caught:
        resolve_files(given, "auto")
    return str(caught.value)


@pytest.mark.parametrize("given, meant", [("JETS.h5", "'jets.h5'"), ("jets.H5", "'jets.h5'"),
                                          ("jets", "'jets.h5'"), ("jest.h5", "'jets.h5'")])
def test_a_missing_data_path_names_the_file_meant(tmp_path: Path, given: str, meant: str,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "jets.h5").write_bytes(b"")
    (tmp_path / "notes.txt").write_bytes(b"")
    error = _missing(tmp_path, given, monkeypatch)
    assert error.startswith(f"{given}: no such file or folder") and f"did you mean {meant}" \
        in error, error


def test_a_missing_data_path_with_nothing_near_says_only_that(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "jets.h5").write_bytes(b"")
    error = _missing(tmp_path, "other_sample.parquet", monkeypatch)
    assert "no such file or folder" in error and "did you mean" not in error, error


def test_two_files_joined_by_a_comma_say_to_use_a_folder_or_glob(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("a.h5", "b.h5"):
        (tmp_path / name).write_bytes(b"")
    error = _missing(tmp_path, "a.h5,b.h5", monkeypatch)
    assert "joined by ','" in error and "glob" in error, error


def _frame(columns, order) -> pd.DataFrame:
    frame = pd.DataFrame(X, columns=list(columns))[[columns[i] for i in order]]
    frame["class"] = np.array(list("gqwzt"))[Y]
    return frame


@pytest.mark.parametrize("columns", [OPENML_FEATURES, HLF_FEATURES])
def test_table_features_in_another_order_with_an_extra_column_read_by_name(
        tmp_path: Path, columns) -> None:
    order = list(_RNG.permutation(16))
    frame = _frame(columns, order)
    frame.insert(2, "j_pt" if columns is HLF_FEATURES else "pt", 500.0)
    frame.to_csv(tmp_path / "t.csv", index=False)
    table = load_jets(tmp_path / "t.csv")
    np.testing.assert_allclose(table.x, X.astype(np.float32), rtol=1e-6)
    assert (table.y == Y).all()


@pytest.mark.parametrize("dtype", ["float16", "float64", "int32"])
def test_hdf5_and_parquet_features_of_other_types_are_read_as_written(tmp_path: Path,
                                                                      dtype: str) -> None:
    values = (X * 100).astype(dtype)  # an integer type keeps whole numbers
    full = np.zeros((N, len(JET_FEATURE_NAMES)), dtype=dtype)
    index = {n: i for i, n in enumerate(JET_FEATURE_NAMES)}
    for j, name in enumerate(HLF_FEATURES):
        full[:, index[name]] = values[:, j]
    for j, name in enumerate(LABEL_COLUMNS):
        full[:, index[name]] = (Y == j)
    with h5py.File(tmp_path / "j.h5", "w") as f:
        f["jets"] = full
        f["jetFeatureNames"] = np.array(JET_FEATURE_NAMES, dtype="S")
    frame = pd.DataFrame(values, columns=list(OPENML_FEATURES))
    frame["class"] = np.array(list("gqwzt"))[Y]
    frame.to_parquet(tmp_path / "j.parquet")
    for file in ("j.h5", "j.parquet"):
        table = load_jets(tmp_path / file, duplicates="keep")
        np.testing.assert_array_equal(table.x, values.astype(np.float32))
        assert (table.y == Y).all()


@pytest.mark.parametrize("row, words", [({"j_g": 1, "j_q": 1}, "j_g=1, j_q=1"),
                                        ({"j_g": 0}, "j_g=0, j_q=0, j_w=0, j_z=0, j_t=0")])
def test_table_one_hot_with_two_ones_or_none_is_refused(tmp_path: Path, row: dict,
                                                        words: str) -> None:
    frame = pd.DataFrame(X, columns=list(HLF_FEATURES))
    for j, name in enumerate(LABEL_COLUMNS):
        frame[name] = (Y == j).astype(float)
    for key, value in row.items():
        frame.loc[0, key] = value
    frame.to_csv(tmp_path / "oh.csv", index=False)
    with pytest.raises(DataError, match="not one-hot in 1 of 25 rows") as caught:
        load_jets(tmp_path / "oh.csv")
    assert words in str(caught.value)


@pytest.mark.parametrize("jets, names, found", [
    ("Jets", "jetFeatureNames", "found `Jets` for `jets`"),
    ("jets", "jet_feature_names", "found `jet_feature_names` for `jetFeatureNames`"),
    ("JETS", "JETFEATURENAMES", "f.move('JETFEATURENAMES', 'jetFeatureNames')"),
])
def test_a_format_a_key_spelt_otherwise_names_the_rename(tmp_path: Path, jets: str,
                                                         names: str, found: str) -> None:
    with h5py.File(tmp_path / "k.h5", "w") as f:
        f[jets] = np.zeros((5, len(JET_FEATURE_NAMES)))
        f[names] = np.array(JET_FEATURE_NAMES, dtype="S")
    with pytest.raises(DataError) as caught:
        load_jets(tmp_path / "k.h5")
    error = str(caught.value)
    assert "dataset (keys found:" in error and found in error and "spelt otherwise" in error, \
        error
