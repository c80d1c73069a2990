"""The one atomic file writer: a reader, or a kill midway, never sees half a file.

Used by the trials (checkpoints, synthetic jets) and the driver (tables, config, reports,
manifests). The file gets the mode any other new file of the user would get (``0o666`` less
the process's umask), so results on a shared folder are as readable to colleagues as the
user's other files; ``tempfile.mkstemp`` alone would leave them ``0600``.

Torch-free and Ray-free, so every layer can import it.
"""

from __future__ import annotations

import os
import tempfile
import threading
from pathlib import Path
from typing import Callable

__all__ = ["write_atomic", "current_umask"]

_LOCK = threading.Lock()


def current_umask() -> int:
    """The process's umask, read without changing it where the OS allows (``/proc``);
    elsewhere set and restored under a lock."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    with _LOCK:
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def write_atomic(path: str | os.PathLike[str], write: Callable[[str], object], *,
                 tmp_prefix: str | None = None, tmp_name: str | None = None) -> None:
    """Call ``write(tmp)`` on a temporary file beside ``path``, give it the umask's mode, then
    rename it into place. The temporary's name is unique and starts with ``tmp_prefix``
    (default ``.<name>.``), or is exactly ``tmp_name`` where a caller records it beforehand
    (one writer at a time, e.g. the synthetic jets of ``jetstudy.study.prepare``).

    >>> write_atomic(folder / "x.json", lambda tmp: Path(tmp).write_text("{}"))
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if tmp_name is not None:
        tmp = str(path.parent / tmp_name)
        # never through a link: a link under that name would truncate the file it points at
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o666)
    else:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=tmp_prefix or f".{path.name}.",
                                   suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~current_umask())
    finally:
        os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~current_umask())  # a writer that recreated the file
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
