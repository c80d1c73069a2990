"""Unpacking a fetched tar archive (``jetstudy fetch hls4ml --hdf5``) beside it.

The archive ``DIR/<name>.tar.gz`` unpacks into ``DIR/<name>/``, which then holds exactly the
archive's files and jetstudy's marker :data:`UNPACKED` (JSON: the archive's SHA-256 and every
path unpacked). It is unpacked into a staging folder in ``DIR`` first and swapped in whole, so
an archive that changed (upstream, or put there by hand) replaces the old folder: no file of
the old archive stays to be read as data, and a cut unpack leaves the old folder as it was.

A file in that folder that jetstudy did not unpack there (not in the marker's list) is the
user's: it is never deleted, nor moved elsewhere by jetstudy (it could not tell where the
user wants it); the fetch is refused, naming it, because leaving it in the folder would mix it
with the data ``data.path``'s glob reads. A marker of an older jetstudy holds only the
digest: then only the files the new archive holds too are taken as jetstudy's.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import stat
import tarfile
import warnings
from pathlib import Path

from jetstudy.trainables.atomic import held_signals
from jetstudy.trainables.errors import DataError
from jetstudy.trainables.staging import (STAGING_MARK, left_by_a_dead_run, looks_like_staging,
                                        plain_file, staging_folder)
from jetstudy.trainables.plain_read import read_plain

__all__ = ["UNPACKED", "unpack", "unpacked_by_jetstudy"]

logger = logging.getLogger(__name__)

#: In each folder an archive was unpacked into: the archive's SHA-256 and the paths unpacked.
UNPACKED = ".jetstudy-unpacked"
_STAGE = ".unpack-tmp-"  # staging folders in DIR (same file system: the swap is a rename)
_WRITER = "jetstudy fetch"
#: An older jetstudy's marker: the archive's SHA-256, after "unpacking " while cut.
_OLD_MARK = re.compile(r"(unpacking )?[0-9a-f]{1,64}\Z")
_DIGEST = re.compile(r"[0-9a-f]{64}\Z")


def unpacked_by_jetstudy(out: Path) -> tuple[str, frozenset[str] | None] | None:
    """``(archive SHA-256, paths unpacked)`` from jetstudy's marker in ``out`` (paths None
    for an older jetstudy's marker, which lists none); None when ``out`` holds no marker of
    jetstudy's (a file of the user's by that name counts as none)."""
    marker = out / UNPACKED
    if out.is_symlink() or not plain_file(marker):
        return None
    try:
        text = read_plain(marker)
    except (OSError, UnicodeDecodeError):
        return None
    if _OLD_MARK.match(text.strip()):
        return text.strip(), None
    try:
        raw = json.loads(text)
    except ValueError:
        return None
    if not (isinstance(raw, dict) and raw.get("written_by") == _WRITER
            and isinstance(raw.get("sha256"), str) and _DIGEST.match(raw["sha256"])
            and isinstance(raw.get("files"), list)
            and all(isinstance(p, str) for p in raw["files"])):
        return None
    return raw["sha256"], frozenset(raw["files"])


def _raise(exc: OSError) -> None:
    raise exc


def _entries(root: Path) -> list[str]:
    """Every path under ``root`` (files, folders, links, not followed), relative, with ``/``;
    the marker left out."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root, onerror=_raise):
        for name in dirnames + filenames:
            rel = os.path.relpath(os.path.join(dirpath, name), root).replace(os.sep, "/")
            if rel != UNPACKED:
                found.append(rel)
    return sorted(found)


def _left_by_a_killed_fetch(stage: Path) -> bool:
    """``stage`` (a staging-named folder in DIR) is an unpack a killed fetch of this host left:
    its mark names ``jetstudy fetch`` and a process that is gone, and it holds nothing but the
    mark, the half-made ``unpacked`` folder and the ``replaced`` old one (real folders)."""
    names = left_by_a_dead_run(stage, _WRITER)
    if names is None or not set(names) <= {STAGING_MARK, "unpacked", "replaced"}:
        return False
    try:
        return all(stat.S_ISDIR((stage / n).lstat().st_mode) for n in names if n != STAGING_MARK)
    except OSError:
        return False


def _clear_killed_unpacks(folder: Path) -> None:
    """Remove the staging folders of unpacks a killed fetch left in ``folder`` (an archive's
    worth of files each); anything else under such a name stays."""
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return
    for name in names:
        stage = folder / name
        if looks_like_staging(folder, name, _STAGE) and _left_by_a_killed_fetch(stage):
            shutil.rmtree(stage, ignore_errors=True)
            logger.info("fetch: cleared %s, left by a killed fetch", stage)


def _refuse_yours(out: Path, archive: Path, digest: str, was: str, yours: list[str],
                  listed: bool) -> None:
    if not yours:
        return
    shown = ", ".join(yours[:3]) + (f" and {len(yours) - 3} more" if len(yours) > 3 else "")
    older = "" if listed else (
        f" ({out} was unpacked by an older jetstudy, which kept no list of the files it "
        f"unpacked: these may be the old archive's; delete them if so)")
    raise DataError(
        f"fetch: {out} holds {len(yours)} file(s) jetstudy did not unpack there: {shown}{older}; "
        f"{archive.name} changed since that folder was unpacked (SHA-256 {digest}, was "
        f"{was.removeprefix('unpacking ')}), and the new archive replaces the folder whole, so "
        f"that no file of the old one is read as data; jetstudy never deletes your files, and "
        f"left in that folder they would be read with the data: move them out of {out}, then "
        f"run the same command again")


def unpack(archive: Path, folder: Path) -> Path:
    """Unpack the tar archive ``archive`` into ``folder/<its name>`` (once: the marker
    records it), staged and swapped in whole; refuses paths that leave the folder, links and
    special files."""
    out = folder / archive.name.removesuffix(".tar.gz").removesuffix(".tgz")
    from jetstudy.study.fetch_record import file_sha256

    digest = file_sha256(archive)
    mark = unpacked_by_jetstudy(out)
    if mark is not None and mark[0] == digest:
        return out
    if mark is None and (out.is_symlink() or (out.exists() and (not out.is_dir()
                                                                 or any(out.iterdir())))):
        raise DataError(f"fetch: {out} already holds files jetstudy did not unpack there; "
                        f"unpacking {archive.name} would overwrite them: move them away or "
                        f"give another DIR")
    if mark is not None and mark[1] is not None:  # before the (long) unpack
        _refuse_yours(out, archive, digest, mark[0],
                      [p for p in _entries(out) if p not in mark[1]], True)
    _clear_killed_unpacks(folder)
    with staging_folder(folder, _STAGE, _WRITER) as stage:
        new = stage / "unpacked"
        new.mkdir()
        try:
            with tarfile.open(archive) as tar:
                _extract(tar, new)
        except (tarfile.TarError, EOFError, ValueError) as exc:  # FilterError is a TarError
            raise DataError(f"fetch: {archive} cannot be unpacked ({type(exc).__name__}: "
                            f"{exc}); it is not the archive jetstudy expects: delete it, then "
                            f"fetch again") from None
        paths = _entries(new)
        if mark is not None and mark[1] is None:  # an older jetstudy's: no list to go by
            _refuse_yours(out, archive, digest, mark[0],
                          [p for p in _entries(out) if p not in set(paths)], False)
        (new / UNPACKED).write_text(json.dumps(
            {"written_by": _WRITER, "archive": archive.name, "sha256": digest,
             "files": paths}, indent=1) + "\n")
        with held_signals():  # both renames or neither (a kill -9 between: out is made anew)
            if out.is_dir() and not out.is_symlink():
                os.rename(out, stage / "replaced")  # removed with the staging folder
                logger.info("fetch: %s changed since %s was unpacked; replacing it",
                            archive.name, out)
            os.rename(new, out)
    return out


def _extract(tar: tarfile.TarFile, out: Path) -> None:
    """Unpack ``tar`` into ``out``: plain files and folders inside ``out`` only. Python's
    ``data`` filter where it exists (3.10.12+, 3.11.4+), the same rules by hand before that
    (``extractall(filter=...)`` is a TypeError there)."""
    if hasattr(tarfile, "data_filter"):
        tar.extractall(out, filter="data")
        return
    root = out.resolve()
    for member in tar.getmembers():
        target = (root / member.name).resolve()
        if not (member.isfile() or member.isdir()):
            raise tarfile.TarError(f"{member.name!r} is a link or a special file")
        if os.path.isabs(member.name) or (target != root and root not in target.parents):
            raise tarfile.TarError(f"{member.name!r} would land outside {out}")
        member.mode = (member.mode | 0o600) & 0o755 if member.isfile() else 0o755
    with warnings.catch_warnings():  # 3.12+ warns without a filter (checked above instead)
        warnings.simplefilter("ignore", DeprecationWarning)
        tar.extractall(out)
