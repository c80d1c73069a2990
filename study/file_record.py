"""The files jetstudy wrote into one folder, listed in a JSON manifest beside them
(:class:`FileRecord`): jetstudy deletes only what it recorded there as it wrote it, and only
while the manifest is provably its own (:mod:`jetstudy.study.paths` re-exports it)."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from jetstudy.study.dead_temporaries import sorted_entries
from jetstudy.trainables.errors import ConfigError
from jetstudy.trainables.staging import plain_file
from jetstudy.trainables.plain_read import read_plain

__all__ = ["RECORD_WRITER", "FileRecord"]

logger = logging.getLogger(__name__)


#: What every manifest :class:`FileRecord` writes says in ``written_by``: a file under the
#: manifest's name without it (the user's, or a planted list) is never trusted.
RECORD_WRITER = "jetstudy"


class FileRecord:
    """The files jetstudy wrote into one folder, listed in a JSON manifest beside them.

    ``record`` lists names *before* they are written; ``remove_recorded`` deletes only those
    (never a file someone else put there); ``foreign`` names everything else in the folder.
    The manifest is trusted only when it is a plain file (not a link) saying jetstudy wrote
    it, and only for names ``allowed`` (the names its writer uses): a planted or copied list
    naming the user's files never makes jetstudy delete them.
    """

    def __init__(self, folder: Path, manifest: str,
                 allowed: Callable[[str], bool] = lambda name: True) -> None:
        self.folder = folder
        self.path = folder / manifest
        self.allowed = allowed

    def read(self) -> dict[str, Any]:
        if not plain_file(self.path):  # absent, or a link or folder under that name
            return {}
        try:
            data = json.loads(read_plain(self.path))
        except (OSError, ValueError, UnicodeDecodeError):
            return {}
        return data if isinstance(data, dict) and data.get("written_by") == RECORD_WRITER else {}

    @property
    def names(self) -> list[str]:
        names = self.read().get("files", [])
        names = names if isinstance(names, list) else []
        return [n for n in names if isinstance(n, str) and n and "/" not in n and os.sep not in n
                and n not in (".", "..") and self.allowed(n)]

    def record(self, names: Iterable[str], **info: Any) -> None:
        """Write the manifest: ``names`` (plain file names in the folder) and ``info``."""
        from jetstudy.study.tables import write_text

        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:  # os_problem: a folder that cannot be made, not a missing path
            exc.making_folder = True  # type: ignore[attr-defined]
            raise
        self._refuse_foreign_manifest()
        listed = sorted({*self.names, *names})
        write_text(json.dumps({**info, "written_by": RECORD_WRITER, "files": listed},
                              indent=1) + "\n", self.path)

    def _refuse_foreign_manifest(self) -> None:
        """A file under the manifest's name that no jetstudy wrote (the user's, or on a file
        system that ignores case their ``.JetStudy-Synthetic.json``, which *is* the
        manifest's name there) is never written over: read as no record, it was replaced."""
        if not os.path.lexists(self.path):
            return
        try:
            raw = json.loads(read_plain(self.path)) if plain_file(self.path) else None
        except (OSError, ValueError, UnicodeDecodeError):
            raw = None
        if isinstance(raw, dict) and (raw.get("written_by") == RECORD_WRITER
                                      or isinstance(raw.get("files"), list)):  # or older
            return
        shown = self.path
        try:
            shown = next((self.folder / e for e in os.listdir(self.folder)
                          if e.casefold() == self.path.name.casefold()
                          and os.path.samefile(self.folder / e, self.path)
                          and e != self.path.name), self.path)
        except OSError:
            pass
        raise ConfigError(
            f"{shown} is not a record jetstudy wrote, but jetstudy keeps its own list of the "
            f"files it wrote in {self.folder} under the name {self.path.name!r} (the same file "
            f"on a file system that ignores case); move it out of {self.folder}, then run the "
            f"same command again")

    def foreign(self) -> list[str]:
        """Entries of the folder that jetstudy did not record (the manifest aside)."""
        known = {*self.names, self.path.name}
        return [e for e in sorted_entries(self.folder)
                if e not in known and not e.startswith(f".{self.path.name}.")]

    def remove_recorded(self, still_ours: Callable[[Path], bool] = lambda path: True) -> None:
        """Delete the recorded files (links are removed, never followed), then the manifest.
        A recorded file that ``still_ours`` no longer recognises (someone put their own file
        under that name) stops the clean-up with an error naming it, before anything goes;
        so does a file under the manifest's own name that jetstudy did not write."""
        self._refuse_foreign_manifest()
        present = [self.folder / n for n in self.names
                   if (self.folder / n).is_symlink() or (self.folder / n).exists()]
        replaced = [p for p in present if not plain_file(p) or not still_ours(p)]
        if replaced:
            raise ConfigError(
                f"{replaced[0]} is not the file jetstudy wrote there (it was replaced); move it "
                f"out of {self.folder} so jetstudy can write its own files")
        for path in present:
            path.unlink()
            logger.info("removed %s (written by jetstudy)", path)
        self.path.unlink(missing_ok=True)
