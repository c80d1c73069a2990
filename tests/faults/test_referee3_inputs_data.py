"""Data files, round 3: the same jets read twice and files without jets. Rounds 1-2 warned only
when two files were byte-for-byte the same jets (a copy cut by max_jets, files from overlapping
ranges, or a folder reaching one file through a link slipped by), and a 0-row file among others
was read without a word."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest

from jetstudy.trainables.errors import DataError
from jetstudy.trainables.formats import load_jets
from tests.faults.conftest import checksums, jetstudy_here, one_line_error, study_yaml
from tests.faults.test_referee_data import NAMES, _jets


def _h5(path: Path, data: np.ndarray) -> Path:
    with h5py.File(path, "w") as handle:
        handle.create_dataset("jets", data=data)
        handle.create_dataset("jetFeatureNames", data=np.array([n.encode() for n in NAMES]))
    return path


def _frame(data: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(data, columns=NAMES)  # Format A's columns as a table


def test_a_link_beside_its_file_is_refused_through_the_cli(tmp_path: Path) -> None:
    """A folder holding a file and a link to it: every jet was read twice, into train and test
    alike, exit 0."""
    data = tmp_path / "data"
    data.mkdir()
    _h5(data / "a.h5", _jets(60))
    os.symlink("a.h5", data / "b.h5")
    study_yaml(tmp_path / "s.yaml", "results", "dup")
    before = checksums(tmp_path)
    error = one_line_error(jetstudy_here("run", "s.yaml", "--set", "data.path=data",
                                         cwd=tmp_path))
    for part in ("b.h5 holds 60 of its 60 jets also in", "a.h5", "the same file, reached "
                 "through a link", "data.duplicates: drop"):
        assert part in error, error
    assert checksums(tmp_path) == before  # no study folder, nothing written


@pytest.mark.parametrize("second", [
    lambda j: _jets(90)[30:],                 # overlapping ranges: rows 30-59 in both
    lambda j: j[::-1].copy(),                 # the same jets, in another order
    lambda j: np.concatenate([_jets(200)[150:], j[:1]]),  # one jet in common
], ids=["overlapping-ranges", "reordered-copy", "one-jet-in-common"])
def test_jets_shared_by_two_files_are_refused(second, tmp_path: Path) -> None:
    jets = _jets(60)
    _h5(tmp_path / "a.h5", jets)
    _h5(tmp_path / "b.h5", second(jets))
    with pytest.raises(DataError) as refused:
        load_jets(tmp_path)
    message = str(refused.value)
    assert message.startswith(str(tmp_path / "b.h5")) and "also in" in message
    assert str(tmp_path / "a.h5") in message and "data.duplicates" in message


def test_a_csv_and_an_hdf5_copy_in_a_glob_of_one_format_each(tmp_path: Path) -> None:
    """The same jets as Format A .h5 and as a table: a study reads one format, but two tables
    (CSV and Parquet) of the same jets are both read."""
    _frame(_jets(60)).to_csv(tmp_path / "a.csv", index=False)
    _frame(_jets(60)).to_parquet(tmp_path / "b.parquet")
    with pytest.raises(DataError, match="b.parquet holds 60 of its 60 jets also in"):
        load_jets(str(tmp_path / "*"), fmt="table")


def test_drop_reads_each_jet_once_and_keep_reads_them_as_they_are(tmp_path: Path,
                                                                   caplog) -> None:
    _h5(tmp_path / "a.h5", _jets(60))
    _h5(tmp_path / "b.h5", _jets(90)[30:])
    with caplog.at_level(logging.WARNING):
        dropped = load_jets(tmp_path, duplicates="drop")
    assert dropped.n_jets == 90  # jets 0-89, each once
    assert len(np.unique(np.column_stack([dropped.x, dropped.y]), axis=0)) == 90
    assert any("30 repeated jets dropped" in r.getMessage() for r in caplog.records)
    assert load_jets(tmp_path, duplicates="keep").n_jets == 120
    with pytest.raises(DataError, match="data.duplicates is 'maybe'"):
        load_jets(tmp_path, duplicates="maybe")


def test_a_jet_repeated_inside_one_file_is_a_warning(tmp_path: Path, caplog) -> None:
    jets = _jets(60)
    _h5(tmp_path / "a.h5", np.concatenate([jets, jets[:5]]))
    with caplog.at_level(logging.WARNING):
        assert load_jets(tmp_path).n_jets == 65
    warned = [r.getMessage() for r in caplog.records if "jets twice" in r.getMessage()]
    assert len(warned) == 1 and "a.h5 holds 5 jets twice" in warned[0]
    assert "data.duplicates: drop" in warned[0]
    assert load_jets(tmp_path, duplicates="drop").n_jets == 60


@pytest.mark.parametrize("empty", ["b.h5", "b.csv"])
def test_a_file_without_jets_among_others_is_left_out_by_name(empty: str, tmp_path: Path,
                                                              caplog) -> None:
    """A 0-row file (a failed export) was read as part of the data without a word."""
    if empty.endswith(".h5"):
        _h5(tmp_path / "a.h5", _jets(60))
        _h5(tmp_path / empty, _jets(60)[:0])
    else:
        _frame(_jets(60)).to_csv(tmp_path / "a.csv", index=False)
        _frame(_jets(60)[:0]).to_csv(tmp_path / empty, index=False)
    with caplog.at_level(logging.WARNING, logger="jetstudy.trainables.formats"):
        assert load_jets(tmp_path).n_jets == 60
    warned = [r.getMessage() for r in caplog.records]
    assert any(f"{tmp_path / empty} holds no jets (0 rows); it is left out" in w
               for w in warned), warned


def test_when_no_file_has_jets_the_error_names_them(tmp_path: Path) -> None:
    _h5(tmp_path / "a.h5", _jets(60)[:0])
    _h5(tmp_path / "b.h5", _jets(60)[:0])
    with pytest.raises(DataError) as refused:
        load_jets(tmp_path)
    message = str(refused.value)
    assert "no jets to read" in message and "a.h5 (0 rows)" in message and "b.h5" in message


@pytest.mark.parametrize("path, parts", [
    ("data/*", ["no files match this pattern", "it matches only folders (a, b)",
                "give 'data/**/*.h5' for every depth"]),
    ("data", ["folder has no", "found: a, b", "give 'data/**/*.h5' for every depth"]),
    ("data/*.h5", ["no files match", "give 'data/**/*.h5'"]),
], ids=["glob-of-folders", "folder-of-folders", "glob-one-level-too-high"])
def test_data_one_level_deeper_is_pointed_at(path: str, parts: list[str], tmp_path: Path,
                                             monkeypatch) -> None:
    """A glob or folder whose data files sit in subfolders (as unpacked archives keep them):
    'no files match' / 'folder has no .h5 files (found: a, b)' without the fix."""
    for sub in ("a", "b"):
        (tmp_path / "data" / sub).mkdir(parents=True)
        _h5(tmp_path / "data" / sub / "jets.h5", _jets(60))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DataError) as refused:
        load_jets(path)
    for part in parts:
        assert part in str(refused.value), str(refused.value)


def test_the_study_config_field_reaches_the_reader(tmp_path: Path) -> None:
    """data.duplicates in the config is what the study's load uses (study.prepare)."""
    from jetstudy.study.config import load_config
    from jetstudy.study.prepare import load_data

    _h5(tmp_path / "a.h5", _jets(60))
    _h5(tmp_path / "b.h5", _jets(90)[30:])
    for policy, n in (("drop", 90), ("keep", 120)):
        cfg = load_config(None, [f"data.path={tmp_path}", f"data.duplicates={policy}"])
        assert load_data(cfg, tmp_path / "study").table.n_jets == n
    with pytest.raises(DataError, match="data.duplicates"):
        load_data(load_config(None, [f"data.path={tmp_path}"]), tmp_path / "study")
    assert not (tmp_path / "study").exists()


def test_true_false_features_are_refused(tmp_path: Path) -> None:
    """A feature column of true/false (a flag pasted over zlogz) was read as 1.0 and 0.0."""
    from tests.faults.test_referee2_inputs_data import _table

    _table().assign(zlogz=[True, False] * 25).to_parquet(tmp_path / "j.parquet")
    with pytest.raises(DataError, match=r"j\.parquet: column zlogz holds true/false"):
        load_jets(tmp_path / "j.parquet")
    _h5(tmp_path / "j.h5", _jets(60).astype(bool))
    with pytest.raises(DataError, match=r"j\.h5: `jets` holds true/false"):
        load_jets(tmp_path / "j.h5")


def test_feature_names_that_are_numbers_or_a_column(tmp_path: Path) -> None:
    """jetFeatureNames of numbers was 'lacks j_zlogz, ... (all 21)'; names stored as a column
    (N, 1) were not read at all."""
    with h5py.File(tmp_path / "numbers.h5", "w") as handle:
        handle.create_dataset("jets", data=_jets(60))
        handle.create_dataset("jetFeatureNames", data=np.arange(len(NAMES)))
    with pytest.raises(DataError, match="jetFeatureNames holds numbers"):
        load_jets(tmp_path / "numbers.h5")
    with h5py.File(tmp_path / "column.h5", "w") as handle:
        handle.create_dataset("jets", data=_jets(60))
        handle.create_dataset("jetFeatureNames", data=np.array([[n.encode()] for n in NAMES]))
    assert load_jets(tmp_path / "column.h5").n_jets == 60


def test_a_results_table_given_as_data_says_what_it_is(tmp_path: Path) -> None:
    from tests.faults.test_referee2_inputs_tables import _trials

    _trials().to_parquet(tmp_path / "trials.parquet")
    with pytest.raises(DataError, match="it is a jetstudy results table"):
        load_jets(tmp_path / "trials.parquet")


def test_an_hdf5_file_read_as_a_table_names_data_format(tmp_path: Path) -> None:
    """data.format: table on a .h5 file said 'unknown table extension: rename or convert'."""
    _h5(tmp_path / "j.h5", _jets(60))
    with pytest.raises(DataError, match=r"an HDF5 file \(Format A\), but data.format is table.*set data.format: hdf5"):
        load_jets(tmp_path / "j.h5", fmt="table")


def test_a_glob_matching_data_and_other_files_says_narrow_it(tmp_path: Path) -> None:
    """'data/*' over jets.h5 and a README stopped at 'README.txt: unknown extension ... rename
    or convert the file' (the user's README)."""
    (tmp_path / "data").mkdir()
    _h5(tmp_path / "data" / "jets.h5", _jets(60))
    (tmp_path / "data" / "README.txt").write_text("my notes\n")
    with pytest.raises(DataError) as refused:
        load_jets(str(tmp_path / "data" / "*"))
    message = str(refused.value)
    assert "matches 1 file(s) that are no data (README.txt) beside 1 data file(s)" in message
    assert f"'{tmp_path / 'data' / '*.h5'}'" in message
    assert load_jets(tmp_path / "data").n_jets == 60  # the folder reads its data files only


def test_a_class_column_under_another_name_is_pointed_at(tmp_path: Path) -> None:
    from tests.faults.test_referee2_inputs_data import _table

    _table().rename(columns={"class": "label"}).to_csv(tmp_path / "j.csv", index=False)
    with pytest.raises(DataError, match=r"no `class` column \('label' looks like it: rename"):
        load_jets(tmp_path / "j.csv")
