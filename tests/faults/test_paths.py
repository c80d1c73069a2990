"""Path safety: a study writes only inside ``<results_dir>/<name>``, never into a folder of the
user's, and deletes only files it recorded as it wrote them. Every case plants user files
around and inside the target and checks that every byte of them survives."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from jetstudy.study.checks import folder_name_problem
from jetstudy.study.config import from_dict
from jetstudy.study.paths import STUDY_MARK, claim_study_folder
from jetstudy.study.prepare import SYNTHETIC_RECORD, prepare_data
from tests.faults.conftest import (checksums, jetstudy, jetstudy_here, one_line_error, plant,
                                   study_yaml, unchanged)
from jetstudy.trainables.errors import ConfigError

AROUND = ("notes.txt", "data/my_real_jets.h5", "results/keep.txt", "results/data/jets.h5")


@pytest.mark.parametrize("name", ["..", ".", "../escape", "a/b", ".hidden", "x..y", "/abs",
                                  "a\\b", "tab\there", "nul\x00", "bidi\u202ename", " pad"])
def test_storage_name_must_be_one_plain_folder_name(name: str) -> None:
    assert folder_name_problem(name) or "\x00" in name
    with pytest.raises(ConfigError) as info:
        from_dict({"storage": {"name": name}})
    msg = str(info.value)
    assert msg.startswith("storage.name must be null or one plain folder name")
    assert "set e.g." in msg


@pytest.mark.parametrize("name", ["my-study", "Étude_λ-1", "jets.v2", "[x](javascript:1)"])
def test_plain_names_and_unicode_letters_are_fine(name: str) -> None:
    assert from_dict({"storage": {"name": name}}).storage.name == name


@pytest.mark.parametrize("name", ["..", "../escape"])
def test_cli_refuses_an_escaping_name_and_touches_nothing(tmp_path: Path, name: str) -> None:
    work = tmp_path / "work"
    planted = plant(work, AROUND)
    config = study_yaml(work / "s.yaml", "results", "ok")
    before = checksums(tmp_path)
    run = jetstudy if name == ".." else jetstudy_here  # one as a real subprocess
    err = one_line_error(run("run", config, "--set", f"storage.name={name}", cwd=work))
    assert "storage.name" in err and repr(name) in err and "set e.g." in err
    assert checksums(tmp_path) == before and not unchanged(work, planted)


def test_a_folder_of_the_users_is_never_a_study_folder(tmp_path: Path) -> None:
    work = tmp_path / "work"
    planted = plant(work, ["results/mine/thesis.tex", "results/mine/data/jets.h5", *AROUND])
    config = study_yaml(work / "s.yaml", "results", "mine")
    before = checksums(tmp_path)
    err = one_line_error(jetstudy_here("run", config, cwd=work))
    assert "results/mine" in err and "jetstudy did not write" in err and "storage.name" in err
    assert "data" in err and "thesis.tex" in err
    assert checksums(tmp_path) == before and not unchanged(work, planted)


def test_a_study_name_linking_outside_results_dir_is_refused(tmp_path: Path) -> None:
    work = tmp_path / "work"
    planted = plant(work, ["elsewhere/precious.h5", *AROUND])
    (work / "results").mkdir(exist_ok=True)
    os.symlink(work / "elsewhere", work / "results" / "linked")
    config = study_yaml(work / "s.yaml", "results", "linked")
    before = checksums(tmp_path)
    err = one_line_error(jetstudy_here("run", config, cwd=work))
    assert "outside storage.results_dir" in err and "linked" in err
    assert checksums(tmp_path) == before and not unchanged(work, planted)


def test_bad_data_leaves_no_study_folder_behind(tmp_path: Path) -> None:
    work = tmp_path / "work"
    planted = plant(work, AROUND)
    config = study_yaml(work / "s.yaml", "results", "bad", data={"path": "missing/*.h5"})
    proc = jetstudy_here("run", config, cwd=work)
    assert "missing" in one_line_error(proc)
    assert not (work / "results" / "bad").exists() and not unchanged(work, planted)


def _cfg(n_jets: int, seed: int = 1):
    return from_dict({"data": {"synthetic_jets": n_jets, "synthetic_seed": seed}})


def test_synthetic_clean_up_deletes_only_recorded_files(tmp_path: Path) -> None:
    folder = tmp_path / "study"
    claim_study_folder(folder)
    prepare_data(_cfg(1000), folder)
    ours = sorted(p.name for p in (folder / "data").glob("*.h5"))
    assert ours and (folder / "data" / SYNTHETIC_RECORD).is_file()
    prepare_data(_cfg(1200, seed=2), folder)  # other jets: the recorded files are replaced
    now = sorted(p.name for p in (folder / "data").glob("*.h5"))
    assert now and not set(now) & set(ours)


def test_synthetic_data_folder_with_a_users_file_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "study"
    claim_study_folder(folder)
    prepare_data(_cfg(1000), folder)
    planted = plant(folder, ["data/my_real_jets.h5"])
    before = checksums(folder / "data")
    for cfg in (_cfg(1000), _cfg(1200, seed=2)):  # same jets, and jets to remake
        with pytest.raises(ConfigError, match="my_real_jets.h5.*read as jets.*set data.path"):
            prepare_data(cfg, folder)
        assert checksums(folder / "data") == before and not unchanged(folder, planted)


def test_a_data_link_out_of_the_study_folder_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "study"
    claim_study_folder(folder)
    planted = plant(tmp_path, ["users/jets.h5"])
    os.symlink(tmp_path / "users", folder / "data")
    with pytest.raises(ConfigError, match="outside the study folder"):
        prepare_data(_cfg(1000), folder)
    assert not unchanged(tmp_path, planted)
    assert sorted(os.listdir(tmp_path / "users")) == ["jets.h5"]


@pytest.mark.slow
def test_a_study_leaves_every_user_file_around_it_intact(finished_study) -> None:
    proc, root, folder = finished_study["proc"], finished_study["root"], finished_study["folder"]
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert not unchanged(root, finished_study["planted"])
    assert (folder / STUDY_MARK).is_file() and (folder / "trials.parquet").is_file()
    assert not (folder / "driver.lock").exists()
    # everything the study wrote is inside its folder: besides the planted files and the
    # config, the working folder holds only results/tiny
    new = {p for p in checksums(root) if not p.startswith("results/tiny")}
    expected = {*finished_study["planted"], "study.yaml", "data", "results", "results/other-study",
                "results/data"}
    assert new == expected


@pytest.mark.slow
def test_user_files_inside_a_study_survive_report_and_resume(finished_study) -> None:
    """Files a user drops into a finished study (its folder, its report/, a trial folder)
    survive the report being rebuilt and the study being resumed."""
    root, folder = finished_study["root"], finished_study["folder"]
    assert finished_study["proc"].returncode == 0, finished_study["proc"].stderr[-3000:]
    trial = sorted(p.name for p in (folder / "trials").iterdir())[0]
    inside = plant(folder, ["my_notes.md", "report/my_plot.png", f"trials/{trial}/note.txt",
                            "data/README.txt"])
    report = jetstudy_here("report", folder, "--no-figures", cwd=root)  # clears stale PNGs too
    assert report.returncode == 0, report.stderr[-3000:]
    assert not unchanged(folder, inside)
    resumed = jetstudy("run", finished_study["config"], "--resume", "--no-report", cwd=root)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert not unchanged(folder, inside) and not unchanged(root, finished_study["planted"])


def test_a_link_inside_a_study_folder_leading_out_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "results" / "s"
    claim_study_folder(folder)
    (folder / "config.yaml").write_text("{}\n")
    planted = plant(tmp_path, ["users/precious.txt"])
    os.symlink(tmp_path / "users", folder / "trials")
    with pytest.raises(ConfigError, match="trials.*outside the study folder"):
        claim_study_folder(folder)
    assert not unchanged(tmp_path, planted)


def test_a_users_file_under_a_recorded_name_is_never_deleted(tmp_path: Path) -> None:
    folder = tmp_path / "study"
    claim_study_folder(folder)
    prepare_data(_cfg(1000), folder)
    ours = sorted((folder / "data").glob("*.h5"))[0]
    ours.write_bytes(b"my own jets, copied over jetstudy's file\n")  # the user's now
    before = checksums(folder / "data")
    with pytest.raises(ConfigError, match=f"{ours.name} is not the file jetstudy wrote"):
        prepare_data(_cfg(1200, seed=2), folder)
    assert checksums(folder / "data") == before
