"""Referee: nothing a user owns is ever lost, by the commands that write beside the study
(``synth``, ``init``, ``fetch``): a file or a link under a name jetstudy uses only for a
moment (a temporary, a partial download, an unpack folder) is never opened, appended to,
moved or deleted, and an empty path is refused rather than read as the current folder.
(Output folders of ``report`` and ``export``, and the study folder, are refereed in
test_report_out.py, test_paths.py and test_referee_paths_kill.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.faults.conftest import checksums, hdf5_archive, jetstudy_here, one_line_error, plant

SYNTH = "jetImage_synth_1_0_100.h5"
TABLE = "hls4ml_lhc_jets_hlf.parquet"
OFFLINE = "http://127.0.0.1:9"  # refuses at once: no network needed


def test_synth_never_writes_through_a_temporary_name(workdir: Path) -> None:
    """``<file>.tmp`` as a link to the user's file, and as the user's own file: both stay
    (the link once made synth overwrite the file it points at with HDF5 bytes)."""
    mine = plant(workdir / "mine", ["target.txt"])
    (workdir / "a").mkdir()
    (workdir / "a" / f"{SYNTH}.tmp").symlink_to(workdir / "mine" / "target.txt")
    plant(workdir / "b", [f"{SYNTH}.tmp"])
    before = checksums(workdir)
    for folder in ("a", "b"):
        proc = jetstudy_here("synth", folder, "--jets", "100", cwd=workdir)
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert (workdir / folder / SYNTH).is_file()
    after = checksums(workdir)
    assert {k: v for k, v in after.items() if k in before} == before
    assert checksums(workdir / "mine") == mine


@pytest.mark.parametrize("command", [["synth", "", "--jets", "100"], ["init", ""],
                                     ["fetch", "hls4ml", " "]])
def test_an_empty_folder_name_is_refused_not_read_as_here(command: list[str],
                                                          workdir: Path) -> None:
    plant(workdir, ["notes.txt"])
    before = checksums(workdir)
    err = one_line_error(jetstudy_here(*command, cwd=workdir))
    assert f"{command[-1] if command[0] == 'fetch' else ''}' is empty" in err
    assert checksums(workdir) == before


def test_init_force_never_replaces_a_folder(workdir: Path) -> None:
    plant(workdir / "jetstudy.yaml", ["my_notes.txt"])
    before = checksums(workdir)
    err = one_line_error(jetstudy_here("init", ".", "--force", cwd=workdir))
    assert "jetstudy.yaml" in err and "folder" in err and "move it away" in err
    assert checksums(workdir) == before


@pytest.mark.parametrize("kind", ["link", "file"])
def test_fetch_never_appends_to_a_partial_name_it_did_not_start(kind: str, workdir: Path,
                                                                monkeypatch) -> None:
    """A ``.part`` that jetstudy did not start (the user's file, or a link to one) is refused
    before any download: appending would change it, a wrong checksum would delete it."""
    monkeypatch.setenv("JETSTUDY_MIRROR", OFFLINE)
    mine = plant(workdir / "mine", ["big.bin"])
    (workdir / "cache").mkdir()
    part = workdir / "cache" / f"{TABLE}.part"
    if kind == "link":
        part.symlink_to(workdir / "mine" / "big.bin")
    else:
        plant(workdir / "cache", [part.name])
    before = checksums(workdir)
    err = one_line_error(jetstudy_here("fetch", "hls4ml", "cache", cwd=workdir))
    assert part.name in err and "move it away" in err
    assert checksums(workdir) == before and checksums(workdir / "mine") == mine


def test_unpack_never_lands_in_a_folder_of_the_users(tmp_path: Path) -> None:
    """The HDF5 archive unpacks into ``DIR/<archive name>``: a folder of the user's there is
    refused (tar would overwrite same-named files); jetstudy's own cut unpack is resumed."""
    from jetstudy.study.fetch import _unpack
    from jetstudy.trainables.errors import DataError

    archive = hdf5_archive(tmp_path)
    planted = plant(tmp_path / "hls4ml_hdf5", ["jets.h5"])
    before = checksums(tmp_path)
    with pytest.raises(DataError, match=r"hls4ml_hdf5 already holds files.*move them away"):
        _unpack(archive, tmp_path)
    assert checksums(tmp_path) == before
    assert checksums(tmp_path / "hls4ml_hdf5") == planted
    (tmp_path / "elsewhere").mkdir()
    moved = tmp_path / "elsewhere" / archive.name
    archive.rename(moved)
    out = _unpack(moved, tmp_path / "elsewhere")
    assert (out / "jets.h5").read_bytes() == b"jets\n"
    (out / ".jetstudy-unpacked").write_text("unpacking 0\n")  # a cut unpack of jetstudy's
    assert _unpack(moved, tmp_path / "elsewhere") == out
    assert (out / "jets.h5").read_bytes() == b"jets\n"


def test_a_users_file_under_a_finished_temporary_name_is_never_deleted(tmp_path: Path) -> None:
    """The synthetic record lists each file's temporary (``<file>.tmp``) before writing; once
    the write completed, a file under that name is someone else's: the next study with other
    jets refuses to clean up rather than deleting it (it once did: any recorded ``.tmp`` was
    taken for a cut write's)."""
    from jetstudy.study.config import from_dict
    from jetstudy.study.paths import claim_study_folder
    from jetstudy.study.prepare import prepare_data
    from jetstudy.trainables.errors import ConfigError

    folder = tmp_path / "study"
    claim_study_folder(folder)
    prepare_data(from_dict({"data": {"synthetic_jets": 1000, "synthetic_seed": 1}}), folder)
    mine = plant(folder / "data", ["jetImage_synth_1_0_1000.h5.tmp"])
    before = checksums(folder / "data")
    with pytest.raises(ConfigError, match=r"jetImage_synth_1_0_1000\.h5\.tmp is not the file "
                                          r"jetstudy wrote.*move it out"):
        prepare_data(from_dict({"data": {"synthetic_jets": 1200, "synthetic_seed": 2}}), folder)
    assert checksums(folder / "data") == before and mine


@pytest.mark.parametrize("resume", [False, True])
def test_a_users_folder_with_its_own_config_yaml_is_no_study(resume: bool,
                                                             workdir: Path) -> None:
    """The user keeps their study config as ``proj/config.yaml`` and names ``proj`` the
    study: a ``config.yaml`` alone made it "a study" (``--resume`` was advised) and
    ``--resume`` then rewrote the user's config.yaml with the resolved one."""
    from tests.faults.conftest import study_yaml

    (workdir / "proj").mkdir()
    study_yaml(workdir / "proj" / "config.yaml", ".", "proj")
    plant(workdir / "proj", ["notes.txt"])
    before = checksums(workdir)
    args = ["run", "proj/config.yaml", *(["--resume"] if resume else [])]
    err = one_line_error(jetstudy_here(*args, cwd=workdir))
    assert "proj" in err and "--resume to continue" not in err
    assert ("config.yaml" in err) if resume else ("notes.txt" in err and "storage.name" in err)
    assert checksums(workdir) == before


@pytest.mark.parametrize("command,manifest", [(["report", "--force"], ".jetstudy-report"),
                                              (["export", "--force"], ".jetstudy-export.json")])
@pytest.mark.parametrize("kind", ["file", "link"])
def test_a_users_file_under_the_manifest_name_is_never_replaced(command: list[str],
                                                                manifest: str, kind: str,
                                                                finished_study,
                                                                tmp_path: Path) -> None:
    """The manifest's name was never counted as the user's: a file (or a link) of theirs
    under it was overwritten by the report's or the export's list of files."""
    out = tmp_path / "out"
    mine = plant(tmp_path / "mine", ["list.txt"])
    out.mkdir()
    if kind == "link":
        (out / manifest).symlink_to(tmp_path / "mine" / "list.txt")
    else:
        plant(out, [manifest])
    before = checksums(tmp_path)
    err = one_line_error(jetstudy_here(command[0], finished_study["folder"], "-o", out,
                                       *command[1:], cwd=tmp_path))
    assert manifest in err and str(out) in err
    assert checksums(tmp_path) == before and checksums(tmp_path / "mine") == mine


@pytest.mark.parametrize("command", ["report", "export"])
def test_an_empty_output_folder_is_refused_not_read_as_here(command: str, finished_study,
                                                            workdir: Path) -> None:
    """``-o ""`` (an unset shell variable) wrote the report or export into the current
    folder (when it was empty or held an earlier one)."""
    err = one_line_error(jetstudy_here(command, finished_study["folder"], "-o", "",
                                       cwd=workdir))
    assert "-o ''" in err and "empty" in err
    assert checksums(workdir) == {}


def test_a_studys_report_link_never_replaces_the_users_files(finished_study,
                                                             tmp_path: Path) -> None:
    """``<study>/report`` made a link to the user's own site: its index.html (a name a
    report writes) was taken for an earlier report's and replaced through the link."""
    import shutil

    study = tmp_path / "tiny"
    shutil.copytree(finished_study["folder"], study, symlinks=True)
    shutil.rmtree(study / "report")
    site = plant(tmp_path / "site", ["index.html", "summary.md", "roc.png"])
    (study / "report").symlink_to(tmp_path / "site")
    err = one_line_error(jetstudy_here("report", study, cwd=tmp_path))
    assert str(study / "report") in err and "link" in err and "-o" in err
    assert checksums(tmp_path / "site") == site


def test_a_users_report_folder_beside_their_own_config_is_kept(finished_study,
                                                               tmp_path: Path) -> None:
    """A lone trials table in the user's folder, beside their own config.yaml: its report/
    was taken for a study's own (from before manifests) and the user's index.html there was
    replaced without a word."""
    import shutil

    proj = tmp_path / "proj"
    proj.mkdir()
    for name in ("config.yaml", "trials.parquet", "epochs.parquet"):
        shutil.copy(finished_study["folder"] / name, proj / name)
    plant(proj / "report", ["index.html"])
    before = checksums(tmp_path)
    err = one_line_error(jetstudy_here("report", proj / "trials.parquet", cwd=tmp_path))
    assert str(proj / "report") in err and "index.html" in err
    assert checksums(tmp_path) == before
