"""Referee round 8, data files: a fill value standing for a missing feature (1e30, -1e30,
float32's largest number) was read as a jet's value, and standardising then squeezed every
other jet's value of that feature to one number: a silent wrong study. A table saved as UTF-16
or UTF-32 (Excel's "Unicode text") was "not UTF-8 text" with a latin-1 fix that garbles it, or,
without a byte-order mark, "lacks zlogz, ...". The real formats at their edges (big-endian,
chunked + compressed + fletcher32, files that differ in column order and type) are read to the
numbers."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest

from jetstudy.trainables.errors import DataError
from jetstudy.trainables.formats import load_jets
from jetstudy.trainables.schema import HLF_FEATURES, JET_FEATURE_NAMES, OPENML_FEATURES
from tests.faults.conftest import checksums, jetstudy_here, one_line_error, study_yaml

_RNG = np.random.default_rng(8)
N = 30


def _jets(n: int = N) -> np.ndarray:
    """Format A ``jets`` (n, 59): features in (0.01, 1), classes in turn, j_undef 0."""
    jets = _RNG.uniform(0.01, 1.0, (n, len(JET_FEATURE_NAMES)))
    labels = np.zeros((n, 5))
    labels[np.arange(n), np.arange(n) % 5] = 1
    jets[:, 53:58], jets[:, 58] = labels, 0
    return jets


def _h5(path: Path, jets: np.ndarray, names=JET_FEATURE_NAMES, **storage) -> Path:
    with h5py.File(path, "w") as handle:
        handle.create_dataset("jets", data=jets, **storage)
        handle["jetFeatureNames"] = np.array([n.encode() for n in names])
    return path


def _hlf(jets: np.ndarray, names=JET_FEATURE_NAMES) -> np.ndarray:
    return jets[:, [list(names).index(n) for n in HLF_FEATURES]].astype(np.float32)


@pytest.mark.parametrize("value", [1e30, -1e30, float(np.finfo(np.float32).max), 1e15])
def test_a_fill_value_in_an_hdf5_feature_is_refused(tmp_path: Path, value: float) -> None:
    jets = _jets()
    jets[4, JET_FEATURE_NAMES.index("j_mass_mmdt")] = value
    with pytest.raises(DataError) as caught:
        load_jets(_h5(tmp_path / "jets.h5", jets))
    error = str(caught.value)
    for part in ("jets.h5: values with |x| >= 1e15 in 1 of 30 rows (first: row 4, 0-based): "
                 "j_mass_mmdt in 1 row", f"j_mass_mmdt = {value:g}", "fill values",
                 "drop those rows"):
        assert part in error, error


def test_a_fill_value_in_a_table_is_refused_through_the_cli(tmp_path: Path) -> None:
    frame = pd.DataFrame(_jets(300)[:, [JET_FEATURE_NAMES.index(n) for n in HLF_FEATURES]],
                         columns=list(OPENML_FEATURES))
    frame["class"] = np.array(list("gqwzt"))[np.arange(300) % 5]
    frame.loc[7, "zlogz"] = 1e30
    frame.to_csv(tmp_path / "jets.csv", index=False)
    study_yaml(tmp_path / "s.yaml", "results", "fill")
    before = checksums(tmp_path)
    error = one_line_error(jetstudy_here("run", "s.yaml", "--set", "data.path=jets.csv",
                                         cwd=tmp_path))
    assert "jets.csv: values with |x| >= 1e15" in error and "zlogz = 1e+30" in error, error
    assert checksums(tmp_path) == before  # no study folder, nothing written


def test_large_values_in_real_units_are_read_as_written(tmp_path: Path) -> None:
    """A mass in MeV (400,000) or eV (4e11) is no fill value: read to the number."""
    jets = _jets()
    jets[:, JET_FEATURE_NAMES.index("j_mass_mmdt")] = _RNG.uniform(0, 4e11, N)
    table = load_jets(_h5(tmp_path / "jets.h5", jets))
    np.testing.assert_array_equal(table.x, _hlf(jets))


@pytest.mark.parametrize("encoding, named", [
    ("utf-16", "UTF-16 text (its first bytes are a byte-order mark)"),
    ("utf-16-le", "UTF-16 text (every other byte is a NUL)"),
    ("utf-16-be", "UTF-16 text (every other byte is a NUL)"),
    ("utf-32", "UTF-32 text (its first bytes are a byte-order mark)"),
])
def test_a_utf16_or_utf32_table_names_its_encoding(tmp_path: Path, encoding: str,
                                                  named: str) -> None:
    frame = pd.DataFrame(_RNG.uniform(0.01, 1, (N, 16)), columns=list(OPENML_FEATURES))
    frame["class"] = np.array(list("gqwzt"))[np.arange(N) % 5]
    frame.to_csv(tmp_path / "jets.csv", index=False, encoding=encoding)
    with pytest.raises(DataError) as caught:
        load_jets(tmp_path / "jets.csv")
    error = str(caught.value)
    assert f"jets.csv: {named}, not UTF-8" in error, error
    assert "iconv -f" in error and "latin-1" not in error and "lacks" not in error, error


def test_a_utf8_table_with_a_bom_and_crlf_still_reads(tmp_path: Path) -> None:
    x = _RNG.uniform(0.01, 1, (N, 16)).round(4)
    frame = pd.DataFrame(x, columns=list(OPENML_FEATURES))
    frame["class"] = np.array(list("gqwzt"))[np.arange(N) % 5]
    frame.to_csv(tmp_path / "jets.csv", index=False, encoding="utf-8-sig", lineterminator="\r\n")
    table = load_jets(tmp_path / "jets.csv")
    np.testing.assert_array_equal(table.x, x.astype(np.float32))
    assert (table.y == np.arange(N) % 5).all()


def test_files_differing_in_byte_order_storage_and_column_order_read_exactly(
        tmp_path: Path) -> None:
    """One folder: big-endian float64; chunked, gzip + shuffle + fletcher32 float32; and a
    file whose 59 columns are in another order, without j_undef — the same 16 features, by
    name, to the bit of float32."""
    a, b, c = _jets(), _jets(), _jets()
    _h5(tmp_path / "a.h5", a.astype(">f8"))
    _h5(tmp_path / "b.h5", b.astype("<f4"), chunks=(10, 59), compression="gzip", shuffle=True,
        fletcher32=True)
    order = [int(i) for i in _RNG.permutation(58)]  # j_undef (column 58) left out
    _h5(tmp_path / "c.h5", c[:, order], [JET_FEATURE_NAMES[i] for i in order])
    table = load_jets(tmp_path)
    expected = np.concatenate([_hlf(a), _hlf(b.astype("<f4")), _hlf(c)])
    np.testing.assert_array_equal(table.x, expected)
    assert (table.y == np.tile(np.arange(N) % 5, 3)).all()


def _table(tmp_path: Path, column: str, row: int, value: object) -> Path:
    frame = pd.DataFrame(_RNG.uniform(0.01, 1, (N, 16)).round(3), columns=list(OPENML_FEATURES))
    frame["class"] = np.array(list("gqwzt"))[np.arange(N) % 5]
    frame[column] = frame[column].astype(object)
    frame.loc[row, column] = value
    frame.to_csv(tmp_path / "jets.csv", index=False)
    return tmp_path / "jets.csv"


@pytest.mark.parametrize("column, said", [
    ("class", "column class has values not among g, q, w, z, t: 'xxxxx"),
    ("zlogz", "column zlogz holds 1 non-numbers (first: row 3, 0-based: 'xxxxx"),
])
def test_a_cell_holding_a_pasted_page_is_shown_cut_short(tmp_path: Path, column: str,
                                                         said: str) -> None:
    """A 100,000-character cell was printed whole in the one error line."""
    with pytest.raises(DataError) as caught:
        load_jets(_table(tmp_path, column, 3, "x" * 100_000))
    error = str(caught.value)
    assert said in error and "... (100000 characters)" in error and len(error) < 400, error


def test_an_unknown_class_word_gets_no_numeric_code_hint(tmp_path: Path) -> None:
    """'x' alone for a class was told "numeric codes are ambiguous", as if it were a number."""
    with pytest.raises(DataError) as caught:
        load_jets(_table(tmp_path, "class", 3, "x"))
    error = str(caught.value)
    assert "'x' (1 rows)" in error and "numeric" not in error, error


def test_an_hdf5_file_of_thousands_of_other_keys_lists_a_few(tmp_path: Path) -> None:
    """An HDF5 file without `jets` but with 3,000 datasets (images, another data set) listed
    every key: a 33,000-character error line."""
    with h5py.File(tmp_path / "images.h5", "w") as handle:
        for i in range(3000):
            handle[f"img_{i:05d}"] = np.zeros(2)
    with pytest.raises(DataError) as caught:
        load_jets(tmp_path / "images.h5")
    error = str(caught.value)
    assert "keys found: img_00000, " in error and "img_00009, ... (3000 in all))" in error
    assert len(error) < 400, error


def _csv_lines(x: np.ndarray) -> list[str]:
    frame = pd.DataFrame(x, columns=list(OPENML_FEATURES))
    frame["class"] = np.array(list("gqwzt"))[np.arange(len(x)) % 5]
    return frame.to_csv(index=False).splitlines()


def test_a_decimal_comma_in_one_column_of_every_row_is_refused(tmp_path: Path) -> None:
    """Every row one value longer than the header: pandas took the first column as row names
    and read each feature from its neighbour (zlogz got c1_b0_mmdt's values, mass_mmdt 732.0
    for 0,732), exit 0 — a silent wrong study."""
    x = _RNG.uniform(0.01, 1, (N, 16)).round(3)
    lines = _csv_lines(x)
    rows = []
    for line in lines[1:]:
        values = line.split(",")
        values[14] = values[14].replace(".", ",")  # mass_mmdt written 0,732
        rows.append(",".join(values))
    (tmp_path / "jets.csv").write_text("\n".join([lines[0], *rows]) + "\n")
    with pytest.raises(DataError) as caught:
        load_jets(tmp_path / "jets.csv")
    error = str(caught.value)
    assert "every row has 1 value more than the header's 17 names" in error, error
    assert f"(the first row's: {x[0, 0]})" in error and "decimal comma" in error, error


@pytest.mark.parametrize("shape", ["trailing comma", "row numbers", "row names"])
def test_rows_with_a_trailing_comma_or_row_names_read_exactly(tmp_path: Path,
                                                              shape: str) -> None:
    """'...,g,' on every row (some exporters end rows with the separator) read every value one
    column off ('multiplicity holds 30 non-numbers: g'); unnamed row names (R's write.table)
    still read."""
    x = _RNG.uniform(0.01, 1, (N, 16)).round(3)
    lines = _csv_lines(x)
    rows = {"trailing comma": [f"{line}," for line in lines[1:]],
            "row numbers": [f'"{i + 1}",{line}' for i, line in enumerate(lines[1:])],
            "row names": [f"jet{i},{line}" for i, line in enumerate(lines[1:])]}[shape]
    (tmp_path / "jets.csv").write_text("\n".join([lines[0], *rows]) + "\n")
    table = load_jets(tmp_path / "jets.csv")
    np.testing.assert_array_equal(table.x, x.astype(np.float32))
    assert (table.y == np.arange(N) % 5).all()
    assert load_jets(tmp_path / "jets.csv", max_jets=7).n_jets == 7
