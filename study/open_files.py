"""Open files (``ulimit -n``) for a study: raised where the system allows, refused where it
does not, before the study folder is claimed.

Every process has a limit on its open file descriptors (soft, raisable by the process up to the
hard one). A Linux shell's soft limit is often 1,024, macOS's 256. The driver holds Ray's sockets
and pipes (~32, and one more per trial: its connection to the trial's worker); the result loggers hold none between results
(:class:`jetstudy.study.run_logs.ClosedBetweenWrites`; Tune's own kept 3 per running trial:
~1,536 at 512 trials). A local Ray's processes inherit the driver's limit, and its raylet holds
a few per worker process: with many trials at once it is the first to run out, and dies with a
C++ stack trace (exit 1, a half-made study). Measured (2026-11-29, bench/README.md "Open
files"): a bare local Ray, 55 in the GCS and in the raylet, 32 in the driver; with 16 / 40
trials on 2 simulated nodes (``bench.many_packs``) the driver 66 / 90, a raylet 93 / 126, the
GCS 105 / 153: about 1, 1.4 and 2 more per trial.

Ray's ``ray.init`` raises its own soft limit to ``min(hard, 65536)``, but only in one step: on
macOS (hard "unlimited", but no more than ``kern.maxfilesperproc`` allowed) that step fails and
the soft limit stays 256. :func:`check_open_files` raises the soft limit in steps that succeed,
and refuses a study whose estimate does not fit under the hard limit, naming ``ulimit -n``.
"""

from __future__ import annotations

import resource

from jetstudy.study.config import StudyConfig
from jetstudy.trainables.errors import ConfigError

__all__ = ["files_needed", "raise_soft_limit", "check_open_files", "BASE_FILES",
           "DRIVER_FILES_PER_TRIAL", "RAY_FILES_PER_TRIAL"]

#: Any of the study's processes before its trials (a bare local Ray: 55 in the GCS and the
#: raylet, 32 in the driver) ...
BASE_FILES = 64
#: ... and per trial running at once: in the driver (its connection to the trial's worker:
#: 66 at 16 trials, 90 at 40) ...
DRIVER_FILES_PER_TRIAL = 1
#: ... and in a local Ray's busiest process, which holds every worker (the trial's and the
#: idle one Ray keeps beside it): the GCS 2 per trial, a raylet ~2.8 per trial on its node.
RAY_FILES_PER_TRIAL = 3
#: The soft limits tried, in turn, below the hard one: Ray's own, Ray's advice.
_TARGETS = (65536, 8192)


def _per_trial(local: bool) -> int:
    return RAY_FILES_PER_TRIAL if local else DRIVER_FILES_PER_TRIAL


def files_needed(concurrent: int, local: bool) -> int:
    """The open files one process of the study needs, about: the driver's, or, when this run
    starts Ray itself (``local``), its busiest process's (they share the driver's limit)."""
    return BASE_FILES + _per_trial(local) * max(int(concurrent), 1)


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
    fits = max((have - BASE_FILES) // _per_trial(local), 0)
    who = ("a local Ray's processes (they share this limit) need" if local
           else "the driver needs")
    fewer = (f", or run fewer trials at once (search.max_concurrent {fits} or less)"
             if fits >= 1 else "")
    room = max(8192, need)
    raise ConfigError(
        f"this shell allows {have} open files per process (`ulimit -n`; hard limit "
        f"{'unlimited' if hard == resource.RLIM_INFINITY else hard}, so jetstudy cannot raise "
        f"it), but {who} about {need} for {concurrent} trials at once; raise it before "
        f"running, e.g. `ulimit -n {room}` (or the system's: /etc/security/limits.conf, docker "
        f"run --ulimit nofile={room}:{room}){fewer}")
