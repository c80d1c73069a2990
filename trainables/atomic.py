"""The one atomic file writer: a reader, or a kill midway, never sees half a file.

Used by the trials (checkpoints, synthetic jets) and the driver (tables, config, reports,
manifests). The file gets the mode any other new file of the user would get (``0o666`` less
the process's umask), so results on a shared folder are as readable to colleagues as the
user's other files; ``tempfile.mkstemp`` alone would leave them ``0600``.

A temporary is created with Ctrl-C and SIGTERM held (:func:`held_signals`): a signal that
lands while it is being made is delivered once its name is known, so it is removed on the way
out instead of being left behind.

Torch-free and Ray-free, so every layer can import it.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import secrets
import signal
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

__all__ = ["write_atomic", "write_bytes_atomic", "current_umask", "held_signals", "STOPS",
           "NO_ROOM", "NO_ROOM_FIX", "no_room", "room_checked",
           "checked_tag", "tag_checks", "temporary_name", "temporary_of", "stops_handled",
           "exit_on_late_stops"]

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


#: The file system's "no room to write this": a full device, a quota, a file-size limit
#: (``ulimit -f``: Python ignores SIGXFSZ, so the write fails with EFBIG).
NO_ROOM = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
_NO_ROOM_TEXT = {errno.ENOSPC: ("no space left on device", "errno = 28"),
                 errno.EDQUOT: ("disk quota exceeded", "errno = 122"),
                 errno.EFBIG: ("file too large", "errno = 27")}


_ELSEWHERE = "or write elsewhere (storage.results_dir, the output folder)"
#: What to do about each :data:`NO_ROOM` errno, in words (the command line's fix).
NO_ROOM_FIX = {
    errno.ENOSPC: f"no space left on the device: free some space {_ELSEWHERE}",
    errno.EDQUOT: f"your disk quota is used up: free some space in your quota {_ELSEWHERE}",
    errno.EFBIG: f"the file grew past a file-size limit (`ulimit -f`, or the file system's "
                 f"largest file): raise the limit (`ulimit -f unlimited`) {_ELSEWHERE}",
}


def no_room(exc: BaseException | None) -> int | None:
    """The :data:`NO_ROOM` errno behind ``exc`` (itself, its cause or context, or named in
    its text: h5py and pyarrow raise their own errors around the OS's), else None."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno in NO_ROOM:
            return exc.errno
        text = str(exc).lower()
        for code, words in _NO_ROOM_TEXT.items():
            if any(w in text for w in words):
                return code
        exc = exc.__cause__ or exc.__context__
    return None


@contextmanager
def room_checked(path: str | os.PathLike[str]) -> Iterator[None]:
    """A write in the block that fails for want of room (:func:`no_room`; whatever library
    raised it) is raised as ``OSError(errno, strerror, path)``: the file meant, in words the
    command line explains (free space, a quota, a file-size limit)."""
    try:
        yield
    except Exception as exc:
        code = no_room(exc)
        if code is None:
            raise
        raise OSError(code, os.strerror(code), str(path)) from None


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    """:func:`write_atomic` of bytes made in memory: for writers that abort the whole process
    when the disk is full (``torch.save`` / ``torch.jit.save`` to a path end in a C++
    ``terminate`` on EFBIG); Python's own write raises an ``OSError`` instead."""
    write_atomic(path, lambda tmp: Path(tmp).write_bytes(data))


def _check(name: str, tag: str, size: int = 8) -> str:
    return hashlib.sha256(f"jetstudy temporary\0{name}\0{tag}".encode()).hexdigest()[:size]


def checked_tag(name: str, size: int = 16) -> str:
    """``size`` hex digits for a name jetstudy makes for ``name`` (a temporary, a folder moved
    aside): half random, half a check of ``name`` and that random half, which
    :func:`tag_checks` verifies; a user's file named like one carries no valid check."""
    tag = secrets.token_hex(size // 4)
    return tag + _check(name, tag, size // 2)


def tag_checks(name: str, tagged: str) -> bool:
    """``tagged`` is a :func:`checked_tag` of ``name``."""
    half = len(tagged) // 2
    return len(tagged) % 2 == 0 and half > 0 and _check(name, tagged[:half], half) == tagged[half:]


def temporary_name(name: str) -> str:
    """A new name for :func:`write_atomic`'s temporary of the file ``name``:
    ``.<name>.<8 random hex><8 hex check>.tmp``. The check (a hash of the name and the random
    part) marks it as jetstudy's: :func:`temporary_of` tells it from a user's file under a
    look-alike name, so a clean-up never takes one of those for a killed writer's."""
    return f".{name}.{checked_tag(name)}.tmp"


_TEMPORARY = re.compile(r"\.(?P<name>.+)\.(?P<tag>[0-9a-f]{16})\.tmp\Z")


def temporary_of(entry: str) -> str | None:
    """The file name whose :func:`temporary_name` ``entry`` is, else None (a user's file named
    like one, e.g. ``.config.yaml.original.tmp``, carries no valid check)."""
    found = _TEMPORARY.match(entry)
    if not found or not tag_checks(found["name"], found["tag"]):
        return None
    return found["name"]


def _new_temporary(path: Path, prefix: str | None) -> tuple[int, str]:
    if prefix is not None:
        return tempfile.mkstemp(dir=path.parent, prefix=prefix, suffix=".tmp")
    while True:
        name = str(path.parent / temporary_name(path.name))
        try:  # a fresh name: never through a link, never over a file already there
            return os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600), name
        except FileExistsError:
            continue


def write_atomic(path: str | os.PathLike[str], write: Callable[[str], object], *,
                 tmp_prefix: str | None = None, tmp_name: str | None = None) -> None:
    """Call ``write(tmp)`` on a temporary file beside ``path``, give it the umask's mode, then
    rename it into place. The temporary's name is unique and starts with ``tmp_prefix``
    (default :func:`temporary_name`'s, which marks it as jetstudy's), or is exactly
    ``tmp_name`` where a caller records it beforehand
    (one writer at a time, e.g. the synthetic jets of ``jetstudy.study.prepare``).

    >>> write_atomic(folder / "x.json", lambda tmp: Path(tmp).write_text("{}"))
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp: str | None = None
    try:
        with held_signals():  # a Ctrl-C now is raised once ``tmp`` is known: it is removed
            if tmp_name is not None:
                name = str(path.parent / tmp_name)
                # never through a link: a link under that name would truncate its target
                fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o666)
            else:
                fd, name = _new_temporary(path, tmp_prefix)
            tmp = name
            try:
                os.fchmod(fd, 0o666 & ~current_umask())
            finally:
                os.close(fd)
        with room_checked(path):  # a full disk names the file meant, not the temporary
            write(tmp)
        os.chmod(tmp, 0o666 & ~current_umask())  # a writer that recreated the file
        try:
            os.replace(tmp, path)
        except OSError as exc:  # e.g. a folder under the name: name it, not the temporary
            raise OSError(exc.errno, exc.strerror, str(path)) from None
    except BaseException:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        raise


#: The signals a command stops on (Ctrl-C; SIGTERM and SIGHUP, a closed terminal, which the
#: CLI turns into the same stop unless SIGHUP is ignored, as under ``nohup``).
STOPS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


@contextmanager
def stops_handled(handler: Callable[[int, Any], object],
                  signals: tuple[int, ...] = (signal.SIGTERM, signal.SIGHUP)) -> Iterator[None]:
    """While the block runs, ``handler`` takes ``signals`` (SIGTERM and SIGHUP, a closed
    terminal); one that is ignored (SIGHUP under ``nohup``) stays ignored. The handlers before
    are put back as the block ends. Only in the main thread (elsewhere the block runs as is)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    before = {s: signal.signal(s, handler) for s in signals
              if signal.getsignal(s) != signal.SIG_IGN}
    try:
        yield
    finally:
        for sig, previous in before.items():
            signal.signal(sig, previous)


@contextmanager
def held_signals() -> Iterator[None]:
    """Ctrl-C, SIGTERM and SIGHUP wait while the block runs and are delivered as it ends (raised
    there, in the main thread): for making a temporary and recording its name in one step, so
    that no stop lands between the two. Only in the main thread (the only one Python's signal
    handlers run in); elsewhere the block runs as is. A second stop of the same kind is not
    held: a block that hangs (a Ray that never starts) can still be stopped.

    The Python-level handlers are swapped for one that only notes the signal, and the noted
    signals are handed to the handlers of before once the block ends. Not a signal mask: a
    process with other threads (torch's, Ray's, the lock's heartbeat) has the kernel deliver
    a ``kill PID`` to any thread that does not block it, and Python then runs the handler in
    the main thread all the same."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    noted: list[int] = []

    def note(signum: int, frame: object) -> None:
        if signum not in noted:
            noted.append(signum)
            return
        noted.remove(signum)  # a second one: the user insists (a block that hangs), so the
        for sig, handler in before.items():  # hold ends (a handler that hands SIGTERM on to
            signal.signal(sig, handler)      # SIGINT's must not meet this one) and it is
        _deliver(signum, before.get(signum))  # delivered now

    before = {}
    try:
        for sig in STOPS:
            # None: a C handler (Ray's), left as is; SIG_IGN (nohup's SIGHUP) stays ignored
            if signal.getsignal(sig) not in (None, signal.SIG_IGN):
                before[sig] = signal.signal(sig, note)
        yield
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)
        for sig in dict.fromkeys(noted):  # each stop once, in the order they came
            _deliver(sig, before.get(sig))


def _deliver(sig: int, handler: object) -> None:
    """Hand a held signal to the handler it would have met: a Python handler is called, an
    ignored one dropped, the default one's action taken (Ctrl-C: ``KeyboardInterrupt``;
    SIGTERM: the process ends, as it would have)."""
    if callable(handler):
        handler(sig, None)
    elif handler == signal.SIG_IGN:
        return
    elif sig == signal.SIGINT:
        raise KeyboardInterrupt
    else:
        signal.signal(sig, signal.SIG_DFL)
        os.kill(os.getpid(), sig)


def exit_on_late_stops(code: int) -> None:
    """The command is done and its exit status ``code`` known: a SIGTERM, SIGHUP or Ctrl-C
    that lands while Python shuts down (torch's and onnxruntime's teardown, a second or so)
    ends the process at once with that status; it killed the process (exit 143 after
    'exported ...' was printed) or printed a KeyboardInterrupt traceback. Signals ignored
    (``nohup``) stay ignored. Main thread only, like every handler."""
    import contextlib
    import sys

    def leave(signum: int, frame: object) -> None:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)

    for name in ("SIGTERM", "SIGHUP", "SIGINT"):
        sig = getattr(signal, name, None)
        if sig is not None and signal.getsignal(sig) is not signal.SIG_IGN:
            signal.signal(sig, leave)
