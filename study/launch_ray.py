"""Start or join the Ray a study runs on (:func:`init_ray`), and what is refused before a local
Ray would start (:func:`refuse_what_ray_cannot_start_under`): two steps of
:func:`jetstudy.study.launch.run_study`."""

from __future__ import annotations

import logging
import os
from typing import Any

from jetstudy.study.config import StudyConfig
from jetstudy.study.interrupts import reclaim_sigterm
from jetstudy.study.snapshots import set_tune_snapshot_period

__all__ = ["init_ray", "refuse_what_ray_cannot_start_under"]


def init_ray(cfg: StudyConfig, verbose: bool) -> bool:
    """Start or join Ray; returns True when this call started it (and must shut it down)."""
    import ray

    os.environ.setdefault("RAY_DEDUP_LOGS", "1")
    # Tune snapshots its experiment state every >= 10 s by default; jetstudy takes 1 s for
    # small studies and 0.25 s per trial at once beyond (each snapshot writes every trial; at
    # most 60 s). A trial that trained after the last snapshot is found from its folder.
    set_tune_snapshot_period(cfg.search.max_concurrent)
    if not verbose:  # Ray's new console output prints its banner even at verbose=0
        os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    if ray.is_initialized():  # Tune reads the settings above when the study runs
        return False
    kwargs: dict[str, Any] = {"log_to_driver": verbose,
                              "logging_level": logging.INFO if verbose else logging.ERROR}
    from jetstudy.study.connect import connect
    from jetstudy.study.connect_local import start_local

    try:  # a stop held while Ray starts is raised as that ends: shut down what started
        if cfg.resources.address:
            connect(cfg.resources.address, **kwargs)  # a deadline and one clear error
        else:  # "local": always a fresh Ray of our own, never another process's cluster
            start_local(num_cpus=cfg.resources.num_cpus, include_dashboard=False, **kwargs)
    except BaseException:
        if ray.is_initialized():
            ray.shutdown()
        raise
    reclaim_sigterm()  # ray.init's own SIGTERM handler would exit 15, losing the tables
    return True


def refuse_what_ray_cannot_start_under(cfg: StudyConfig) -> None:
    """A local Ray this run would start cannot start under the file-size limit, or the open
    files allowed (``ulimit -n``, raised first where it can be) do not hold the study: said
    before the study folder is claimed, so the results folder is left as it was."""
    import sys

    from jetstudy.study.open_files import check_open_files

    ray = sys.modules.get("ray")
    starts = not cfg.resources.address and not (ray is not None and ray.is_initialized())
    check_open_files(cfg, starts_ray=starts)  # the driver's own need when nothing starts
    if not starts:
        return  # a cluster's Ray, or this process's own already running: nothing starts
    from jetstudy.study.connect_local import refuse_file_size_limit

    refuse_file_size_limit()
