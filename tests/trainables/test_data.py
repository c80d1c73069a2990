"""Reading both real formats, the bad-data messages, the split and the standardiser.

Every file here is written in the real layouts (``shared/hls4ml_schema.md``) in ``tmp_path``;
nothing depends on the synthetic generator.
"""

from __future__ import annotations

import json
import logging
import os
import re
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest

from jetstudy.trainables.data import JetSplits, JetTable, Standardiser, load_jets, split_jets
from jetstudy.trainables.errors import ConfigError, DataError
from jetstudy.trainables.schema import (
    CLASSES,
    HLF_FEATURES,
    JET_FEATURE_NAMES,
    LABEL_COLUMNS,
    OPENML_CLASS_TO_INDEX,
    OPENML_FEATURES,
)

INDEX_TO_LETTER = {i: letter for letter, i in OPENML_CLASS_TO_INDEX.items()}



# ---------------------------------------------------------------------------------------------
# writers of the real formats


def make_jets(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` jets with every class present (labels cycle g, q, W, Z, t) and distinct rows."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, len(HLF_FEATURES))).astype(np.float32)
    x[:, -1] = rng.integers(5, 170, size=n)  # j_multiplicity is an integer count
    y = np.arange(n, dtype=np.int64) % len(CLASSES)
    return x, y


def jets_matrix(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The (N, 59) ``jets`` array in the original column order, noise in the unused columns."""
    rng = np.random.default_rng(1)
    data = rng.normal(size=(len(x), len(JET_FEATURE_NAMES)))
    data[:, JET_FEATURE_NAMES.index("j_ptfrac")] = 1.0
    for i, name in enumerate(HLF_FEATURES):
        data[:, JET_FEATURE_NAMES.index(name)] = x[:, i]
    one_hot = np.eye(len(CLASSES))[y]
    for i, name in enumerate(LABEL_COLUMNS):
        data[:, JET_FEATURE_NAMES.index(name)] = one_hot[:, i]
    data[:, JET_FEATURE_NAMES.index("j_undef")] = 0.0
    return data


def write_format_a(
    path: Path,
    x: np.ndarray,
    y: np.ndarray,
    *,
    order: np.ndarray | None = None,
    names: list[str] | None = None,
    names_as_str: bool = False,
    data: np.ndarray | None = None,
    attrs: dict[str, str] | None = None,
) -> Path:
    """A Format A file; ``order`` permutes the columns (and their names) like files in the wild."""
    data = jets_matrix(x, y) if data is None else data
    names = list(JET_FEATURE_NAMES) if names is None else names
    if order is not None:
        data = data[:, order]
        names = [names[i] for i in order]
    with h5py.File(path, "w") as f:
        f.create_dataset("jets", data=data)
        if names_as_str:
            f.create_dataset("jetFeatureNames", data=names, dtype=h5py.string_dtype())
        else:
            f.create_dataset("jetFeatureNames", data=np.array([n.encode() for n in names]))
        f.create_dataset("jetConstituentList", data=np.zeros((len(data), 3, 16), dtype=np.float32))
        for key, value in (attrs or {}).items():
            f.attrs[key] = value
    return path


def format_b_frame(x: np.ndarray, y: np.ndarray, prefix: bool = False) -> pd.DataFrame:
    """The OpenML table: 16 features (no ``j_`` prefix unless asked) and ``class`` letters."""
    columns = HLF_FEATURES if prefix else OPENML_FEATURES
    frame = pd.DataFrame(x.astype(np.float64), columns=list(columns))
    frame["class"] = [INDEX_TO_LETTER[int(c)] for c in y]
    return frame


def write_format_b(path: Path, frame: pd.DataFrame) -> Path:
    if path.suffix == ".csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)
    return path


# ---------------------------------------------------------------------------------------------
# Format A


@pytest.mark.parametrize("names_as_str", [False, True], ids=["bytes-names", "str-names"])
def test_format_a_selects_hlf_and_labels_by_name(tmp_path: Path, names_as_str: bool) -> None:
    x, y = make_jets(50)
    file = write_format_a(tmp_path / "jets.h5", x, y, names_as_str=names_as_str)
    table = load_jets(str(file))
    assert table.x.dtype == np.float32 and table.y.dtype == np.int64
    np.testing.assert_array_equal(table.x, x)
    np.testing.assert_array_equal(table.y, y)
    assert table.sources == (str(file),)
    assert table.synthetic is None


def test_format_a_shuffled_columns_give_identical_jets(tmp_path: Path) -> None:
    x, y = make_jets(40)
    original = load_jets(write_format_a(tmp_path / "a.h5", x, y))
    order = np.random.default_rng(7).permutation(len(JET_FEATURE_NAMES))
    assert not np.array_equal(order, np.arange(len(order)))
    shuffled = load_jets(write_format_a(tmp_path / "b.h5", x, y, order=order))
    np.testing.assert_array_equal(shuffled.x, original.x)
    np.testing.assert_array_equal(shuffled.y, original.y)


def test_folder_and_glob_read_files_in_sorted_order(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    names = ["part_b.h5", "part_a.h5", "other.hdf5"]
    parts = {name: make_jets(10 * (i + 1), seed=i) for i, name in enumerate(names)}
    for name, (x, y) in parts.items():
        write_format_a(folder / name, x, y)
    (folder / "notes.txt").write_text("not data")

    table = load_jets(folder)
    assert [os.path.basename(s) for s in table.sources] == ["other.hdf5", "part_a.h5", "part_b.h5"]
    expected = [parts[n] for n in ("other.hdf5", "part_a.h5", "part_b.h5")]
    np.testing.assert_array_equal(table.x, np.concatenate([e[0] for e in expected]))
    np.testing.assert_array_equal(table.y, np.concatenate([e[1] for e in expected]))

    globbed = load_jets(str(folder / "part_*.h5"))
    assert [os.path.basename(s) for s in globbed.sources] == ["part_a.h5", "part_b.h5"]
    assert globbed.n_jets == 20 + 10


def test_max_jets_stops_reading_in_file_order(tmp_path: Path) -> None:
    chunks = [make_jets(10, seed=i) for i in range(3)]
    for i, (x, y) in enumerate(chunks):
        write_format_a(tmp_path / f"f{i}.h5", x, y)
    table = load_jets(tmp_path, max_jets=15)
    assert table.n_jets == 15
    assert [os.path.basename(s) for s in table.sources] == ["f0.h5", "f1.h5"]
    np.testing.assert_array_equal(table.x, np.concatenate([chunks[0][0], chunks[1][0][:5]]))


def test_synthetic_mark_only_when_every_file_carries_the_same_run(tmp_path: Path) -> None:
    mark = {"generator": "jetstudy.synth", "version": 1, "seed": 1, "n_jets_total": 30}
    x, y = make_jets(10)
    same, mixed, other_seed = (tmp_path / d for d in ("same", "mixed", "seeds"))
    for folder in (same, mixed, other_seed):
        folder.mkdir()
    for i in range(2):
        write_format_a(same / f"{i}.h5", x, y, attrs={"jetstudy_synthetic": json.dumps(mark)})
    write_format_a(mixed / "0.h5", x, y, attrs={"jetstudy_synthetic": json.dumps(mark)})
    write_format_a(mixed / "1.h5", x, y)
    write_format_a(other_seed / "0.h5", x, y, attrs={"jetstudy_synthetic": json.dumps(mark)})
    other = json.dumps({**mark, "seed": 2})
    write_format_a(other_seed / "1.h5", x, y, attrs={"jetstudy_synthetic": other})

    # the same jets in both files on purpose (only the marks differ): data.duplicates: keep
    assert load_jets(same, duplicates="keep").synthetic == mark
    assert load_jets(mixed, duplicates="keep").synthetic is None
    assert load_jets(other_seed, duplicates="keep").synthetic is None


# ---------------------------------------------------------------------------------------------
# Format B


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
@pytest.mark.parametrize("prefix", [False, True], ids=["openml-names", "j_-names"])
def test_format_b_reads_csv_and_parquet(tmp_path: Path, suffix: str, prefix: bool) -> None:
    x, y = make_jets(30)
    file = write_format_b(tmp_path / f"jets{suffix}", format_b_frame(x, y, prefix=prefix))
    table = load_jets(file)
    np.testing.assert_array_equal(table.x, x)
    np.testing.assert_array_equal(table.y, y)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_format_b_label_mapping_is_hdf5_order_not_alphabetical(tmp_path: Path, suffix: str) -> None:
    x, _ = make_jets(10)
    frame = format_b_frame(x, np.zeros(10, dtype=np.int64))
    letters = ["t", "w", "z", "g", "q", "T", "W", "Z", " G ", "Q"]
    frame["class"] = letters
    table = load_jets(write_format_b(tmp_path / f"jets{suffix}", frame))
    assert table.y.tolist() == [4, 2, 3, 0, 1, 4, 2, 3, 0, 1]
    assert [CLASSES[i] for i in table.y[:3]] == ["t", "W", "Z"]


def test_format_b_accepts_bytes_classes(tmp_path: Path) -> None:
    x, _ = make_jets(5)
    frame = format_b_frame(x, np.zeros(5, dtype=np.int64))
    frame["class"] = [b"t", b"w", b"z", b"g", b"q"]  # Parquet stores these as binary
    parquet = load_jets(write_format_b(tmp_path / "bytes.parquet", frame))
    csv = load_jets(write_format_b(tmp_path / "bytes.csv", frame))  # written as the text "b't'"
    assert parquet.y.tolist() == csv.y.tolist() == [4, 2, 3, 0, 1]


def test_format_b_accepts_arff(tmp_path: Path) -> None:
    x, y = make_jets(12)
    header = ["@RELATION hls4ml_lhc_jets_hlf", ""]
    header += [f"@ATTRIBUTE '{name}' NUMERIC" for name in OPENML_FEATURES]
    header += ["@ATTRIBUTE class {'g','q','t','w','z'}", "", "@DATA"]
    rows = [
        ",".join(repr(float(v)) for v in row) + f",'{INDEX_TO_LETTER[int(c)]}'"
        for row, c in zip(x, y)
    ]
    file = tmp_path / "jets.arff"
    file.write_text("\n".join(header + rows) + "\n")
    table = load_jets(file)
    np.testing.assert_array_equal(table.x, x)
    np.testing.assert_array_equal(table.y, y)


def test_same_jets_in_format_a_and_b_are_identical(tmp_path: Path) -> None:
    x, y = make_jets(25)
    a = load_jets(write_format_a(tmp_path / "jets.h5", x, y))
    b = load_jets(write_format_b(tmp_path / "jets.csv", format_b_frame(x, y)), fmt="table")
    np.testing.assert_array_equal(a.x, b.x)
    np.testing.assert_array_equal(a.y, b.y)


SHARED_REAL_JETS = Path(__file__).resolve().parents[3] / "shared" / "data" / "real_jets_16hlf.csv"


def test_repo_copy_of_real_jets_matches_shared_file(real_jets: pd.DataFrame) -> None:
    if not SHARED_REAL_JETS.exists():
        pytest.skip(f"{SHARED_REAL_JETS} not on this machine")
    shared = pd.read_csv(SHARED_REAL_JETS, comment="#").drop(columns=["source"])
    pd.testing.assert_frame_equal(shared, real_jets)


def test_real_jets_load_as_format_b_and_a(tmp_path: Path, real_jets: pd.DataFrame) -> None:
    real = real_jets
    raw = real[list(HLF_FEATURES)].to_numpy(dtype=np.float64)
    frame = real.rename(columns={**dict(zip(HLF_FEATURES, OPENML_FEATURES)), "label_str": "class"})
    frame = frame[list(OPENML_FEATURES) + ["class"]]
    table_b = load_jets(write_format_b(tmp_path / "real.csv", frame))

    assert table_b.y.tolist() == [0, 0, 2, 4, 3, 2, 1, 0]  # g g W t Z W q g
    np.testing.assert_array_equal(table_b.x, raw.astype(np.float32))
    assert table_b.x[3, HLF_FEATURES.index("j_mass_mmdt")] == pytest.approx(162.144669)
    assert table_b.x[:, -1].tolist() == [34, 75, 31, 61, 39, 35, 30, 113]
    d2_b1 = table_b.x[:, HLF_FEATURES.index("j_d2_b1_mmdt")]
    d2_a1_b1 = table_b.x[:, HLF_FEATURES.index("j_d2_a1_b1_mmdt")]
    np.testing.assert_array_equal(d2_b1, d2_a1_b1)  # the real-data quirk survives the reader

    table_a = load_jets(write_format_a(tmp_path / "real.h5", raw, table_b.y))
    np.testing.assert_array_equal(table_a.x, table_b.x)
    np.testing.assert_array_equal(table_a.y, table_b.y)


# ---------------------------------------------------------------------------------------------
# bad data: one DataError naming the file, the problem and the fix


def _good_a(tmp_path: Path, **kwargs) -> Path:
    x, y = make_jets(20)
    return write_format_a(tmp_path / "x.h5", x, y, **kwargs)


def _text_file(tmp_path: Path, name: str, content: str = "not data") -> Path:
    (tmp_path / name).write_text(content)
    return tmp_path / name


def _drop_dataset(tmp_path: Path, key: str) -> Path:
    file = _good_a(tmp_path)
    with h5py.File(file, "a") as f:
        del f[key]
    return file


def _renamed(tmp_path: Path) -> Path:
    renames = {"j_mass_mmdt": "j_m", "j_multiplicity": "j_n"}
    return _good_a(tmp_path, names=[renames.get(n, n) for n in JET_FEATURE_NAMES])


def _bad_labels(tmp_path: Path, kind: str) -> Path:
    x, y = make_jets(20)
    data = jets_matrix(x, y)
    label_cols = [JET_FEATURE_NAMES.index(c) for c in LABEL_COLUMNS]
    if kind == "none":  # rows 3 and 9 carry no label; row 3 is marked j_undef
        for row in (3, 9):
            data[row, label_cols] = 0.0
        data[3, JET_FEATURE_NAMES.index("j_undef")] = 1.0
    else:  # row 5 is both g and q
        data[5, label_cols[:2]] = 1.0
    return write_format_a(tmp_path / "x.h5", x, y, data=data)


def _nan_a(tmp_path: Path) -> Path:
    x, y = make_jets(20)
    x[[4, 11], HLF_FEATURES.index("j_mass_mmdt")] = np.nan
    x[11, 0] = np.inf
    return write_format_a(tmp_path / "x.h5", x, y)


def _without_z(tmp_path: Path) -> Path:
    x, y = make_jets(20)
    keep = y != CLASSES.index("Z")
    return write_format_a(tmp_path / "x.h5", x[keep], y[keep])


def _table(tmp_path: Path, edit) -> Path:
    x, y = make_jets(20)
    return write_format_b(tmp_path / "x.csv", edit(format_b_frame(x, y)))


def _set(frame: pd.DataFrame, column: str, rows: dict[int, object]) -> pd.DataFrame:
    frame[column] = frame[column].astype(object)
    for row, value in rows.items():
        frame.loc[row, column] = value
    return frame


# case: (make the bad input in tmp_path, load_jets keywords, fragments the message must hold)
BAD_DATA = {
    "missing file": (
        lambda p: p / "nope.h5", {}, ["nope.h5", "no such file", "check the path"],
    ),
    "empty glob": (
        lambda p: p / "*.h5", {}, ["*.h5", "no files match", "check the folder and the pattern"],
    ),
    "empty folder": (
        lambda p: p, {}, ["no .h5/.hdf5", "files (found: nothing)", "put the hls4ml .h5 files"],
    ),
    "not hdf5": (
        lambda p: _text_file(p, "x.h5"), {},
        ["x.h5", "cannot be opened as HDF5", "re-download"],
    ),
    "no jets dataset": (
        lambda p: _drop_dataset(p, "jets"), {},
        ["x.h5", "no `jets` dataset", "keys found: jetConstituentList, jetFeatureNames", "README"],
    ),
    "no names dataset": (
        lambda p: _drop_dataset(p, "jetFeatureNames"), {},
        ["x.h5", "no `jetFeatureNames` dataset", "reads Format A files"],
    ),
    "missing names": (
        _renamed, {},
        [
            "x.h5: jetFeatureNames lacks j_mass_mmdt, j_multiplicity",
            "needs the 16 high-level features", "by name", 'README "Data"',
        ],
    ),
    "width mismatch": (
        lambda p: _good_a(p, names=list(JET_FEATURE_NAMES[:-1])), {},
        ["x.h5", "shape (20, 59)", "has 58 names", "re-create or re-download"],
    ),
    "no label": (
        lambda p: _bad_labels(p, "none"), {},
        [
            "x.h5", "labels are not one-hot in 2 of 20 rows", "1 of them marked j_undef",
            "first: row 3", "exactly one 1 among j_g", "drop the other rows",
        ],
    ),
    "two labels": (
        lambda p: _bad_labels(p, "two"), {},
        ["x.h5", "not one-hot in 1 of 20 rows", "row 5", "j_g=1, j_q=1", "exactly one 1"],
    ),
    "nan in hdf5": (
        _nan_a, {},
        [
            "x.h5", "NaN or inf values in 2 of 20 rows", "first: row 4", "j_zlogz in 1 row,",
            "j_mass_mmdt in 2 rows", "drop those rows",
        ],
    ),
    "inf in table": (
        lambda p: _table(p, lambda f: _set(f, "multiplicity", {6: "inf"})), {},
        ["x.csv", "NaN or inf", "multiplicity in 1 row", "drop those rows"],
    ),
    "class with no jets": (
        _without_z, {},
        ["x.h5", "no jets of class Z", "(found g: 4, q: 4, W: 4, t: 4)", "add files"],
    ),
    "classes cut off by max_jets": (
        _good_a, {"max_jets": 3}, ["x.h5", "no jets of class Z, t", "raise max_jets"],
    ),
    "unknown extension": (
        lambda p: _text_file(p, "x.txt"), {},
        ["x.txt", "unknown extension '.txt'", ".csv, .parquet", "rename or convert"],
    ),
    "unknown table extension": (
        _good_a, {"fmt": "table"}, ["x.h5", "unknown table extension '.h5'", ".csv, .parquet"],
    ),
    "bad fmt": (
        _good_a, {"fmt": "xml"}, ["x.h5", "fmt is 'xml'", "'auto', 'hdf5', 'table'"],
    ),
    "bad max_jets": (_good_a, {"max_jets": 0}, ["x.h5", "max_jets is 0", "integer >= 1"]),
    "table lacks features": (
        lambda p: _table(p, lambda f: f.drop(columns=["mass_mmdt", "zlogz"])), {},
        ["x.csv", "the table lacks zlogz, mass_mmdt", "by name"],
    ),
    "table lacks class": (
        lambda p: _table(p, lambda f: f.drop(columns=["class"])), {},
        ["x.csv", "no `class` column", "letters g, q, w, z, t"],
    ),
    "unknown classes": (
        lambda p: _table(p, lambda f: _set(f, "class", {2: "x", 3: "2", 4: "2"})), {},
        [
            "x.csv", "not among g, q, w, z, t", "'x' (1 rows)", "'2' (2 rows)",
            "numeric codes are ambiguous",
        ],
    ),
    "non-numeric feature": (
        lambda p: _table(p, lambda f: _set(f, "c1_b0_mmdt", {7: "abc"})), {},
        ["x.csv", "column c1_b0_mmdt holds 1 non-numbers", "row 7", "'abc'", "fix or drop"],
    ),
    "corrupt parquet": (
        lambda p: _text_file(p, "x.parquet", "PAR1 garbage"), {},
        ["x.parquet", "cannot be read as Parquet", "export the table again"],
    ),
}


@pytest.mark.parametrize("case", list(BAD_DATA))
def test_bad_data_raises_one_clear_error(tmp_path: Path, case: str) -> None:
    make, kwargs, fragments = BAD_DATA[case]
    path = make(tmp_path)
    with pytest.raises(DataError) as info:
        load_jets(str(path), **kwargs)
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    assert str(path) in message  # the message names what the user gave


# ---------------------------------------------------------------------------------------------
# split and standardise


def id_table(n: int = 1000, seed: int = 0) -> JetTable:
    """Jets whose first feature is the row number, so split membership can be traced."""
    x, y = make_jets(n, seed)
    x[:, 0] = np.arange(n)
    x[:, 1] += 5.0 * (np.arange(n) / n)  # a trend, so subsets have visibly different means
    return JetTable(x=x, y=y, sources=("mem",), synthetic=None)


def row_ids(splits: JetSplits) -> dict[str, np.ndarray]:
    ids = {
        "train": splits.scaler.inverse_transform(splits.x_train)[:, 0],
        "val": splits.scaler.inverse_transform(splits.x_val)[:, 0],
        "test": splits.x_test_raw[:, 0].astype(np.float64),
    }
    return {k: np.rint(v).astype(np.int64) for k, v in ids.items()}


def test_split_is_deterministic_in_the_seed() -> None:
    table = id_table()
    a, b = split_jets(table, 0.2, 0.1, seed=3), split_jets(table, 0.2, 0.1, seed=3)
    for field in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test", "x_test_raw"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    other = split_jets(table, 0.2, 0.1, seed=4)
    assert set(row_ids(a)["test"]) != set(row_ids(other)["test"])


def test_split_partitions_rows_with_exact_fractions_and_stratified_classes() -> None:
    table = id_table(1000)
    splits = split_jets(table, val_fraction=0.2, test_fraction=0.1, seed=1)
    ids = row_ids(splits)
    assert {k: len(v) for k, v in ids.items()} == {"train": 700, "val": 200, "test": 100}
    assert not set(ids["test"]) & (set(ids["train"]) | set(ids["val"]))
    assert not set(ids["train"]) & set(ids["val"])
    assert sorted(np.concatenate(list(ids.values()))) == list(range(1000))
    # rows kept their features and labels
    np.testing.assert_array_equal(splits.x_test_raw, table.x[ids["test"]])
    np.testing.assert_array_equal(splits.y_test, table.y[ids["test"]])
    np.testing.assert_array_equal(splits.y_train, table.y[ids["train"]])
    # each class (200 jets) is spread in proportion
    assert splits.summary["class_counts"]["test"] == {c: 20 for c in CLASSES}
    assert splits.summary["class_counts"]["val"] == {c: 40 for c in CLASSES}
    assert splits.summary["n_jets"] == {"total": 1000, "train": 700, "val": 200, "test": 100}


def test_test_split_does_not_depend_on_val_fraction() -> None:
    table = id_table()
    a = row_ids(split_jets(table, 0.1, 0.2, seed=5))["test"]
    b = row_ids(split_jets(table, 0.3, 0.2, seed=5))["test"]
    np.testing.assert_array_equal(a, b)


def test_scaler_is_fitted_on_training_split_only() -> None:
    table = id_table()
    splits = split_jets(table, 0.2, 0.2, seed=2)
    train_raw = table.x[row_ids(splits)["train"]].astype(np.float64)
    np.testing.assert_allclose(splits.scaler.mean, train_raw.mean(axis=0), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(splits.scaler.std, train_raw.std(axis=0), rtol=1e-12, atol=1e-12)
    full_mean = table.x.mean(axis=0, dtype=np.float64)
    assert not np.allclose(splits.scaler.mean, full_mean, rtol=0, atol=1e-6)
    np.testing.assert_allclose(splits.x_train.mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(splits.x_train.std(axis=0), 1.0, atol=1e-5)
    assert splits.x_train.dtype == splits.x_test.dtype == np.float32
    assert splits.y_train.dtype == np.int64
    np.testing.assert_allclose(splits.scaler.transform(splits.x_test_raw), splits.x_test)


def test_standardiser_round_trip_through_json() -> None:
    x, _ = make_jets(200)
    scaler = Standardiser.fit(x)
    rebuilt = Standardiser.from_dict(json.loads(json.dumps(scaler.to_dict())))
    assert rebuilt == scaler
    assert rebuilt.to_dict()["features"] == list(HLF_FEATURES)
    np.testing.assert_array_equal(rebuilt.transform(x), scaler.transform(x))
    np.testing.assert_allclose(rebuilt.inverse_transform(rebuilt.transform(x)), x, atol=1e-4)


def test_standardiser_from_bad_dict_raises_data_error() -> None:
    scaler = Standardiser.fit(make_jets(20)[0]).to_dict()
    with pytest.raises(DataError, match="scaler.*std > 0.*re-running"):
        Standardiser.from_dict({**scaler, "std": [0.0] * 16})
    with pytest.raises(DataError, match="KeyError"):
        Standardiser.from_dict({"features": scaler["features"], "mean": scaler["mean"]})


def test_standardiser_constant_column_gets_std_one_and_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    x, _ = make_jets(50)
    x[:, 3] = 0.25
    with caplog.at_level(logging.WARNING, logger="jetstudy.trainables.data"):
        scaler = Standardiser.fit(x)
    assert scaler.std[3] == 1.0
    assert HLF_FEATURES[3] in caplog.text
    out = scaler.transform(x)
    assert np.isfinite(out).all() and np.all(out[:, 3] == 0.0)


def test_summary_is_json_ready_and_names_sources_and_synthetic(tmp_path: Path) -> None:
    mark = {"generator": "jetstudy.synth", "version": 1, "seed": 1, "n_jets_total": 100}
    x, y = make_jets(100)
    file = write_format_a(tmp_path / "s.h5", x, y, attrs={"jetstudy_synthetic": json.dumps(mark)})
    summary = split_jets(load_jets(file), 0.2, 0.2, seed=0).summary
    again = json.loads(json.dumps(summary))
    assert again["sources"] == [str(file)]
    assert again["synthetic"] == mark
    assert sum(again["class_counts"]["train"].values()) == again["n_jets"]["train"] == 60


def test_split_errors_for_empty_split_and_class_missing_from_train() -> None:
    with pytest.raises(DataError, match=r"mem: 4 jets give an empty val split .*raise max_jets"):
        split_jets(JetTable(*make_jets(4), sources=("mem",)), 0.1, 0.3, seed=0)
    # 10 jets of each of g, q, W, Z and one t: the t jet sits mid-order and lands in val
    y = np.array([0, 1, 2, 3] * 10 + [4])
    x = np.zeros((len(y), 16), dtype=np.float32)
    with pytest.raises(DataError, match=r"training split has no jets of class t.*'t': 1"):
        split_jets(JetTable(x, y, ("mem",)), 0.3, 0.3, seed=0)


@pytest.mark.parametrize(
    "val, test, message",
    [
        (0.0, 0.2, "val_fraction is 0.0, but must be a number in (0, 1)"),
        (0.2, 1.0, "test_fraction is 1.0"),
        (0.6, 0.5, "val_fraction + test_fraction is 1.1, but must be < 1"),
    ],
)
def test_split_rejects_bad_fractions(val: float, test: float, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        split_jets(id_table(50), val, test, seed=0)
