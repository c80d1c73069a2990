"""Referee round 4 (task B): --resume after the data changed, on a hand-made study folder.

Found and fixed here: a resume compared the data only by the split's statistics (jets per
class, the training split's means and widths), so an edit of jets that land in the validation
or test split only (a relabelled test jet, a corrected feature) continued the study on other
jets without a word, though ``provenance.json`` holds each data file's SHA-256. A resume now
checks those checksums first (``jetstudy.study.resume.check_data_unchanged``, called by the
launch) and refuses naming the changed file, its recorded and its present checksum.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jetstudy.study.provenance import PROVENANCE, data_checksums
from jetstudy.study.resume import check_data_unchanged
from jetstudy.trainables.errors import ConfigError


def _study(tmp_path: Path) -> tuple[Path, Path, Path]:
    folder = tmp_path / "study"
    folder.mkdir()
    jets, other = tmp_path / "jets_a.csv", tmp_path / "jets_b.csv"
    jets.write_text("label,f0\n0,0.25\n1,0.5\n")
    other.write_text("label,f0\n2,0.75\n")
    (folder / "data_summary.json").write_text(json.dumps({"sources": [str(jets), str(other)]}))
    (folder / PROVENANCE).write_text(json.dumps({"data": data_checksums(folder)}))
    return folder, jets, other


def test_resume_refuses_a_data_file_whose_bytes_changed(tmp_path: Path) -> None:
    folder, jets, other = _study(tmp_path)
    check_data_unchanged(folder)  # as recorded: goes on
    jets.write_text("label,f0\n0,0.25\n1,0.6\n")  # same size, one test jet edited
    with pytest.raises(ConfigError) as caught:
        check_data_unchanged(folder)
    text = str(caught.value)
    assert str(jets) in text and str(other) not in text
    assert "SHA-256" in text and "restore the original file" in text
    other.write_text("label,f0\n2,0.75\n3,0.1\n")  # longer: named too, without hashing
    with pytest.raises(ConfigError, match=r"files .*jets_a\.csv.*; .*jets_b\.csv"):
        check_data_unchanged(folder)


def test_resume_of_an_older_or_unhashed_study_is_not_refused(tmp_path: Path) -> None:
    folder, jets, _ = _study(tmp_path)
    record = json.loads((folder / PROVENANCE).read_text())
    for entry in record["data"]:  # past the hashing budget at start: nothing to compare
        entry.update(sha256=None, why="not hashed")
    (folder / PROVENANCE).write_text(json.dumps(record))
    jets.write_text("changed\n")
    check_data_unchanged(folder)
    (folder / PROVENANCE).unlink()  # a study from before provenance.json
    check_data_unchanged(folder)
