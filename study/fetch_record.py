"""The record a fetch folder keeps of jetstudy's downloads (``.jetstudy-fetch.json``: each
completed file's URL, SHA-256, size and inode, each partial one's), and the SHA-256 of a file:
what lets ``jetstudy fetch`` reuse, resume or replace only files it made itself."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from jetstudy.trainables.atomic import write_atomic
from jetstudy.trainables.errors import DataError
from jetstudy.trainables.staging import plain_file
from jetstudy.trainables.plain_read import read_plain

__all__ = ["RECORD", "file_sha256", "sha256_or_none", "read_record", "same_file", "identity",
           "write_record"]

#: In every fetch folder: file name -> {"url", "sha256", "size"} of each completed download.
RECORD = ".jetstudy-fetch.json"


def file_sha256(path: Path) -> str:
    """The SHA-256 of the file at ``path`` (read in 1 MiB blocks), as hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def sha256_or_none(path: Path) -> str | None:
    """:func:`file_sha256`, or None when the file cannot be read (missing, a folder, no
    permission): for comparing a folder's files with the digests a manifest recorded."""
    try:
        return file_sha256(path)
    except OSError:
        return None


def read_record(folder: Path) -> dict[str, dict]:
    """The folder's record of jetstudy's downloads (empty when there is none). A file under
    that name that is not such a record (the user's, a link, a folder) is refused: jetstudy
    would overwrite it with its own."""
    path = folder / RECORD
    if not path.exists() and not path.is_symlink():
        return {}
    try:
        raw = json.loads(read_plain(path)) if plain_file(path) else None
    except (OSError, ValueError, UnicodeDecodeError):
        raw = None
    if not (isinstance(raw, dict) and all(isinstance(k, str) and isinstance(v, dict)
                                          for k, v in raw.items())):
        raise DataError(f"fetch: {path} is not jetstudy's record of its downloads (a link, a "
                        f"folder, or a file of another kind); jetstudy never overwrites your "
                        f"files: move it away or give another DIR")
    return raw


def same_file(path: Path, entry: object) -> bool:
    """``path`` is the very file the record's ``entry`` says jetstudy made (a plain file with
    the recorded device and inode): a planted or copied record naming a file of the user's
    never lets jetstudy overwrite, append to or delete it."""
    if not isinstance(entry, dict) or not plain_file(path):
        return False
    info = path.lstat()
    return entry.get("dev") == info.st_dev and entry.get("ino") == info.st_ino


def identity(path: Path) -> dict[str, int]:
    info = path.lstat()
    return {"dev": info.st_dev, "ino": info.st_ino}


def write_record(folder: Path, record: dict[str, dict]) -> None:
    write_atomic(folder / RECORD,
                 lambda tmp: Path(tmp).write_text(json.dumps(record, indent=1) + "\n"))
