"""Start a local Ray of this process's own (:func:`start_local`) and what it cannot start under:
a file-size limit (``ulimit -f``) below Ray's object store file, refused before anything is
written; the signals sent to the driver's process group kept from Ray's processes while they
start; every failure one error naming Ray's reason. :mod:`jetstudy.study.connect` joins a
cluster instead.
"""

from __future__ import annotations

import errno
import os
import signal
import threading
from contextlib import contextmanager
from typing import Any, Iterator

from jetstudy.trainables.errors import ConfigError, JetstudyError

__all__ = ["start_local", "file_size_limit", "object_store_bytes", "refuse_file_size_limit",
           "limit_is_why"]


def _stops_held() -> Any:
    from jetstudy.study.interrupts import stops_held_for_ray_init

    return stops_held_for_ray_init()


#: Below this file-size limit (``ulimit -f``) Ray cannot start: its object store is one file
#: of a sizeable share of the memory, its logs grow past megabytes.
_RAY_FILE_SIZE = 1 << 30


def file_size_limit() -> int | None:
    """The process's file-size limit in bytes (``ulimit -f``), None when there is none."""
    import resource

    soft, _ = resource.getrlimit(resource.RLIMIT_FSIZE)
    return None if soft == resource.RLIM_INFINITY else int(soft)


def object_store_bytes() -> int | None:
    """The size of the object store Ray would make here (one file, in /dev/shm or its
    session folder), by Ray's own rule; None when this Ray cannot say."""
    try:
        from ray._private.utils import estimate_available_memory, resolve_object_store_memory

        return int(resolve_object_store_memory(estimate_available_memory()))
    except Exception:  # another Ray's layout: only the 1 GiB floor is checked
        return None


def _limit_error(limit: int, why: str) -> ConfigError:
    return ConfigError(
        f"a file-size limit of {limit} bytes is set (`ulimit -f`) and {why}: Ray's object "
        f"store and logs need larger files; raise the limit (`ulimit -f unlimited`) and run "
        f"again, or join a cluster started without it (--address)")


def refuse_file_size_limit() -> None:
    """Refuse a file-size limit a local Ray cannot start under, before anything is written
    (``jetstudy run`` calls it before it claims its study folder): below 1 GiB, or below the
    object store's file (the raylet dies of SIGXFSZ making it, and Ray only says that the node
    timed out during start-up, 30 s later)."""
    limit = file_size_limit()
    if limit is None:
        return
    if limit < _RAY_FILE_SIZE:
        raise _limit_error(limit, "Ray cannot start under it")
    store = object_store_bytes()
    if store is not None and limit < store:
        raise _limit_error(limit, f"Ray cannot start under it (its object store is one file "
                                  f"of {store} bytes here)")


def limit_is_why(exc: BaseException) -> bool:
    """The failure is the file-size limit's: EFBIG behind it (itself, its cause or context,
    or "file too large" / "errno = 27" in its text), not any failure while a limit is set."""
    from jetstudy.trainables.atomic import no_room

    return no_room(exc) == errno.EFBIG


def _ray_did_not_start(exc: BaseException) -> JetstudyError:
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    reason = lines[0][:300] if lines else type(exc).__name__
    return JetstudyError(
        f"Ray did not start on this machine ({reason}); check resources.num_cpus and the free "
        f"memory and disk space (/tmp, /dev/shm), and run again with --verbose for Ray's own "
        f"messages")


@contextmanager
def _ray_kept_from_group_signals() -> Iterator[None]:
    """While ``ray.init`` starts Ray's processes, keep them from the signals sent to the
    driver's whole process group: a closed terminal's SIGHUP (to its foreground group), GNU
    ``timeout``'s SIGTERM (to its group), ``kill -TERM -PGID``. They reached Ray's GCS, raylet
    and agents, which died under the driver, whose graceful stop then waited 60 s for the GCS
    and ended in exit 1 with Ray processes left behind. Now only the driver gets them, and
    stops the study as on SIGTERM (or ignores SIGHUP under ``nohup``).

    Two ways, both undone when Ray has started: SIGHUP is blocked in this (the main) thread,
    so Ray's processes inherit it blocked (a signal mask survives fork and exec; a SIGHUP
    meanwhile reaches the driver through another thread); and where the kernel ends Ray's
    processes with their parent (Ray's own condition for this on Windows), each starts in a
    process group of its own (``setpgid``; Ray already keeps Ctrl-C's SIGINT from them)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    try:
        import ray._private.services as services
        from ray._private.utils import detect_fate_sharing_support

        popen = getattr(services, "ConsolePopen", None) if detect_fate_sharing_support() else None
    except Exception:  # another Ray's layout: only the blocked SIGHUP
        services, popen = None, None
    if popen is not None:
        class OwnGroupPopen(popen):  # type: ignore[misc,valid-type]
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                ray_preexec = kwargs.get("preexec_fn")

                def preexec() -> None:
                    os.setpgid(0, 0)
                    if ray_preexec is not None:
                        ray_preexec()

                kwargs["preexec_fn"] = preexec
                super().__init__(*args, **kwargs)

        services.ConsolePopen = OwnGroupPopen
    before = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGHUP})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)
        if popen is not None:
            services.ConsolePopen = popen


def start_local(**init_kwargs: Any) -> None:
    """``ray.init(address="local", **init_kwargs)``: a fresh Ray of this process's own. A stop
    while it starts waits until it has (then stops the study with Ray known, so shut down);
    a file-size limit Ray cannot start under is one ConfigError, before trying or, with EFBIG
    as evidence, after; any other failure is one error naming Ray's reason.

    What a failed ``ray.init`` had started (its GCS, dashboard, monitor) is left to end with
    this process (Ray's fate sharing): stopping it here made Ray's GCS client, still alive in
    this process, end the whole process with exit 1 sixty seconds later ("Failed to connect
    to GCS within 60 seconds"), which killed a long-lived caller (and a test worker in CI)."""
    import ray

    refuse_file_size_limit()
    limit = file_size_limit()
    try:
        with _stops_held(), _ray_kept_from_group_signals():
            ray.init(address="local", **init_kwargs)
    except Exception as exc:
        if limit is not None and limit_is_why(exc):
            raise _limit_error(limit, f"Ray did not start ({str(exc).strip()[:200]})") from None
        raise _ray_did_not_start(exc) from None
