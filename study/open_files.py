"""Open files (``ulimit -n``) for a study: raised where the system allows, refused where it
does not, before the study folder is claimed.

Every process has a limit on its open file descriptors (soft, raisable by the process up to the
hard one). A Linux shell's soft limit is often 1,024, macOS's 256. The driver holds Ray's sockets
and pipes (~100, whatever the trials); the result loggers hold none between results
(:class:`jetstudy.study.run_logs.ClosedBetweenWrites`; Tune's own kept 3 per running trial:
~1,536 at 512 trials). A local Ray's processes inherit the driver's limit, and its raylet holds
a few per worker process: with many trials at once it is the first to run out, and dies with a
C++ stack trace (exit 1, a half-made study). Measured (2026-11-29, bench/README.md "Open
files"): a bare local Ray, 55 in the GCS and in the raylet, 32 in the driver; with 40 trials on
2 simulated nodes (``bench.many_packs``), the driver 97, a raylet 126, the GCS 153.

Ray's ``ray.init`` raises its own soft limit to ``min(hard, 65536)``, but only in one step: on
macOS (hard "unlimited", but no more than ``kern.maxfilesperproc`` allowed) that step fails and
the soft limit stays 256. :func:`check_open_files` raises the soft limit in steps that succeed,
and refuses a study whose estimate does not fit under the hard limit, naming ``ulimit -n``.
"""

from __future__ import annotations

import resource

from jetstudy.study.config import StudyConfig
from jetstudy.trainables.errors import ConfigError

__all__ = ["files_needed", "raise_soft_limit", "check_open_files", "DRIVER_FILES",
           "RAY_FILES", "RAY_FILES_PER_TRIAL"]

#: The driver's descriptors (Ray's client, Tune, the study's files): 90-97 at 40 trials.
DRIVER_FILES = 128
#: A local Ray's busiest process (the GCS or a node's raylet) before its workers (55) ...
RAY_FILES = 64
#: ... and per trial running at once: its worker and the idle one Ray keeps beside it, ~1.7
#: descriptors each in a raylet (126 with ~44 workers on one of 2 nodes, 40 trials).
RAY_FILES_PER_TRIAL = 4
#: The soft limits tried, in turn, below the hard one: Ray's own, Ray's advice.
_TARGETS = (65536, 8192)


def files_needed(concurrent: int, local: bool) -> int:
    """The open files one process of the study needs, at least: the driver's, or, when this
    run starts Ray itself (``local``), its busiest process's (they share the driver's limit)."""
    ray = RAY_FILES + RAY_FILES_PER_TRIAL * max(int(concurrent), 1) if local else 0
    return max(DRIVER_FILES, ray)


def raise_soft_limit(need: int) -> int:
    """Raise this process's soft limit of open files towards its hard limit (Ray's 65,536,
    8,192, or ``need``: the first the system takes); the soft limit now. Never lowers it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    top = None if hard == resource.RLIM_INFINITY else hard
    for target in (*_TARGETS, need):
        target = target if top is None else min(target, top)
        if target <= soft:
            continue
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError):  # above what the system allows (macOS's per-process cap)
            continue
        return target
    return soft


def check_open_files(cfg: StudyConfig, starts_ray: bool | None = None) -> None:
    """Before the study folder is claimed: raise the soft limit of open files, and refuse the
    study (a ConfigError naming ``ulimit -n``) when even the hard limit is below
    :func:`files_needed` for ``search.max_concurrent`` trials at once. ``starts_ray``: this
    run starts a local Ray (default: unless ``resources.address`` joins a cluster)."""
    local = cfg.resources.address is None if starts_ray is None else starts_ray
    concurrent = min(cfg.search.max_concurrent, cfg.search.num_trials)
    need = files_needed(concurrent, local)
    have = raise_soft_limit(need)
    if have >= need:
        return
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    fits = max((have - RAY_FILES) // RAY_FILES_PER_TRIAL, 0) if local else 0
    who = (f"a local Ray's processes (they share this limit) need about {need} for "
           f"{concurrent} trials at once" if local else f"the driver needs about {need}")
    fewer = (f", or run fewer trials at once (search.max_concurrent {fits} or less)"
             if local and fits >= 1 else "")
    raise ConfigError(
        f"this shell allows {have} open files per process (`ulimit -n`; hard limit "
        f"{'unlimited' if hard == resource.RLIM_INFINITY else hard}, so jetstudy cannot raise "
        f"it), but {who}; raise it before running, e.g. `ulimit -n 8192` (or the system's: "
        f"/etc/security/limits.conf, docker run --ulimit nofile=8192:8192){fewer}")
