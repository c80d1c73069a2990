"""Packed studies: start the packs (``trainables.pack_server``) and the light trainable.

With ``resources.pack_size`` N > 0, ``ceil(search.max_concurrent / N)`` packs start before
the trials, each an async Ray actor with ``cpus_per_trial`` CPUs and ``gpus_per_trial`` GPUs
(so a 1-GPU pack per card is ``gpus_per_trial: 1``); the training and validation jets go to
each pack once. Trials are light processes that ask a pack for epochs.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from study.config import StudyConfig
from trainables.loop import TrainSettings, TrialData

__all__ = ["PACKED_TRIAL_CPUS", "pack_shape", "start_packs", "packed_trainable", "pack_stats"]

logger = logging.getLogger(__name__)

#: What Ray reserves for a packed trial's process: it only waits on its pack and reports.
PACKED_TRIAL_CPUS = 0.05


def pack_shape(cfg: StudyConfig) -> tuple[int, int]:
    """(max depth, max width) a pack must hold: the space's bounds and the initial points'."""
    depth, width = cfg.space.depth[1], cfg.space.width[1]
    for point in cfg.search.initial_points:
        d = int(point.get("depth", 0))
        depth = max(depth, d)
        width = max([width, *(int(point.get(f"width_{i}", 0)) for i in range(d))])
    return depth, width


def start_packs(cfg: StudyConfig, data: TrialData, settings: TrainSettings) -> list[Any]:
    """Start the study's packs; returns their actor handles (once each is ready)."""
    import ray

    from trainables.pack_server import PackServer

    r = cfg.resources
    count = math.ceil(cfg.search.max_concurrent / r.pack_size)
    max_depth, max_width = pack_shape(cfg)
    actor = ray.remote(PackServer).options(num_cpus=r.cpus_per_trial, num_gpus=r.gpus_per_trial,
                                           max_restarts=-1, max_concurrency=1000)
    data_ref = ray.put(data)
    packs = [actor.remote(data_ref, settings, capacity=r.pack_size, max_depth=max_depth,
                          max_width=max_width) for _ in range(count)]
    stats = ray.get([p.stats.remote() for p in packs])  # fail here, not inside a trial
    logger.info("%d pack(s) of %d on %s", count, r.pack_size, stats[0]["device"])
    return packs


def packed_trainable(cfg: StudyConfig, packs: list[Any], state_dir: str) -> Any:
    """The Tune trainable of a packed study (resources set)."""
    from ray import tune

    from trainables.packed_trial import run_packed_trial

    return tune.with_resources(
        tune.with_parameters(run_packed_trial, servers=packs, state_dir=state_dir,
                             max_epochs=cfg.scheduler.max_epochs),
        {"cpu": PACKED_TRIAL_CPUS, "gpu": 0})


def pack_stats(packs: list[Any]) -> list[dict[str, Any]]:
    """Each pack's counters (rounds, trial-epochs, training seconds, peak GPU memory)."""
    import ray

    return ray.get([p.stats.remote() for p in packs])
