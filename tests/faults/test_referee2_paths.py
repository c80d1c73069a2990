"""Referee, round 2: nothing a user owns is ever lost through jetstudy's own bookkeeping.

A manifest or mark under jetstudy's name (``.jetstudy-synthetic.json``, ``.jetstudy-report``,
``.jetstudy-fetch.json``, ``.jetstudy-study``), planted or copied beside the user's files, never
makes jetstudy delete, overwrite or append to them; hidden staging folders a killed command
left are cleared by its next run only when provably its own (name, mark, a dead process),
never a look-alike of the user's; two spellings of one study folder meet one lock; a link in
a trial's folder is never written through. Each case runs the command line as a user would
and compares checksums of the user's files before and after."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest

from tests.faults.conftest import (checksums, hdf5_archive, jetstudy_here, one_line_error, plant,
                                  study_yaml)

MARK = ".jetstudy-study"
SYNTH_TMP = "jetImage_synth_1_0_1000.h5.tmp"


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _marked_study(root: Path, name: str = "s") -> Path:
    """A study folder jetstudy made (its mark) but whose study never started."""
    folder = root / "results" / name
    folder.mkdir(parents=True)
    (folder / MARK).write_text("made by jetstudy: the study folder\n")
    return folder


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


# ---- manifests that are not jetstudy's ---------------------------------------------------

@pytest.mark.parametrize("trusted", [False, True], ids=["users-list", "planted-jetstudy-list"])
def test_a_planted_synthetic_record_never_deletes_the_users_files(trusted: bool,
                                                                  workdir: Path) -> None:
    """``<study>/data/.jetstudy-synthetic.json`` listing the user's files (a cut write's
    temporaries, by the record) made the synthetic clean-up delete them: the record was read
    without asking who wrote it, and any ``.tmp`` it listed counted as jetstudy's."""
    folder = _marked_study(workdir)
    data = folder / "data"
    mine = plant(data, ["my_jets.h5.tmp", SYNTH_TMP, "notes.tmp"])
    record = {"seed": 9, "n_jets": 5, "complete": False,
              "files": ["my_jets.h5.tmp", SYNTH_TMP, "notes.tmp", "../../notes.txt"]}
    if trusted:
        record["written_by"] = "jetstudy"
    (data / ".jetstudy-synthetic.json").write_text(json.dumps(record))
    around = plant(workdir, ["notes.txt"])
    config = study_yaml(workdir / "study.yaml", "results", "s")
    before = checksums(workdir)
    err = one_line_error(jetstudy_here("run", config, cwd=workdir))
    assert SYNTH_TMP in err and "move" in err
    assert checksums(workdir) == before
    assert all(checksums(data)[n] == d for n, d in mine.items()) and around


@pytest.mark.parametrize("users", [["trials.parquet", "notes.txt"], ["best/model.pt"],
                                   ["report/index.html"]])
def test_a_marked_folder_holding_the_users_files_is_theirs(users: list[str],
                                                          workdir: Path) -> None:
    """A folder carrying jetstudy's mark but holding the user's own tables or models (their
    files put into a study folder that never started, or a copied mark) was taken for
    jetstudy's to fill: the study wrote over ``trials.parquet`` and ``best/``."""
    folder = _marked_study(workdir)
    plant(folder, users)
    config = study_yaml(workdir / "study.yaml", "results", "s")
    before = checksums(workdir)
    err = one_line_error(jetstudy_here("run", config, cwd=workdir))
    assert str(folder) in err and users[0].split("/")[0] in err and "storage.name" in err
    assert checksums(workdir) == before


def test_a_mark_that_is_a_link_or_folder_is_not_jetstudys(workdir: Path) -> None:
    folder = workdir / "results" / "s"
    plant(folder / MARK, ["inside.txt"])  # a folder of the user's under the mark's name
    config = study_yaml(workdir / "study.yaml", "results", "s")
    before = checksums(workdir)
    err = one_line_error(jetstudy_here("run", config, cwd=workdir))
    assert "storage.name" in err
    assert checksums(workdir) == before


@pytest.mark.parametrize("listed", ["notes.txt", "style.css"])
def test_a_planted_report_manifest_never_deletes_the_users_files(listed: str, finished_study,
                                                                 tmp_path: Path) -> None:
    """A ``.jetstudy-report`` listing a user's file with its exact SHA-256 made the file
    "an earlier report's": the report deleted it as a stale figure (``--force`` or not)."""
    out = tmp_path / "site"
    mine = plant(out, [listed])
    (out / ".jetstudy-report").write_text(json.dumps(
        {"written_by": "jetstudy report", "files": {listed: [_sha(out / listed)]}}))
    err = one_line_error(jetstudy_here("report", finished_study["folder"], "-o", out,
                                       cwd=tmp_path))
    assert listed in err and "--force" in err
    proc = jetstudy_here("report", finished_study["folder"], "-o", out, "--force",
                         "--no-figures", cwd=tmp_path)  # it clears stale PNGs all the same
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (out / "index.html").is_file()
    assert checksums(out)[listed] == mine[listed]


# ---- fetch: its record names only the very files it made ---------------------------------

@pytest.fixture
def mirror(monkeypatch) -> Iterator[dict]:
    """A local HTTP mirror (``JETSTUDY_MIRROR``) serving the OpenML table's path."""
    from tests.study.http_server import serving
    from tests.study.test_fetch import _Handler, _Server

    srv = _Server(("127.0.0.1", 0), _Handler)
    srv.files, srv.cut_first, srv.requests = {}, 0, []
    srv.files["/datasets/0004/42468/dataset_42468.pq"] = b"downloaded bytes\n" * 100
    with serving(srv):
        monkeypatch.setenv("JETSTUDY_MIRROR", f"http://127.0.0.1:{srv.server_address[1]}")
        yield {"server": srv}


TABLE = "hls4ml_lhc_jets_hlf.parquet"


def test_a_planted_fetch_record_never_lets_a_download_replace_the_users_file(
        mirror, workdir: Path) -> None:
    """The record listing the user's own table (by name, with another digest) made fetch
    take it for a changed download and download over it. Since round 6 (fe0a4b1) a file that
    is not the one jetstudy recorded is refused, naming it (it was adopted silently, the
    record's digest overwritten); either way the user's file is never replaced."""
    cache = workdir / "cache"
    mine = plant(cache, [TABLE])
    (cache / ".jetstudy-fetch.json").write_text(json.dumps(
        {TABLE: {"url": "https://openml.org", "sha256": "0" * 64, "size": 1}}))
    err = one_line_error(jetstudy_here("fetch", "hls4ml", "cache", cwd=workdir))
    assert TABLE in err and "never replaces your files" in err
    assert checksums(cache)[TABLE] == mine[TABLE]


def test_a_planted_partial_entry_never_lets_fetch_write_into_the_users_file(
        mirror, workdir: Path) -> None:
    """A record naming ``<file>.part`` as jetstudy's partial download, beside the user's own
    file of that name: fetch appended to it (or, as the server ignored the Range, rewrote it)
    and a wrong checksum would have deleted it."""
    cache = workdir / "cache"
    mine = plant(cache, [f"{TABLE}.part"])
    (cache / ".jetstudy-fetch.json").write_text(json.dumps(
        {f"{TABLE}.part": {"url": "https://openml.org", "partial": True}}))
    before = checksums(workdir)
    err = one_line_error(jetstudy_here("fetch", "hls4ml", "cache", cwd=workdir))
    assert f"{TABLE}.part" in err and "move it away" in err
    assert checksums(workdir) == before and mine


@pytest.mark.parametrize("kind", ["text", "json-list", "link"])
def test_a_users_file_under_the_fetch_record_name_is_never_overwritten(
        kind: str, mirror, workdir: Path) -> None:
    cache = workdir / "cache"
    cache.mkdir()
    mine = plant(workdir / "mine", ["record.txt"])
    record = cache / ".jetstudy-fetch.json"
    if kind == "link":
        record.symlink_to(workdir / "mine" / "record.txt")
    else:
        record.write_text("my notes\n" if kind == "text" else json.dumps([1, 2, 3]))
    before = checksums(workdir)
    err = one_line_error(jetstudy_here("fetch", "hls4ml", "cache", cwd=workdir))
    assert ".jetstudy-fetch.json" in err and "move it away" in err
    assert checksums(workdir) == before and checksums(workdir / "mine") == mine


def test_fetch_still_refreshes_its_own_changed_download(mirror, workdir: Path) -> None:
    """The record's file itself (same inode) changed: downloaded afresh, as documented."""
    proc = jetstudy_here("fetch", "hls4ml", "cache", cwd=workdir)
    assert proc.returncode == 0, proc.stderr[-2000:]
    table = workdir / "cache" / TABLE
    served = mirror["server"].files["/datasets/0004/42468/dataset_42468.pq"]
    assert table.read_bytes() == served
    with open(table, "r+b") as f:  # changed in place
        f.write(b"X")
    proc = jetstudy_here("fetch", "hls4ml", "cache", cwd=workdir)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert table.read_bytes() == served


def test_a_users_folder_with_a_look_alike_unpack_marker_is_never_unpacked_into(
        tmp_path: Path) -> None:
    from jetstudy.study.fetch import _unpack
    from jetstudy.trainables.errors import DataError

    archive = hdf5_archive(tmp_path)
    planted = plant(tmp_path / "hls4ml_hdf5", ["jets.h5", ".jetstudy-unpacked"])
    with pytest.raises(DataError, match="already holds files jetstudy did not unpack"):
        _unpack(archive, tmp_path)
    assert checksums(tmp_path / "hls4ml_hdf5") == planted


# ---- staging folders a killed command left -----------------------------------------------

def _leftover(parent: Path, name: str, what: str, pid: int, files: list[str]) -> Path:
    """A staging folder as a killed ``what`` leaves it (its mark, part of its files)."""
    import socket

    stage = parent / name
    stage.mkdir(parents=True)
    (stage / ".jetstudy-staging").write_text(json.dumps(
        {"written_by": "jetstudy", "what": what, "host": socket.gethostname(), "pid": pid,
         "start": ""}))
    for f in files:
        (stage / f).write_bytes(b"half a file")
    return stage


def _look_alikes(parent: Path, prefix: str, what: str, files: list[str]) -> dict[str, str]:
    """Folders under staging names that are not a dead run's: one without a mark, one
    whose mark names a process still running."""
    plant(parent, [f"{prefix}mine1234/notes.txt"])
    _leftover(parent, f"{prefix}live5678", what, os.getpid(), files)
    return checksums(parent)


@pytest.mark.parametrize("command", ["report", "export", "synth"])
def test_a_killed_commands_staging_is_cleared_by_its_next_run_never_a_look_alike(
        command: str, finished_study, tmp_path: Path) -> None:
    out = tmp_path / "out"
    prefix, what, files = {
        "report": (".report-tmp-", "jetstudy report", ["index.html", "roc.png"]),
        "export": (".export-tmp-", "jetstudy export", ["model.onnx"]),
        "synth": (".jetstudy-synth-", "jetstudy synth", ["jetImage_synth_1_0_100.h5"]),
    }[command]
    stale = _leftover(out, f"{prefix}k1ll3d00", what, _dead_pid(), files)
    theirs = _leftover(out, f"{prefix}f0re1gn0", what, _dead_pid(), [*files, "mine.txt"])
    look = _look_alikes(out, prefix, what, files)
    kept = {k: v for k, v in look.items() if not k.startswith(stale.name)}
    assert theirs.name in kept
    args = {"report": ["report", finished_study["folder"], "-o", out, "--no-figures"],
            "export": ["export", finished_study["folder"], "-o", out],
            "synth": ["synth", out, "--jets", "100"]}[command]
    proc = jetstudy_here(*args, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert not stale.exists()
    now = checksums(out)
    assert {k: now.get(k) for k in kept} == kept
    left = [n for n in os.listdir(out) if n.startswith(prefix)]
    assert sorted(left) == sorted({k.split("/")[0] for k in kept if k.startswith(prefix)})


@pytest.mark.parametrize("command,name", [("report", ".report-tmp-abcdefgh"),
                                          ("report", ".report-tmp-notes"),
                                          ("export", ".export-tmp-abcdefgh")])
def test_a_users_file_named_like_a_staging_folder_makes_the_folder_theirs(
        command: str, name: str, finished_study, tmp_path: Path) -> None:
    """Any entry starting like a staging folder was skipped as jetstudy's: a folder holding
    only the user's ``.report-tmp-notes`` counted as empty and the report went into it."""
    out = tmp_path / "out"
    plant(out, [name])
    before = checksums(tmp_path)
    err = one_line_error(jetstudy_here(command, finished_study["folder"], "-o", out,
                                       cwd=tmp_path))
    assert name in err
    assert checksums(tmp_path) == before


# ---- one driver per study, however its folder is spelled ---------------------------------

@pytest.mark.parametrize("spelling", ["link", "dot-slash", "absolute"])
def test_a_second_driver_through_another_spelling_of_the_folder_is_refused(
        spelling: str, workdir: Path) -> None:
    from jetstudy.study.lock import StudyLock

    folder = _marked_study(workdir)
    (workdir / "via").symlink_to(workdir / "results")
    results_dir = {"link": "via", "dot-slash": "./results/",
                   "absolute": str(workdir / "results")}[spelling]
    config = study_yaml(workdir / "study.yaml", results_dir, "s")
    def files() -> dict[str, str]:  # the lock's heartbeat rewrites driver.lock meanwhile
        return {k: v for k, v in checksums(workdir).items() if "driver.lock" not in k}

    with StudyLock(folder):
        before = files()
        err = one_line_error(jetstudy_here("run", config, cwd=workdir))
        assert "another jetstudy driver" in err and str(os.getpid()) in err
        assert files() == before


# ---- a trial's folder: never written through a link --------------------------------------

def test_a_trial_never_writes_through_links_in_its_folder(tmp_path: Path) -> None:
    from jetstudy.trainables.trialfiles import append_epoch, trial_folder

    plant(tmp_path / "mine", ["log.txt", "theirs/state.pt"])
    mine = checksums(tmp_path / "mine")
    trials = tmp_path / "study" / "trials"
    (trials / "a").mkdir(parents=True)
    (trials / "a" / "epochs.jsonl").symlink_to(tmp_path / "mine" / "log.txt")
    (trials / "a" / "config.json").symlink_to(tmp_path / "mine" / "new.json")  # dangling
    (trials / "b").symlink_to(tmp_path / "mine" / "theirs")
    trial_folder(str(trials), "a", {"depth": 1})
    with pytest.raises(OSError):
        append_epoch(str(trials), "a", {"epoch": 1})
    with pytest.raises(RuntimeError, match="is a link"):
        trial_folder(str(trials), "b", {"depth": 1})
    (trials / "c").mkdir()
    os.link(tmp_path / "mine" / "log.txt", trials / "c" / "epochs.jsonl")
    with pytest.raises(OSError, match="hard-linked"):
        append_epoch(str(trials), "c", {"epoch": 1})
    assert checksums(tmp_path / "mine") == mine


def test_a_killed_drivers_lock_leftovers_are_cleared_never_a_look_alike(tmp_path: Path) -> None:
    """``kill -9`` between writing the lock's temporary and linking it (or while a stale
    lock was moved aside) left hidden ``.driver.lock.*`` files for ever; the next driver
    clears those of dead drivers, and keeps a live contender's and the user's files."""
    import dataclasses
    import uuid

    from jetstudy.study.lock import LockInfo, StudyLock

    folder = _marked_study(tmp_path)
    dead = dataclasses.replace(LockInfo.mine(), pid=_dead_pid()).to_json()
    killed = [f".driver.lock.{uuid.uuid4().hex}.tmp", f".driver.lock.stale-{uuid.uuid4().hex}"]
    for name in killed:
        (folder / name).write_text(dead)
    (folder / f".driver.lock.{uuid.uuid4().hex}.tmp").write_text(LockInfo.mine().to_json())
    plant(folder, [f".driver.lock.{uuid.uuid4().hex}.tmp", ".driver.lock.mine.tmp"])
    kept = {k: v for k, v in checksums(folder).items() if k not in killed}
    with StudyLock(folder):
        pass
    assert checksums(folder) == kept


def test_an_export_never_lands_outside_the_study_through_its_export_link(finished_study,
                                                                        tmp_path: Path) -> None:
    """``<study>/export`` made a link to a folder of the user's: the default export went
    into it (a new trial folder among the user's files, outside the study folder)."""
    import shutil

    study = tmp_path / "tiny"
    shutil.copytree(finished_study["folder"], study, symlinks=True)
    shutil.rmtree(study / "export", ignore_errors=True)
    mine = plant(tmp_path / "theirs", ["notes.txt"])
    (study / "export").symlink_to(tmp_path / "theirs")
    err = one_line_error(jetstudy_here("export", study, cwd=tmp_path))
    assert str(study / "export") in err and "link" in err and "-o" in err
    assert checksums(tmp_path / "theirs") == mine


def test_export_to_a_link_says_it_is_a_link(finished_study, tmp_path: Path) -> None:
    """It said "not a folder; give a new or empty folder" of a link to an empty folder."""
    (tmp_path / "empty").mkdir()
    (tmp_path / "out").symlink_to(tmp_path / "empty")
    err = one_line_error(jetstudy_here("export", finished_study["folder"], "-o", "out",
                                       cwd=tmp_path))
    assert "-o out: a link (to" in err and "give the folder itself" in err
    assert os.listdir(tmp_path / "empty") == []


@pytest.mark.parametrize("kind", ["file", "link"])
def test_a_marked_folder_whose_data_is_not_jetstudys_folder_is_theirs(kind: str,
                                                                      workdir: Path) -> None:
    """``data`` in a marked folder as the user's file, or as a link to their data folder:
    taken for jetstudy's synthetic-jet folder (then an OS error, or jets written beside
    theirs through the link)."""
    folder = _marked_study(workdir)
    mine = plant(workdir / "mine", ["jets.h5"])
    if kind == "file":
        plant(folder, ["data"])
    else:
        (folder / "data").symlink_to(workdir / "mine")
    config = study_yaml(workdir / "study.yaml", "results", "s")
    before = checksums(workdir)
    err = one_line_error(jetstudy_here("run", config, cwd=workdir))
    assert "data" in err and "storage.name" in err
    assert checksums(workdir) == before and checksums(workdir / "mine") == mine
