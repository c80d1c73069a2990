"""Referee round 6: a folder where a study writes a file, a file or link where it keeps a folder.

``--resume`` of a study whose ``trials.csv`` had become a folder of the user's ran every trial
and only then failed, naming a temporary ("results/st/.trials.csv.<hex>.tmp: Is a
directory"), with ``trials.parquet`` rewritten and ``epochs.*`` not. Now the study folder is
checked when it is claimed, before any work: one error naming the entry and the fix, nothing
touched; and an atomic write that cannot rename into place names the file meant.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from jetstudy.study.prepare import check_folder
from jetstudy.trainables.atomic import write_atomic
from jetstudy.trainables.errors import ConfigError
from tests.faults.conftest import checksums, fake_study, plant


def _study(folder: Path) -> None:
    """A study folder as jetstudy leaves it (its mark, config, tables)."""
    fake_study(folder, ("config.yaml", "scaler.json", "trials.parquet", "epochs.parquet"),
               ("trials", "data", "ray"))


def _misplace(folder: Path, name: str, kind: str) -> None:
    """The entry ``name`` of the study folder replaced by a user's folder, file, or link to
    the user's file ``mine.txt`` beside it (inside the study folder: one leading out of it is
    refused as such since round 1)."""
    path = folder / name
    if path.is_dir():
        path.rmdir()
    else:
        path.unlink(missing_ok=True)
    if kind == "folder":
        plant(path, ["mine.txt"])
    elif kind == "file":
        path.write_text("the user's file\n")
    else:
        plant(folder, ["mine.txt"])
        path.symlink_to("mine.txt")


@pytest.mark.parametrize("name, kind", [
    ("trials.csv", "folder"), ("epochs.parquet", "folder"), ("reference.json", "folder"),
    ("trials.parquet", "link"), ("scaler.json", "link"),
    ("trials", "file"), ("data", "link"), ("ray", "file")])
def test_a_misplaced_entry_is_refused_before_any_work(tmp_path: Path, name: str,
                                                      kind: str) -> None:
    folder = tmp_path / "results" / "st"
    _study(folder)
    _misplace(folder, name, kind)
    before = checksums(tmp_path)
    with pytest.raises(ConfigError) as refused:
        check_folder(folder, resume=True)
    text = str(refused.value)
    assert f"{folder / name} is a {kind}" in text and "move it out of" in text, text
    assert checksums(tmp_path) == before


def test_an_atomic_write_onto_a_folder_names_the_file_meant(tmp_path: Path) -> None:
    target = tmp_path / "trials.csv"
    plant(target, ["mine.txt"])
    before = checksums(tmp_path)
    with pytest.raises(OSError) as failed:
        write_atomic(target, lambda tmp: Path(tmp).write_text("a,b\n"))
    assert failed.value.filename == str(target), failed.value
    assert failed.value.errno in (errno.EISDIR, errno.ENOTEMPTY, errno.EEXIST), failed.value
    assert checksums(tmp_path) == before  # no temporary left beside it


def test_a_file_named_best_is_refused_not_hidden(tmp_path: Path) -> None:
    """A user's file named ``best`` in a study folder: the evaluation moved it aside to
    ``.best.old-<hex>`` and left it there, out of view. Now refused when the study folder is
    claimed, and by the evaluation itself (a study claimed by an older jetstudy)."""
    from jetstudy.study.evaluate import BestFolderNotOurs, _check_best_folder

    folder = tmp_path / "results" / "st"
    _study(folder)
    _misplace(folder, "best", "file")
    before = checksums(tmp_path)
    with pytest.raises(ConfigError) as refused:
        check_folder(folder, resume=True)
    assert f"{folder / 'best'} is a file" in str(refused.value), refused.value
    with pytest.raises(BestFolderNotOurs) as skipped:
        _check_best_folder(folder / "best")
    assert "is a file jetstudy did not write" in str(skipped.value), skipped.value
    assert checksums(tmp_path) == before


def test_a_failed_rename_names_the_file_meant() -> None:
    """An immutable ``model.onnx`` (``chattr +i``) under ``export --force`` said
    "out/.export-tmp-6koqrbw8/model.onnx: Operation not permitted", and ``report`` printed the
    raw "[Errno 1] ... '.report-tmp-...' -> 'index.html'" with no fix: os.replace names its
    source first. Now the destination, with the fix (a missing source is still the source)."""
    from jetstudy.analysis.report import _unwritable
    from jetstudy.study.os_errors import os_problem

    def cut(code: int, src: str, dst: str) -> OSError:
        return OSError(code, os.strerror(code), src, None, dst)

    text = os_problem(cut(errno.EPERM, "out/.export-tmp-x/model.onnx", "out/model.onnx"))
    assert text.startswith("out/model.onnx: ") and "immutable" in text, text
    text = os_problem(cut(errno.ENOENT, "out/.export-tmp-x/model.onnx", "out/model.onnx"))
    assert text.startswith("out/.export-tmp-x/model.onnx: "), text
    text = str(_unwritable(Path("rep"), cut(errno.EPERM, "rep/.report-tmp-x/index.html",
                                            "rep/index.html")))
    assert "rep/index.html: " in text and ".report-tmp" not in text, text
    assert "immutable" in text and "-o" in text, text
