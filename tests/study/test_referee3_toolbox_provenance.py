"""Referee 3 (toolbox): provenance.json names the right commit, the data and the rerun.

- An installed jetstudy inside some other git repository (a virtual environment in the
  user's project) recorded that project's commit as jetstudy's.
- The data files were not recorded with a checksum, nor the folder relative paths start from,
  nor how to rerun the study.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shlex
import subprocess
from pathlib import Path

import pytest

from jetstudy.study.config import from_dict, load_config
from jetstudy.study.prepare import write_config
from jetstudy.study.provenance import (PROVENANCE, code_sha256, data_checksums, git_commit,
                                       rerun_command, write_provenance)


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=cwd,
                   check=True, capture_output=True)


def test_an_install_inside_another_repository_has_no_commit(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "analysis").mkdir(parents=True)
    (project / "analysis" / "mine.py").write_text("x = 1\n")
    _git(project, "init", "-q")
    _git(project, "add", "analysis/mine.py")
    _git(project, "commit", "-q", "-m", "user's work")
    installed = project / ".venv" / "lib" / "site-packages" / "jetstudy"
    (installed / "study").mkdir(parents=True)
    (installed / "study" / "provenance.py").write_text("# the wheel's copy\n")
    assert git_commit(installed) is None
    # the project's top is not jetstudy's source either (it has no tracked study/provenance.py)
    assert git_commit(project) is None
    # jetstudy's own checkout (this test runs from it) still gives its commit
    here = git_commit()
    assert here is not None and len(here["commit"]) == 40


def test_data_files_are_recorded_with_their_checksums(tmp_path: Path) -> None:
    files = [tmp_path / "a.h5", tmp_path / "b.h5"]
    files[0].write_bytes(b"jets one" * 100)
    files[1].write_bytes(b"jets two" * 300)
    (tmp_path / "data_summary.json").write_text(json.dumps({"sources": [str(f) for f in files]}))
    write_provenance(tmp_path, "cpu")
    record = json.loads((tmp_path / PROVENANCE).read_text())
    assert [d["path"] for d in record["data"]] == [str(f) for f in files]
    for entry, f in zip(record["data"], files):
        assert entry["sha256"] == hashlib.sha256(f.read_bytes()).hexdigest()
        assert entry["bytes"] == f.stat().st_size
    assert record["runs"][-1]["data"] == record["data"]
    for name in ("scipy", "pyarrow", "h5py", "pandas"):  # what reads the data and the tables
        assert record["versions"][name], name
    # past the budget a file is listed with its size, unhashed, and says why
    small = data_checksums(tmp_path, budget=1000)
    assert small[0]["sha256"] and small[1]["sha256"] is None and "sha256sum" in small[1]["why"]


def test_rerun_command_is_the_saved_config_from_the_same_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    cfg = from_dict({"data": {"path": "jets/*.h5"}, "search": {"seed": 7, "num_trials": 3},
                     "storage": {"results_dir": "results", "name": "s1"}})
    folder = tmp_path / "results" / "s1"
    folder.mkdir(parents=True)
    write_config(cfg, folder)
    write_provenance(folder, "cpu")
    record = json.loads((folder / PROVENANCE).read_text())
    assert record["cwd"] == str(tmp_path) and record["rerun"] == rerun_command(folder)
    words = shlex.split(record["rerun"])
    assert words[:3] == ["cd", str(tmp_path), "&&"] and words[3:5] == ["jetstudy", "run"]
    config, overrides = words[5], words[6:]
    assert overrides[0] == "--set"
    rerun = load_config(config, [overrides[1]])
    assert rerun.storage.name == "s1-rerun"  # a new folder beside the first
    assert dataclasses.replace(rerun, storage=cfg.storage) == cfg  # every other setting


def test_code_digest_tells_two_sources_apart(tmp_path: Path) -> None:
    """Without git (an installed wheel) two installs of the same version were alike."""
    for part in ("study", "trainables", "analysis", "configs"):
        (tmp_path / part).mkdir()
    (tmp_path / "study" / "a.py").write_text("x = 1\n")
    (tmp_path / "configs" / "dryrun.yaml").write_text("data: {}\n")
    first = code_sha256(tmp_path)
    (tmp_path / "study" / "__pycache__").mkdir()  # not source: no change
    (tmp_path / "study" / "notes.txt").write_text("mine")
    assert code_sha256(tmp_path) == first
    (tmp_path / "study" / "a.py").write_text("x = 2\n")
    assert code_sha256(tmp_path) != first
    write_provenance(tmp_path, "cpu")
    record = json.loads((tmp_path / PROVENANCE).read_text())
    assert record["code_sha256"] == code_sha256()  # of the jetstudy in use
