"""Telling a live process from a dead one, and a reused pid from the original, on this host:
the study lock (:mod:`jetstudy.study.lock`), the Ray session record
(:mod:`jetstudy.study.raysession`) and the staging folders of report, export and synth
(:mod:`jetstudy.trainables.staging`) record a process as (pid, start time), the first two also
with the boot id. Standard library only (trainables may not import study)."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["boot_id", "pid_alive", "process_start"]


def boot_id() -> str:
    """This boot of the machine (empty where ``/proc`` does not say): a pid recorded under
    another boot id names some other process."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def process_start(pid: int) -> str:
    """The process's start time in clock ticks since boot (tells a reused pid apart); empty
    when the process is gone or ``/proc`` does not say."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists (someone else's counts) and is not a zombie
    (killed, its parent not yet waiting on it: it runs no more code and holds nothing)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return _state(pid) != "Z"


def _state(pid: int) -> str:
    """The process's state letter in ``/proc`` (``Z``: a zombie); empty where not known."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return ""
