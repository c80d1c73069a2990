"""The file system's refusals in words: what an ``OSError`` means for the user, and the fix
(a full disk is not a missing path; a link loop is not "no such file"). The command line
prints it as its one ``error:`` line."""

from __future__ import annotations

import errno
import os

from jetstudy.trainables.atomic import NO_ROOM_FIX

__all__ = ["os_problem", "dangling_link", "link_loop"]


def dangling_link(path: str | os.PathLike[str] | None) -> str | None:
    """``path`` in words when it is a symbolic link to nothing (its target is missing), else
    None: making a folder or file there fails with "File exists", which reads as nonsense."""
    if path is None or not os.path.islink(path) or os.path.exists(path):
        return None
    try:
        target = os.readlink(path)
    except OSError:
        return None
    if link_loop(path):  # its target exists, as a link: "does not exist" would mislead
        return (f"{os.fspath(path)} is a link to {target!r}, and the links from there lead "
                f"round in a loop (never to a folder); jetstudy never writes through a link: "
                f"remove the link or choose another path")
    return (f"{os.fspath(path)} is a link to {target!r}, which does not exist (a dangling "
            f"link); jetstudy never writes through a link: remove the link or choose another "
            f"path")


def link_loop(path: str | os.PathLike[str]) -> bool:
    """Following ``path``'s links leads round in a loop (``a -> b -> a``): ELOOP."""
    try:
        os.stat(path)
    except OSError as exc:
        return exc.errno == errno.ELOOP
    return False


def _destination(name: str | bytes | os.PathLike[str]) -> str:
    """The file the user asked for when ``name`` is the atomic writer's temporary beside it
    (``DIR/.jetstudy.yaml.<hex>.tmp``: ``init /proc/sys`` named that); ``name`` otherwise."""
    from jetstudy.trainables.atomic import temporary_of

    text = os.fsdecode(name)
    folder, entry = os.path.split(text)
    meant = temporary_of(entry)
    return os.path.join(folder, meant) if meant else text


def _file_system(folder: str) -> str | None:
    """The type of the file system ``folder`` is on (``proc``, ``sysfs``), from Linux's mount
    table; None where there is none to read."""
    try:
        with open("/proc/self/mounts", encoding="utf-8", errors="replace") as mounts:
            table = [line.split()[1:3] for line in mounts if len(line.split()) > 2]
    except OSError:
        return None
    path = os.path.realpath(folder)
    best = max((point for point in table if path == point[0] or path.startswith(
        point[0].rstrip("/") + "/")), key=lambda point: len(point[0]), default=None)
    return None if best is None else best[1]


def os_problem(exc: OSError) -> str:
    """The file system's refusal in words, with the fix (a full disk is not a missing path)."""
    if exc.errno == errno.EEXIST and isinstance(exc.filename, (str, bytes, os.PathLike)):
        dangling = dangling_link(os.fsdecode(exc.filename))
        if dangling is not None:
            return dangling
    # a rename (os.replace of a staging file or temporary into place) names its source
    # first: the file meant is its destination, unless the source itself is missing
    name = exc.filename2 if exc.filename2 and exc.errno != errno.ENOENT else exc.filename
    where = f"{_destination(name)}: " if name else ""
    fixes = {errno.ENOTDIR: "a part of this path is a file, not a folder: choose another path",
             **NO_ROOM_FIX,  # a full disk, a used-up quota, a file-size limit
             errno.EROFS: "the file system is read-only: write elsewhere (storage.results_dir, "
                          "the output folder)",
             errno.EACCES: "permission denied: change the permissions or write elsewhere",
             errno.EPERM: "the file system does not allow this (an immutable file, another "
                          "user's file in a sticky folder): change that or write elsewhere",
             errno.EISDIR: "a folder stands where a file belongs: move it or choose another path",
             errno.ENAMETOOLONG: "a name in this path is longer than the file system allows "
                                 "(255 bytes a name): choose a shorter path or name",
             errno.ELOOP: "symbolic links here point in a loop: fix the links or choose "
                          "another path",
             errno.EEXIST: "something already stands at this path: move it away or choose "
                           "another path"}
    making = getattr(exc, "making_folder", False)
    fix = fixes.get(exc.errno, "the file system refused to make this folder there: choose "
                               "another folder" if making else
                    "check that the path exists and is writable "
                    "(storage.results_dir, data.path or the output folder)")
    meant = _destination(name) if name else ""
    folder = meant if os.path.isdir(meant) else os.path.dirname(meant)
    if exc.errno == errno.ENOENT and making and meant \
            and not os.path.lexists(meant) and os.path.isdir(folder or "."):
        # mkdir in /proc/sys: "No such file or directory", though the folder above is there
        kind = _file_system(folder or ".")
        return (f"{where}cannot make this folder: {folder or '.'} is there, but its file "
                f"system{f' ({kind})' if kind else ''} makes no new folders (a system folder "
                f"such as /proc or /sys, which the kernel fills itself, answers 'No such file "
                f"or directory'); choose another folder")
    if exc.errno == errno.ENOENT and name and (meant != os.fsdecode(name) or folder == meant) \
            and os.path.isdir(folder):  # a new file or folder refused in one that is there
        fix = (f"the folder {folder} is there but takes no new files (a system folder such "
               f"as /proc or /sys): choose another folder")
    return f"{where}{exc.strerror or exc}; {fix}"
