"""The local Ray a driver started, recorded in the study folder, and cleaned up after a
driver that died without stopping it.

``ray.shutdown()`` stops the Ray a driver started; a driver killed with ``kill -9`` cannot,
and Ray's agents (``ray::DashboardAgent``, ``ray::RuntimeEnvAgent``) outlive it. So right after
starting a local Ray, the driver writes :data:`RECORD` into the study folder: its host, boot,
own pid and start time, Ray's node id and session folder, and every process Ray started (pid
and start time). The next ``jetstudy run`` on that results folder (:func:`reap_dead_sessions`)
stops the processes of a record whose driver is gone: only the recorded pids whose start time
still matches (never a reused pid) and processes carrying the recorded Ray node id in their
environment (the workers and agents Ray started later), never anything else; and only from
a record that is a plain file of this user's (one another user planted in a shared study
folder could name this user's processes).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import stat
import time
from pathlib import Path
from typing import Any

from jetstudy.trainables.processes import boot_id, pid_alive, process_start
from jetstudy.trainables.plain_read import read_plain

__all__ = ["RECORD", "record_session", "forget_session", "end_session", "session_pids",
           "reap_dead_session", "reap_dead_sessions"]

logger = logging.getLogger(__name__)

RECORD = "ray_session.json"


def _children(pid: int) -> list[int]:
    """Direct children of ``pid`` (from /proc)."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if fields and int(fields[1]) == pid:
            out.append(int(entry.name))
    return out


def _environ_node_id(pid: int) -> str:
    try:
        env = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return ""
    for item in env:
        if item.startswith(b"RAY_NODE_ID="):
            return item.split(b"=", 1)[1].decode(errors="replace")
    return ""


def record_session(folder: Path) -> None:
    """Write :data:`RECORD` for the local Ray this process just started."""
    import ray

    node = ray._private.worker._global_node
    if node is None:
        return
    pids = [p.process.pid for procs in node.all_processes.values() for p in procs]
    raylets = [p.process.pid for p in node.all_processes.get("raylet", [])]
    pids += [child for raylet in raylets for child in _children(raylet)]  # its agents
    record = {
        "host": socket.gethostname(), "boot_id": boot_id(), "driver_pid": os.getpid(),
        "driver_start": process_start(os.getpid()), "node_id": node.node_id,
        "session_dir": node.get_session_dir_path(),
        "processes": [{"pid": pid, "start": process_start(pid)} for pid in sorted(set(pids))],
        "written": time.time(),
    }
    from jetstudy.study.tables import write_text

    write_text(json.dumps(record, indent=1) + "\n", folder / RECORD)


def forget_session(folder: Path) -> None:
    """Remove the record once Ray was shut down (the processes are gone)."""
    (folder / RECORD).unlink(missing_ok=True)


def _read(folder: Path) -> dict[str, Any] | None:
    """The record in ``folder``, trusted only as a plain file of this user's: a record
    names processes to stop, and one planted in a study folder on shared storage (or a link
    to another file) by someone else must never make jetstudy stop this user's own
    processes (their pids and start times are readable to anyone in ``/proc``)."""
    path = folder / RECORD
    try:  # under its exact name: where case is ignored, a user's Ray_Session.json opens too
        if RECORD not in os.listdir(folder):
            return None
        info = path.lstat()
        if not stat.S_ISREG(info.st_mode) or info.st_uid != os.getuid():
            return None
        record = json.loads(read_plain(path))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def session_pids(record: dict[str, Any]) -> list[int]:
    """The live processes of a recorded Ray session on this machine: recorded pids with
    their recorded start time, and processes whose environment holds its node id."""
    found = set()
    for proc in record.get("processes", []):
        pid, start = int(proc.get("pid", 0)), str(proc.get("start", ""))
        if pid > 1 and start and process_start(pid) == start:
            found.add(pid)
    node_id = str(record.get("node_id", ""))
    if len(node_id) >= 16:  # Ray's node ids are 56 hex digits: never a short, shared string
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit() and _environ_node_id(int(entry.name)) == node_id:
                found.add(int(entry.name))
    found.discard(os.getpid())
    return sorted(found)


def _driver_gone(record: dict[str, Any]) -> bool:
    pid = int(record.get("driver_pid", 0))
    if record.get("boot_id") != boot_id():
        return True  # the machine rebooted: none of its processes survive
    return not (pid and pid_alive(pid) and process_start(pid) == record.get("driver_start"))


def _stop(pids: list[int], grace_s: float = 5.0) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            pass
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline and any(pid_alive(p) for p in pids):
        time.sleep(0.1)
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def end_session(folder: Path) -> None:
    """After ``ray.shutdown()``: stop any process of this driver's recorded Ray that outlived
    it, then remove the record. Only this driver's own record: one another driver wrote (it
    took the study over while this one was stopped or cut off: :mod:`jetstudy.study.lock`)
    or a file of the user's stays as it is."""
    record = _read(folder)
    if record is None or record.get("driver_pid") != os.getpid() or record.get(
            "host") != socket.gethostname():
        return
    pids = session_pids(record)
    if pids:
        logger.info("stopping %d Ray process(es) that outlived ray.shutdown()", len(pids))
        _stop(pids, grace_s=2.0)
    try:
        forget_session(folder)
    except OSError as exc:  # the folder turned read-only (or full) mid-run: the error that
        # ended the study (raised as this runs, in a finally) is the one the user must see;
        # the processes are stopped, so the record left names none a later run would stop
        logger.warning("could not remove %s (%s); the next jetstudy command on this study "
                       "removes it", folder / RECORD, exc.strerror or exc)


def reap_dead_session(folder: Path) -> int:
    """Stop what is left of the Ray a dead driver of this study started on this machine;
    returns how many processes were stopped. A live driver's record, or another machine's,
    is left alone, and so is a folder that is not a study of jetstudy's
    (:func:`~jetstudy.study.paths.holds_study`, or carrying the study mark): a record-like
    file there is the user's (``jetstudy report DIR`` reaps DIR too), never read, never
    removed."""
    from jetstudy.study.paths import holds_study, marked

    if not (marked(Path(folder)) or holds_study(Path(folder))):  # the mark's exact name
        return 0
    record = _read(folder)
    if record is None or record.get("host") != socket.gethostname():
        return 0
    if not _driver_gone(record):
        return 0
    pids = session_pids(record) if record.get("boot_id") == boot_id() else []
    if pids:
        _stop(pids)
        logger.warning("stopped %d Ray process(es) left behind by the dead driver (pid %s) "
                       "of %s", len(pids), record.get("driver_pid"), folder)
    try:
        forget_session(folder)
    except OSError as exc:  # a study read-only to this user (a colleague's, a snapshot): its
        # report -o elsewhere or export still runs; the record of a dead driver stays, its
        # processes matched by start time and node id are gone, so a later reap stops nothing
        logger.info("kept %s (cannot remove it: %s)", folder / RECORD, exc.strerror or exc)
    return len(pids)


def reap_dead_sessions(results_dir: Path) -> int:
    """:func:`reap_dead_session` for every study in ``results_dir``: only folders that are
    jetstudy's studies (:func:`~jetstudy.study.paths.holds_study`, or carrying the study mark);
    a record-like file in any other folder is the user's and is left alone."""
    try:
        records = sorted(Path(results_dir).glob(f"*/{RECORD}"))
    except OSError:
        return 0
    return sum(reap_dead_session(r.parent) for r in records)
