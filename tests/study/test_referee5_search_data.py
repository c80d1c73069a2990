"""Round 5: --resume on a data file only appended to, or an HDF5 file whose attributes alone
changed. The rule stays the file's bytes (jetstudy does not compare the jets it reads), and
the refusal says so: the file was only appended to (its first recorded bytes unchanged), that
this is refused even where ``data.max_jets`` reads the same jets, that HDF5 metadata counts,
and how to put the original back. Hand-made study folders, no Ray."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest

from jetstudy.study.provenance import PROVENANCE, data_checksums
from jetstudy.study.resume import check_data_unchanged
from jetstudy.trainables.errors import ConfigError


def _record(folder: Path, *files: Path) -> None:
    folder.mkdir(exist_ok=True)
    (folder / "data_summary.json").write_text(json.dumps({"sources": [str(f) for f in files]}))
    (folder / PROVENANCE).write_text(json.dumps({"data": data_checksums(folder)}))


def test_a_file_only_appended_to_is_refused_saying_so_and_how_to_go_on(tmp_path: Path) -> None:
    jets = tmp_path / "jets.csv"
    original = "label,f0\n0,0.25\n1,0.5\n"
    jets.write_text(original)
    _record(tmp_path / "study", jets)
    with jets.open("a") as f:
        f.write("2,0.75\n")
    with pytest.raises(ConfigError) as caught:
        check_data_unchanged(tmp_path / "study")
    text = str(caught.value)
    n = len(original.encode())
    assert f"only appended to: its first {n} bytes are the recorded ones" in text
    assert "data.max_jets" in text and "HDF5" in text
    assert f"head -c {n} {jets}" in text
    jets.write_text("label,f0\n0,0.25\n1,0.6\n2,0.75\n")  # grown AND edited: no such claim
    with pytest.raises(ConfigError) as caught:
        check_data_unchanged(tmp_path / "study")
    assert "was only appended" not in str(caught.value) and "head -c" not in str(caught.value)


def test_an_hdf5_file_with_changed_attributes_only_is_refused_naming_metadata(
        tmp_path: Path) -> None:
    path = tmp_path / "jets.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("jetConstituentList", data=np.zeros((4, 3), dtype="f4"))
        f.attrs["note"] = "first"
    _record(tmp_path / "study", path)
    check_data_unchanged(tmp_path / "study")
    with h5py.File(path, "r+") as f:
        f.attrs["note"] = "other"  # same datasets, other metadata
        assert np.array_equal(f["jetConstituentList"][()], np.zeros((4, 3), dtype="f4"))
    with pytest.raises(ConfigError) as caught:
        check_data_unchanged(tmp_path / "study")
    text = str(caught.value)
    assert str(path) in text and "attributes (metadata)" in text
    assert "restore the original file" in text


def test_objectives_spelled_out_as_the_metric_alone_is_no_change(tmp_path: Path) -> None:
    """``search.objectives: [val_loss]`` means what leaving it out means; a resume given it was
    refused as a changed field. A real second objective still is refused."""
    from jetstudy.study.config import from_dict
    from jetstudy.study.resume import config_for_resume

    (tmp_path / "config.yaml").write_text(from_dict({"storage": {"name": "s"}}).to_yaml())
    same = from_dict({"storage": {"name": "s"}, "search": {"objectives": ["val_loss"]}})
    assert config_for_resume(same, tmp_path).search.objectives is None  # as saved
    other = from_dict({"storage": {"name": "s"},
                       "search": {"objectives": ["val_loss", "n_params"]}})
    with pytest.raises(ConfigError, match=r"search.objectives: saved null, given \[val_loss, "
                                          r"n_params\]"):
        config_for_resume(other, tmp_path)
