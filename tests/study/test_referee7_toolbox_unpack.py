"""Referee 7 (toolbox): ``jetstudy fetch hls4ml --hdf5`` of an archive that changed upstream.

The archive was unpacked over the old folder: a file the new archive no longer holds stayed,
and the printed ``data.path`` glob (``<folder>/**/*.h5``) read it as data. Now the new archive
is unpacked into a staging folder beside it and swapped in whole, so the unpacked folder holds
exactly the archive. A file of the user's in that folder (one jetstudy did not unpack there:
the marker lists every path it unpacked) is never deleted: the fetch is refused, naming the
file and the fix, and the old folder stays as it was (jetstudy does not choose another place
for a user's file, and leaving it in would mix it with the data).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jetstudy.study.cli import main
from jetstudy.study.fetch import data_path, fetch_dataset
from tests.faults.conftest import checksums, tar_gz

ZENODO = "records/3602260/files"  # the Zenodo URL's path, under a folder mirror
TRAIN, VAL = "hls4ml_LHCjet_150p_train", "hls4ml_LHCjet_150p_val"


def _archive(path: Path, files: dict[str, bytes]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(tar_gz(files))


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and not p.name.startswith(".jetstudy")}


@pytest.fixture
def mirror(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "mirror"
    _archive(root / ZENODO / f"{TRAIN}.tar.gz", {"train/a.h5": b"a1", "train/b.h5": b"b1"})
    _archive(root / ZENODO / f"{VAL}.tar.gz", {"val/v.h5": b"v1"})
    monkeypatch.setenv("JETSTUDY_MIRROR", str(root))
    return root / ZENODO


def test_a_changed_archive_replaces_the_unpacked_folder_whole(mirror: Path,
                                                             tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    assert main(["fetch", "hls4ml", str(cache), "--hdf5"]) == 0
    assert _files(cache / TRAIN) == {"train/a.h5": b"a1", "train/b.h5": b"b1"}
    new = {"train/a.h5": b"a2", "train/c.h5": b"c2"}  # b.h5 no longer in the archive
    _archive(mirror / f"{TRAIN}.tar.gz", new)
    (cache / f"{TRAIN}.tar.gz").unlink()  # e.g. deleted to save room: downloaded afresh
    assert main(["fetch", "hls4ml", str(cache), "--hdf5"]) == 0
    assert _files(cache / TRAIN) == new  # exactly the archive, nothing of the old one
    assert _files(cache / VAL) == {"val/v.h5": b"v1"}
    read = sorted(Path(p).name for p in __import__("glob").glob(data_path(cache),
                                                                 recursive=True))
    assert read == ["a.h5", "c.h5", "v.h5"]
    assert not [p for p in cache.iterdir() if p.name.startswith(".unpack")]  # no staging left


def test_a_users_file_in_the_unpacked_folder_is_kept_and_the_fetch_refused(
        mirror: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cache = tmp_path / "cache"
    assert main(["fetch", "hls4ml", str(cache), "--hdf5"]) == 0
    (cache / TRAIN / "train" / "my_notes.txt").write_text("keep me\n")
    _archive(mirror / f"{TRAIN}.tar.gz", {"train/a.h5": b"a3"})
    (cache / f"{TRAIN}.tar.gz").unlink()
    before = checksums(cache / TRAIN)
    capsys.readouterr()
    assert main(["fetch", "hls4ml", str(cache), "--hdf5"]) == 2
    err = capsys.readouterr().err
    assert "my_notes.txt" in err and "move" in err and "Traceback" not in err, err
    assert checksums(cache / TRAIN) == before  # the old folder, and the user's file, as they were
    (cache / TRAIN / "train" / "my_notes.txt").rename(tmp_path / "my_notes.txt")
    assert main(["fetch", "hls4ml", str(cache), "--hdf5"]) == 0  # as the message says
    assert _files(cache / TRAIN) == {"train/a.h5": b"a3"}


def test_a_folder_unpacked_by_an_older_jetstudy_is_replaced_only_by_what_it_can_tell(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An older jetstudy's marker holds only the digest, no list of paths: the files the new
    archive also holds are replaced, any other file (the old archive's, or the user's: no
    telling) stops the fetch, naming it."""
    from jetstudy.study.fetch import Source
    from jetstudy.trainables.errors import DataError

    root = tmp_path / "mirror"
    _archive(root / "x" / "old.tar.gz", {"train/a.h5": b"a9"})
    monkeypatch.setenv("JETSTUDY_MIRROR", str(root))
    cache = tmp_path / "cache"
    (cache / "old" / "train").mkdir(parents=True)
    (cache / "old" / "train" / "a.h5").write_bytes(b"a0")
    (cache / "old" / ".jetstudy-unpacked").write_text("0" * 64 + "\n")
    source = (Source("https://example.org/x/old.tar.gz", "old.tar.gz", unpack=True),)
    assert fetch_dataset("hls4ml", cache, sources=source) == cache / "old"
    assert _files(cache / "old") == {"train/a.h5": b"a9"}
    marker = json.loads((cache / "old" / ".jetstudy-unpacked").read_text())
    assert "train/a.h5" in marker["files"]
    (cache / "old" / ".jetstudy-unpacked").write_text("1" * 64 + "\n")  # older again
    (cache / "old" / "train" / "z.h5").write_bytes(b"z")
    with pytest.raises(DataError, match=r"train/z\.h5.*move"):
        fetch_dataset("hls4ml", cache, sources=source)
    assert (cache / "old" / "train" / "z.h5").read_bytes() == b"z"


def _stage(parent: Path, name: str, pid: int, extra: str | None = None) -> Path:
    import socket

    stage = parent / name
    (stage / "unpacked" / "train").mkdir(parents=True)
    (stage / "unpacked" / "train" / "a.h5").write_bytes(b"half")
    (stage / "replaced").mkdir()
    (stage / ".jetstudy-staging").write_text(json.dumps(
        {"written_by": "jetstudy", "what": "jetstudy fetch", "host": socket.gethostname(),
         "pid": pid, "start": ""}))
    if extra:
        (stage / extra).write_text("mine\n")
    return stage


def test_an_unpack_a_killed_fetch_left_is_cleared_never_a_look_alike(
        mirror: Path, tmp_path: Path) -> None:
    """A ``kill -9`` mid-unpack leaves its staging folder (an archive's worth of files) in DIR;
    the next fetch removes it once that process is gone. One of a fetch still running, or
    holding anything else, stays."""
    import subprocess
    import sys

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    cache = tmp_path / "cache"
    killed = _stage(cache, ".unpack-tmp-k1ll3d00", dead.pid)
    running = _stage(cache, ".unpack-tmp-l1ve0000", __import__("os").getpid())
    theirs = _stage(cache, ".unpack-tmp-m1ne0000", dead.pid, extra="notes.txt")
    kept = [checksums(running), checksums(theirs)]
    assert main(["fetch", "hls4ml", str(cache), "--hdf5"]) == 0
    assert not killed.exists()
    assert [checksums(running), checksums(theirs)] == kept
