"""Bad data files, round 2, run as a user would (``jetstudy run --set data.path=...``): exit
status 2, one ``error:`` line naming the file, the problem and the fix, no traceback, nothing
written, no user file changed. Each case is one that round 1 (test_referee_data.py) let through
or named wrongly; the layouts jetstudy must read as they are (compressed, float16, big-endian,
names with spaces) are checked to give the very same jets."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable

import h5py
import numpy as np
import pandas as pd
import pytest

from tests.faults.conftest import (checksums, jetstudy, jetstudy_here, one_line_error,
                                  refused_untouched, study_yaml)
from tests.faults.test_referee_data import NAMES, _jets
from jetstudy.trainables.schema import OPENML_FEATURES

def _names() -> np.ndarray:
    return np.array([n.encode() for n in NAMES])


def _h5(path: Path, data: np.ndarray | None = None, **options) -> Path:
    with h5py.File(path, "w") as handle:
        handle.create_dataset("jets", data=_jets() if data is None else data, **options)
        handle.create_dataset("jetFeatureNames", data=_names())
    return path


def _table(n: int = 50) -> pd.DataFrame:
    frame = pd.DataFrame(np.random.default_rng(1).random((n, 16)), columns=OPENML_FEATURES)
    frame["class"] = np.array(list("gqwzt"))[np.arange(n) % 5]
    return frame


def decimal_comma_row(work: Path) -> str:
    """One row written with decimal commas has more values than the header: with usecols,
    pandas dropped the extra values and the row's features were shifted without a word."""
    lines = _table().to_csv(index=False).splitlines()
    lines[5] = lines[5].replace(".", ",", 2)
    (work / "jets.csv").write_text("\n".join(lines) + "\n")
    return "jets.csv"


def decimal_comma_row_in_arff(work: Path) -> str:
    """The same in ARFF: pandas took the row's first value as an index and shifted the rest,
    so a feature value was reported as an unknown class ('0.9572' (1 rows))."""
    lines = ["@relation jets", *(f"@attribute {n} numeric" for n in OPENML_FEATURES),
             "@attribute class {g,q,w,z,t}", "@data"]
    for i, row in enumerate(_table().itertuples(index=False)):
        values = [f"{v:.4f}" for v in row[:16]]
        if i == 5:
            values[0] = values[0].replace(".", ",")
        lines.append(",".join([*values, row[16]]))
    (work / "jets.arff").write_text("\n".join(lines) + "\n")
    return "jets.arff"


def transposed_jets(work: Path) -> str:
    """`jets` stored (names, N), as column-major writers (MATLAB, Julia) do."""
    with h5py.File(work / "jets.h5", "w") as handle:
        handle.create_dataset("jets", data=_jets().T)
        handle.create_dataset("jetFeatureNames", data=_names())
    return "jets.h5"


def trailing_space(work: Path) -> str:
    """A quoted path with a space at its end (copied from a spreadsheet): 'jets.h5 : no such
    file' did not show the space."""
    _h5(work / "jets.h5")
    return "'jets.h5 '"


def nested_datasets(work: Path) -> str:
    """`jets` and its names in a group (/data/jets), as some rewritten files keep them."""
    with h5py.File(work / "jets.h5", "w") as handle:
        group = handle.create_group("data")
        group.create_dataset("jets", data=_jets())
        group.create_dataset("jetFeatureNames", data=_names())
    return "jets.h5"


def upper_case_names(work: Path) -> str:
    """Format A names in upper case: a table said 'names are case-sensitive', HDF5 did not."""
    with h5py.File(work / "jets.h5", "w") as handle:
        handle.create_dataset("jets", data=_jets())
        handle.create_dataset("jetFeatureNames", data=np.array([n.upper().encode()
                                                                for n in NAMES]))
    return "jets.h5"


def external_link(work: Path) -> str:
    """`jets` an external link to a file elsewhere: the study read (and recorded as its
    source) a file data.path does not name."""
    _h5(work.parent / "elsewhere.h5")
    with h5py.File(work / "jets.h5", "w") as handle:
        handle["jets"] = h5py.ExternalLink(str(work.parent / "elsewhere.h5"), "/jets")
        handle.create_dataset("jetFeatureNames", data=_names())
    return "jets.h5"


def _virtual(work: Path, source: Path) -> str:
    layout = h5py.VirtualLayout(shape=(50, len(NAMES)), dtype="f8")
    layout[:] = h5py.VirtualSource(str(source), "jets", shape=(50, len(NAMES)))
    with h5py.File(work / "jets.h5", "w") as handle:
        handle.create_virtual_dataset("jets", layout, fillvalue=0)
        handle.create_dataset("jetFeatureNames", data=_names())
    return "jets.h5"


def virtual_dataset_source_missing(work: Path) -> str:
    """A virtual dataset whose source file is gone reads as its fill value: the user was told
    'labels are not one-hot in 50 of 50 rows', not that a file is missing."""
    return _virtual(work, work.parent / "gone.h5")


def virtual_dataset_elsewhere(work: Path) -> str:
    _h5(work.parent / "source.h5")
    return _virtual(work, work.parent / "source.h5")


def external_raw_storage(work: Path) -> str:
    raw = work.parent / "jets.bin"
    _jets().astype("<f8").tofile(raw)
    with h5py.File(work / "jets.h5", "w") as handle:
        handle.create_dataset("jets", shape=(50, len(NAMES)), dtype="<f8",
                              external=[(str(raw), 0, h5py.h5f.UNLIMITED)])
        handle.create_dataset("jetFeatureNames", data=_names())
    return "jets.h5"


def glob_of_two_formats(work: Path) -> str:
    """A glob matching an .h5 file and a table read both (a folder reads only the HDF5)."""
    (work / "data").mkdir()
    _h5(work / "data" / "a.h5")
    _table().to_csv(work / "data" / "b.csv", index=False)
    return "data/*"


def class_of_one_jet(work: Path) -> str:
    """One top jet among 49 others: it can sit in one split only, and the validation and test
    splits' AUC for t was NaN (a log warning, easily missed; val_auc searches blind)."""
    data = _jets()
    data[:, 16:] = 0.0
    data[np.arange(50), 16 + np.arange(50) % 4] = 1.0
    data[0, 16:] = 0.0
    data[0, 20] = 1.0
    _h5(work / "jets.h5", data)
    return "jets.h5"


def integer_class_codes(work: Path) -> str:
    """Class codes 0-4 in a nullable integer column: refused (ambiguous), but the message
    showed numpy's reprs (np.int64(0))."""
    frame = _table()
    frame["class"] = pd.array(np.arange(50) % 5, dtype="Int64")
    frame.to_parquet(work / "jets.parquet")
    return "jets.parquet"


def empty_feature_column(work: Path) -> str:
    """A feature NaN in every row (an empty column): 'drop those rows' would drop them all."""
    frame = _table()
    frame["mass_mmdt"] = np.nan
    frame.to_csv(work / "jets.csv", index=False)
    return "jets.csv"


#: case -> what the one error line must say
CASES: dict[Callable[[Path], str], list[str]] = {
    decimal_comma_row: ["jets.csv", "line 6 has 19 values but the header 17 names",
                        "decimal comma", "fix or drop that line"],
    decimal_comma_row_in_arff: ["jets.arff", "line 25 has 18 values but the @data rows before "
                                "it 17", "decimal comma"],
    transposed_jets: ["jets.h5", "shape (21, 50)", "it looks transposed",
                      "store its transpose (N, 21)"],
    trailing_space: ["no such file", "its name 'jets.h5 ' starts or ends with a space"],
    nested_datasets: ["jets.h5", "found deeper: /data/jetFeatureNames, /data/jets",
                      "move them there"],
    upper_case_names: ["jets.h5", "jetFeatureNames lacks j_zlogz", "case-sensitive",
                       "'J_ZLOGZ'", "rename them in lower case"],
    external_link: ["jets.h5", "`jets` is an external link to", "elsewhere.h5",
                    "put that file in data.path", "create_dataset('jets'"],
    virtual_dataset_source_missing: ["jets.h5", "`jets` is a virtual dataset", "gone.h5",
                                     "does not exist", "give the source files in data.path"],
    virtual_dataset_elsewhere: ["jets.h5", "`jets` is a virtual dataset", "source.h5"],
    external_raw_storage: ["jets.h5", "`jets` keeps its data in external raw file",
                           "jets.bin", "rewrite this file with the data itself"],
    glob_of_two_formats: ["data/*", "1 HDF5 file (a.h5) and 1 table (b.csv)",
                          "narrow the pattern"],
    class_of_one_jet: ["jets.h5", "the validation split has no jets of class t", "'t': 1",
                       "add jets of class t"],
    empty_feature_column: ["jets.csv", "mass_mmdt is NaN or inf in every one of the 50 rows",
                           "export it again with the feature filled in"],
    integer_class_codes: ["jets.parquet", "0 (10 rows), 1 (10 rows)",
                          "use the OpenML letters"],
}


@pytest.mark.parametrize("case", list(CASES), ids=[c.__name__ for c in CASES])
def test_bad_data_file_gets_one_clear_error(case, workdir: Path, tmp_path: Path) -> None:
    study_yaml(workdir / "s.yaml", "results", "refereed")
    path = case(workdir)
    around = checksums(tmp_path)
    refused_untouched(workdir, "run", "s.yaml", "--set", f"data.path={path}", must=CASES[case],
                      must_not=["np.int64"])
    assert checksums(tmp_path) == around  # nor the files beside it


# ---------------------------------------------------------------------------------------------
# layouts that are fine: the very same jets as a plain float64 file


def _same_jets_as_plain(path: Path, tmp_path: Path) -> None:
    from jetstudy.trainables.formats import load_jets

    plain = load_jets(_h5(tmp_path / "plain.h5", _jets().astype(np.float32).astype(np.float64)))
    table = load_jets(path)
    np.testing.assert_array_equal(table.x, plain.x)
    np.testing.assert_array_equal(table.y, plain.y)


@pytest.mark.parametrize("options", [
    {"compression": "gzip", "chunks": (7, len(NAMES))},
    {"compression": "lzf", "chunks": (7, len(NAMES))},
    {"compression": "gzip", "shuffle": True, "fletcher32": True, "chunks": (10, 3)},
    {"dtype": ">f8"},  # big-endian
    {"dtype": "<f4"},
], ids=["gzip", "lzf", "shuffle-fletcher32", "big-endian", "float32"])
def test_compressed_and_other_dtype_files_read_the_same_jets(options: dict,
                                                             tmp_path: Path) -> None:
    data = _jets().astype(np.float32).astype(np.float64)
    _same_jets_as_plain(_h5(tmp_path / "x.h5", data, **options), tmp_path)


def test_szip_compressed_file_reads_when_h5py_has_szip(tmp_path: Path) -> None:
    if not h5py.h5z.filter_avail(h5py.h5z.FILTER_SZIP):
        pytest.skip("this h5py has no szip encoder")
    data = _jets().astype(np.float32).astype(np.float64)
    _same_jets_as_plain(_h5(tmp_path / "x.h5", data, compression="szip",
                            chunks=(10, len(NAMES))), tmp_path)


def test_float16_features_are_read_as_floats(tmp_path: Path) -> None:
    from jetstudy.trainables.formats import load_jets

    data = _jets().astype(np.float16)
    table = load_jets(_h5(tmp_path / "x.h5", data))
    np.testing.assert_array_equal(table.x, data[:, :16].astype(np.float32))
    assert table.class_counts() == {"g": 10, "q": 10, "W": 10, "Z": 10, "t": 10}


def test_a_name_with_spaces_and_unicode_is_read_through_a_glob(tmp_path: Path) -> None:
    from jetstudy.trainables.formats import load_jets

    folder = tmp_path / "my jëts ü"
    folder.mkdir()
    _h5(folder / "jets 1 ü.h5")
    table = load_jets(str(folder / "*.h5"))
    assert table.n_jets == 50 and table.sources == (str(folder / "jets 1 ü.h5"),)


def test_the_same_jets_in_two_files_are_refused_unless_asked(tmp_path: Path, caplog) -> None:
    """The same table kept as CSV and Parquet in one folder is read twice: the copies land in
    train and test alike. Round 3: an error naming both files and data.duplicates (was a
    warning); `drop` reads each jet once, `keep` reads them as they are."""
    from jetstudy.trainables.errors import DataError
    from jetstudy.trainables.formats import load_jets

    _table().to_csv(tmp_path / "a.csv", index=False)
    _table().to_parquet(tmp_path / "b.parquet")
    with pytest.raises(DataError) as refused:
        load_jets(tmp_path)
    for part in ("b.parquet holds 50 of its 50 jets also in", "a.csv", "data.duplicates: drop"):
        assert part in str(refused.value)
    with caplog.at_level(logging.WARNING, logger="jetstudy.trainables.duplicates"):
        assert load_jets(tmp_path, duplicates="drop").n_jets == 50
    assert any("50 repeated jets dropped" in r.getMessage() for r in caplog.records)
    assert load_jets(tmp_path, duplicates="keep").n_jets == 100


def csv_cut_short(work: Path) -> str:
    """A CSV still being written (or a broken copy): its last line lacks values and newline,
    and its last number may be cut too; it read as 'class has 1 empty rows'."""
    text = _table().to_csv(index=False)
    (work / "jets.csv").write_text(text[:-3])
    return "jets.csv"


def compressed_csv(work: Path) -> str:
    _table().to_csv(work / "jets.csv.gz", index=False)
    return "jets.csv.gz"


def list_of_files(work: Path) -> str:
    _h5(work / "a.h5")
    (work / "files.txt").write_text("a.h5\n")
    return "files.txt"


@pytest.mark.parametrize("case, must", [
    (csv_cut_short, ["jets.csv", "the last line (row 49, 0-based) is cut short",
                     "the file is incomplete"]),
    (compressed_csv, ["jets.csv.gz", "a compressed file (.gz): unpack it first"]),
    (list_of_files, ["files.txt", "a list of files is not read", "put the files in one folder"]),
], ids=["csv-cut-short", "csv-gz", "file-list"])
def test_incomplete_compressed_or_listed_files_say_what_they_are(case, must: list[str],
                                                                 tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    study_yaml(work / "s.yaml", "results", "refereed")
    path = case(work)
    before = checksums(work)
    err = one_line_error(jetstudy_here("run", "s.yaml", "--set", f"data.path={path}",
                                       cwd=work))
    for text in must:
        assert text in err, (text, err)
    assert checksums(work) == before


def test_a_file_another_program_is_writing_says_so(tmp_path: Path) -> None:
    """h5py's 'unable to lock file' was told as 'check it is a complete hls4ml .h5 file
    (re-download it if truncated)'. The writer holds the lock in this process; the reader is
    the jetstudy command, another process, as it would be for a user."""
    import os

    if os.environ.get("HDF5_USE_FILE_LOCKING", "").upper() == "FALSE":
        pytest.skip("HDF5 file locking is switched off here")
    work = tmp_path / "work"
    work.mkdir()
    study_yaml(work / "s.yaml", "results", "refereed")
    with h5py.File(work / "jets.h5", "w") as writer:
        writer.create_dataset("jets", data=_jets())
        writer.create_dataset("jetFeatureNames", data=_names())
        writer.flush()
        before = checksums(work)
        proc = jetstudy("run", "s.yaml", "--set", "data.path=jets.h5", cwd=work, timeout=120)
        err = one_line_error(proc)
        assert "jets.h5: another program has the file open for writing" in err
        assert "re-download" not in err
        assert checksums(work) == before


def _format_a_as_table(n: int = 50) -> pd.DataFrame:
    """Format A's columns saved as a table (e.g. `pd.DataFrame(jets, columns=names)`): the 16
    features by their HDF5 names, the one-hot labels and j_undef, other columns beside."""
    frame = pd.DataFrame(_jets(n), columns=NAMES)
    frame["j_undef"] = 0.0
    frame["j_pt"] = 500.0
    return frame


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_format_a_columns_saved_as_a_table_are_read_by_their_one_hot_labels(
        suffix: str, tmp_path: Path) -> None:
    """A table of Format A's columns (one-hot j_g ... j_t, no `class`) was refused ('no
    `class` column'); its labels are named, so they are read as in HDF5."""
    from jetstudy.trainables.formats import load_jets

    frame = _format_a_as_table()
    path = tmp_path / f"jets{suffix}"
    frame.to_csv(path, index=False) if suffix == ".csv" else frame.to_parquet(path)
    table, plain = load_jets(path), load_jets(_h5(tmp_path / "plain.h5"))
    np.testing.assert_array_equal(table.y, plain.y)
    np.testing.assert_array_equal(table.x, plain.x)


@pytest.mark.parametrize("edit, must", [
    (lambda f: f.assign(j_q=1.0), ["labels are not one-hot in 40 of 50 rows",
                                   "exactly one 1 among j_g, j_q, j_w, j_z, j_t"]),
    (lambda f: f.drop(columns="j_t"), ["no `class` column", "or the one-hot columns j_g"]),
], ids=["two-hot", "a-label-column-missing"])
def test_one_hot_tables_are_checked_like_hdf5(edit, must: list[str], tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    study_yaml(work / "s.yaml", "results", "refereed")
    edit(_format_a_as_table()).to_csv(work / "jets.csv", index=False)
    before = checksums(work)
    err = one_line_error(jetstudy_here("run", "s.yaml", "--set", "data.path=jets.csv", cwd=work))
    for text in must:
        assert text in err, (text, err)
    assert checksums(work) == before


def test_a_double_star_glob_reads_every_depth(tmp_path: Path) -> None:
    """'data/**/*.h5' read only the files one folder down (glob without recursive=True): the
    files in data/ itself and two folders down were left out without a word."""
    from jetstudy.trainables.formats import load_jets

    for sub in ("", "a", "a/b"):
        (tmp_path / "data" / sub).mkdir(parents=True, exist_ok=True)
        _h5(tmp_path / "data" / sub / f"jets{len(sub)}.h5", _jets(50 + len(sub) * 5))
    # the files overlap (each starts with the same jets): read them all as they are
    table = load_jets(str(tmp_path / "data" / "**" / "*.h5"), duplicates="keep")
    assert sorted(Path(s).name for s in table.sources) == ["jets0.h5", "jets1.h5", "jets3.h5"]
    assert table.n_jets == 50 + 55 + 65


def test_a_relative_glob_that_matches_nothing_names_the_folder_it_started_from(
        tmp_path: Path) -> None:
    """--resume from another folder: a relative data.path glob matched nothing there, and the
    message did not say where it looked (a relative file did)."""
    work = tmp_path / "work"
    work.mkdir()
    study_yaml(work / "s.yaml", "results", "refereed")
    err = one_line_error(jetstudy_here("run", "s.yaml", "--set", "data.path=jets/*.h5",
                                       cwd=work))
    assert f"jets/*.h5: no files match this pattern (relative paths start from {work})" in err
