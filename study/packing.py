"""Packed studies: whether to pack, the packs (``jetstudy.trainables.pack_server``) and the
light trainable.

``resources.pack_size: auto`` (the default) is decided once, at the study's start, by
:func:`plan_packing` from what Ray sees (``jetstudy.study.resources.resolve_packing``): packed
when trials get a GPU and a pack can train the space, one pack per GPU; else 0, trials train
themselves (the CPU default: there a pack is one process, slower than trials side by side).

With ``resources.pack_size`` N > 0, ``ceil(T / N)`` packs start before the trials, T being
the trials that can run at once (:func:`concurrent_trials`: ``min(search.max_concurrent,
search.num_trials)``, or on ``--resume`` at least the trials Tune restores), each an async Ray actor with ``cpus_per_trial`` CPUs and ``gpus_per_trial`` GPUs
(so a 1-GPU pack per card is ``gpus_per_trial: 1``); each pack loads the training and
validation jets once. Trials are light processes that ask a pack for epochs.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from jetstudy.study.config import StudyConfig, pack_problem
from jetstudy.study.tables import write_atomic
from jetstudy.trainables.loop import TrainSettings, TrialData
from jetstudy.trainables.plain_read import read_plain

__all__ = ["PACKED_TRIAL_CPUS", "AUTO_PACK_MAX", "PackPlan", "plan_packing", "PACK_DATA",
           "concurrent_trials", "pack_count", "restored_trials",
           "pack_name", "pack_shape", "write_pack_data",
           "start_packs", "launch_packs", "packed_trainable", "pack_stats"]

logger = logging.getLogger(__name__)

#: What Ray reserves for a packed trial's process: it only waits on its pack and reports.
PACKED_TRIAL_CPUS = 0.05


#: ``pack_size: auto`` where the number of GPUs is not known (an autoscaler adds them): packs
#: of up to this many trials. On an H200 a pack of 64 default-space models steps in 8.3 ms
#: against 2.8 ms for one (2026-11-27): most of a card's throughput, and TPE still learns.
AUTO_PACK_MAX = 64


def concurrent_trials(cfg: StudyConfig, restored: int = 0) -> int:
    """The trials a study can run at once, which its packs must hold:
    ``min(search.max_concurrent, search.num_trials)``, or ``restored`` where more: the trials
    a ``--resume`` continues (:func:`restored_trials`; Tune restores every one that was
    pending or running, even beyond this run's ``max_concurrent`` or ``num_trials``, and
    starts no new trial while they fill ``max_concurrent``).

    >>> from jetstudy.study.config import from_dict
    >>> cfg = from_dict({"search": {"max_concurrent": 8, "num_trials": 2}})
    >>> concurrent_trials(cfg), concurrent_trials(cfg, restored=5)
    (2, 5)
    """
    s = cfg.search
    return max(min(s.max_concurrent, s.num_trials), restored)


def pack_count(cfg: StudyConfig, size: int, restored: int = 0) -> int:
    """Packs of ``size`` trials (0: unpacked, no pack) for :func:`concurrent_trials`."""
    return math.ceil(concurrent_trials(cfg, restored) / size) if size else 0


def restored_trials(folder: Path) -> int | None:
    """The trials a ``--resume`` of the study in ``folder`` continues: those pending or running
    in Ray Tune's newest ``ray/experiment_state-*.json`` (read as plain JSON: nothing in it is
    unpickled). 0 where there is no such file (Tune starts afresh); None where it cannot be
    read (the caller assumes ``search.max_concurrent``)."""
    import json

    states = sorted((folder / "ray").glob("experiment_state-*.json"))
    if not states:
        return 0
    try:
        data = json.loads(read_plain(states[-1]))
        statuses = [json.loads(item[0]).get("status") for item in data["trial_data"]]
    except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:
        logger.warning("--resume: could not count the trials Ray Tune continues from %s (%s); "
                       "the packs are sized for search.max_concurrent", states[-1], exc)
        return None
    return sum(status not in ("TERMINATED", "ERROR") for status in statuses)


@dataclass(frozen=True)
class PackPlan:
    """``resources.pack_size`` as the study runs it: ``size`` trials per pack (0: unpacked),
    ``packs`` packs, and ``why``, one line for the log; ``capacity``: the slots each pack is
    built with, ``size`` but never more than the trials that can run at once (a pack
    preallocates every slot's padded weights, gradients and Adam moments, so ``pack_size: 64``
    for a study of 4 trials at once builds packs of 4; None: ``size``)."""

    size: int
    packs: int
    why: str
    capacity: int | None = None

    @property
    def slots(self) -> int:
        """The slots each pack is built with (:attr:`capacity`, else :attr:`size`)."""
        return self.size if self.capacity is None else self.capacity

    def record(self, cfg: StudyConfig) -> dict[str, Any]:
        """What ``provenance.json`` keeps under ``packing``: the setting and what it became."""
        r = cfg.resources
        return {"pack_size": r.pack_size, "resolved": self.size, "packs": self.packs,
                "pack_groups": r.pack_groups, "why": self.why}


def plan_packing(cfg: StudyConfig, has_gpus: bool, room: int | None,
                 restored: int = 0) -> PackPlan:
    """Resolve ``resources.pack_size`` (pure: tested with made-up clusters).

    ``has_gpus``: the Ray cluster has GPUs, or an autoscaler may add GPU nodes; ``room``: how
    many packs it holds at once, one per GPU at most (None: no limit known, an autoscaler
    may add GPU nodes without one); ``restored``: the trials a ``--resume`` continues
    (:func:`restored_trials`). The packs hold the trials that can run at once,
    :func:`concurrent_trials` (below, "the trials at once").
    An integer setting is kept. ``auto`` packs when trials get a GPU share
    (``gpus_per_trial`` > 0, ``training.device`` not ``cpu``), the cluster has GPUs and a pack
    can train the space (:func:`~jetstudy.study.config.pack_problem`): one pack per GPU,
    the trials at once shared among them (up to :data:`AUTO_PACK_MAX` per pack when the
    number of GPUs has no known limit). Otherwise 0, and ``why`` says which condition failed.

    >>> from jetstudy.study.config import from_dict
    >>> cfg = from_dict({"resources": {"gpus_per_trial": 1}, "search": {"max_concurrent": 64}})
    >>> plan_packing(cfg, has_gpus=True, room=1).size
    64
    """
    r, concurrent = cfg.resources, concurrent_trials(cfg, restored)
    if r.pack_size != "auto":
        size = int(r.pack_size)
        packs = pack_count(cfg, size, restored)
        return PackPlan(size, packs, f"resources.pack_size is {size}" + (
            f": {packs} pack(s) for {concurrent} trial(s) at once" if size else ""),
            capacity=min(size, concurrent))
    unpacked = "resources.pack_size auto: unpacked (each trial trains itself), since "
    if r.gpus_per_trial == 0:
        return PackPlan(0, 0, unpacked + "resources.gpus_per_trial is 0 (trials train on "
                              "CPUs, where a pack is slower than trials side by side)")
    if cfg.training.device == "cpu":
        return PackPlan(0, 0, unpacked + "training.device is 'cpu'")
    problem = pack_problem(cfg)
    if problem is not None:
        return PackPlan(0, 0, f"{unpacked}{problem[0]}; to pack on the GPU, {problem[1]}")
    if not has_gpus:
        return PackPlan(0, 0, unpacked + "the Ray cluster has no GPU")
    packs = (math.ceil(concurrent / AUTO_PACK_MAX) if room is None
             else max(1, min(concurrent, room)))
    size = math.ceil(concurrent / packs)
    packs = pack_count(cfg, size, restored)
    where = "one per GPU" if room is not None else "as many GPUs as the autoscaler adds"
    return PackPlan(size, packs, f"resources.pack_size auto: packed, {size} trials per pack, "
                                 f"{packs} pack(s) for {concurrent} trial(s) at once, {where}")


def pack_shape(cfg: StudyConfig) -> tuple[int, int]:
    """(max depth, max width) a pack must hold: the space's bounds and the initial points'."""
    depth, width = cfg.space.depth[1], cfg.space.width[1]
    for point in cfg.search.initial_points:
        d = int(point.get("depth", 0))
        depth = max(depth, d)
        width = max([width, *(int(point.get(f"width_{i}", 0)) for i in range(d))])
    return depth, width


#: The training and validation jets the packs load, in the study folder (shared storage on a
#: cluster, so a pack restarted on another node finds them); removed when the study ends.
PACK_DATA = "pack_data.npz"


def write_pack_data(data: TrialData, folder: Path) -> Path:
    """Write the jets the packs train on (atomically); returns the file."""
    def save(tmp: str) -> None:
        with open(tmp, "wb") as f:  # a file object: np.savez would add ".npz" to a name
            np.savez(f, **dataclasses.asdict(data))

    path = folder / PACK_DATA
    write_atomic(path, save)
    return path


def pack_name(index: int) -> str:
    """The Ray actor name of the study's ``index``-th pack (``ray list actors`` shows it;
    names are per job, so studies on one cluster do not collide)."""
    return f"jetstudy-pack-{index}"


def start_packs(cfg: StudyConfig, data_file: Path, settings: TrainSettings,
                count: int | None = None) -> list[Any]:
    """Start the study's packs (``count``: see :func:`launch_packs`); returns their actor
    handles (once each is ready)."""
    packs = launch_packs(cfg, data_file, settings, count)
    stats = pack_stats(packs)  # fail here, not inside a trial
    logger.info("%d pack(s) of %d on %s", len(packs), cfg.resources.pack_size, stats[0]["device"])
    return packs


def launch_packs(cfg: StudyConfig, data_file: Path, settings: TrainSettings,
                 count: int | None = None, capacity: int | None = None) -> list[Any]:
    """Start the study's ``count`` packs (:attr:`PackPlan.packs`; None: those of a fresh
    study, :func:`pack_count`) of ``capacity`` slots each (:attr:`PackPlan.slots`; None:
    ``resources.pack_size``) and return their handles at once, while each still builds
    its trainer (torch import, jets to the device): a study starts its trials meanwhile and
    learns of a pack that failed to start from :class:`jetstudy.study.pack_ready.PacksReady`.

    A pack reads the jets from ``data_file`` rather than from Ray's object store, so Ray can
    restart one that died (on another node, if its own is gone) from its arguments alone."""
    import ray

    from jetstudy.trainables.pack_protocol import PackActor  # torch-free: see there

    r = cfg.resources
    if count is None:
        count = pack_count(cfg, int(r.pack_size))
    max_depth, max_width = pack_shape(cfg)
    actor = ray.remote(PackActor)
    packs = [actor.options(name=pack_name(i), num_cpus=r.cpus_per_trial,
                           num_gpus=r.gpus_per_trial, max_restarts=-1, max_concurrency=1000)
             .remote(str(data_file), settings, capacity=capacity or r.pack_size,
                     max_depth=max_depth,
                     max_width=max_width, groups=r.pack_groups, graphs=r.pack_graphs == "auto")
             for i in range(count)]
    return packs


def packed_trainable(cfg: StudyConfig, packs: list[Any], state_dir: str) -> Any:
    """The Tune trainable of a packed study (resources set)."""
    from ray import tune

    from jetstudy.trainables.packed_trial import run_packed_trial

    return tune.with_resources(
        tune.with_parameters(run_packed_trial, servers=packs, state_dir=state_dir,
                             max_epochs=cfg.scheduler.max_epochs),
        {"cpu": PACKED_TRIAL_CPUS, "gpu": 0})


def pack_stats(packs: list[Any]) -> list[dict[str, Any]]:
    """Each pack's counters (rounds, trial-epochs, training seconds, peak GPU memory)."""
    import ray

    return ray.get([p.stats.remote() for p in packs])
