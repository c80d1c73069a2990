"""Hidden staging folders: where a command builds its files before moving them into place,
and how a later run of the same command clears what a killed one left.

A staging folder is ``<parent>/<prefix><8 random characters>`` (``tempfile.mkdtemp``: a new
name, never one already there) holding :data:`STAGING_MARK`, a small JSON file naming what
made it (``what``), on which host and by which process (pid and start time). A leftover is
removed by :func:`clear_stale_staging` only when all of it is provably jetstudy's: the name
has that exact pattern, it is a real folder (not a link), its mark is a plain file naming the
same ``what`` and a process of this host that is gone, and everything else in it is a plain
file whose name the caller allows. Anything else (a user's folder or file under a similar
name, a staging folder of a run still going, or of another host on shared storage) stays.

Torch-free and Ray-free, like :mod:`jetstudy.trainables.atomic`.

Commands use :func:`staging_folder` (a ``with`` block): the folder is made with Ctrl-C and
SIGTERM held, so a stop that lands while it is made is raised once the block owns it, and it
is removed when the block ends, however it ends.

>>> clear_stale_staging(out, ".report-tmp-", "jetstudy report", lambda n: n.endswith(".png"))
>>> with staging_folder(out, ".report-tmp-", "jetstudy report") as stage:  # doctest: +SKIP
...     build(stage); move_out(stage)
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import socket
import stat
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from jetstudy.trainables.atomic import held_signals
from jetstudy.trainables.processes import pid_alive, process_start
from jetstudy.trainables.plain_read import read_plain

__all__ = ["STAGING_MARK", "make_staging", "staging_folder", "new_folders", "clear_stale_staging",
           "clear_old_manifest_temporaries", "looks_like_staging", "plain_file", "folder_lock"]

logger = logging.getLogger(__name__)

#: The mark inside every staging folder jetstudy makes.
STAGING_MARK = ".jetstudy-staging"


def _gone(pid: object, start: object) -> bool:
    """The recorded process of this host no longer runs (its pid is free, or reused)."""
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return False
    if not pid_alive(pid):  # someone else's process counts as alive
        return True
    return bool(start) and process_start(pid) not in ("", start)


def make_staging(parent: Path, prefix: str, what: str) -> Path:
    """A new staging folder in ``parent``, marked as ``what``'s of this process; its mode is
    ``mkdtemp``'s 0700 (only the files moved out of it are seen)."""
    try:
        stage = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    except OSError as exc:  # os_problem: the folder given takes no new folder (/proc), not
        exc.making_folder = True  # type: ignore[attr-defined]  # "check the path exists";
        exc.filename = os.fspath(parent)  # named as given, not by the hidden random name
        raise
    mark = {"written_by": "jetstudy", "what": what, "host": socket.gethostname(),
            "pid": os.getpid(), "start": process_start(os.getpid())}
    try:
        (stage / STAGING_MARK).write_text(json.dumps(mark) + "\n")
    except BaseException:  # a full disk: no unmarked folder (one no later run could clear)
        shutil.rmtree(stage, ignore_errors=True)
        raise
    return stage


@contextmanager
def staging_folder(parent: Path, prefix: str, what: str) -> Iterator[Path]:
    """:func:`make_staging`'s folder for the ``with`` block, removed with what is still in it
    when the block ends (the caller moves out what it keeps). Made with Ctrl-C and SIGTERM
    held: a stop that lands meanwhile is raised once the folder is known, so it goes too."""
    stage: Path | None = None
    try:
        with held_signals():
            stage = make_staging(parent, prefix, what)
        yield stage
    finally:
        if stage is not None:
            shutil.rmtree(stage, ignore_errors=True)


@contextmanager
def new_folders(folder: Path) -> Iterator[list[Path]]:
    """``folder`` and its missing parents, made for the ``with`` block (which gets the list of
    those made, deepest first): when the block fails or is stopped (Ctrl-C, SIGTERM), the ones
    still empty are removed again, so a refused or interrupted command leaves no empty
    output folder (nor a parent it made) behind. Made with Ctrl-C and SIGTERM held, so a stop
    that lands meanwhile is raised inside the block's clean-up. A folder that is not empty
    any more (a user's file, or what the block finished) stays, and so do its parents. A
    ``..`` in ``folder`` (``new/../out``, where ``new`` is made on the way, as ``mkdir -p``
    makes it) is never one of them: removing ``new/..``, a folder of the user's, failed and
    kept ``new`` too."""
    made: list[Path] = []
    try:
        with held_signals():
            made = [p for p in (folder, *folder.parents)
                    if p.name not in ("", ".", "..") and not os.path.lexists(p)]
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:  # os_problem: a folder that cannot be made, not "missing"
                exc.making_folder = True  # type: ignore[attr-defined]
                raise
        yield made
    except BaseException:
        for path in made:
            try:
                if stat.S_ISDIR(path.lstat().st_mode):
                    path.rmdir()  # only while empty
            except FileNotFoundError:
                continue
            except OSError:  # not empty: it, and every parent, stays
                break
        raise


def plain_file(path: Path) -> bool:
    """``path`` is a regular file itself (not a link to one, not a folder or device)."""
    try:
        return stat.S_ISREG(path.lstat().st_mode)
    except OSError:
        return False


def left_by_a_dead_run(folder: Path, what: str) -> list[str] | None:
    """The entries of ``folder`` (a staging-named entry) when its mark proves it the staging
    folder of a run of ``what`` on this host whose process is gone; None otherwise (not a
    folder, no mark: even if cut before its mark, not provable)."""
    try:
        info = folder.lstat()
        entries = os.listdir(folder) if stat.S_ISDIR(info.st_mode) else None
    except OSError:
        return None
    mark = folder / STAGING_MARK
    if not entries or STAGING_MARK not in entries or not plain_file(mark):
        return None
    try:
        raw = json.loads(read_plain(mark))
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    if not (isinstance(raw, dict) and raw.get("written_by") == "jetstudy"
            and raw.get("what") == what and raw.get("host") == socket.gethostname()
            and _gone(raw.get("pid"), raw.get("start"))):
        return None
    return entries


def _stale(folder: Path, what: str, allowed: Callable[[str], bool]) -> bool:
    """``folder`` (a staging-named entry) is a dead run's staging folder of ``what`` holding
    nothing but plain files ``allowed`` names."""
    entries = left_by_a_dead_run(folder, what)
    return entries is not None and all(
        n == STAGING_MARK or (allowed(n) and plain_file(folder / n)) for n in entries)


def _pattern(prefix: str) -> re.Pattern[str]:
    return re.compile(re.escape(prefix) + r"[a-z0-9_]{8}\Z")


def looks_like_staging(parent: Path, name: str, prefix: str) -> bool:
    """``name`` in ``parent`` is shaped like a staging folder of ``prefix`` (the exact name
    pattern, a real folder): an output folder holding only such entries counts as empty. A
    file of the user's under a similar name (``.report-tmp-notes``) does not."""
    if not _pattern(prefix).match(name):
        return False
    try:
        return stat.S_ISDIR((Path(parent) / name).lstat().st_mode)
    except OSError:
        return False


def _named(parent: Path, pattern: re.Pattern[str]) -> list[Path]:
    """The entries of ``parent`` whose names match ``pattern``, in name order (none when
    ``parent`` cannot be listed)."""
    try:
        names = sorted(os.listdir(parent))
    except OSError:
        return []
    return [Path(parent) / n for n in names if pattern.match(n)]


def clear_stale_staging(parent: Path, prefix: str, what: str,
                        allowed: Callable[[str], bool]) -> list[Path]:
    """Remove the staging folders a killed run of ``what`` left in ``parent`` (see the module
    doc for what counts as one); returns those removed. Files are unlinked one by one, never
    followed, and the folder is removed only once empty."""
    removed = []
    for folder in _named(parent, _pattern(prefix)):
        if not _stale(folder, what, allowed):
            continue
        try:
            for entry in sorted(os.listdir(folder), key=lambda n: n == STAGING_MARK):
                (folder / entry).unlink()
            folder.rmdir()
        except OSError as exc:  # changed meanwhile: keep what is left
            logger.warning("could not clear %s, left by a killed %s: %s", folder, what, exc)
            continue
        logger.info("cleared %s, left by a killed %s", folder, what)
        removed.append(folder)
    return removed


def clear_old_manifest_temporaries(parent: Path, prefix: str, writer: str) -> list[Path]:
    """Remove the loose manifest temporaries (``<prefix>manifest-<8 characters>.tmp``) that
    ``report`` and ``export`` wrote beside their manifest before they had staging folders, left
    by a killed run of an older jetstudy: only a plain file (never a link) holding a whole
    manifest that says ``writer`` wrote it. An empty or cut one cannot be told from a user's
    file, and stays (the folder's checks ignore it)."""
    pattern = re.compile(re.escape(prefix) + r"manifest-[a-z0-9_]{8}\.tmp\Z")
    removed = []
    for path in _named(parent, pattern):
        if not plain_file(path):
            continue
        try:
            raw = json.loads(read_plain(path))
        except (OSError, ValueError, UnicodeDecodeError):
            continue
        if isinstance(raw, dict) and raw.get("written_by") == writer:
            path.unlink(missing_ok=True)
            logger.info("cleared %s, left by a killed %s of an older jetstudy", path, writer)
            removed.append(path)
    return removed


@contextmanager
def folder_lock(folder: Path, busy: Callable[[], Exception],
                wait_s: float = 0.0) -> Iterator[None]:
    """The folder ``folder`` held by this process for the block: an exclusive ``flock`` of
    the folder itself, so two commands writing into one folder at once (two ``fetch`` into
    one cache appending to one ``.part``, two exports, two reports moving their files in)
    never interleave. The kernel releases it however the process ends (``kill -9`` leaves no
    stale lock), and no file is left. A folder another process holds raises ``busy()``, at
    once or after waiting up to ``wait_s`` seconds for it (never forever: a holder stopped
    with Ctrl-Z keeps it). A file system that cannot lock folders (some network mounts)
    goes unlocked."""
    import fcntl
    import time

    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as exc:  # not there, or not readable: the block meets it in its own words
        logger.debug("cannot lock %s: %s", folder, exc)
        fd = -1
    try:
        deadline = time.monotonic() + wait_s
        while fd >= 0:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise busy() from None
                time.sleep(0.05)
            except OSError as exc:  # ENOLCK, EBADF (NFS without folder locks): unlocked
                logger.debug("cannot lock %s: %s", folder, exc)
                break
        yield
    finally:
        if fd >= 0:
            os.close(fd)
