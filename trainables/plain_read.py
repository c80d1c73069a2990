"""Reading the files jetstudy wrote into a study (or fetch, or report) folder without ever
blocking: a named pipe planted under such a name (``mkfifo provenance.json``) made a plain
``open()`` wait for a writer for ever, so ``jetstudy report`` of that study hung printing
nothing. These readers open without blocking, read only a regular file and raise
:class:`NotAPlainFile` (an ``OSError``, which every caller already handles as "unreadable")
naming what stands there instead.

A file the user names on the command line (a config, a data file) may be a pipe on purpose
(``jetstudy run <(sed ... c.yaml)``): those are read as given, not through here.
Torch-free and Ray-free, so every layer can import it.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import IO, Any

__all__ = ["NotAPlainFile", "open_plain", "read_plain", "read_plain_bytes", "kind_of"]


class NotAPlainFile(OSError):
    """A named pipe, socket or device (or a folder) where jetstudy reads a file it wrote."""


def kind_of(mode: int) -> str:
    """Words for what a non-regular entry is."""
    for test, words in ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a named pipe (FIFO)"),
                        (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
                        (stat.S_ISBLK, "a block device")):
        if test(mode):
            return words
    return "not a plain file"


def open_plain(path: str | os.PathLike[str], mode: str = "r", **kwargs: Any) -> IO[Any]:
    """``open(path, mode, **kwargs)`` for reading (``"r"`` or ``"rb"``), refusing at once,
    without blocking, anything but a regular file (a link to one is followed)."""
    if mode not in ("r", "rb"):
        raise ValueError(f"open_plain reads only ('r' or 'rb'), not {mode!r}")
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            code = errno.EISDIR if stat.S_ISDIR(st.st_mode) else errno.EINVAL
            raise NotAPlainFile(code, f"{kind_of(st.st_mode)}, not a file jetstudy wrote; "
                                      "move it away", os.fspath(path))
        return os.fdopen(fd, mode, **kwargs)
    except BaseException:
        os.close(fd)
        raise


def read_plain(path: str | os.PathLike[str], encoding: str | None = "utf-8",
               errors: str | None = None) -> str:
    """``Path(path).read_text(encoding, errors)``, never blocking on a pipe or device."""
    with open_plain(path, "r", encoding=encoding, errors=errors) as handle:
        return handle.read()


def read_plain_bytes(path: str | os.PathLike[str]) -> bytes:
    """``Path(path).read_bytes()``, never blocking on a pipe or device."""
    with open_plain(Path(path), "rb") as handle:
        return handle.read()
