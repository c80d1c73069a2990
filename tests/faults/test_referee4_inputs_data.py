"""Referee round 4, data files: a data glob reaching into a study folder (``data/**/*.parquet``
with ``storage.results_dir`` under data/) read a study's own outputs as jets whenever they were
not a trials table (predictions, epochs, exported files of any format); only a trials table was
refused, by its columns. Now any file inside a jetstudy study folder is refused, naming it."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest

from jetstudy.trainables.datafiles import resolve_files
from jetstudy.trainables.errors import DataError
from tests.faults.conftest import checksums, jetstudy_here, one_line_error, study_yaml
from tests.faults.test_referee_data import NAMES, _jets


def _old_study(data: Path) -> Path:
    """A finished study under data/results: its mark and outputs that look like jets."""
    old = data / "results" / "old"
    (old / "best").mkdir(parents=True)
    (old / ".jetstudy-study").write_text("")
    frame = pd.DataFrame(_jets(80), columns=NAMES)
    frame.to_parquet(old / "best" / "test_predictions.parquet")  # jets-like columns
    frame.to_csv(old / "export.csv", index=False)
    with h5py.File(old / "export.h5", "w") as handle:
        handle.create_dataset("jets", data=_jets(80))
        handle.create_dataset("jetFeatureNames", data=np.array([n.encode() for n in NAMES]))
    return old


def test_a_data_glob_over_the_results_folder_is_refused_through_the_cli(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    pd.DataFrame(_jets(300), columns=NAMES).to_parquet(data / "jets.parquet")
    _old_study(data)
    study_yaml(tmp_path / "s.yaml", "data/results", "new")
    before = checksums(tmp_path)
    error = one_line_error(jetstudy_here("run", "s.yaml", "--set",
                                         "data.path=data/**/*.parquet", cwd=tmp_path))
    for part in ("data/**/*.parquet", "test_predictions.parquet", "jetstudy study folder",
                 "results_dir"):
        assert part in error, error
    assert checksums(tmp_path) == before  # no new study folder, nothing written
    assert not (data / "results" / "new").exists()


@pytest.mark.parametrize("pattern, fmt", [("data/**/*.csv", "auto"), ("data/**/*.h5", "auto"),
                                          ("data/results/old", "auto"),
                                          ("data/results/old/export.csv", "table")])
def test_study_outputs_in_any_format_are_refused(tmp_path: Path, monkeypatch, pattern: str,
                                                 fmt: str) -> None:
    data = tmp_path / "data"
    data.mkdir()
    _old_study(data)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DataError, match="inside the jetstudy study folder"):
        resolve_files(pattern, fmt)


@pytest.mark.parametrize("mark", [".jetstudy-export.json", ".jetstudy-report"])
def test_exported_and_report_folders_are_refused(tmp_path: Path, monkeypatch, mark: str) -> None:
    out = tmp_path / "data" / "exported"
    out.mkdir(parents=True)
    (out / mark).write_text("{}")
    pd.DataFrame(_jets(30), columns=NAMES).to_csv(out / "inputs.csv", index=False)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DataError, match="inside the jetstudy (export|report) folder"):
        resolve_files("data/**/*.csv", "auto")


def test_a_studys_synthetic_jets_still_read(tmp_path: Path, monkeypatch) -> None:
    """<study>/data holds the synthetic jets a study trains on: data, not output."""
    jets = _old_study(tmp_path / "data") / "data"
    jets.mkdir()
    (jets / ".jetstudy-synthetic.json").write_text("{}")
    pd.DataFrame(_jets(30), columns=NAMES).to_parquet(jets / "synth.parquet")
    monkeypatch.chdir(tmp_path)
    assert resolve_files("data/results/old/data", "auto") == [
        "data/results/old/data/synth.parquet"]


def test_data_beside_the_results_folder_still_reads(tmp_path: Path, monkeypatch) -> None:
    data = tmp_path / "data"
    data.mkdir()
    _old_study(data)
    pd.DataFrame(_jets(30), columns=NAMES).to_parquet(data / "jets.parquet")
    monkeypatch.chdir(tmp_path)
    assert resolve_files("data/*.parquet", "auto") == ["data/jets.parquet"]
